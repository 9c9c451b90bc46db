package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func TestSyncConfigTokenSealed(t *testing.T) {
	v := MustCreate(t)
	if _, err := v.SyncConfig(); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("SyncConfig before enrolment = %v", err)
	}
	token := "tok-" + record.NewID() + "-secret"
	if err := v.SetSyncConfig(SyncConfig{Server: "https://cases.example", UserID: "u1", Token: token}); err != nil {
		t.Fatal(err)
	}
	if !v.Enrolled() {
		t.Errorf("Enrolled = false")
	}
	v = reopen(t, v)
	c, err := v.SyncConfig()
	if err != nil || c.Token != token || c.Server != "https://cases.example" {
		t.Fatalf("SyncConfig = %+v, %v", c, err)
	}
	path := v.Path()
	v.Close()
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(token)) {
		t.Errorf("device token stored in the clear")
	}
}

// A pulled page and its cursor commit together; a failing page leaves both
// as they were.
func TestApplyPageWithCursor(t *testing.T) {
	a, b := MustCreate(t), MustCreate(t)
	ag := newTestAgency(t)
	ag.enrol(a, "ada", trust.RoleCaseworker, "north")
	ag.enrol(b, "sam", trust.RoleSupervisor, "north")
	caseID := mustCase(t, a, "R-1", "x")
	mustNote(t, a, caseID, "from A")
	revs, _ := a.Outbox(0)

	res, err := b.ApplyPage(revs, "cursor-1", 0)
	if err != nil || res.New != len(revs) {
		t.Fatalf("ApplyPage = %+v, %v", res, err)
	}
	if c, _ := b.Cursor(); c != "cursor-1" {
		t.Errorf("cursor = %q", c)
	}
	// The same page again: nothing new, cursor moves on.
	if res, _ := b.ApplyPage(revs, "cursor-2", 0); res.New != 0 {
		t.Errorf("re-applied page: %d new", res.New)
	}
	// A page with a revision its signer did not write (a note's record
	// relabelled as a task by someone else) is quarantined, not blocking:
	// the cursor moves past it, and the revision is kept aside, named.
	bad := *revs[len(revs)-1]
	bad.Kind = record.KindTask
	bad.Rev = bad.ComputeRev()
	res, err = b.ApplyPage([]*record.Revision{&bad}, "cursor-3", 0)
	if err != nil || res.Quarantined != 1 || res.New != 0 {
		t.Errorf("bad revision: %+v %v", res, err)
	}
	if q, _ := b.Quarantine(); len(q) != 1 || q[0].Rev != bad.Rev || !strings.Contains(q[0].Reason, "signature") {
		t.Errorf("quarantine = %+v", q)
	}
	if c, _ := b.Cursor(); c != "cursor-3" {
		t.Errorf("cursor after skipped page = %q", c)
	}
	b.LoadAll(context.Background())
	if n, _ := b.Notes(caseID); len(n) != 1 || n[0].Value.Text != "from A" {
		t.Errorf("notes on B = %+v", n)
	}
	if err := b.ResetCursor(); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Cursor(); c != "" {
		t.Errorf("cursor after reset = %q", c)
	}
}

func TestRejectClearsOutboxAndKeepsReason(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x")
	mustNote(t, v, caseID, "n")
	out, _ := v.Outbox(0)
	last := out[len(out)-1]
	if err := v.Reject([]Rejection{{Rev: last.Rev, RecordID: last.RecordID, CaseID: caseID, Kind: last.Kind, Reason: "not a member", At: time.Now()}}, []uint64{last.Seq}); err != nil {
		t.Fatal(err)
	}
	if got := v.OutboxLen(); got != len(out)-1 {
		t.Errorf("OutboxLen = %d, want %d", got, len(out)-1)
	}
	rs, err := v.Rejections()
	if err != nil || len(rs) != 1 || rs[0].Reason != "not a member" {
		t.Errorf("Rejections = %+v, %v", rs, err)
	}
	mine, _ := v.DeviceRevisions()
	if len(mine) != len(out) || mine[0].Seq != 1 {
		t.Errorf("DeviceRevisions: %d, first seq %d", len(mine), mine[0].Seq)
	}
}

// Enrolling (or a new supervisor device) extends existing cases' keyrings:
// a device that could not read a case before can after.
func TestExtendKeyringsReachesNewRecipient(t *testing.T) {
	worker, supervisor := MustCreate(t), MustCreate(t)
	caseID := mustCase(t, worker, "R-1", "Before Enrolment")
	mustNote(t, worker, caseID, "written offline before enrolment")
	ag := newTestAgency(t)
	ag.enrol(worker, "ada", trust.RoleCaseworker, "north")
	ag.enrol(supervisor, "sam", trust.RoleSupervisor, "north")
	n, err := worker.ExtendKeyrings()
	if err != nil || n != 1 {
		t.Fatalf("ExtendKeyrings = %d, %v", n, err)
	}
	if m, _, _ := worker.Membership(caseID); m.Team != "north" || len(m.Members) != 1 || m.Members[0] != "ada" {
		t.Errorf("the case made before enrolment is not claimed for ada's team: %+v", m)
	}
	if n, _ := worker.ExtendKeyrings(); n != 0 {
		t.Errorf("second ExtendKeyrings with the same set wrote %d keyrings", n)
	}
	pullAll(t, worker, supervisor)
	supervisor.LoadAll(context.Background())
	notes, err := supervisor.Notes(caseID)
	if err != nil || len(notes) != 1 || notes[0].Value.Text != "written offline before enrolment" {
		t.Fatalf("supervisor reads %+v, %v", notes, err)
	}
	// New cases are wrapped to the set straight away.
	c2 := mustCase(t, worker, "R-2", "After Enrolment")
	pullAll(t, worker, supervisor)
	if c, err := supervisor.Case(c2); err != nil || c.Sealed {
		t.Errorf("new case on the supervisor's device: %+v %v", c, err)
	}
}
