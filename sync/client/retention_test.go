package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/trust"
)

// setRetention signs a retention policy with the agency key through
// fieldcased and returns the version it got.
func setRetention(t *testing.T, s *syncharness.Server, js string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "retention.json")
	writeFile(t, f, js)
	out := s.Admin("retention", "set", "--file", f)
	m := regexp.MustCompile(`version (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("retention set: %s", out)
	}
	return m[1]
}

const (
	lenientPolicy = `{"approvals":1,"default":[{"from":"closed","years":1}]}`
	strictPolicy  = `{"approvals":2,"default":[{"from":"closed","years":1},{"from":"last-contact","years":1}],"types":{"child":[{"from":"birth","years":75}]}}`
)

// Issue 15: the retention policy is the agency's signed statement. The
// operator cannot set one without the agency key, forge one with a key of
// its own (as the agency or in a laptop's name), or roll a device back to
// an older, laxer version by serving an old roster.
func TestRetentionPolicyForgedOrRolledBack(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	if v := setRetention(t, s, lenientPolicy); v != "1" {
		t.Fatalf("first version %s", v)
	}
	sam.MustSync()
	old, err := sam.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	if v := setRetention(t, s, strictPolicy); v != "2" {
		t.Fatalf("second version %s", v)
	}
	sam.MustSync()
	check := func(when string) {
		t.Helper()
		ret := sam.V.Roster().Retention
		if ret.Version != 2 || ret.Policy == nil || ret.Policy.Approvals != 2 {
			t.Fatalf("%s: sam's policy is version %d (%+v), want version 2 with two approvers", when, ret.Version, ret.Policy)
		}
	}
	check("after v2")

	f := filepath.Join(t.TempDir(), "lax.json")
	writeFile(t, f, lenientPolicy)
	if out, err := s.AdminWithout("retention", "set", "--file", f); err == nil || !strings.Contains(out, "agency-key") {
		t.Errorf("retention set without the agency key: %v\n%s", err, out)
	}
	op := syncharness.NewOperator(t)
	forged := []trust.Signed{
		op.Agency.Sign(trust.Statement{Kind: trust.KindRetention, Issued: time.Now(), Version: 99, Doc: []byte(lenientPolicy)}),
		op.SignAsDevice(sam.V.DeviceID(), trust.Statement{Kind: trust.KindRetention, Issued: time.Now(), Version: 100, Doc: []byte(lenientPolicy)}),
	}
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged...) })
	sum := sam.MustSync()
	check("after forged policies")
	for _, f := range forged {
		if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
			t.Errorf("forged policy %s not reported; problems %v", f.ID()[:12], sum.Trust.Problems)
		}
	}

	// Rolled back: a proxy serves the roster as it was at version 1.
	sam.UseURL(rosterReplayer(t, s, old))
	sam.MustSync()
	check("after a rolled-back roster")
}

// Issue 15: a case past its retention is destroyed everywhere. Ada (a
// caseworker) wrote it; Sam and Kim supervise. An agency hold and then a
// supervisor's hold keep it; released, the policy's two supervisors
// approve; the server deletes it at the second approval; Sam's and Kim's
// laptops remove it at their next sync; Ada's laptop, offline meanwhile
// with a note written into the case, removes it at its next sync. Another
// case stays. Then the operator keeps the case (puts its revisions back):
// a device that asks finds it, one that is served it says so.
func TestDestructionEverywhere(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	setRetention(t, s, strictPolicy)
	recoveryKey := setRecovery(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	kim := s.NewDevice("kim", s.URL, "kim", "supervisor", "north")
	ctx := context.Background()
	c, err := ada.V.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ada.V.AddNote(c, record.Note{Kind: "visit", Date: "2019-12-01", Text: "last visit before closing"}); err != nil {
		t.Fatal(err)
	}
	keep := newCase(t, ada, "OPEN-1")
	addNote(t, ada, keep, "an open case")
	syncRounds(t, ada, sam, kim)
	before := revsOf(t, sam, func(r *record.Revision) bool { return r.CaseID == c })
	if len(before) < 3 {
		t.Fatalf("sam holds %d revisions of the case", len(before))
	}
	today := record.DateOf(time.Now())
	approve := func(d *syncharness.Device) (bool, error) {
		t.Helper()
		if err := d.V.LoadAll(ctx); err != nil {
			t.Fatal(err)
		}
		return d.Syncer.ApproveDestruction(ctx, d.V, c, "past retention", today)
	}

	// The queue: due under the policy, with its formula.
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	it, err := sam.V.RetentionOf(c, today)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != store.RetentionDue || it.Due.Until != "2021-01-10" || it.Needed != 2 || it.Team == "" {
		t.Fatalf("retention of the closed case: %+v", it)
	}
	if it, _ := sam.V.RetentionOf(keep, today); it.State != store.RetentionUnknown {
		t.Errorf("open case: state %q", it.State)
	}
	// A caseworker cannot approve.
	if err := ada.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ada.Syncer.ApproveDestruction(ctx, ada.V, c, "mine", today); !errors.Is(err, trust.ErrNotAllowed) {
		t.Errorf("a caseworker's approval: %v, want ErrNotAllowed", err)
	}

	// An agency hold (a court order) keeps it.
	out := s.Admin("retention", "hold", c, "--team", "north", "--ref", "FD26P00123", "--ordered-by", "Family Court", "--reason", "care proceedings")
	holdID := regexp.MustCompile(`hold ([0-9a-f]{64})`).FindStringSubmatch(out)
	if holdID == nil {
		t.Fatalf("hold: %s", out)
	}
	sam.MustSync()
	kim.MustSync()
	if _, err := approve(sam); !errors.Is(err, client.ErrHeld) {
		t.Fatalf("approving a held case: %v, want ErrHeld", err)
	}
	// Kim's own hold, released by Kim; the agency's, by the agency.
	if _, err := kim.Syncer.PlaceHold(ctx, kim.V, c, "inquiry 7", "the inquiry", "documents requested"); err != nil {
		t.Fatal(err)
	}
	holds := kim.V.Roster().Retention.Active(c)
	if len(holds) != 2 {
		t.Fatalf("holds in force: %+v", holds)
	}
	for _, h := range holds {
		if h.Signer != trust.SignerAgency {
			if err := kim.Syncer.ReleaseHold(ctx, kim.V, h, "documents sent"); err != nil {
				t.Fatal(err)
			}
		} else if err := kim.Syncer.ReleaseHold(ctx, kim.V, h, "mine to release?"); !errors.Is(err, trust.ErrNotAllowed) {
			t.Errorf("a supervisor releasing the agency's hold: %v", err)
		}
	}
	s.Admin("retention", "release", holdID[1][:12], "--reason", "proceedings ended")
	syncRounds(t, ada, sam, kim)

	// Ada goes offline and writes into the case.
	offline, err := ada.V.AddNote(c, record.Note{Kind: "phone", Date: "2020-01-05", Text: "a call written up late, offline"})
	if err != nil {
		t.Fatal(err)
	}

	backupBefore := filepath.Join(t.TempDir(), "before.db")
	s.Admin("backup", "--out", backupBefore)

	// Two supervisors: the first approval destroys nothing.
	if gone, err := approve(sam); err != nil || gone {
		t.Fatalf("sam's approval: destroyed %v, %v", gone, err)
	}
	if gone, err := approve(sam); err != nil || gone {
		t.Fatalf("sam's second approval (the same person): destroyed %v, %v", gone, err)
	}
	if it, _ := sam.V.RetentionOf(c, today); it.State != store.RetentionSecond {
		t.Errorf("after one approver: %q", it.State)
	}
	if gone, err := approve(kim); err != nil || !gone {
		t.Fatalf("kim's approval: destroyed %v, %v", gone, err)
	}
	// No sealed body of the case is left in a file: not the server's
	// (bbolt keeps freed pages; the server zeroes them after the commit),
	// not a laptop's once it has destroyed its copy.
	lingering := func(path string) int {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range before {
			if len(r.Body) >= 48 && bytes.Contains(raw, r.Body[len(r.Body)-40:len(r.Body)-8]) {
				n++
			}
		}
		return n
	}
	if n := lingering(filepath.Join(s.Dir, boltstore.FileName)); n > 0 {
		t.Errorf("the server's file still holds %d sealed bodies of the destroyed case", n)
	}

	removedEverything := func(d *syncharness.Device) {
		t.Helper()
		if left := revsOf(t, d, func(r *record.Revision) bool { return r.CaseID == c }); len(left) != 0 {
			t.Errorf("%s: %d revisions of the destroyed case left", d.Name, len(left))
		}
		if slices.Contains(d.V.HeldCases(), c) {
			t.Errorf("%s still holds the case key", d.Name)
		}
		d.Reopen()
		if slices.Contains(d.V.HeldCases(), c) {
			t.Errorf("%s holds the case key again after unlock", d.Name)
		}
		if _, err := d.V.Case(c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: the case still shows: %v", d.Name, err)
		}
		if readable, _ := refs(t, d); !slices.Contains(readable, "OPEN-1") {
			t.Errorf("%s lost the other case: %v", d.Name, readable)
		}
		ts, err := d.V.Destructions()
		if err != nil || len(ts) != 1 {
			t.Fatalf("%s: tombstones %+v, %v", d.Name, ts, err)
		}
		tb := ts[0]
		if tb.CaseID != c || tb.PolicyVersion != 1 || !slices.Equal(slices.Sorted(slices.Values(tb.ApprovedBy)), []string{"kim", "sam"}) || tb.Revisions == 0 {
			t.Errorf("%s: tombstone %+v", d.Name, tb)
		}
	}
	for _, d := range []*syncharness.Device{sam, kim} {
		sum := d.MustSync()
		if len(sum.Destroyed) != 1 || sum.Destroyed[0].CaseID != c {
			t.Errorf("%s: round destroyed %+v", d.Name, sum.Destroyed)
		}
		removedEverything(d)
		if n := lingering(d.V.Path()); n > 0 {
			t.Errorf("%s's vault file still holds %d sealed bodies of the destroyed case", d.Name, n)
		}
		ts, _ := d.V.Destructions()
		if ts[0].ServerChecked.IsZero() || ts[0].ServerHeld != 0 {
			t.Errorf("%s: the server was not asked, or still holds the case: %+v", d.Name, ts[0])
		}
	}

	// Crypto-shredding, as far as it goes today (docs/ARCHITECTURE.md,
	// "Destruction"): a backup taken after the destruction holds nothing
	// of the case for any identity; one taken before is still read by the
	// agency recovery identity, whose wraps are in it.
	backupAfter := filepath.Join(t.TempDir(), "after.db")
	s.Admin("backup", "--out", backupAfter)
	for _, b := range []struct {
		from string
		has  bool
	}{{backupBefore, true}, {backupAfter, false}} {
		dir := filepath.Join(t.TempDir(), "export")
		if out, err := recoveryExport(s, "--identity", recoveryKey, "--all", "--out", dir, "--from", b.from); err != nil {
			t.Fatalf("recovery export of %s: %v\n%s", filepath.Base(b.from), err, out)
		}
		_, err := os.Stat(filepath.Join(dir, "OLD-1", "case.md"))
		if has := err == nil; has != b.has {
			t.Errorf("recovery export of %s holds the destroyed case: %v, want %v", filepath.Base(b.from), has, b.has)
		}
		if _, err := os.Stat(filepath.Join(dir, "OPEN-1", "case.md")); err != nil {
			t.Errorf("recovery export of %s lacks the other case: %v", filepath.Base(b.from), err)
		}
	}

	// The operator keeps the case: its revisions go back into the store
	// (not announced). Ada's laptop, back online, pushes its note (the
	// server refuses it: the case is destroyed), destroys the case, and
	// finds the server still holding it.
	s.Tamper(func(tx server.Tx) error {
		for _, r := range before {
			if err := tx.InsertRecord(server.RecordInfo{ID: r.RecordID, CaseID: r.CaseID, Kind: r.Kind}); err != nil && !errors.Is(err, server.ErrExists) {
				return err
			}
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
		}
		return nil
	})
	sum, err := ada.Sync()
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "still holds") {
		t.Errorf("ada's round against a server that kept the case: %v", err)
	}
	if len(sum.Destroyed) != 1 || sum.Destroyed[0].Unsynced+sum.Rejected == 0 {
		t.Errorf("ada's round: destroyed %+v, refused %d (her offline note %s)", sum.Destroyed, sum.Rejected, offline)
	}
	removedEverything(ada)

	// And serves it: a device that is handed it says so, and takes none.
	m, _, err := sam.V.Membership(keep)
	if err != nil {
		t.Fatal(err)
	}
	s.Tamper(func(tx server.Tx) error {
		for _, r := range before {
			if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: r.CaseID}); err != nil {
				return err
			}
		}
		return tx.PutCase(server.Case{ID: c, TeamID: m.Team, Members: []string{"ada"}, Created: time.Now().UTC()})
	})
	if _, err := sam.Sync(); !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "still serves") {
		t.Errorf("sam's round against a server serving the destroyed case: %v", err)
	}
	if left := revsOf(t, sam, func(r *record.Revision) bool { return r.CaseID == c }); len(left) != 0 {
		t.Errorf("sam took %d revisions of the destroyed case", len(left))
	}
}

// Issue 15: a laptop destroys only what its own copy of the case shows
// due, and nothing while a statement the log holds is kept from it. Sam's
// laptop is made to lie: it signs approvals without ApproveDestruction's
// checks, and the server passes them on — one for a case Ada's copy shows
// closed last month, one for a case on the agency's legal hold, whose hold
// the server then keeps from Ada. Ada's laptop destroys neither, and
// raises an alarm for each.
func TestDestructionRefusedWhenNotDueOrHeld(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	setRetention(t, s, lenientPolicy)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	recent, err := ada.V.CreateCase(record.Case{Ref: "RECENT-1", Subject: "Closed last month", Status: "closed",
		CaseType: "adult", Opened: "2024-03-01", Closed: record.DateOf(time.Now().AddDate(0, -1, 0))})
	if err != nil {
		t.Fatal(err)
	}
	held, err := ada.V.CreateCase(record.Case{Ref: "HELD-1", Subject: "Closed long ago", Status: "closed",
		CaseType: "adult", Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	syncRounds(t, ada, sam)
	m, _, err := sam.V.Membership(recent)
	if err != nil || m.Team == "" {
		t.Fatalf("sam's membership of the case: %+v, %v", m, err)
	}
	samID, err := sam.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	lie := func(caseID string) trust.Signed {
		return trust.SignAsDevice(sam.V.DeviceID(), samID.Sign, trust.Statement{Kind: trust.KindDestroy, Case: caseID,
			Team: m.Team, Version: 1, Due: time.Date(2021, 1, 10, 0, 0, 0, 0, time.UTC), Reason: "past retention", Issued: time.Now()})
	}
	stillThere := func(when string, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if cv, err := ada.V.Case(id); err != nil || cv.Sealed {
				t.Errorf("%s: ada's case %s: %+v, %v", when, id, cv, err)
			}
		}
		if ts, err := ada.V.Destructions(); err != nil || len(ts) != 0 {
			t.Errorf("%s: ada's tombstones %+v, %v", when, ts, err)
		}
	}

	// Not due: the roster proves the destruction; Ada's copy does not.
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, lie(recent)) })
	_, err = ada.Sync()
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), recent) || !strings.Contains(err.Error(), "not due") {
		t.Errorf("ada's round with approvals for a case not due: %v, want an alarm naming it not due", err)
	}
	if ada.V.Roster().Retention.Destroyed[recent].Case == "" {
		t.Fatal("the roster does not prove the destruction: this test would prove nothing")
	}
	stillThere("not due", recent, held)

	// Held: the agency's hold, then an approval; the server serves Ada
	// the roster without the hold.
	s.Admin("retention", "hold", held, "--team", m.Team, "--ref", "FD26P00123", "--ordered-by", "Family Court", "--reason", "care proceedings")
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, lie(held)) })
	var all []trust.Signed
	s.Tamper(func(tx server.Tx) error {
		var err error
		all, err = tx.Statements()
		return err
	})
	withheld := slices.DeleteFunc(slices.Clone(all), func(sg trust.Signed) bool {
		st, err := sg.Open()
		return err == nil && st.Kind == trust.KindHold
	})
	if len(withheld) != len(all)-1 {
		t.Fatalf("%d statements without the hold, of %d", len(withheld), len(all))
	}
	ada.UseURL(rosterReplayer(t, s, withheld))
	_, err = ada.Sync()
	if !errors.Is(err, client.ErrLogAlarm) {
		t.Errorf("ada's round with the hold kept from her: %v, want an alarm", err)
	}
	if ada.V.Roster().Retention.Destroyed[held].Case == "" {
		t.Fatal("ada's roster does not prove the held case destroyed: this test would prove nothing")
	}
	stillThere("hold withheld", recent, held)
}
