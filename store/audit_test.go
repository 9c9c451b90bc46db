package store

import (
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func TestAuditChain(t *testing.T) {
	a, b := MustCreate(t), MustCreate(t)
	ag := newTestAgency(t)
	ag.enrol(a, "ada", trust.RoleCaseworker, "north")
	ag.enrol(b, "sam", trust.RoleSupervisor, "north")
	caseID := mustCase(t, a, "R-1", "Audited Case")
	for _, act := range []string{record.AuditOpen, record.AuditExport, record.AuditOpen} {
		if err := a.Audit(caseID, act, "detail of "+act); err != nil {
			t.Fatal(err)
		}
	}
	a = reopen(t, a)
	if err := a.Audit(caseID, record.AuditOpen, "after reopening"); err != nil {
		t.Fatal(err)
	}
	events, err := a.AuditEvents(caseID)
	if err != nil || len(events) != 4 || events[3].Seq != 4 || events[3].Detail != "after reopening" {
		t.Fatalf("events = %+v, %v", events, err)
	}
	idA, _ := a.Identity()
	keys := func() map[string]ed25519.PublicKey {
		return map[string]ed25519.PublicKey{a.DeviceID(): idA.SigningPublicKey()}
	}
	if p, n, err := a.VerifyAudit(keys()); err != nil || len(p) != 0 || n != 4 {
		t.Fatalf("VerifyAudit on the writer: %v, %d events, %v", p, n, err)
	}
	// Another device receives the chain, less event 2.
	revs, _ := a.Outbox(0)
	var keep []*record.Revision
	audits := 0
	for _, r := range revs {
		if r.Kind == record.KindAudit {
			if audits++; audits == 2 {
				continue
			}
		}
		keep = append(keep, r)
	}
	if _, err := b.ApplyPage(keep, "c", 0); err != nil {
		t.Fatal(err)
	}
	problems, _, err := b.VerifyAudit(keys())
	if err != nil || !slices.ContainsFunc(problems, func(p AuditProblem) bool { return p.Seq == 2 && p.What == "missing event" }) {
		t.Errorf("missing event not found: %+v", problems)
	}
	// A device forging an event in a's name is caught by the signature.
	forged := record.AuditEvent{Action: record.AuditOpen, Detail: "forged", At: time.Now().UTC(), Actor: "ada", Device: a.DeviceID(), Seq: 5, Prev: events[3].Hash()}
	idB, _ := b.Identity()
	forged.Sign(idB.Sign)
	if err := b.Update(func(tx *Tx) error {
		_, err := tx.Put(Change{Kind: record.KindAudit, CaseID: caseID, Value: &forged})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	problems, _, _ = b.VerifyAudit(keys())
	if !slices.ContainsFunc(problems, func(p AuditProblem) bool { return p.Seq == 5 && p.What == "signature does not verify" }) {
		t.Errorf("forged event not caught: %+v", problems)
	}
	// Audit events are append-only.
	items, _ := items[record.AuditEvent](a, caseID, record.KindAudit)
	if err := a.Delete(caseID, items[0].ID); err == nil {
		t.Errorf("an audit event was deleted")
	}
}
