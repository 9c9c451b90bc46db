package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
)

// syncAllowingAlarm runs a round; the log's alarm is expected (the server
// went back in time, which its log shows), anything else fails t.
func syncAllowingAlarm(t *testing.T, d *syncharness.Device) client.Summary {
	t.Helper()
	sum, err := d.Sync()
	if err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("%s: sync: %v", d.Name, err)
	}
	return sum
}

// TestServerWentBackUnannounced: the server's store is put back to an
// older copy with no new epoch (a disk snapshot, or a failover to a
// standby that lagged), so it lost five notes it had acknowledged, and a
// second laptop then writes past the first one's cursor, so no 410 comes.
// The first laptop sees the server's acked_seq below what it was given
// (and its log forked), repairs as after a restore, and both laptops end
// with every note: nothing lost, nothing skipped.
func TestServerWentBackUnannounced(t *testing.T) {
	s := syncharness.StartServer(t)
	laptop := s.NewDevice("ada-laptop", s.URL, "ada", "caseworker", "north")
	desktop := s.NewDevice("ada-desktop", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, laptop, "C-1")
	for i := 0; i < 3; i++ {
		addNote(t, laptop, caseID, "before the snapshot")
	}
	laptop.MustSync()
	desktop.MustSync()

	store := filepath.Join(s.Dir, boltstore.FileName)
	snapshot := filepath.Join(t.TempDir(), "snapshot.db")
	s.Kill()
	copyFile(t, store, snapshot)
	s.Start()
	lostNotes := map[string]bool{}
	for i := 0; i < 5; i++ {
		lostNotes[addNote(t, laptop, caseID, "acknowledged, then lost")] = true
	}
	if sum := laptop.MustSync(); sum.Pushed < 5 {
		t.Fatalf("pushed %d, want the 5 notes acknowledged", sum.Pushed)
	}
	if n := laptop.V.OutboxLen(); n != 0 {
		t.Fatalf("%d changes still wait: the server did not acknowledge them", n)
	}
	s.Kill()
	copyFile(t, snapshot, store) // the server goes back; same epoch
	s.Start()

	// The desktop writes past the laptop's cursor.
	for i := 0; i < 12; i++ {
		addNote(t, desktop, caseID, "after the server went back")
	}
	desktop.MustSync()

	sum := syncAllowingAlarm(t, laptop)
	if sum.Repaired < 5 {
		t.Errorf("the laptop pushed back %d revisions, want the 5 the server lost", sum.Repaired)
	}
	m, err := laptop.V.Locals(client.ServerLostKey)
	if err != nil {
		t.Fatal(err)
	}
	var lostNote client.ServerLostNote
	if err := json.Unmarshal(m[client.ServerLostKey], &lostNote); err != nil {
		t.Fatalf("no note of the server's loss kept for the user: %v", err)
	}
	syncAllowingAlarm(t, desktop)
	for _, d := range []*syncharness.Device{laptop, desktop} {
		for id := range lostNotes {
			note(t, d, id)
		}
	}
	if got, want := desktop.Revs(), laptop.Revs(); len(got) != len(want) {
		t.Errorf("desktop holds %d revisions, laptop %d: want the same", len(got), len(want))
	}
	for id := range desktop.Revs() {
		if !laptop.Revs()[id] {
			t.Errorf("the laptop skipped %s", id)
		}
	}
	// A round later, nothing more to repair.
	if sum := syncAllowingAlarm(t, laptop); sum.Repaired != 0 {
		t.Errorf("a second round pushed back %d revisions, want 0", sum.Repaired)
	}
}

