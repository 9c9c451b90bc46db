package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/transparency"
)

// logKey is the server's log key as the admin sees it.
func (e *env) logKey() string {
	e.t.Helper()
	info, err := e.admin.Log(e.ctx)
	if err != nil || info.Key == "" {
		e.t.Fatalf("log key: %q, %v", info.Key, err)
	}
	return info.Key
}

// checkpoint fetches and opens the newest checkpoint (and the consistency
// proof from size from).
func (e *env) checkpoint(c *servertest.Client, from int64, witnesses ...note.Verifier) (transparency.Checkpoint, transparency.Proof, []string) {
	e.t.Helper()
	resp, err := c.Log(e.ctx, from)
	if err != nil {
		e.t.Fatalf("log: %v", err)
	}
	cp, by, err := transparency.Open(resp.Checkpoint, e.logKey(), witnesses...)
	if err != nil {
		e.t.Fatalf("opening the checkpoint: %v\n%s", err, resp.Checkpoint)
	}
	return cp, resp.Consistency, by
}

// proveEntries fetches entries and their inclusion proofs in the newest
// tree, checks each proof, and returns the entries.
func (e *env) proveEntries(c *servertest.Client, indexes ...int64) []transparency.Entry {
	e.t.Helper()
	cp, _, _ := e.checkpoint(c, 0)
	resp, err := c.Proofs(e.ctx, cp.Size, indexes...)
	if err != nil {
		e.t.Fatalf("proofs of %v: %v", indexes, err)
	}
	if len(resp.Entries) != len(indexes) || len(resp.Proofs) != len(indexes) {
		e.t.Fatalf("%d entries and %d proofs for %d indexes", len(resp.Entries), len(resp.Proofs), len(indexes))
	}
	out := make([]transparency.Entry, len(indexes))
	for i, x := range indexes {
		ent, err := transparency.UnmarshalEntry(resp.Entries[i])
		if err != nil {
			e.t.Fatalf("entry %d: %v", x, err)
		}
		if err := transparency.CheckInclusion(cp, x, ent, resp.Proofs[i]); err != nil {
			e.t.Fatalf("entry %d: %v", x, err)
		}
		out[i] = ent
	}
	return out
}

func entryIs(e transparency.Entry, r *record.Revision) bool {
	return bytes.Equal(e.Marshal(), transparency.RevisionEntry(r).Marshal())
}

// Enrolment hands the device the log's public key.
func TestEnrollGivesLogKey(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	_, resp, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code("ada"), "ada-1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.LogKey != e.logKey() {
		t.Errorf("enrolment log key %q, want %q", resp.LogKey, e.logKey())
	}
	if v, err := note.NewVerifier(resp.LogKey); err != nil || v.Name() != server.LogKeyName(resp.ServerID) {
		t.Errorf("log key %q: %v", resp.LogKey, err)
	}
}

