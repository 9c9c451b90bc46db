package client_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// Issue 15, crypto-shredding: every identity that survives a destruction —
// the laptops (a caseworker's, two supervisors'), the agency recovery
// identity and the agency's signing key — against one server backup taken
// before it. Before, each opens the case from that backup (else the test
// proves nothing). Once the destruction has reached the escrow service and
// the pre-keys the backup's keyrings were wrapped to have expired (the
// rotation period and the backup retention, on the laptops' clocks), none
// of them does, while each still reads the other case. What stays readable
// is shown too: the escrow service's own copy from before the destruction,
// until it ages out (docs/ARCHITECTURE.md, "Crypto-shredding").
func TestCryptoShreddingEverySurvivingIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := syncharness.StartServer(t)
	setRetention(t, s, lenientPolicy)
	recoveryKey := setRecovery(t, s)
	esc := syncharness.StartEscrow(t, s)
	clk := &Clock{}
	opts := store.Options{Now: clk.Now}
	ada := s.NewDeviceWith("ada", s.URL, "ada", "caseworker", "north", opts)
	sam := s.NewDeviceWith("sam", s.URL, "sam", "supervisor", "north", opts)
	kim := s.NewDeviceWith("kim", s.URL, "kim", "supervisor", "north", opts)
	devs := []*syncharness.Device{ada, sam, kim}
	// Every roster names the escrow service, the recovery recipient and
	// every laptop's pre-key before the cases are made.
	syncRounds(t, devs...)
	old, err := ada.V.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: record.CaseClosed,
		CaseType: "adult", Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	addNote(t, ada, old, "last visit before closing")
	keep := newCase(t, ada, "OPEN-1")
	addNote(t, ada, keep, "an open case")
	syncRounds(t, devs...)

	backup := filepath.Join(t.TempDir(), "before.db")
	s.Admin("backup", "--out", backup)
	escrowBefore := filepath.Join(t.TempDir(), "escrow-before.db")
	esc.Snapshot(escrowBefore)
	inBackup := BackupKeyrings(t, backup, old)
	recovers := func(name, identity, escrowFile string) (oldOpens, keepOpens bool) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "export")
		out, err := recoveryExport(s, "--identity", identity, "--all", "--out", dir, "--from", backup, "--escrow", escrowFile)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		_, errOld := os.Stat(filepath.Join(dir, "OLD-1", "case.md"))
		_, errKeep := os.Stat(filepath.Join(dir, "OPEN-1", "case.md"))
		return errOld == nil, errKeep == nil
	}
	for _, d := range devs {
		if OpenedBy(t, d, inBackup) == 0 {
			t.Fatalf("%s cannot open the backup's keyrings of the case even before: this test would prove nothing", d.Name)
		}
	}
	if o, k := recovers("recovery before", recoveryKey, escrowBefore); !o || !k {
		t.Fatalf("recovery before the destruction: OLD-1 %v, OPEN-1 %v; want both", o, k)
	}

	// The destruction, through the real flow; every laptop's next round
	// removes its copy and the escrow service deletes the escrow key.
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, old, "past retention", record.DateOf(time.Now())); err != nil || !gone {
		t.Fatalf("sam's approval: destroyed %v, %v", gone, err)
	}
	syncRounds(t, devs...)

	// Weeks pass on the laptops: a rotation, then the backup retention
	// after it. Every laptop's pre-key of the backup's time expires.
	clk.Advance(8 * day)
	syncRounds(t, devs...)
	clk.Advance(36 * day)
	for _, d := range devs {
		if sum := d.MustSync(); sum.PreKeysExpired == 0 {
			t.Errorf("%s: no pre-key expired %v after the rotation", d.Name, 36*day)
		}
	}

	// The devices: with their vault files and passphrases, not one keyring
	// of the backup opens; the other case still reads, from their caches.
	for _, d := range devs {
		if n := OpenedBy(t, d, inBackup); n != 0 {
			t.Errorf("%s still opens %d of the backup's %d keyrings of the destroyed case", d.Name, n, len(inBackup))
		}
		d.ReopenWith(opts)
		if cv, err := d.V.Case(keep); err != nil || cv.Sealed {
			t.Errorf("%s lost the other case: %+v, %v", d.Name, cv, err)
		}
	}
	// The recovery identity, with the escrow service's file as it is now.
	escrowNow := filepath.Join(t.TempDir(), "escrow-now.db")
	esc.Snapshot(escrowNow)
	if o, k := recovers("recovery after", recoveryKey, escrowNow); o || !k {
		t.Errorf("recovery of the old backup after the destruction: OLD-1 %v (want false), OPEN-1 %v (want true)", o, k)
	}
	// The agency's signing key is no decryption key: it opens nothing.
	dir := filepath.Join(t.TempDir(), "agency-export")
	out, err := recoveryExport(s, "--identity", s.AgencyKeyFile(), "--all", "--out", dir, "--from", backup, "--escrow", escrowNow)
	if _, statErr := os.Stat(filepath.Join(dir, "OLD-1")); err == nil || statErr == nil {
		t.Errorf("the agency key as a recovery identity: %v, OLD-1 exported: %v\n%s", err, statErr == nil, out)
	} else if !strings.Contains(out, "identity") {
		t.Errorf("the agency key refused without saying why:\n%s", out)
	}
	// What stays readable: the escrow service's own copy from before the
	// destruction, until its backups age out (escrow serve --backup-keep).
	if o, _ := recovers("recovery with the escrow backup from before", recoveryKey, escrowBefore); !o {
		t.Errorf("an escrow backup from before the destruction no longer opens the case: the docs say it does until it ages out")
	}
}