// TestServerLiesAckedBackwards: a server that says, falsely, that it holds
// less of this laptop than it acknowledged (acked_seq 0 on every answer)
// makes the laptop ask once what it lacks (nothing: no pull from the
// start follows) and never makes it drop anything: its revisions and the changes waiting in its
// outbox stay, and the next rounds take the lie as the new mark.
func TestServerLiesAckedBackwards(t *testing.T) {
	s := syncharness.StartServer(t)
	var lie atomic.Bool
	var diffs atomic.Int32
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
		if !lie.Load() || status != http.StatusOK {
			return body
		}
		if r.URL.Path == protocol.PathRevsDiff {
			diffs.Add(1)
		}
		return ackedZero(t, r, body)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	laptop := s.NewDevice("ada-laptop", p.URL(), "ada", "caseworker", "north")
	desktop := s.NewDevice("ada-desktop", s.URL, "ada", "caseworker", "north")
	caseID := newCase(t, laptop, "C-1")
	for i := 0; i < 4; i++ {
		addNote(t, laptop, caseID, "acknowledged")
	}
	laptop.MustSync()
	before := laptop.Revs()

	lie.Store(true)
	addNote(t, laptop, caseID, "written while the server lies")
	for round := 0; round < 3; round++ {
		laptop.MustSync()
	}
	if got := diffs.Load(); got != 1 {
		t.Errorf("the laptop asked revs-diff %d times over three rounds of lies, want 1 (one repair, then the lie is the mark)", got)
	}
	after := laptop.Revs()
	for id := range before {
		if !after[id] {
			t.Errorf("the laptop dropped %s on the server's word", id)
		}
	}
	if len(after) != len(before)+1 {
		t.Errorf("the laptop holds %d revisions, want %d", len(after), len(before)+1)
	}
	if n := laptop.V.OutboxLen(); n != 0 {
		t.Errorf("%d changes wait: the note written during the lie was acknowledged by its own answer and should be off the outbox", n)
	}
	desktop.MustSync()
	if got := desktop.Revs(); len(got) != len(after) {
		t.Errorf("the desktop holds %d revisions, the laptop %d", len(got), len(after))
	}
}

// TestServerFlipsAckedSeq (found by the attack review): a server that says
// acked_seq 0 on every other round and the truth in between, while its log
// stays consistent, costs the laptop a revs-diff of its own revisions on
// each lying round, never a pull from the start, and never data; each time
// is noted (ServerLostNote.HeldAll).
func TestServerFlipsAckedSeq(t *testing.T) {
	s := syncharness.StartServer(t)
	var lie atomic.Bool
	var diffs, fromStart atomic.Int32
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
		if status != http.StatusOK {
			return body
		}
		switch r.URL.Path {
		case protocol.PathRevsDiff:
			diffs.Add(1)
		case protocol.PathPull:
			if r.URL.Query().Get("cursor") == "" {
				fromStart.Add(1)
			}
		}
		if !lie.Load() {
			return body
		}
		return ackedZero(t, r, body)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	laptop := s.NewDevice("ada-laptop", p.URL(), "ada", "caseworker", "north")
	caseID := newCase(t, laptop, "C-1")
	for range 4 {
		addNote(t, laptop, caseID, "acknowledged")
	}
	laptop.MustSync()
	before := laptop.Revs()
	diffs.Store(0)
	fromStart.Store(0)
	lying := 0
	for round := range 6 {
		lie.Store(round%2 == 0)
		if round%2 == 0 {
			lying++
		}
		sum := laptop.MustSync()
		if sum.Repaired != 0 {
			t.Errorf("round %d pushed back %d revisions the server held all along", round, sum.Repaired)
		}
	}
	if n := fromStart.Load(); n != 0 {
		t.Errorf("%d pulls from the start over six rounds of a server flipping acked_seq, want none (its log stayed consistent, it held everything)", n)
	}
	if n := diffs.Load(); n < 1 || n > int32(lying) {
		t.Errorf("%d revs-diff calls over %d lying rounds, want between 1 and %d", n, lying, lying)
	}
	m, err := laptop.V.Locals(client.ServerLostKey)
	if err != nil {
		t.Fatal(err)
	}
	var note client.ServerLostNote
	if err := json.Unmarshal(m[client.ServerLostKey], &note); err != nil || !note.HeldAll || note.Repaired != 0 {
		t.Errorf("the note kept: %+v, %v; want held_all and nothing repaired", note, err)
	}
	after := laptop.Revs()
	for id := range before {
		if !after[id] {
			t.Errorf("the laptop dropped %s on the server's word", id)
		}
	}
}

// ackedZero rewrites a pull or push answer to say acked_seq 0: a server
// that lies it lost what it acknowledged. Other answers pass as they are.
func ackedZero(t *testing.T, r *http.Request, body []byte) []byte {
	switch r.URL.Path {
	case protocol.PathPull:
		var hdr protocol.PullHeader
		revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPullLimit)
		if err != nil {
			t.Errorf("decoding a pull answer: %v", err)
			return body
		}
		hdr.AckedSeq = 0
		out, err := protocol.EncodeBatch(hdr, revs)
		if err != nil {
			t.Errorf("encoding a pull answer: %v", err)
			return body
		}
		return out
	case protocol.PathPush:
		var resp map[string]json.RawMessage
		if json.Unmarshal(body, &resp) == nil {
			resp["acked_seq"] = json.RawMessage("0")
			out, _ := json.Marshal(resp)
			return out
		}
	}
	return body
}