// Every revision stored or present gets a receipt signed with the log key
// at its log index; the entry there is the revision's, and a receipt does
// not verify for another revision, index, time or key.
func TestPushReceipts(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	revs := aw.NewCase("C1")
	revs = append(revs, aw.Rev(record.KindNote, "C1", "N1"))
	e.clock.Add(time.Second)
	resp := e.pushOK(ada, revs...)
	key := e.logKey()
	var idx []int64
	for i, res := range resp.Results {
		rc := res.Receipt
		if res.Status != protocol.StatusStored || rc == nil {
			t.Fatalf("result %d: %+v, want stored with a receipt", i, res)
		}
		if err := rc.Verify(key); err != nil || rc.Rev != revs[i].Rev || !rc.Time.Equal(e.clock.Now().UTC().Truncate(time.Millisecond)) {
			t.Errorf("receipt %d = %+v: %v", i, rc, err)
		}
		idx = append(idx, rc.Index)
	}
	for i, ent := range e.proveEntries(ada, idx...) {
		if !entryIs(ent, revs[i]) {
			t.Errorf("entry %d = %+v, want revision %s", idx[i], ent, revs[i].Rev.Short())
		}
	}
	_, otherKey, _ := transparency.GenerateLogKey("fieldcase-log.other")
	rc := *resp.Results[0].Receipt
	for name, tc := range map[string]struct {
		r   transparency.Receipt
		key string
	}{
		"another revision": {func() transparency.Receipt { r := rc; r.Rev = revs[1].Rev; return r }(), key},
		"another index":    {func() transparency.Receipt { r := rc; r.Index++; return r }(), key},
		"another time":     {func() transparency.Receipt { r := rc; r.Time = r.Time.Add(time.Millisecond); return r }(), key},
		"another key":      {rc, otherKey},
	} {
		if err := tc.r.Verify(tc.key); !errors.Is(err, transparency.ErrSignature) {
			t.Errorf("%s: Verify = %v, want ErrSignature", name, err)
		}
	}
	// Pushed again (an answer lost), by the writer or by anyone: present,
	// with the receipt of when it was stored.
	e.clock.Add(time.Hour)
	for _, c := range []*servertest.Client{ada, sam} {
		again, err := c.Push(e.ctx, nil, revs[2])
		if err != nil {
			t.Fatal(err)
		}
		got := again.Results[0]
		if got.Status != protocol.StatusPresent || got.Receipt == nil || got.Receipt.Index != idx[2] || !got.Receipt.Time.Equal(resp.Results[2].Receipt.Time) ||
			got.Receipt.Verify(key) != nil {
			t.Errorf("present again via %s: %+v, want the first receipt %+v", c.DeviceID, got.Receipt, resp.Results[2].Receipt)
		}
	}
	// A refused or waiting revision has none.
	orphan := aw.Rev(record.KindNote, "C1", "N1", aw.Rev(record.KindNote, "C1", "N9"))
	res, err := ada.Push(e.ctx, nil, orphan)
	if err != nil || res.Results[0].Status != protocol.StatusMissingParent || res.Results[0].Receipt != nil {
		t.Errorf("missing parent: %+v, %v", res.Results, err)
	}
}

