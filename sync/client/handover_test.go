package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// inFile returns the pieces found in the file at path as it is on disk.
func inFile(t *testing.T, path string, pieces [][]byte) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, p := range pieces {
		if bytes.Contains(raw, p) {
			out = append(out, p)
		}
	}
	return out
}

// Issue 13: a case taken away from a worker. Ada holds three cases; the
// supervisor gives all three to Bob. X has a note Ada wrote offline before
// the change, Y has nothing waiting, Z has a draft. On Ada's laptop each is
// marked from the signed keyrings; Y's copy is removed (Bob has it all), X's
// stays with the note the server refused (never lost), Z's stays until the
// draft is discarded.
func TestReassignedCaseMarkedAndRemoved(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	x := newCase(t, ada, "X-1")
	y := newCase(t, ada, "Y-1")
	z := newCase(t, ada, "Z-1")
	yNote := addNote(t, ada, y, "ada's visit in Y, synced")
	syncRounds(t, ada, bob, sam)

	offline := addNote(t, ada, x, "ada's visit in X, written before the change, not yet synced")
	draft := store.Draft{CaseID: z, Note: record.Note{Kind: "visit", Date: "2026-12-01", Text: "half a sentence about Z"}}
	if err := ada.V.SaveDraft(draft); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []string{x, y, z} {
		if _, err := sam.Syncer.Assign(ctx, c, []string{"bob"}, []string{"ada"}); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now()
	// Ada's case list before her laptop sees the change marks nothing; the
	// vault keeps that answer until a keyring arrives, which must undo it.
	if m := reassigned(t, ada); len(m) != 0 {
		t.Fatalf("marked before the change reached ada's laptop: %+v", m)
	}

	// First round: the note goes to the server, which refuses it (Ada is
	// no longer a member, and the signed cut-off is the last number the
	// supervisor had seen from her laptop); it stays in her vault,
	// reported. Every case is marked, none removed yet: the log gets a
	// round to show a key change kept from this laptop.
	sum := ada.MustSync()
	if sum.Rejected != 1 {
		t.Errorf("ada's offline note: %d refused, want 1 (the cut-off refuses it)", sum.Rejected)
	}
	if len(sum.Removed) != 0 {
		t.Errorf("removed in the round that first saw the change: %+v", sum.Removed)
	}
	marks := reassigned(t, ada)
	for _, c := range []string{x, y, z} {
		r, ok := marks[c]
		if !ok {
			t.Fatalf("case %s is not marked reassigned on ada's laptop (marks %+v)", c, marks)
		}
		if r.ToText() != "bob" || r.By != "sam" || r.On.Before(before.Add(-time.Minute)) || r.On.After(time.Now().Add(time.Minute)) {
			t.Errorf("case %s: to %q by %q on %v", c, r.ToText(), r.By, r.On)
		}
		if !strings.HasPrefix(r.Summary(), "reassigned to bob on ") {
			t.Errorf("summary %q", r.Summary())
		}
	}
	if w := strings.Join(marks[x].Waiting, "; "); !strings.Contains(w, "refused") {
		t.Errorf("X waits for %q, want the refused note named", w)
	}
	if w := strings.Join(marks[z].Waiting, "; "); !strings.Contains(w, "draft") {
		t.Errorf("Z waits for %q, want the draft named", w)
	}
	if len(marks[y].Waiting) != 0 {
		t.Errorf("Y waits for %v, want nothing", marks[y].Waiting)
	}
	// Read-only, said at once.
	if _, err := ada.V.AddNote(y, record.Note{Kind: "visit", Date: "2026-12-02", Text: "too late"}); !errors.Is(err, store.ErrReassigned) ||
		!strings.Contains(err.Error(), "reassigned to bob") {
		t.Errorf("writing into a reassigned case: %v, want ErrReassigned naming bob", err)
	}
	if err := ada.V.Audit(y, record.AuditOpen, "test"); err != nil {
		t.Errorf("an access event in a reassigned case: %v", err)
	}

	// Pieces of Y's sealed revisions as they are in ada's vault file: gone
	// from the file, not only from its live pages, once Y is removed.
	var pieces [][]byte
	for _, r := range revsOf(t, ada, func(r *record.Revision) bool { return r.CaseID == y }) {
		if len(r.Body) >= 64 {
			pieces = append(pieces, bytes.Clone(r.Body[len(r.Body)-48:len(r.Body)-16]))
		}
	}
	if len(pieces) < 2 || len(inFile(t, ada.V.Path(), pieces)) != len(pieces) {
		t.Fatalf("%d pieces of Y's revisions, %d of them in the vault file before the removal", len(pieces), len(inFile(t, ada.V.Path(), pieces)))
	}

	// Second round: Y goes.
	sum = ada.MustSync()
	if len(sum.Removed) != 1 || sum.Removed[0].CaseID != y {
		t.Fatalf("second round removed %+v, want Y only", sum.Removed)
	}
	if left := inFile(t, ada.V.Path(), pieces); len(left) > 0 {
		t.Errorf("%d of %d sealed pieces of Y are still in ada's vault file after the removal (freed pages not zeroed)", len(left), len(pieces))
	}
	if readable, sealedCases := refs(t, ada); slices.Contains(readable, "Y-1") || len(sealedCases) != 0 ||
		!slices.Contains(readable, "X-1") || !slices.Contains(readable, "Z-1") {
		t.Errorf("ada's cases after removal: %v, sealed %v", readable, sealedCases)
	}
	if left := revsOf(t, ada, func(r *record.Revision) bool { return r.CaseID == y }); len(left) != 0 {
		t.Errorf("%d revisions of Y left in ada's vault", len(left))
	}
	if slices.Contains(ada.V.HeldCases(), y) {
		t.Errorf("ada's vault still holds Y's key")
	}
	ada.Reopen() // the keys are gone from the sealed keyring too
	if slices.Contains(ada.V.HeldCases(), y) {
		t.Errorf("ada's vault holds Y's key again after unlock")
	}
	if d, _ := ada.V.Damaged(); len(d) != 0 {
		t.Errorf("the vault reports damage after the removal: %+v", d)
	}
	gone, err := ada.V.RemovedCases()
	if err != nil || len(gone) != 1 || gone[0].Ref != "Y-1" || gone[0].ToText() != "bob" || gone[0].Removed.IsZero() {
		t.Errorf("tombstones %+v, %v", gone, err)
	}
	// What was on the server is with Bob.
	bob.MustSync()
	if got := noteText(t, bob, yNote); got != "ada's visit in Y, synced" {
		t.Errorf("bob reads %q", got)
	}
	// The refused note is still Ada's, named, and X stays.
	if n := note(t, ada, offline); n.Value.Text == "" {
		t.Errorf("ada's refused note lost its text")
	}
	rs, _ := ada.V.Rejections()
	if !slices.ContainsFunc(rs, func(r store.Rejection) bool { return r.RecordID == offline }) {
		t.Errorf("the refused note is not reported: %+v", rs)
	}
	// Discarding the draft lets Z go at the next round.
	if err := ada.V.DeleteDraft(store.DraftKey(z, "")); err != nil {
		t.Fatal(err)
	}
	sum = ada.MustSync()
	if len(sum.Removed) != 1 || sum.Removed[0].CaseID != z {
		t.Errorf("after the draft was discarded, removed %+v, want Z", sum.Removed)
	}
	if _, err := ada.V.Case(x); err != nil {
		t.Errorf("X, holding a refused note, was removed: %v", err)
	}
	if qs, _ := ada.V.Quarantine(); len(qs) != 0 {
		t.Errorf("ada quarantined %+v", qs)
	}
	// The supervisor is not a member of any case and keeps them all.
	if readable, _ := refs(t, sam); len(readable) != 3 {
		t.Errorf("the supervisor's laptop holds %v", readable)
	}
	if m, _ := sam.V.Reassigned([]string{x, y, z}); len(m) != 0 {
		t.Errorf("cases marked on the supervisor's laptop: %+v", m)
	}
}

// reassigned is every case of d's vault marked taken away from its user.
func reassigned(t *testing.T, d *syncharness.Device) map[string]store.Reassignment {
	t.Helper()
	cs, err := d.V.Cases()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Reassignment{}
	for _, c := range cs {
		if c.Reassigned != nil {
			out[c.ID] = *c.Reassigned
		}
	}
	return out
}

// The server lies: it hands Ada a keyring of a new key epoch of her case
// that leaves her out, forged in the supervisor's name, and it replays a
// real removal that a later signed keyring undid. Nothing is marked,
// nothing removed, and she writes on.
func TestReassignmentServerLies(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	a := newCase(t, ada, "A-1")
	b := newCase(t, ada, "B-1")
	addNote(t, ada, a, "ada's visit")
	addNote(t, ada, b, "ada's visit in B")
	syncRounds(t, ada, bob, sam)
	ctx := context.Background()

	// A forged removal: a keyring of epoch 2 naming Bob alone, signed by
	// the operator in Sam's name.
	op := syncharness.NewOperator(t)
	m, epoch, err := ada.V.Membership(a)
	if err != nil || epoch != 1 {
		t.Fatalf("membership: epoch %d, %v", epoch, err)
	}
	r := ada.V.Roster()
	var bobID string
	for id, u := range r.Users {
		if u.Name == "bob" {
			bobID = id
		}
	}
	k2 := crypto.NewCaseKey(a, 2)
	wrapped, err := crypto.WrapKey(k2, op.ID.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	cut := map[string]uint64{ada.V.DeviceID(): 0}
	body := sealed.Keyring{Epoch: 2, Wrapped: wrapped, Membership: trust.Membership{Team: m.Team, Members: []string{bobID}, Cutoffs: cut}}.Marshal()
	forged := op.Forge(record.Revision{RecordID: record.KeyringID(a, 2), Kind: record.KindKeyring, CaseID: a,
		Generation: 1, HLC: headOf(t, ada, a).HLC + 1<<20, Device: sam.V.DeviceID(), Seq: 1, Body: body})
	p := pullRewriter(t, s, func(hdr *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
		if len(hdr.Indexes) == len(revs) {
			hdr.Indexes = append(hdr.Indexes, 0) // a place the log's checks then dispute
		}
		return append(revs, forged)
	})
	ada.UseURL(p)
	for range 3 {
		ada.Sync() // the log's checks object to the proxy's extra revision: told, not fatal
	}
	mustQuarantine(t, forged.Rev, "signature is not the signature of device", ada)
	noRemoval(t, ada, a, "a forged removal")

	// A replayed removal: Sam takes B from Ada and gives it back before
	// her laptop syncs; the server keeps handing her the removal.
	ada.UseURL(s.URL)
	if _, err := sam.Syncer.Assign(ctx, b, []string{"bob"}, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	removal := revsOf(t, sam, func(r *record.Revision) bool { return r.RecordID == record.KeyringID(b, 2) })
	if len(removal) != 1 {
		t.Fatalf("%d keyrings of B's epoch 2 on sam's laptop", len(removal))
	}
	if _, err := sam.Syncer.Assign(ctx, b, []string{"ada"}, nil); err != nil {
		t.Fatal(err)
	}
	sam.MustSync()
	p = pullRewriter(t, s, func(hdr *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
		if len(hdr.Indexes) == len(revs) {
			hdr.Indexes = append(hdr.Indexes, 0) // a place the log's checks then dispute
		}
		return append(revs, removal[0])
	})
	ada.UseURL(p)
	for range 3 {
		ada.Sync()
	}
	noRemoval(t, ada, b, "a replayed removal")
	// Straight into the vault, past the round's log checks: the same.
	cursor, _ := ada.V.Cursor()
	if _, err := ada.V.ApplyPage([]*record.Revision{removal[0], forged}, cursor, 0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if removed, err := ada.V.RemoveReassigned(); err != nil || len(removed) != 0 {
			t.Errorf("RemoveReassigned = %+v, %v", removed, err)
		}
	}
	noRemoval(t, ada, a, "a forged removal, applied straight")
	noRemoval(t, ada, b, "a replayed removal, applied straight")
}

// noRemoval checks that case c is neither marked nor removed on d, and that
// d still writes in it.
func noRemoval(t *testing.T, d *syncharness.Device, c, what string) {
	t.Helper()
	if m := reassigned(t, d); len(m) != 0 {
		t.Errorf("%s: marked reassigned on %s's laptop: %+v", what, d.Name, m)
	}
	if _, err := d.V.Case(c); err != nil {
		t.Errorf("%s: the case is gone from %s's laptop: %v", what, d.Name, err)
	}
	if gone, _ := d.V.RemovedCases(); len(gone) != 0 {
		t.Errorf("%s: tombstones %+v", what, gone)
	}
	if _, err := d.V.AddNote(c, record.Note{Kind: "visit", Date: "2026-12-03", Text: "still mine"}); err != nil {
		t.Errorf("%s: %s cannot write in the case: %v", what, d.Name, err)
	}
}
