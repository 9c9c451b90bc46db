package store

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// testLog is the server's log as the tests write it: whatever entries they
// like, in their order (a hostile server logs what it wants).
type testLog struct {
	entries []transparency.Entry
}

func (l *testLog) revisions(t *testing.T, revs ...*record.Revision) {
	t.Helper()
	for _, r := range revs {
		l.entries = append(l.entries, transparency.RevisionEntry(r))
	}
}

// outbox logs everything v wrote that the log does not hold yet.
func (l *testLog) outbox(t *testing.T, v *Vault) {
	t.Helper()
	revs, err := v.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[record.RevID]bool{}
	for _, e := range l.entries {
		seen[e.Rev] = true
	}
	for _, r := range revs {
		if !seen[r.Rev] {
			l.revisions(t, r)
		}
	}
}

// round is one sync's worth of following: v reads what it has not read of
// the log, and returns what it found wrong.
func (l *testLog) round(t *testing.T, v *Vault) (forged, withheld []Withheld) {
	t.Helper()
	f, ok, err := v.Follow()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if err := v.StartFollow(transparency.Frontier{}); err != nil {
			t.Fatal(err)
		}
		f, _, _ = v.Follow()
	}
	next := f.Frontier
	next.Nodes = append([]tlog.Hash(nil), f.Frontier.Nodes...)
	// As an honest server hands them out: in full to a device that reads
	// the case, as leaves to the others.
	mine, err := v.ReadCaseTags()
	if err != nil {
		t.Fatal(err)
	}
	var fresh []Followed
	for _, e := range l.entries[f.Frontier.Size:] {
		fe := Followed{Entry: &e}
		if _, ok := mine[transparency.CaseTag(e.CaseID)]; e.Kind != transparency.KindStatement && !ok && e.Device != v.DeviceID() {
			lf, err := transparency.ParseLeaf(e.Leaf())
			if err != nil {
				t.Fatal(err)
			}
			fe = Followed{Leaf: &lf}
		}
		next.Append(fe.Hash())
		fresh = append(fresh, fe)
	}
	if err := v.AddFollowed(fresh, next); err != nil {
		t.Fatal(err)
	}
	found, err := v.LogFindings()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range found {
		if strings.Contains(w.Reason, "never wrote") {
			forged = append(forged, w)
		} else {
			withheld = append(withheld, w)
		}
	}
	return forged, withheld
}

func mustFind(t *testing.T, ws []Withheld, rev record.RevID, reason string) {
	t.Helper()
	for _, w := range ws {
		if w.Entry.Rev == rev && strings.Contains(w.Reason, reason) {
			return
		}
	}
	t.Fatalf("findings %+v do not name %s (%q)", ws, rev.Short(), reason)
}

func randomRev() record.RevID {
	var r record.RevID
	rand.Read(r[:])
	return r
}

// The server logs a note of a case the supervisor reads but does not hand
// it over: after a round's grace, the supervisor's vault names it. Handing
// it over clears the finding.
func TestLogFindsWithheldRevision(t *testing.T) {
	tm := newTeam(t)
	var l testLog
	l.outbox(t, tm.ada)
	if f, w := l.round(t, tm.sam); len(f)+len(w) > 0 {
		t.Fatalf("first round: forged %+v, withheld %+v", f, w)
	}
	if f, w := l.round(t, tm.sam); len(f)+len(w) > 0 {
		t.Fatalf("everything was handed over: forged %+v, withheld %+v", f, w)
	}
	hidden := mustNote(t, tm.ada, tm.caseID, "the server hides this one")
	l.outbox(t, tm.ada)
	if _, w := l.round(t, tm.sam); len(w) > 0 {
		t.Fatalf("a note logged this round is not owed yet: %+v", w)
	}
	_, w := l.round(t, tm.sam)
	mustFind(t, w, tm.head(t, tm.ada, hidden), "has not handed over")
	// Bob is not a member of the case and holds no key of it: nothing is
	// owed to him, and the typist's device does not judge at all.
	for _, v := range []*Vault{tm.bob, tm.tia} {
		l.round(t, v)
		l.round(t, v)
		if _, w := l.round(t, v); len(w) > 0 {
			t.Errorf("%s's vault finds %+v", v.Profile().Name, w)
		}
	}
	pullAll(t, tm.ada, tm.sam)
	if _, w := l.round(t, tm.sam); len(w) > 0 {
		t.Fatalf("handed over, still found: %+v", w)
	}
}