// Pulled revisions come with their log indexes, in order: each is the
// revision's entry, proved in the newest tree.
func TestPullIndexes(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	var pushed []*record.Revision
	for c := range 3 {
		caseID := "C" + string(rune('1'+c))
		revs := append(aw.NewCase(caseID), aw.Rev(record.KindNote, caseID, "N"+caseID))
		e.pushOK(ada, revs...)
		pushed = append(pushed, revs...)
	}
	cursor := ""
	var got []*record.Revision
	var indexes []int64
	for {
		hdr, revs, err := sam.Pull(e.ctx, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(hdr.Indexes) != len(revs) {
			t.Fatalf("%d indexes for %d revisions", len(hdr.Indexes), len(revs))
		}
		got, indexes = append(got, revs...), append(indexes, hdr.Indexes...)
		cursor = hdr.NextCursor
		if !hdr.HasMore {
			break
		}
	}
	if len(got) != len(pushed) {
		t.Fatalf("pulled %d of %d", len(got), len(pushed))
	}
	for i, ent := range e.proveEntries(sam, indexes...) {
		if !entryIs(ent, got[i]) {
			t.Errorf("index %d = %+v, want the entry of %s", indexes[i], ent, got[i].Rev.Short())
		}
	}
}

// Checkpoints taken as the log grows: the newest is consistent with every
// one before it (transparency.CheckConsistency), and the proof is asked by
// size.
func TestConsistencyProofs(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	ada, aw := e.device("ada")
	var cps []transparency.Checkpoint
	first, _, _ := e.checkpoint(ada, 0)
	cps = append(cps, first)
	e.pushOK(ada, aw.NewCase("C1")...)
	for i := range 12 {
		revs := []*record.Revision{}
		for range 1 + i%4 {
			revs = append(revs, aw.Rev(record.KindNote, "C1", record.NewID()))
		}
		e.pushOK(ada, revs...)
		newest, _, _ := e.checkpoint(ada, 0)
		for _, old := range cps {
			cp, proof, _ := e.checkpoint(ada, old.Size)
			if cp != newest {
				t.Fatalf("checkpoint changed between requests: %+v, %+v", cp, newest)
			}
			if err := transparency.CheckConsistency(old, cp, proof); err != nil {
				t.Errorf("%d → %d: %v", old.Size, cp.Size, err)
			}
		}
		cps = append(cps, newest)
	}
	last := cps[len(cps)-1]
	// A size beyond the log: the checkpoint alone, evidence of a shrink.
	cp, proof, _ := e.checkpoint(ada, last.Size+5)
	if cp != last || len(proof) != 0 {
		t.Errorf("from beyond the size: %+v, %d hashes", cp, len(proof))
	}
	// A proof does not pass for another tree of the same size.
	forked := cps[3]
	forked.Root[0] ^= 1
	_, proof, _ = e.checkpoint(ada, forked.Size)
	if err := transparency.CheckConsistency(forked, last, proof); !errors.Is(err, transparency.ErrProof) {
		t.Errorf("a forked old tree passed: %v", err)
	}
	for _, bad := range []string{"-1", "x", "1e3", "99999999999999999999"} {
		_, _, err := ada.Do(e.ctx, "GET", protocol.PathLog+"?from="+bad, nil, nil)
		wantStatus(t, "from="+bad, err, http.StatusBadRequest, protocol.CodeBadRequest)
	}
	_, _, err := e.anon().Do(e.ctx, "GET", protocol.PathLog, nil, nil)
	wantStatus(t, "no token", err, http.StatusUnauthorized, protocol.CodeUnauthorized)
}

// Statements are logged as they are stored: every one in the roster has
// its entry.
func TestStatementsLogged(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	ada, _ := e.device("ada")
	roster, err := ada.Roster(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.admin.VerifyLog(e.ctx)
	if err != nil || len(rep.Problems) > 0 || rep.Statements != int64(len(roster.Statements)) {
		t.Fatalf("VerifyLog = %+v, %v; want %d statements and no problems", rep, err, len(roster.Statements))
	}
	idx := make([]int64, rep.Size)
	for i := range idx {
		idx[i] = int64(i)
	}
	want := map[string]bool{}
	for _, s := range roster.Statements {
		want[s.ID()] = true
	}
	for _, ent := range e.proveEntries(ada, idx...) {
		if ent.Kind != transparency.KindStatement || !want[ent.Statement] {
			t.Errorf("entry %+v is not a roster statement", ent)
		}
		delete(want, ent.Statement)
	}
	if len(want) > 0 {
		t.Errorf("statements not logged: %v", want)
	}
}

// Proofs are of entries the device could have seen: statements, its own
// user's writes, and cases its user may read.
func TestProofsAccess(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("bo", protocol.RoleCaseworker, "south")
	ada, aw := e.device("ada")
	ada2, _ := e.device("ada")
	sam, _ := e.device("sam")
	bo, _ := e.device("bo")
	resp := e.pushOK(ada, aw.NewCase("C1")...)
	mine := resp.Results[0].Receipt.Index
	cp, _, _ := e.checkpoint(ada, 0)
	tests := []struct {
		name    string
		c       *servertest.Client
		size    int64
		indexes []int64
		status  int
	}{
		{"the writer", ada, cp.Size, []int64{mine}, http.StatusOK},
		{"the writer's other laptop", ada2, cp.Size, []int64{mine}, http.StatusOK},
		{"the team's supervisor", sam, cp.Size, []int64{mine}, http.StatusOK},
		{"another team's caseworker", bo, cp.Size, []int64{mine}, http.StatusForbidden},
		{"another team's caseworker, a statement", bo, cp.Size, []int64{0}, http.StatusOK},
		{"none", bo, cp.Size, nil, http.StatusOK},
		{"an older tree", ada, mine + 1, []int64{mine}, http.StatusOK},
		{"an index beyond the tree", ada, mine, []int64{mine}, http.StatusBadRequest},
		{"a negative index", ada, cp.Size, []int64{-1}, http.StatusBadRequest},
		{"a tree beyond the log", ada, cp.Size + 1, []int64{0}, http.StatusBadRequest},
		{"an empty tree", ada, 0, nil, http.StatusBadRequest},
		{"too many", ada, cp.Size, make([]int64, protocol.MaxProofs+1), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Proofs(e.ctx, tc.size, tc.indexes...)
			if tc.status != http.StatusOK {
				wantStatus(t, tc.name, err, tc.status, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Entries) != len(tc.indexes) || len(resp.Proofs) != len(tc.indexes) {
				t.Fatalf("%d entries, %d proofs for %d indexes", len(resp.Entries), len(resp.Proofs), len(tc.indexes))
			}
			if tc.size != cp.Size {
				return // no signed checkpoint of an older tree to check against
			}
			for i, x := range tc.indexes {
				ent, err := transparency.UnmarshalEntry(resp.Entries[i])
				if err == nil {
					err = transparency.CheckInclusion(cp, x, ent, resp.Proofs[i])
				}
				if err != nil {
					t.Errorf("entry %d: %v", x, err)
				}
			}
		})
	}
}

// Audit heads a device pushes are logged with its signature, after the
// push's revisions; a head it did not sign refuses the whole push; one of a
// case its user may not read, or not on the server, is not logged (index
// -1) and the push goes on.
func TestAuditHeads(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "south")
	ada, aw := e.device("ada")
	bo, bw := e.device("bo")
	e.pushOK(bo, bw.NewCase("CB")...)
	head := ada.AuditHead("C1", 3, [32]byte{1, 2, 3})
	hdr := protocol.PushHeader{AuditHeads: []protocol.AuditHead{head}}
	resp, err := ada.Push(e.ctx, hdr, aw.NewCase("C1")...) // the case comes in the same push
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.AuditIndexes) != 1 || resp.AuditIndexes[0] <= resp.Results[1].Receipt.Index {
		t.Fatalf("audit indexes %v, want one after the revisions'", resp.AuditIndexes)
	}
	ent := e.proveEntries(ada, resp.AuditIndexes[0])[0]
	if ent.Kind != transparency.KindAuditHead || ent.CaseID != "C1" || ent.Device != ada.DeviceID || ent.Seq != 3 || ent.Head != head.Hash ||
		!ent.VerifyAuditHead(ada.Identity.SigningPublicKey()) {
		t.Errorf("audit head entry = %+v", ent)
	}
	forged := head
	forged.Seq = 2 // a truncated chain the device did not report
	otherCase := ada.AuditHead("CB", 1, [32]byte{9})
	unknown := ada.AuditHead("C404", 1, [32]byte{9})
	tests := []struct {
		name   string
		head   protocol.AuditHead
		status int
	}{
		{"not signed by the device", forged, http.StatusBadRequest},
		{"signed by another device", bo.AuditHead("C1", 3, [32]byte{1}), http.StatusBadRequest},
		{"a malformed case id", ada.AuditHead("", 1, [32]byte{}), http.StatusBadRequest},
		{"a case of another team", otherCase, http.StatusOK},
		{"a case not on the server", unknown, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _, _ := e.checkpoint(ada, 0)
			note := aw.Rev(record.KindNote, "C1", record.NewID())
			resp, err := ada.Push(e.ctx, protocol.PushHeader{AuditHeads: []protocol.AuditHead{tc.head}}, note)
			if tc.status == http.StatusOK {
				// Not logged, and the push goes on: only its revision is.
				after, _, _ := e.checkpoint(ada, 0)
				if err != nil || len(resp.AuditIndexes) != 1 || resp.AuditIndexes[0] != -1 || after.Size != before.Size+1 {
					t.Errorf("push = %+v, %v; log %d → %d: want the head at -1 and only the revision logged", resp, err, before.Size, after.Size)
				}
				return
			}
			wantStatus(t, tc.name, err, tc.status, "")
			if after, _, _ := e.checkpoint(ada, 0); after != before {
				t.Errorf("a refused push changed the log: %d → %d entries", before.Size, after.Size)
			}
			if missing, _ := ada.RevsDiff(e.ctx, []record.RevID{note.Rev}); len(missing) != 1 {
				t.Error("a refused push stored its revision")
			}
		})
	}
}

