package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
)

// Laptops a year fast and a year slow: both edits survive, every device
// shows the same winner, and a later edit on the slow laptop supersedes
// what it has seen (its clock moves past every clock it observes).
func TestWrongClocks(t *testing.T) {
	s := syncharness.StartServer(t)
	fast := s.NewDeviceWith("fast", s.URL, "ada", "caseworker", "north", store.Options{Now: func() time.Time { return time.Now().AddDate(1, 0, 0) }})
	slow := s.NewDeviceWith("slow", s.URL, "ada", "caseworker", "north", store.Options{Now: func() time.Time { return time.Now().AddDate(-1, 0, 0) }})
	caseID := newCase(t, slow, "W-1")
	id := addNote(t, slow, caseID, "original")
	for _, d := range []*syncharness.Device{slow, fast, slow, fast} {
		d.MustSync()
	}
	base := note(t, slow, id).Rev
	editNote(t, fast, id, []record.RevID{base}, "fast laptop's edit")
	editNote(t, slow, id, []record.RevID{base}, "slow laptop's edit")
	for _, d := range []*syncharness.Device{slow, fast, slow, fast} {
		d.MustSync()
	}
	nf, ns := note(t, fast, id), note(t, slow, id)
	if !nf.Conflict || len(nf.Versions) != 2 || nf.Rev != ns.Rev {
		t.Fatalf("conflict=%v versions=%d winners %s / %s", nf.Conflict, len(nf.Versions), nf.Rev.Short(), ns.Rev.Short())
	}
	// The slow laptop resolves; its merge, written "a year ago" by its own
	// wall clock, still comes after both versions.
	editNote(t, slow, id, ns.Parents(), "merged on the slow laptop")
	slow.MustSync()
	fast.MustSync()
	if got := note(t, fast, id); got.Conflict || got.Value.Text != "merged on the slow laptop" {
		t.Errorf("fast after merge: %q conflict=%v", got.Value.Text, got.Conflict)
	}
	editNote(t, slow, id, []record.RevID{note(t, slow, id).Rev}, "slow edits again")
	slow.MustSync()
	fast.MustSync()
	if got := note(t, fast, id); got.Value.Text != "slow edits again" {
		t.Errorf("later slow edit not the winner: %q", got.Value.Text)
	}
}

// A device revoked between two rounds gets ErrRevoked, the background runner
// stops for good, and the vault stays readable with the passphrase.
func TestRevokedDevice(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, a, "V-1")
	addNote(t, a, caseID, "before revocation")
	a.MustSync()
	s.Admin("device", "revoke", a.V.DeviceID())
	addNote(t, a, caseID, "after revocation")
	if _, err := a.Sync(); !errors.Is(err, client.ErrRevoked) {
		t.Fatalf("sync of a revoked device: %v, want ErrRevoked", err)
	}
	r := client.NewRunner(a.Syncer, time.Time{}, nil)
	done := make(chan struct{})
	go func() { r.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("runner kept going after revocation")
	}
	if st := r.State(); !st.Revoked || st.LastError == "" {
		t.Errorf("runner state %+v", st)
	}
	a.Reopen()
	if n, _ := a.V.Notes(caseID); len(n) != 2 {
		t.Errorf("revoked device reads %d notes, want 2", len(n))
	}
}