// The server logs a revision in the supervisor's name that the supervisor
// never wrote (it cannot sign one, but it can log one): the supervisor's
// vault names it as soon as it reads it.
func TestLogFindsEntryForgedInOwnName(t *testing.T) {
	tm := newTeam(t)
	var l testLog
	l.outbox(t, tm.ada)
	l.round(t, tm.sam)
	l.entries = append(l.entries, transparency.Entry{Kind: transparency.KindRevision, Rev: randomRev(), CaseID: tm.caseID,
		RecordID: trust.NewRecordID(tm.sam.DeviceID(), time.Now()), RecKind: record.KindNote, Epoch: 1, Device: tm.sam.DeviceID(), Seq: 7})
	forged, _ := l.round(t, tm.sam)
	if len(forged) != 1 || !strings.Contains(forged[0].Reason, "never wrote") {
		t.Fatalf("forged = %+v, want the entry in sam's name", forged)
	}
	// Ada's own real revisions are not findings of hers.
	if forged, _ := l.round(t, tm.ada); len(forged) > 0 {
		t.Fatalf("ada's own revisions found forged: %+v", forged)
	}
}

// A statement the log holds that never reaches the roster (a revocation
// the server would rather devices did not hear of) is named after a round.
func TestLogFindsWithheldStatement(t *testing.T) {
	tm := newTeam(t)
	var l testLog
	l.outbox(t, tm.ada)
	for _, s := range tm.ag.statements {
		l.entries = append(l.entries, transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()})
	}
	l.round(t, tm.ada)
	if _, w := l.round(t, tm.ada); len(w) > 0 {
		t.Fatalf("every statement is on the roster: %+v", w)
	}
	rv := trust.SignAsDevice(tm.sam.DeviceID(), func(m []byte) []byte { id, _ := tm.sam.Identity(); return id.Sign(m) },
		trust.Statement{Kind: trust.KindRevoke, Device: tm.bob.DeviceID(), Reason: "stolen"})
	l.entries = append(l.entries, transparency.Entry{Kind: transparency.KindStatement, Statement: rv.ID()})
	l.round(t, tm.ada)
	_, w := l.round(t, tm.ada)
	if len(w) != 1 || w[0].Entry.Statement != rv.ID() {
		t.Fatalf("findings %+v, want the hidden revocation", w)
	}
	if _, err := tm.ada.AddStatements([]trust.Signed{rv}); err != nil {
		t.Fatal(err)
	}
	if _, w := l.round(t, tm.ada); len(w) > 0 {
		t.Fatalf("the revocation arrived, still found: %+v", w)
	}
}