// A supervisor's device cosigns a checkpoint it checked: the server keeps
// the cosignature and hands it on with that checkpoint. Anyone else, a
// cosignature that does not verify, or a checkpoint of another tree is
// refused.
func TestWitness(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	e.pushOK(ada, aw.NewCase("C1")...)
	resp, err := sam.Log(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	signed := resp.Checkpoint
	cp, _, _ := transparency.Open(signed, e.logKey())
	samV, _ := transparency.WitnessVerifier(sam.DeviceID, sam.Identity.SigningPublicKey())

	// Forgeries, each cosigned by sam's device.
	ws, _ := sam.WitnessSigner()
	cosign := func(text string) []byte {
		n, err := note.Sign(&note.Note{Text: text}, ws)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	otherRoot := cp
	otherRoot.Root[0] ^= 1
	bigger := cp
	bigger.Size += 10
	otherLog := cp
	otherLog.Origin = "fieldcase/ELSEWHERE"
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	wrongKey, _ := transparency.WitnessSigner(sam.DeviceID, sam.Identity.SigningPublicKey(), func(m []byte) []byte { return ed25519.Sign(otherPriv, m) })
	wrongSig, _ := transparency.Cosign(signed, wrongKey)
	tests := []struct {
		name   string
		c      *servertest.Client
		body   []byte
		status int
	}{
		{"a caseworker", ada, nil, http.StatusForbidden},
		{"a cosignature that does not verify", sam, wrongSig, http.StatusBadRequest},
		{"not cosigned by the device", sam, signed, http.StatusBadRequest},
		{"not a note", sam, []byte("hello"), http.StatusBadRequest},
		{"another tree of the size", sam, cosign(otherRoot.Text()), http.StatusConflict},
		{"a tree beyond the log", sam, cosign(bigger.Text()), http.StatusConflict},
		{"another log", sam, cosign(otherLog.Text()), http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.body == nil {
				_, err = tc.c.Witness(e.ctx, signed)
			} else {
				_, err = tc.c.SendWitness(e.ctx, tc.body)
			}
			wantStatus(t, tc.name, err, tc.status, "")
		})
	}
	if _, _, by := e.checkpoint(ada, 0, samV); len(by) != 0 {
		t.Fatalf("refused cosignatures were handed on: %v", by)
	}

	// The real thing: accepted, and handed on with the checkpoint.
	got, err := sam.Witness(e.ctx, signed)
	if err != nil {
		t.Fatal(err)
	}
	if c, by, err := transparency.Open(got.Checkpoint, e.logKey(), samV); err != nil || c != cp || len(by) != 1 || by[0] != transparency.WitnessName(sam.DeviceID) {
		t.Errorf("witness answer: %+v by %v, %v", c, by, err)
	}
	if c, _, by := e.checkpoint(ada, 0, samV); c != cp || len(by) != 1 {
		t.Errorf("checkpoint handed on: %+v by %v; want cosigned by %s", c, by, sam.DeviceID)
	}
	// A second supervisor's too; a new tree starts without any.
	e.user("sue", protocol.RoleSupervisor, "north")
	sue, _ := e.device("sue")
	if _, err := sue.Witness(e.ctx, signed); err != nil {
		t.Fatal(err)
	}
	sueV, _ := transparency.WitnessVerifier(sue.DeviceID, sue.Identity.SigningPublicKey())
	resp, _ = ada.Log(e.ctx, 0)
	newer, by, err := transparency.Open(resp.Checkpoint, e.logKey(), samV, sueV)
	if err != nil || newer.Size <= cp.Size || len(by) != 0 {
		t.Errorf("after more entries: %+v by %v, %v; want a bigger tree without cosignatures", newer, by, err)
	}
	info, err := e.admin.Log(e.ctx)
	if err != nil || len(info.Witnesses) != 2 || info.Witnesses[0].Size != cp.Size {
		t.Errorf("admin log info: %+v, %v", info, err)
	}
	if rep, err := e.admin.VerifyLog(e.ctx); err != nil || len(rep.Problems) > 0 || rep.Witnesses != 2 {
		t.Errorf("VerifyLog = %+v, %v", rep, err)
	}
}

// A server restarted on its store keeps its log: the same checkpoint, and
// later ones consistent with it.
func TestLogSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st)
	e.user("ada", protocol.RoleCaseworker, "north")
	ada, aw := e.device("ada")
	e.pushOK(ada, aw.NewCase("C1")...)
	before, _, _ := e.checkpoint(ada, 0)
	key := e.logKey()
	e.http.Close()
	st.Close()

	st2, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); st2.Close() })
	ada.BaseURL = hs.URL
	resp, err := ada.Log(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := transparency.Open(resp.Checkpoint, key)
	if err != nil || after != before {
		t.Fatalf("after a restart: %+v, %v; want %+v under the same key", after, err, before)
	}
	if _, err := ada.Push(e.ctx, nil, aw.Rev(record.KindNote, "C1", "N1")); err != nil {
		t.Fatal(err)
	}
	resp, err = ada.Log(e.ctx, before.Size)
	if err != nil {
		t.Fatal(err)
	}
	newer, _, err := transparency.Open(resp.Checkpoint, key)
	if err != nil || transparency.CheckConsistency(before, newer, resp.Consistency) != nil || newer.Size != before.Size+1 {
		t.Errorf("after a restart and a push: %+v, %v", newer, err)
	}
}