// A revision the server refuses for good (a caseworker deleting a note of a
// case she was taken off while her laptop was offline) is kept for the user
// and does not block the revisions behind it.
func TestPermanentRejectionDoesNotBlock(t *testing.T) {
	s := syncharness.StartServer(t)
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bobCase := newCase(t, bob, "B-1")
	bobNote := addNote(t, bob, bobCase, "bob's note")
	bob.MustSync()
	sam.MustSync()
	// Sam gives the case to Ada as well; her laptop gets its key.
	ctx := context.Background()
	if _, err := sam.Syncer.Assign(ctx, bobCase, []string{"ada"}, nil); err != nil {
		t.Fatal(err)
	}
	ada.MustSync()
	if err := ada.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	// Sam takes her off again while her laptop is offline; offline, she
	// deletes Bob's note.
	if _, err := sam.Syncer.Assign(ctx, bobCase, nil, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	if err := ada.V.Delete(bobCase, bobNote); err != nil {
		t.Fatal(err)
	}
	mine := newCase(t, ada, "A-1")
	addNote(t, ada, mine, "ada's own note, after the refused delete")
	sum := ada.MustSync()
	if sum.Rejected != 1 || ada.V.OutboxLen() != 0 {
		t.Errorf("rejected %d, outbox %d; want 1, 0", sum.Rejected, ada.V.OutboxLen())
	}
	rs, _ := ada.V.Rejections()
	if len(rs) != 1 || rs[0].RecordID != bobNote || rs[0].Reason == "" {
		t.Errorf("rejections = %+v", rs)
	}
	bob.MustSync()
	if n := note(t, bob, bobNote); n.Deleted || n.Conflict {
		t.Errorf("bob's note was deleted by a refused revision")
	}
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	ada.MustSync() // each member's device shares its cases' keys with the new supervisor
	bob.MustSync()
	sup.MustSync()
	if readable, _ := refs(t, sup); strings.Join(readable, ",") != "A-1,B-1" {
		t.Errorf("supervisor sees %v", readable)
	}
}

// A record pulled without its key is kept sealed and counted, never
// dropped; it opens once a member's device shares the key.
func TestRecordWithoutKeyKeptSealed(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, ada, "S-1")
	addNote(t, ada, caseID, "written before the supervisor's laptop existed")
	ada.MustSync()
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	sup.MustSync()
	st, _ := sup.V.Stats()
	if _, sealed := refs(t, sup); len(sealed) != 1 || st.Sealed == 0 {
		t.Fatalf("supervisor before the key: sealed cases %v, stats %+v", sealed, st)
	}
	before := len(sup.Revs())
	ada.MustSync() // sees the new device in the roster, wraps the key to it
	sup.MustSync()
	if readable, sealed := refs(t, sup); len(readable) != 1 || len(sealed) != 0 {
		t.Errorf("after the key: readable %v sealed %v", readable, sealed)
	}
	if len(sup.Revs()) < before {
		t.Errorf("revisions dropped")
	}
	sup.V.LoadAll(context.Background())
	if n, _ := sup.V.Notes(caseID); len(n) != 1 || n[0].Value.Text != "written before the supervisor's laptop existed" {
		t.Errorf("note on the supervisor's laptop: %+v", n)
	}
}

// A server speaking another protocol version: a clear error, no retries.
func TestProtocolVersionMismatch(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusUpgradeRequired)
		w.Write([]byte(`{"code":"protocol_version","error":"this server speaks version 2"}`))
	}))
	defer srv.Close()
	c, err := client.New(client.Config{Server: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Pull(context.Background(), "", 10)
	if !errors.Is(err, client.ErrVersion) || !strings.Contains(err.Error(), "version 2") || calls != 1 {
		t.Errorf("err = %v after %d calls", err, calls)
	}
}

// Two sync rounds at once on one device (say, the TUI's and a manual one):
// both succeed or retry, and nothing is lost or doubled.
func TestTwoSyncWorkers(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "sup", "supervisor", "north")
	bulk(t, a, "T-1", 2000)
	second, err := client.NewVaultSyncer(a.V, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, sy := range []*client.Syncer{a.Syncer, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sy.Sync(context.Background(), nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent sync: %v", err)
		}
	}
	a.MustSync()
	b.MustSync()
	if a.V.OutboxLen() != 0 {
		t.Errorf("outbox %d", a.V.OutboxLen())
	}
	sameRevs(t, a, b)
}

// The server's data directory never holds what caseworkers wrote.
func TestServerHoldsNoPlaintext(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	canaries := []string{"Philomena Canarytree", "17 Canary Bight Road", "CANARY-SERVER disclosed at the visit", "Grandfather Bartholomew Canarywood"}
	id, err := a.V.CreateCase(record.Case{Ref: "CAN-1", Subject: canaries[0], Address: canaries[1]})
	if err != nil {
		t.Fatal(err)
	}
	addNote(t, a, id, canaries[2]+strings.Repeat(" more words", 30))
	if _, err := a.V.AddConsent(id, record.Consent{Person: canaries[3], Scope: []string{"health"}, Decision: "given"}); err != nil {
		t.Fatal(err)
	}
	a.MustSync()
	backup := filepath.Join(s.Dir, "backup-for-canary.db")
	s.Admin("backup", "--out", backup)
	found := false
	filepath.Walk(s.Dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Mode()&os.ModeSocket != 0 {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		found = found || len(data) > 0
		low := bytes.ToLower(data)
		for _, c := range canaries {
			for _, enc := range [][]byte{[]byte(c), []byte(base64.StdEncoding.EncodeToString([]byte(c))[:len(c)])} {
				if bytes.Contains(low, bytes.ToLower(enc)) {
					t.Errorf("%s holds %q", filepath.Base(path), c)
				}
			}
		}
		return nil
	})
	if !found {
		t.Fatal("scanned nothing")
	}
}
