package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// escrowDeposit reads a case's deposit from an escrow file (the service
// stopped, or a copy).
func escrowDeposit(t *testing.T, file, caseID string) (escrow.Deposit, error) {
	t.Helper()
	st, err := escrow.Open(file, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.Get(caseID)
}

// Issue 15, crypto-shredding part 1, against a real fieldcased and a real
// escrow service on 127.0.0.1: a case made while the agency names an
// escrow service is wrapped to its own escrow key, deposited by the laptop
// that made it; the recovery identity reads a backup of the case server
// only with the escrow file. Destroying the case deletes its escrow key
// (and its bytes from the escrow file), after which the recovery export of
// a server backup taken *before* the destruction no longer opens that case
// — and still opens the other. Forged proofs and second deposits are
// refused; an escrow service down at sync keeps the deposit queued and
// holds up nothing else.
func TestEscrowShredsRecoveryOfOldBackups(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	setRetention(t, s, lenientPolicy)
	recoveryKey := setRecovery(t, s)
	esc := syncharness.StartEscrow(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	ada.MustSync()
	if r := ada.V.Roster(); r.Escrow.URL != esc.URL || r.Escrow.Key == nil {
		t.Fatalf("ada's roster names escrow %+v, want %s with a receipt key", r.Escrow, esc.URL)
	}
	ctx := context.Background()
	old, err := ada.V.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	addNote(t, ada, old, "last visit before closing")
	keep := newCase(t, ada, "OPEN-1")
	addNote(t, ada, keep, "an open case")
	for _, c := range []string{old, keep} {
		if m, _, _ := ada.V.Membership(c); m.Escrow == "" {
			t.Fatalf("case %s has no escrow key", c)
		}
	}
	sum := ada.MustSync()
	if sum.Escrow.Deposited != 2 || sum.Escrow.Waiting != 0 {
		t.Fatalf("ada's round: escrow %+v, want 2 deposited", sum.Escrow)
	}
	if ds, _ := ada.V.EscrowDeposits(); len(ds) != 0 {
		t.Errorf("ada still queues %d deposits after the receipts", len(ds))
	}
	syncRounds(t, ada, sam)

	// A second, different deposit for a case is refused, even signed by
	// the laptop that made the case; a deposit signed by another laptop
	// for a case it did not make is not trusted.
	m, _, err := ada.V.Membership(old)
	if err != nil {
		t.Fatal(err)
	}
	statements, err := ada.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	recID, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.NewIdentity()
	wrapped, _ := crypto.WrapEscrow(other, old, recID.Recipient())
	ec := escrow.NewClient(ada.V.Roster().Escrow, nil)
	for _, tc := range []struct {
		name string
		d    *syncharness.Device
		want error
	}{{"second deposit by its creator", ada, escrow.ErrExists}, {"deposit by another laptop", sam, escrow.ErrNotTrusted}} {
		id, err := tc.d.V.Identity()
		if err != nil {
			t.Fatal(err)
		}
		d := escrow.Deposit{CaseID: old, Device: tc.d.V.DeviceID(), Salt: m.Salt, Recipient: other.Recipient(), Wrapped: wrapped}
		d.Sign(id.Sign)
		if err := ec.Deposit(ctx, d, statements); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A destruction the statements do not prove, or proved only by an
	// approval the operator forged in a supervisor laptop's name, deletes
	// nothing.
	op := syncharness.NewOperator(t)
	forged := op.SignAsDevice(sam.V.DeviceID(), trust.Statement{Kind: trust.KindDestroy, Case: keep, Team: m.Team,
		Version: 1, Due: time.Now().UTC().Truncate(24 * time.Hour), Ref: "forged"})
	for name, ss := range map[string][]trust.Signed{"no approval": statements, "forged approval": append(statements, forged)} {
		if done, err := ec.Destroy(ctx, []string{keep}, ss); !errors.Is(err, escrow.ErrNotTrusted) || len(done) != 0 {
			t.Errorf("destroy with %s: %v %v, want ErrNotTrusted", name, done, err)
		}
	}

	// Before the destruction: a server backup and an escrow snapshot. The
	// recovery identity opens both cases with the escrow file, neither
	// without it (their keys are not wrapped to it).
	backupBefore := filepath.Join(t.TempDir(), "before.db")
	s.Admin("backup", "--out", backupBefore)
	escrowBefore := filepath.Join(t.TempDir(), "escrow-before.db")
	esc.Snapshot(escrowBefore)
	exportHas := func(name string, args ...string) map[string]bool {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "export")
		out, err := recoveryExport(s, append([]string{"--identity", recoveryKey, "--all", "--out", dir}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		has := map[string]bool{}
		for _, ref := range []string{"OLD-1", "OPEN-1"} {
			_, err := os.Stat(filepath.Join(dir, ref, "case.md"))
			has[ref] = err == nil
		}
		return has
	}
	if has := exportHas("export before, with the escrow file", "--from", backupBefore, "--escrow", escrowBefore); !has["OLD-1"] || !has["OPEN-1"] {
		t.Fatalf("recovery export before the destruction: %v, want both cases", has)
	}
	out, err := recoveryExport(s, "--identity", recoveryKey, "--all", "--out", filepath.Join(t.TempDir(), "x"), "--from", backupBefore)
	if err == nil || !strings.Contains(out, "unreadable") || !strings.Contains(out, "--escrow") {
		t.Errorf("recovery export without the escrow file: %v\n%s\nwant every case unreadable, naming --escrow", err, out)
	}
	dep, err := escrowDeposit(t, escrowBefore, old)
	if err != nil {
		t.Fatal(err)
	}

	// The destruction, through the real flow: the supervisor's approval
	// (one approver under this policy), then every laptop's round.
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, old, "past retention", record.DateOf(time.Now())); err != nil || !gone {
		t.Fatalf("sam's approval: destroyed %v, %v", gone, err)
	}
	sum = sam.MustSync()
	if sum.Escrow.Shredded != 1 || sum.Escrow.Problem != "" {
		t.Fatalf("sam's round after the destruction: escrow %+v, want the destruction acknowledged", sum.Escrow)
	}
	ada.MustSync()

	escrowAfter := filepath.Join(t.TempDir(), "escrow-after.db")
	esc.Snapshot(escrowAfter)
	if _, err := escrowDeposit(t, escrowAfter, old); !errors.Is(err, escrow.ErrDestroyed) {
		t.Errorf("the escrow file after the destruction: %v, want ErrDestroyed", err)
	}
	if _, err := escrowDeposit(t, escrowAfter, keep); err != nil {
		t.Errorf("the other case's escrow key: %v", err)
	}
	raw, err := os.ReadFile(esc.File)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(dep.Wrapped)
	if mid := len(b64) / 2; bytes.Contains(raw, []byte(b64[mid:mid+48])) || bytes.Contains(raw, []byte(dep.Recipient[100:148])) {
		t.Error("the escrow file still holds the destroyed case's deposit bytes")
	}
	// The pre-destruction server backup, with the escrow service's file as
	// it is now: the destroyed case is unreadable, reported, not an error;
	// the other case opens.
	dir := filepath.Join(t.TempDir(), "export-after")
	out, err = recoveryExport(s, "--identity", recoveryKey, "--all", "--out", dir, "--from", backupBefore, "--escrow", escrowAfter)
	if err != nil {
		t.Fatalf("recovery export of the old backup after the destruction: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "OLD-1")); err == nil {
		t.Error("the recovery identity still opens the destroyed case from a backup taken before")
	}
	if _, err := os.Stat(filepath.Join(dir, "OPEN-1", "case.md")); err != nil {
		t.Errorf("the other case: %v", err)
	}
	if !strings.Contains(out, old+": unreadable: the case was destroyed") {
		t.Errorf("the export does not report the destroyed case:\n%s", out)
	}
	// A second deposit of the destroyed case (a laptop offline meanwhile,
	// replaying the one it had) is refused.
	dep.Sig = nil
	id, _ := ada.V.Identity()
	dep.Sign(id.Sign)
	if err := ec.Deposit(ctx, dep, statements); !errors.Is(err, escrow.ErrDestroyed) {
		t.Errorf("a deposit of the destroyed case again: %v, want ErrDestroyed", err)
	}

	// The escrow service down: the new cases' deposits wait, their data
	// syncs. One of them is destroyed meanwhile: its queued escrow key goes
	// with it from ada's vault and never reaches the service. Once the
	// service is back, the other deposit goes.
	esc.Stop()
	fresh := newCase(t, ada, "NEW-2")
	addNote(t, ada, fresh, "written while the escrow service was down")
	old2, err := ada.V.CreateCase(record.Case{Ref: "OLD-2", Subject: "Another closed case", Status: "closed", CaseType: "adult",
		Opened: "2016-03-01", Closed: "2019-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	sum, err = ada.Sync()
	if err != nil {
		t.Fatalf("ada's round with the escrow service down: %v", err)
	}
	if sum.Escrow.Waiting != 2 || !strings.Contains(sum.Escrow.Problem, "unavailable") {
		t.Errorf("escrow with the service down: %+v, want two waiting, unavailable", sum.Escrow)
	}
	if sum.Pushed == 0 {
		t.Error("the case data did not sync while the escrow service was down")
	}
	escrowNote := func() *client.EscrowStatus {
		t.Helper()
		m, err := ada.V.Locals(client.EscrowStatusKey)
		if err != nil {
			t.Fatal(err)
		}
		js := m[client.EscrowStatusKey]
		if js == nil {
			return nil
		}
		var st client.EscrowStatus
		if err := json.Unmarshal(js, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	if st := escrowNote(); st == nil || st.Waiting != 2 || st.At.IsZero() {
		t.Errorf("the kept escrow status with the service down: %+v", st)
	}
	sam.MustSync()
	if readable, _ := refs(t, sam); !strings.Contains(strings.Join(readable, ","), "NEW-2") {
		t.Errorf("sam does not have the new case: %v", readable)
	}
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, old2, "past retention", record.DateOf(time.Now())); err != nil || !gone {
		t.Fatalf("sam's approval of OLD-2: destroyed %v, %v", gone, err)
	}
	if sum, _ := ada.Sync(); len(sum.Destroyed) != 1 || sum.Escrow.Waiting != 1 {
		t.Errorf("ada's round after OLD-2's destruction: destroyed %d, escrow %+v; want OLD-2 gone and one deposit waiting", len(sum.Destroyed), sum.Escrow)
	}
	if ds, _ := ada.V.EscrowDeposits(); len(ds) != 1 || ds[0].CaseID != fresh {
		t.Errorf("ada's queued deposits after OLD-2's destruction: %+v, want NEW-2's only", ds)
	}
	esc.Start()
	if sum := ada.MustSync(); sum.Escrow.Deposited != 1 || sum.Escrow.Waiting != 0 {
		t.Errorf("ada's round with the service back: %+v, want the deposit made", sum.Escrow)
	}
	if st := escrowNote(); st != nil {
		t.Errorf("the escrow status is still kept after the deposits drained: %+v", st)
	}
	sam.MustSync()
	esc.Snapshot(escrowAfter)
	if _, err := escrowDeposit(t, escrowAfter, fresh); err != nil {
		t.Errorf("NEW-2's escrow key: %v", err)
	}
	if _, err := escrowDeposit(t, escrowAfter, old2); !errors.Is(err, escrow.ErrDestroyed) {
		t.Errorf("OLD-2's escrow key: %v, want ErrDestroyed (never deposited, its destruction told)", err)
	}
}

// escrowStatementDropper is a proxy in front of s that leaves the agency's
// escrow statements out of every roster it serves (enrolment included):
// the server withholding the escrow service from a laptop.
func escrowStatementDropper(t *testing.T, s *syncharness.Server) string {
	t.Helper()
	return rosterFilter(t, s, func(st trust.Statement) bool { return st.Kind == trust.KindEscrow })
}

// Issue 15, crypto-shredding part 1: what the server can do against escrow
// keys. It can serve a keyring that moves a case's recovery wraps to
// another key — even one signed by a real supervisor's laptop (made to
// lie) — and every laptop quarantines it and keeps wrapping to the case's
// escrow key. It can withhold the escrow statement from a laptop: that
// laptop's new cases fall back to the recovery recipient (as before
// escrow), and its log audit says a logged statement is missing.
func TestEscrowServerLies(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	setRecovery(t, s)
	syncharness.StartEscrow(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	ada.MustSync()
	c := newCase(t, ada, "ESC-1")
	syncRounds(t, ada, sam)
	m, _, err := ada.V.Membership(c)
	if err != nil || m.Escrow == "" {
		t.Fatalf("membership %+v, %v: no escrow key", m, err)
	}

	// Sam's laptop signs a keyring of the case whose escrow key is the
	// operator's; the server serves it.
	var head *record.Revision
	for _, r := range revsOf(t, sam, func(r *record.Revision) bool { return r.CaseID == c && r.Kind == record.KindKeyring }) {
		if head == nil || r.Generation > head.Generation {
			head = r
		}
	}
	kb, err := sealed.DecodeKeyring(head.Body)
	if err != nil {
		t.Fatal(err)
	}
	op := syncharness.NewOperator(t)
	wrapped, err := crypto.WrapKey(crypto.NewCaseKey(c, kb.Epoch), op.ID.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	swapped := kb.Membership
	swapped.Salt, swapped.Escrow = nil, op.ID.Recipient()
	samID, err := sam.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	rev := &record.Revision{RecordID: head.RecordID, Kind: record.KindKeyring, CaseID: c, Parents: []record.RevID{head.Rev},
		Generation: head.Generation + 1, HLC: head.HLC + 1<<20, Device: sam.V.DeviceID(), Seq: sam.V.LastSeq() + 1000,
		Body: sealed.Keyring{Epoch: kb.Epoch, Wrapped: wrapped, Membership: swapped}.Marshal()}
	rev.Seal()
	rev.Sign(samID.Sign)
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectRevision(tx, rev) })
	sum, _ := ada.Sync()
	if sum.Quarantined == 0 {
		t.Error("ada took a keyring that swaps the case's escrow key")
	}
	q, _ := ada.V.Quarantine()
	if !slices.ContainsFunc(q, func(x store.Quarantined) bool { return x.Rev == rev.Rev && strings.Contains(x.Reason, "escrow") }) {
		t.Errorf("quarantine %+v: the swapped keyring is not named with its reason", q)
	}
	if got, _, _ := ada.V.Membership(c); got.Escrow != m.Escrow {
		t.Error("ada's membership of the case follows the swapped escrow key")
	}

	// Withheld: a laptop enrolled through a server that leaves the escrow
	// statement out of its roster.
	p := escrowStatementDropper(t, s)
	bob := s.NewDevice("bob", p, "bob", "caseworker", "north")
	if _, err := bob.Sync(); !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "left off the roster") {
		t.Errorf("bob's round with the escrow statement withheld: %v, want the missing statement told", err)
	}
	if e := bob.V.Roster().Escrow; e.URL != "" {
		t.Fatalf("bob's roster names escrow %q through the dropping proxy", e.URL)
	}
	b := newCase(t, bob, "BOB-1")
	if bm, _, _ := bob.V.Membership(b); bm.Escrow != "" {
		t.Errorf("bob's case has escrow key %.20s… without the statement", bm.Escrow)
	}
	if ds, _ := bob.V.EscrowDeposits(); len(ds) != 0 {
		t.Errorf("bob queued %d deposits without an escrow service", len(ds))
	}
}
