package tui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/trust"
)

// realRetention is the real sync client behind the destruction queue, as
// cmd/fieldcase's bridge is: the acts are signed on the device and go to a
// real fieldcased.
type realRetention struct{ d *syncharness.Device }

func (s realRetention) ApproveDestruction(ctx context.Context, caseID, reason string) (bool, error) {
	if err := s.d.V.LoadAll(ctx); err != nil {
		return false, err
	}
	return s.d.Syncer.ApproveDestruction(ctx, s.d.V, caseID, reason, record.DateOf(time.Now()))
}

func (s realRetention) PlaceHold(ctx context.Context, caseID, ref, orderedBy, reason string) (string, error) {
	sg, err := s.d.Syncer.PlaceHold(ctx, s.d.V, caseID, ref, orderedBy, reason)
	if err != nil {
		return "", err
	}
	return sg.ID(), nil
}

func (s realRetention) ReleaseHold(ctx context.Context, h trust.Hold, reason string) error {
	return s.d.Syncer.ReleaseHold(ctx, s.d.V, h, reason)
}

// retentionSetup is a real server with a one-approver retention policy, a
// caseworker's closed case past it (OLD-1) and an open one (OPEN-1), and a
// supervisor's laptop holding both, locked for the TUI.
func retentionSetup(t *testing.T) (*syncharness.Server, *syncharness.Device, *syncharness.Device, string) {
	t.Helper()
	s := syncharness.StartServer(t)
	f := filepath.Join(t.TempDir(), "retention.json")
	if err := os.WriteFile(f, []byte(`{"approvals":1,"default":[{"from":"closed","years":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Admin("retention", "set", "--file", f)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	ada.MustSync() // ada's roster now names sam: the keys are wrapped to him
	c, err := ada.V.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: record.CaseClosed,
		CaseType: "adult", Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ada.V.AddNote(c, record.Note{Kind: "visit", Date: "2019-12-01", Text: "last visit before closing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ada.V.CreateCase(record.Case{Ref: "OPEN-1", Subject: "Open case", Status: record.CaseOpen, Opened: "2026-01-05"}); err != nil {
		t.Fatal(err)
	}
	ada.MustSync()
	sam.MustSync()
	sam.V.Lock()
	return s, ada, sam, c
}

func (p *program) unlockDevice(want string) {
	p.t.Helper()
	p.waitFor("the passphrase prompt", func(s string) bool {
		return strings.Contains(s, "Passphrase") || strings.Contains(s, "Cyfrinymadrodd")
	})
	p.typeText(syncharness.DevicePass)
	p.key(keyEnter)
	p.waitText(want)
}

// Issue 15: the supervisors' destruction queue in the TUI, against a real
// server: the due case with its working, a legal hold placed and released
// (signed statements the server carries), an approval refused for a
// mistyped reference, then given, destroying the case on the server (the
// caseworker's laptop removes it at its next sync). The queue under Welsh
// at 80×24 is a golden.
func TestRetentionQueue(t *testing.T) {
	t.Parallel()
	_, ada, sam, c := retentionSetup(t)
	opts := testOptions(t, sam.V)
	opts.DemoPassphrase = ""
	opts.Retention = realRetention{sam}

	// Welsh first, before anything changes: the golden.
	cy, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	wopts := opts
	wopts.Locale = cy
	p := start(t, wopts, 80, 24)
	p.unlockDevice("2 achos · trefn")
	p.key(runeKey('T'))
	p.waitText("Llwythi'r tîm")
	p.key(runeKey('d'))
	check := goldenCheck(t, 80, 24)
	check("queue-cy", p.waitText("Ciw dinistrio", "OLD-1", "yn ddyledus", "Wedi'i gyfrifo"))
	p.quit()

	p = start(t, opts, 80, 24)
	p.unlockDevice("2 cases · sorted by")
	p.key(runeKey('T'))
	p.waitText("Team caseloads")
	p.key(runeKey('d'))
	scr := p.waitText("Destruction queue", "OLD-1", "due", "Worked out:", "1 due · 0 part-approved · 0 on hold")
	if strings.Contains(scr, "OPEN-1") {
		t.Errorf("an open case is in the queue:\n%s", scr)
	}
	p.key(runeKey('p'))
	p.waitText("Retention policy v1 · 1 supervisor approves", "any other: ")
	p.key(runeKey('p'))
	p.key(keyTab)
	p.waitText("Retention of every case", "OPEN-1", "no date")
	p.key(keyTab)
	p.waitText("Destruction queue")

	// A legal hold: three fields, signed and sent.
	p.key(runeKey('h'))
	p.waitText("Court order or inquiry reference:")
	p.typeText("FD26P00123")
	p.key(keyEnter)
	p.waitText("Ordered by")
	p.typeText("Family Court")
	p.key(keyEnter)
	p.waitText("Reason")
	p.typeText("care proceedings")
	p.key(keyEnter)
	p.waitText("OLD-1 is on legal hold.", "0 due · 0 part-approved · 1 on hold", "No case is waiting")
	if n := len(sam.V.Roster().Retention.Active(c)); n != 1 {
		t.Fatalf("the roster holds %d holds on the case, want 1", n)
	}
	// Held: not approvable.
	p.key(keyTab)
	p.waitText("on hold", "On hold: FD26P00123, ordered by Family Court")
	p.key(runeKey('a'))
	p.waitText("OLD-1 is not waiting for destruction.")
	// Released, with a reason.
	p.key(runeKey('r'))
	p.waitText("Release hold FD26P00123 (1 of 1), reason:")
	p.typeText("order discharged")
	p.key(keyEnter)
	p.waitText("The hold on OLD-1 is released.", "1 due · 0 part-approved · 0 on hold")

	// Destruction cannot be undone: a mistyped reference approves nothing.
	p.key(runeKey('a'))
	p.waitText("Type OLD-1 to approve destroying it everywhere:")
	p.typeText("OLD-2")
	p.key(keyEnter)
	p.waitText("That is not OLD-1: nothing was approved.")
	if it, err := sam.V.RetentionOf(c, record.DateOf(time.Now())); err != nil || len(it.Approvals) != 0 {
		t.Fatalf("after a mistyped reference: %d approvals, %v", len(it.Approvals), err)
	}
	p.key(runeKey('a'))
	p.typeText("OLD-1")
	p.key(keyEnter)
	p.waitText("OLD-1 is destroyed")
	p.quit()

	// The server deleted it: the caseworker's laptop removes its copy.
	sum := ada.MustSync()
	if len(sum.Destroyed) != 1 || sum.Destroyed[0].CaseID != c {
		t.Errorf("ada's round destroyed %+v", sum.Destroyed)
	}
	if _, err := ada.V.Case(c); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ada still reads the destroyed case: %v", err)
	}
	if ds, _ := ada.V.Destructions(); len(ds) != 1 || !slices.Contains(ds[0].ApprovedBy, "sam") {
		t.Errorf("ada's tombstone: %+v", ds)
	}
}
