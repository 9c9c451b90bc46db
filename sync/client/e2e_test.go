package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// These tests run a real fieldcased on 127.0.0.1 and real vaults; faults are
// injected by a proxy or by killing the server process.

func TestMain(m *testing.M) {
	if path := os.Getenv(childSyncEnv); path != "" {
		os.Exit(childSync(path))
	}
	os.Exit(syncharness.Main(m))
}

func newCase(t *testing.T, d *syncharness.Device, ref string) string {
	t.Helper()
	id, err := d.V.CreateCase(record.Case{Ref: ref, Subject: "Subject of " + ref})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addNote(t *testing.T, d *syncharness.Device, caseID, text string) string {
	t.Helper()
	id, err := d.V.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-20", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func editNote(t *testing.T, d *syncharness.Device, noteID string, parents []record.RevID, text string) {
	t.Helper()
	if err := d.V.EditNote(noteID, parents, record.Note{Kind: "visit", Date: "2026-11-20", Text: text}); err != nil {
		t.Fatal(err)
	}
}

func note(t *testing.T, d *syncharness.Device, id string) store.Item[record.Note] {
	t.Helper()
	if err := d.V.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := d.V.Note(id)
	if err != nil {
		t.Fatalf("%s: note %s: %v", d.Name, id, err)
	}
	return n
}

func refs(t *testing.T, d *syncharness.Device) (readable, sealed []string) {
	t.Helper()
	cs, err := d.V.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Sealed {
			sealed = append(sealed, c.ID)
		} else {
			readable = append(readable, c.Value.Ref)
		}
	}
	return readable, sealed
}

// Caseworkers pull their own cases, a supervisor the whole team, nobody
// another team's; and the supervisor can read what caseworkers wrote.
func TestTeamAccess(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	zed := s.NewDevice("zed", s.URL, "zed", "caseworker", "south")
	addNote(t, ada, newCase(t, ada, "A-1"), "ada's visit")
	addNote(t, bob, newCase(t, bob, "B-1"), "bob's visit")
	addNote(t, zed, newCase(t, zed, "Z-1"), "zed's visit")
	for _, d := range []*syncharness.Device{ada, bob, zed, sam, ada, bob, zed, sam} {
		d.MustSync()
	}
	want := map[*syncharness.Device]string{ada: "A-1", bob: "B-1", zed: "Z-1", sam: "A-1,B-1"}
	for d, w := range want {
		readable, sealed := refs(t, d)
		if strings.Join(readable, ",") != w || len(sealed) != 0 {
			t.Errorf("%s sees %v (sealed %v), want %s", d.Name, readable, sealed, w)
		}
	}
	hits, _ := sam.V.Search("bob's visit", 0)
	if err := sam.V.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits, _ = sam.V.Search("bob visit", 0); len(hits) != 1 {
		t.Errorf("supervisor search found %d notes", len(hits))
	}
}

// Two and three offline edits of one record all arrive everywhere, as a
// conflict; a merge on one device resolves it on every device.
func TestConflictsSurviveSync(t *testing.T) {
	s := syncharness.StartServer(t)
	d1 := s.NewDevice("ada-laptop", s.URL, "ada", "caseworker", "north")
	d2 := s.NewDevice("ada-desktop", s.URL, "ada", "caseworker", "north")
	d3 := s.NewDevice("ada-tablet", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, d1, "C-1")
	n2 := addNote(t, d1, caseID, "two editors")
	n3 := addNote(t, d1, caseID, "three editors")
	nd := addNote(t, d1, caseID, "edit against delete")
	all := []*syncharness.Device{d1, d2, d3}
	for range 2 {
		for _, d := range all {
			d.MustSync()
		}
	}
	// Offline: everyone edits from the same version.
	base2, base3, based := note(t, d1, n2).Rev, note(t, d1, n3).Rev, note(t, d1, nd).Rev
	editNote(t, d1, n2, []record.RevID{base2}, "two editors: laptop")
	editNote(t, d2, n2, []record.RevID{base2}, "two editors: desktop")
	for i, d := range all {
		editNote(t, d, n3, []record.RevID{base3}, fmt.Sprintf("three editors: device %d", i))
	}
	if err := d1.V.Delete(caseID, nd); err != nil {
		t.Fatal(err)
	}
	editNote(t, d2, nd, []record.RevID{based}, "edited while another device deleted it")
	for range 2 {
		for _, d := range all {
			d.MustSync()
		}
	}
	for _, d := range all {
		if n := note(t, d, n2); !n.Conflict || len(n.Versions) != 2 {
			t.Errorf("%s: note with two edits: conflict=%v versions=%d", d.Name, n.Conflict, len(n.Versions))
		}
		if n := note(t, d, n3); len(n.Versions) != 3 {
			t.Errorf("%s: note with three edits: %d versions", d.Name, len(n.Versions))
		}
		n := note(t, d, nd)
		deleted := 0
		for _, v := range n.Versions {
			if v.Deleted {
				deleted++
			}
		}
		if len(n.Versions) != 2 || deleted != 1 {
			t.Errorf("%s: edit vs delete: %d versions, %d deleted", d.Name, len(n.Versions), deleted)
		}
	}
	sameHeads(t, all...)
	// Resolve on the desktop; every device ends with one version.
	n := note(t, d2, n3)
	editNote(t, d2, n3, n.Parents(), "three editors: merged")
	d2.MustSync()
	for _, d := range all {
		d.MustSync()
		if got := note(t, d, n3); got.Conflict || got.Value.Text != "three editors: merged" {
			t.Errorf("%s after merge: conflict=%v text=%q", d.Name, got.Conflict, got.Value.Text)
		}
	}
	sameHeads(t, all...)
}