// A backup restored serves the same log under the same key.
func TestLogBackupRestore(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	e.pushOK(ada, aw.NewCase("C1")...)
	resp, _ := sam.Log(e.ctx, 0)
	if _, err := sam.Witness(e.ctx, resp.Checkpoint); err != nil {
		t.Fatal(err)
	}
	want, err := sam.Log(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bk := filepath.Join(dir, "backup.db")
	if err := e.admin.Backup(e.ctx, bk); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored", boltstore.FileName)
	if err := boltstore.Restore(bk, restored); err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(restored, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOn(t, st)
	ada.BaseURL = e2.http.URL
	got, err := ada.Log(e.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Checkpoint, want.Checkpoint) {
		t.Errorf("restored server's checkpoint:\n%s\nwant\n%s", got.Checkpoint, want.Checkpoint)
	}
	if rep, err := server.NewAdmin(st).VerifyLog(e.ctx); err != nil || len(rep.Problems) > 0 {
		t.Errorf("VerifyLog of the restored store = %+v, %v", rep, err)
	}
	if !strings.Contains(string(got.Checkpoint), transparency.WitnessName(sam.DeviceID)) {
		t.Error("the restored checkpoint lost its cosignature")
	}
}

// A revision in the store without a log entry (a store damaged, or written
// behind the server's back) is still served, with index -1 where its log
// index would be, and pushed again it gets no receipt; log verify names it.
func TestUnloggedRevision(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	e.pushOK(ada, aw.NewCase("C1")...)
	sneaked := aw.Rev(record.KindNote, "C1", "N1")
	err := e.store.Update(e.ctx, func(tx server.Tx) error {
		if err := tx.InsertRecord(server.RecordInfo{ID: sneaked.RecordID, CaseID: "C1", Kind: sneaked.Kind}); err != nil {
			return err
		}
		if err := tx.InsertRevision(sneaked); err != nil {
			return err
		}
		_, err := tx.AppendChange(server.Change{Rev: sneaked.Rev, CaseID: "C1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	hdr, revs, err := sam.Pull(e.ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 3 || revs[2].Rev != sneaked.Rev || len(hdr.Indexes) != 3 || hdr.Indexes[2] != -1 || hdr.Indexes[1] < 0 {
		t.Errorf("pull: %d revisions, indexes %v; want the unlogged one last, at -1", len(revs), hdr.Indexes)
	}
	resp, err := ada.Push(e.ctx, nil, sneaked)
	if err != nil || resp.Results[0].Status != protocol.StatusPresent || resp.Results[0].Receipt != nil {
		t.Errorf("pushed again: %+v, %v; want present without a receipt", resp.Results, err)
	}
	rep, err := e.admin.VerifyLog(e.ctx)
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "revisions are stored") {
		t.Errorf("VerifyLog = %+v, %v", rep, err)
	}
}

// The log through the server on PostgreSQL: receipts and pulled indexes
// prove in the tree, checkpoints are consistent, a witness's cosignature
// is handed on, and a second server instance (a new connection pool, as
// after a restart) signs the same tree.
func TestLogOnPostgres(t *testing.T) {
	url := pgtest.URL(t)
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	first, _, _ := e.checkpoint(ada, 0)
	revs := append(aw.NewCase("C1"), aw.Rev(record.KindNote, "C1", "N1"))
	resp, err := ada.Push(e.ctx, protocol.PushHeader{AuditHeads: []protocol.AuditHead{ada.AuditHead("C1", 1, [32]byte{1})}}, revs...)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int64
	for i, res := range resp.Results {
		if res.Receipt == nil || res.Receipt.Verify(e.logKey()) != nil {
			t.Fatalf("result %d: %+v", i, res)
		}
		idx = append(idx, res.Receipt.Index)
	}
	idx = append(idx, resp.AuditIndexes...)
	got := e.proveEntries(ada, idx...)
	for i, r := range revs {
		if !entryIs(got[i], r) {
			t.Errorf("entry %d is not revision %s", idx[i], r.Rev.Short())
		}
	}
	if got[len(revs)].Kind != transparency.KindAuditHead {
		t.Errorf("audit head entry = %+v", got[len(revs)])
	}
	hdr, pulled, err := sam.Pull(e.ctx, "", 0)
	if err != nil || len(hdr.Indexes) != len(pulled) {
		t.Fatalf("pull: %d indexes for %d revisions, %v", len(hdr.Indexes), len(pulled), err)
	}
	for i, ent := range e.proveEntries(sam, hdr.Indexes...) {
		if !entryIs(ent, pulled[i]) {
			t.Errorf("pulled index %d is not its revision's entry", hdr.Indexes[i])
		}
	}
	cp, proof, _ := e.checkpoint(ada, first.Size)
	if err := transparency.CheckConsistency(first, cp, proof); err != nil {
		t.Error(err)
	}
	lr, _ := sam.Log(e.ctx, 0)
	if _, err := sam.Witness(e.ctx, lr.Checkpoint); err != nil {
		t.Fatal(err)
	}
	// Another instance on the same database.
	st2, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOn(t, st2)
	ada.BaseURL = e2.http.URL
	again, err := ada.Log(e.ctx, 0)
	if err != nil || !bytes.Equal(again.Checkpoint, func() []byte { r, _ := sam.Log(e.ctx, 0); return r.Checkpoint }()) {
		t.Errorf("the second instance's checkpoint differs: %s, %v", again.Checkpoint, err)
	}
	if rep, err := e.admin.VerifyLog(e.ctx); err != nil || len(rep.Problems) > 0 || rep.Witnesses != 1 {
		t.Errorf("VerifyLog = %+v, %v", rep, err)
	}
}
