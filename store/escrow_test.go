package store

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// keyringsOf returns the keyring bodies of a case in v's outbox.
func keyringsOf(t *testing.T, v *Vault, caseID string) []sealed.Keyring {
	t.Helper()
	revs, err := v.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []sealed.Keyring
	for _, r := range revs {
		if r.Kind == record.KindKeyring && r.CaseID == caseID {
			kb, err := sealed.DecodeKeyring(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, kb)
		}
	}
	return out
}

// Issue 15, crypto-shredding part 1: a case made while the roster names an
// escrow service is wrapped to its own escrow key, not to the recovery
// recipient; the escrow key's private half waits in the vault only wrapped
// to the recovery recipient; a new key epoch keeps the escrow key. A case
// made before the escrow service was named keeps today's wrapping.
func TestNewCaseGetsEscrowKey(t *testing.T) {
	tm := newTeam(t) // tm.caseID: made before any escrow service
	recovery, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	tm.ag.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recovery.Recipient(), Version: 1})
	tm.ag.share()
	oldCase := mustCase(t, tm.ada, "R-0", "before the escrow service")
	tm.ag.sign(trust.Statement{Kind: trust.KindEscrow, URL: "https://escrow.example/", Version: 1})
	tm.ag.share()
	c := mustCase(t, tm.ada, "R-2", "Child B")

	if m, _, _ := tm.ada.Membership(oldCase); m.Escrow != "" {
		t.Errorf("a case made before the escrow service has escrow key %.20s…", m.Escrow)
	}
	m, _, err := tm.ada.Membership(c)
	if err != nil || m.Escrow == "" {
		t.Fatalf("new case's membership %+v, %v: no escrow key", m, err)
	}
	ds, err := tm.ada.EscrowDeposits()
	if err != nil || len(ds) != 1 || ds[0].CaseID != c || ds[0].Recipient != m.Escrow {
		t.Fatalf("deposits %+v, %v; want one for %s", ds, err, c)
	}
	escrowID, err := crypto.UnwrapEscrow(ds[0].Wrapped, recovery, c)
	if err != nil || escrowID.Recipient() != m.Escrow {
		t.Fatalf("deposit does not open to the recovery identity as the case's escrow key: %v", err)
	}
	if !trust.BindsCase(c, tm.ada.DeviceID(), ds[0].Salt) {
		t.Error("the deposit's salt does not bind the case to its creating device")
	}
	for _, kb := range keyringsOf(t, tm.ada, c) {
		if _, err := kb.Unwrap(recovery, c); !errors.Is(err, crypto.ErrNotRecipient) {
			t.Errorf("epoch %d opens with the recovery identity alone: %v", kb.Epoch, err)
		}
		if _, err := kb.Unwrap(escrowID, c); err != nil {
			t.Errorf("epoch %d does not open with the escrow key: %v", kb.Epoch, err)
		}
	}
	for _, kb := range keyringsOf(t, tm.ada, oldCase) {
		if _, err := kb.Unwrap(recovery, oldCase); err != nil {
			t.Errorf("the case made before the escrow service does not open with the recovery identity: %v", err)
		}
	}
	// The escrow key's private half is nowhere in the vault file in clear.
	raw, err := os.ReadFile(tm.ada.Path())
	if err != nil {
		t.Fatal(err)
	}
	if secret := []byte(escrowID.Export()); bytes.Contains(raw, secret[:60]) {
		t.Error("the vault file holds the escrow key's private half in clear")
	}

	// The supervisor takes the case (its keyring is accepted), rotates its
	// key: the new epoch keeps the escrow key and is wrapped to it.
	pullAll(t, tm.ada, tm.sam)
	if _, err := tm.sam.RotateCaseKey(c, nil); err != nil {
		t.Fatal(err)
	}
	ks := keyringsOf(t, tm.sam, c)
	if len(ks) == 0 || ks[len(ks)-1].Epoch != 2 || ks[len(ks)-1].Membership.Escrow != m.Escrow {
		t.Fatalf("the new epoch's keyring lost the escrow key: %+v", ks)
	}
	if _, err := ks[len(ks)-1].Unwrap(escrowID, c); err != nil {
		t.Errorf("epoch 2 does not open with the escrow key: %v", err)
	}
	pullAll(t, tm.sam, tm.ada) // accepted by the creator's vault

	if err := tm.ada.EscrowDeposited(c); err != nil {
		t.Fatal(err)
	}
	if ds, _ := tm.ada.EscrowDeposits(); len(ds) != 0 {
		t.Errorf("deposits after acknowledgement: %+v", ds)
	}
}