// sameHeads fails unless every device holds the same heads for every record
// they all hold.
func sameHeads(t *testing.T, ds ...*syncharness.Device) {
	t.Helper()
	first, err := ds[0].V.Heads()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[1:] {
		h, err := d.V.Heads()
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != len(first) {
			t.Errorf("%s holds %d records, %s %d", d.Name, len(h), ds[0].Name, len(first))
		}
		for id, revs := range first {
			if fmt.Sprint(h[id]) != fmt.Sprint(revs) {
				t.Errorf("record %s: %s has heads %v, %s has %v", id, d.Name, h[id], ds[0].Name, revs)
			}
		}
	}
}

// A long chain of offline edits arrives whole and in order.
func TestLongOfflineChain(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, a, "L-1")
	id := addNote(t, a, caseID, "edit 0")
	a.MustSync()
	b.MustSync()
	for i := 1; i <= 300; i++ {
		editNote(t, a, id, []record.RevID{note(t, a, id).Rev}, fmt.Sprintf("edit %d", i))
	}
	if sum := a.MustSync(); sum.Pushed != 300 {
		t.Errorf("pushed %d, want 300", sum.Pushed)
	}
	if sum := b.MustSync(); sum.Pulled != 300 {
		t.Errorf("pulled %d, want 300", sum.Pulled)
	}
	if n := note(t, b, id); n.Value.Text != "edit 300" || n.Conflict {
		t.Errorf("b: %q conflict=%v", n.Value.Text, n.Conflict)
	}
}

// The server stores a push but its answer is lost: the outbox keeps the
// revisions, the next push is answered "present", nothing is stored twice.
func TestLostAcknowledgement(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, a, "K-1")
	for i := range 20 {
		addNote(t, a, caseID, fmt.Sprintf("note %d", i))
	}
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1, DropResponse: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waiting := a.V.OutboxLen()
	a.UseURL(p.URL())
	if _, err := a.Sync(); !errors.Is(err, client.ErrOffline) {
		t.Fatalf("sync with every answer lost: %v, want ErrOffline", err)
	}
	if got := a.V.OutboxLen(); got != waiting {
		t.Fatalf("outbox %d after lost answers, want %d (nothing acknowledged)", got, waiting)
	}
	if p.Counts().DroppedResp == 0 {
		t.Fatalf("the proxy dropped nothing")
	}
	a.UseURL(s.URL)
	a.MustSync()
	if got := a.V.OutboxLen(); got != 0 {
		t.Errorf("outbox %d after the answer got through", got)
	}
	sup.MustSync()
	sameRevs(t, a, sup)
}

// sameRevs fails unless both devices hold exactly the same revisions (the
// store keys revisions by id, so "exactly" also means none twice; the
// server's count is checked through what a device pulls).
func sameRevs(t *testing.T, a, b *syncharness.Device) {
	t.Helper()
	ra, rb := a.Revs(), b.Revs()
	if len(ra) != len(rb) {
		t.Errorf("%s holds %d revisions, %s %d", a.Name, len(ra), b.Name, len(rb))
	}
	for r := range ra {
		if !rb[r] {
			t.Errorf("%s lacks revision %s", b.Name, r.Short())
		}
	}
}

// A proxy that lets the server commit a push and then answers 500, as a
// crashing load balancer might.
func failAfterCommit(t *testing.T, target string, failures *atomic.Int32) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path == protocol.PathPush && failures.Add(-1) >= 0 {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			resp.StatusCode, resp.Status = 500, "500 Internal Server Error"
			resp.Body = io.NopCloser(strings.NewReader(`{"code":"internal","error":"boom"}`))
			resp.ContentLength = -1
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	srv := &http.Server{Handler: rp}
	return srv
}

func TestServerErrorAfterCommit(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, a, "E-1")
	addNote(t, a, caseID, "stored, answered 500")
	var failures atomic.Int32
	failures.Store(3) // the first push and its retries all fail
	srv, url := serve(t, failAfterCommit(t, s.URL, &failures))
	defer srv.Close()
	waiting := a.V.OutboxLen()
	a.UseURL(url)
	// Retried (5xx is transient) until a retry gets a clean "present".
	sum, err := a.Sync()
	if err != nil {
		t.Fatalf("sync through 500s: %v", err)
	}
	if a.V.OutboxLen() != 0 || sum.Pushed < waiting {
		t.Errorf("outbox %d, pushed %d; want 0, at least %d", a.V.OutboxLen(), sum.Pushed, waiting)
	}
	if failures.Load() >= 0 {
		t.Errorf("the proxy failed only %d pushes", 3-failures.Load())
	}
	if pulled := sup.MustSync().Pulled; pulled != len(a.Revs()) {
		t.Errorf("supervisor pulled %d revisions; %s holds %d", pulled, a.Name, len(a.Revs()))
	}
	sameRevs(t, a, sup)
}