// A caseworker taken off a case (a new key epoch whose keyring names her
// device in its cutoffs) is owed nothing logged after that keyring; she is
// owed the keyring itself, which tells her.
func TestLogCutOffMemberOwedOnlyTheCut(t *testing.T) {
	tm := newTeam(t)
	if _, err := tm.sam.ShareCase(tm.caseID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.ada, tm.bob)
	pullAll(t, tm.sam, tm.bob, tm.ada)
	var l testLog
	l.outbox(t, tm.ada)
	l.outbox(t, tm.sam)
	l.round(t, tm.bob)
	if _, w := l.round(t, tm.bob); len(w) > 0 {
		t.Fatalf("bob has everything: %+v", w)
	}
	before, err := tm.sam.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.sam.RotateCaseKey(tm.caseID, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	after, _ := tm.sam.Outbox(0)
	pullAll(t, tm.sam, tm.ada)
	mustNote(t, tm.ada, tm.caseID, "after bob left the case")
	l.outbox(t, tm.sam)
	l.outbox(t, tm.ada)
	var cut *record.Revision
	for _, r := range after[len(before):] {
		if r.Kind == record.KindKeyring {
			cut = r
		}
	}
	if cut == nil {
		t.Fatal("no keyring written by the rotation")
	}
	// The server withholds the cutting keyring too: that is a finding.
	l.round(t, tm.bob)
	_, w := l.round(t, tm.bob)
	mustFind(t, w, cut.Rev, "key change")
	// Handed the keyring, Bob is owed nothing more of the case.
	if _, err := tm.bob.ApplyPage([]*record.Revision{cut}, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, w := l.round(t, tm.bob); len(w) > 0 {
		t.Fatalf("bob was cut off the case; still owed %+v", w)
	}
}

// A revoked device's revision stands only if the log held it before the
// revocation's log size: whatever sequence number it claims, one logged
// later waits in quarantine, then is refused; one logged before stands.
func TestRevokedDeviceByLogOrder(t *testing.T) {
	tm := newTeam(t)
	early := mustNote(t, tm.ada, tm.caseID, "before the laptop was stolen")
	earlyRev, _ := tm.ada.Revision(tm.caseID, early, tm.head(t, tm.ada, early))
	late := mustNote(t, tm.ada, tm.caseID, "written by the thief, numbered as if before")
	lateRev, _ := tm.ada.Revision(tm.caseID, late, tm.head(t, tm.ada, late))
	// Sam revokes Ada's laptop, having seen the log up to 10 entries, and
	// every number Ada's laptop used so far (the thief reuses none: the
	// late note's number is within the cutoff, as a gap would be).
	rv := trust.SignAsDevice(tm.sam.DeviceID(), func(m []byte) []byte { id, _ := tm.sam.Identity(); return id.Sign(m) },
		trust.Statement{Kind: trust.KindRevoke, Device: tm.ada.DeviceID(), AfterSeq: lateRev.Seq, Reason: "stolen", LogSize: 10})
	if _, err := tm.bob.AddStatements([]trust.Signed{rv}); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.sam.ShareCase(tm.caseID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	// Bob learns the case and its keyrings first (Ada's are hers too, and
	// so wait for a checked place in the log like any of hers: give them
	// places before 10).
	adas, _ := tm.ada.Outbox(0)
	sams, _ := tm.sam.Outbox(0)
	revs := append(adas, sams...)
	var keyrings []Logged
	var page []*record.Revision
	for i, r := range revs {
		if r.Kind == record.KindKeyring || r.Kind == record.KindCase {
			page = append(page, r)
			keyrings = append(keyrings, Logged{CaseID: r.CaseID, RecordID: r.RecordID, Rev: r.Rev, Index: int64(i)})
		}
	}
	if err := tm.bob.PutLogged(keyrings); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.bob.ApplyPage(page, "", 0); err != nil {
		t.Fatal(err)
	}
	// Without a checked place, both wait.
	res, err := tm.bob.ApplyPage([]*record.Revision{earlyRev, lateRev}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Quarantined != 2 {
		t.Fatalf("ApplyPage = %+v, want both notes waiting for their place in the log", res)
	}
	if err := tm.bob.PutLogged([]Logged{
		{CaseID: tm.caseID, RecordID: early, Rev: earlyRev.Rev, Index: 5},
		{CaseID: tm.caseID, RecordID: late, Rev: lateRev.Rev, Index: 10},
	}); err != nil {
		t.Fatal(err)
	}
	applied, left, err := tm.bob.RecheckQuarantine()
	if err != nil {
		t.Fatal(err)
	}
	if applied != 1 || left != 1 || !tm.bob.HasRevision(tm.caseID, early, earlyRev.Rev) || tm.bob.HasRevision(tm.caseID, late, lateRev.Rev) {
		t.Fatalf("applied %d, left %d: want the early note in, the late one out", applied, left)
	}
	q, _ := tm.bob.Quarantine()
	if len(q) != 1 || !strings.Contains(q[0].Reason, "logged at 10") {
		t.Fatalf("quarantine %+v, want the late note refused for its place in the log", q)
	}
}

// A caseworker added to a case has followed its entries as leaves (she did
// not read it then): once she reads it, each of those entries must be the
// checked place of a revision she was handed, or it is named.
func TestLogLeavesOfACaseJoinedLater(t *testing.T) {
	tm := newTeam(t)
	var l testLog
	l.outbox(t, tm.ada)
	l.round(t, tm.bob)
	if _, w := l.round(t, tm.bob); len(w) > 0 {
		t.Fatalf("bob reads no case yet: %+v", w)
	}
	if _, err := tm.sam.ShareCase(tm.caseID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	l.outbox(t, tm.sam)
	adas, _ := tm.ada.Outbox(0)
	sams, _ := tm.sam.Outbox(0)
	all := append(adas, sams...)
	// The server hands Bob the case's history, and says where the log
	// holds each revision; his device checked those places (PutLogged)...
	// except the note, which the server keeps from him.
	var page []*record.Revision
	var placed []Logged
	var kept *record.Revision
	for _, r := range all {
		i := slices.IndexFunc(l.entries, func(e transparency.Entry) bool { return e.Rev == r.Rev })
		if r.Kind == record.KindNote {
			kept = r
			continue
		}
		page = append(page, r)
		placed = append(placed, Logged{CaseID: r.CaseID, RecordID: r.RecordID, Rev: r.Rev, Index: int64(i)})
	}
	if _, err := tm.bob.ApplyPage(page, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := tm.bob.PutLogged(placed); err != nil {
		t.Fatal(err)
	}
	if _, ok := must(tm.bob.ReadCaseTags())[transparency.CaseTag(tm.caseID)]; !ok {
		t.Fatal("bob does not read the case he was added to")
	}
	l.round(t, tm.bob)
	_, w := l.round(t, tm.bob)
	if len(w) != 1 || w[0].Entry.CaseID != tm.caseID || !strings.Contains(w[0].Reason, "has not handed over") {
		t.Fatalf("findings %+v, want the kept note's entry", w)
	}
	i := slices.IndexFunc(l.entries, func(e transparency.Entry) bool { return e.Rev == kept.Rev })
	if w[0].Index != int64(i) {
		t.Fatalf("named entry %d, want %d", w[0].Index, i)
	}
	// Handed over, and its place checked: nothing more.
	if _, err := tm.bob.ApplyPage([]*record.Revision{kept}, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := tm.bob.PutLogged([]Logged{{CaseID: kept.CaseID, RecordID: kept.RecordID, Rev: kept.Rev, Index: int64(i)}}); err != nil {
		t.Fatal(err)
	}
	if _, w := l.round(t, tm.bob); len(w) > 0 {
		t.Fatalf("still found: %+v", w)
	}
	// LeafAt answers for both forms: a leaf Bob followed, and an entry.
	if h, ok := tm.bob.LeafAt(tm.caseID, int64(i)); !ok || h != transparency.RevisionEntry(kept).Hash() {
		t.Error("LeafAt of a followed leaf")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// An audit head the log anchored is held against the chain in the vault: a
// chain that ends before it lost its tail; one whose event differs was
// rewritten. Sam, who reads the case, holds Ada's chain against the heads
// Ada's laptop anchored.
func TestLogAuditTail(t *testing.T) {
	tm := newTeam(t)
	for _, what := range []string{"one", "two"} {
		if err := tm.ada.Audit(tm.caseID, record.AuditExport, what); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := tm.ada.AuditHeadsToAnchor()
	if err != nil || len(hs) != 1 {
		t.Fatalf("heads to anchor: %+v, %v", hs, err)
	}
	h := hs[0]
	var l testLog
	l.outbox(t, tm.ada)
	l.entries = append(l.entries, transparency.Entry{Kind: transparency.KindAuditHead, CaseID: h.CaseID, Device: tm.ada.DeviceID(), Seq: h.Seq, Head: h.Hash, Sig: make([]byte, 64)})
	pullAll(t, tm.ada, tm.sam)
	l.round(t, tm.sam)
	l.round(t, tm.sam)
	if found, err := tm.sam.AuditTailFindings(); err != nil || len(found) > 0 {
		t.Fatalf("sam holds ada's whole trail: %+v, %v", found, err)
	}
	// A later head, whose events never reached Sam (or Ada lost them).
	l.entries = append(l.entries, transparency.Entry{Kind: transparency.KindAuditHead, CaseID: h.CaseID, Device: tm.ada.DeviceID(), Seq: h.Seq + 2, Head: h.Hash, Sig: make([]byte, 64)})
	l.round(t, tm.sam)
	l.round(t, tm.sam)
	found, err := tm.sam.AuditTailFindings()
	if err != nil || len(found) != 1 || !strings.Contains(found[0].Reason, "ends before event") {
		t.Fatalf("findings %+v, %v; want the lost tail", found, err)
	}
	// A head at a number Sam holds, with another hash: rewritten.
	other := h.Hash
	other[0] ^= 1
	var l2 testLog
	l2.outbox(t, tm.ada)
	l2.entries = append(l2.entries, transparency.Entry{Kind: transparency.KindAuditHead, CaseID: h.CaseID, Device: tm.ada.DeviceID(), Seq: h.Seq, Head: other, Sig: make([]byte, 64)})
	if err := tm.bob.ResetFollow(); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.sam.ShareCase(tm.caseID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.sam, tm.bob)
	pullAll(t, tm.ada, tm.bob)
	l2.round(t, tm.bob)
	l2.round(t, tm.bob)
	found, err = tm.bob.AuditTailFindings()
	if err != nil || len(found) != 1 || !strings.Contains(found[0].Reason, "rewritten") {
		t.Fatalf("findings %+v, %v; want the rewritten trail", found, err)
	}
}
