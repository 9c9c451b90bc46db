package caseload

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

func testVault(t *testing.T) *store.Vault {
	t.Helper()
	return storetest.Create(t, filepath.Join(t.TempDir(), "v.db"), "caseload test passphrase", store.Profile{}, store.Options{})
}

func mustCase(t *testing.T, v *store.Vault, c record.Case) string {
	t.Helper()
	id, err := v.CreateCase(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustDo[T any](t *testing.T) func(T, error) T {
	return func(x T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
}

// The standing decision per person and scope: the newest wins, a person's
// name in another case of letters is the same person.
func TestConsentSummary(t *testing.T) {
	v := testVault(t)
	id := mustCase(t, v, record.Case{Ref: "R-7", Subject: "Ben Fictional"})
	add := mustDo[string](t)
	add(v.AddConsent(id, record.Consent{Person: "Mother", Scope: []string{"health", "school"}, Decision: "given", Date: "2026-01-01", ReviewDate: "2026-06-01"}))
	add(v.AddConsent(id, record.Consent{Person: "mother", Scope: []string{"school"}, Decision: "withdrawn", Date: "2026-02-01"}))
	add(v.AddConsent(id, record.Consent{Person: "Father", Scope: []string{"health"}, Decision: "refused", Date: "2026-03-01"}))
	sum, err := ConsentSummary(v, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []ConsentStatus{
		{Person: "Father", Scope: "health", Decision: "refused", Date: "2026-03-01"},
		{Person: "Mother", Scope: "health", Decision: "given", Date: "2026-01-01", ReviewDate: "2026-06-01"},
		{Person: "mother", Scope: "school", Decision: "withdrawn", Date: "2026-02-01"},
	}
	if !slices.Equal(sum, want) {
		t.Errorf("summary =\n%+v\nwant\n%+v", sum, want)
	}
	if !sum[1].ReviewDue("2026-11-22") || sum[1].ReviewDue("2026-05-31") {
		t.Errorf("health consent review (2026-06-01): due on 2026-11-22, not on 2026-05-31")
	}
	v.Lock()
	if _, err := ConsentSummary(v, id); !errors.Is(err, store.ErrLocked) {
		t.Errorf("ConsentSummary while locked: err = %v, want ErrLocked", err)
	}
}

func TestConsentIssues(t *testing.T) {
	v := testVault(t)
	id := mustCase(t, v, record.Case{Ref: "C-1", Subject: "Child One", People: []record.Person{{Name: "Mother One"}, {Name: "Father One"}}})
	add := mustDo[string](t)
	add(v.AddConsent(id, record.Consent{Person: "Child One", Scope: []string{"school"}, Decision: "given", Date: "2026-01-01", ReviewDate: "2026-06-01"}))
	add(v.AddConsent(id, record.Consent{Person: "Mother One", Scope: []string{"health"}, Decision: "refused", Date: "2026-02-01"}))
	mustCase(t, v, record.Case{Ref: "C-2", Subject: "Closed Case", Status: "closed"})
	got, err := ConsentIssues(v, "2026-11-22")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Child One": "review due", "Mother One": "refused", "Father One": "missing"}
	if len(got) != len(want) {
		t.Fatalf("issues = %+v", got)
	}
	for _, g := range got {
		if want[g.Person] != g.Problem || g.Ref != "C-1" {
			t.Errorf("%s: %s, want %s", g.Person, g.Problem, want[g.Person])
		}
	}
}

// A case is waiting while one of its recordings, not deleted, is submitted
// for typing; a case whose case record was deleted counts too, as it did
// when the vault computed it.
func TestCasesWaitingTranscription(t *testing.T) {
	v := testVault(t)
	a := mustCase(t, v, record.Case{Ref: "W-1", Subject: "Waiting"})
	b := mustCase(t, v, record.Case{Ref: "W-2", Subject: "Typed"})
	c := mustCase(t, v, record.Case{Ref: "W-3", Subject: "Deleted recording"})
	d := mustCase(t, v, record.Case{Ref: "W-4", Subject: "Case deleted"})
	rec := func(caseID string, status record.RecordingStatus) string {
		t.Helper()
		r := record.Recording{Title: "Visit", WorkType: "visit note", Priority: "normal", Status: status,
			Recorded: "2026-11-02T10:00:00Z", Codec: record.DefaultRecordCodec, SampleRate: 16000}
		if status == record.StatusSubmitted {
			r.Submitted = "2026-11-02T11:00:00Z"
		}
		id, err := v.PutRecording(caseID, "", nil, r, true)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	rec(a, record.StatusSubmitted)
	rec(b, record.StatusTranscribed)
	rec(b, record.StatusDraft)
	if err := v.Delete(c, rec(c, record.StatusSubmitted)); err != nil {
		t.Fatal(err)
	}
	rec(d, record.StatusSubmitted)
	if err := v.Delete(d, d); err != nil {
		t.Fatal(err)
	}
	// A recording deleted on one laptop while another edited it: the
	// deletion is the newer head, so it wins, and the recording is shown
	// (in conflict) but waits for no one.
	e := mustCase(t, v, record.Case{Ref: "W-5", Subject: "Deleted in a conflict"})
	eRec := rec(e, record.StatusSubmitted)
	it, err := v.Recording(eRec)
	if err != nil {
		t.Fatal(err)
	}
	edited := it.Value
	edited.Title = "Visit, edited elsewhere"
	for _, c := range []store.Change{
		{Kind: record.KindRecording, CaseID: e, RecordID: eRec, Parents: []record.RevID{it.Rev}, Value: &edited},
		{Kind: record.KindRecording, CaseID: e, RecordID: eRec, Parents: []record.RevID{it.Rev}, Deleted: true},
	} {
		if err := v.Update(func(tx *store.Tx) error { _, err := tx.Put(c); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if recs, _ := v.Recordings(e); len(recs) != 1 || !recs[0].Deleted || !recs[0].Conflict {
		t.Fatalf("the recording deleted in a conflict: %+v, want one, deleted and in conflict", recs)
	}
	if cs, _ := v.Cases(); len(cs) != 4 {
		t.Fatalf("cases after deleting one: %d, want 4", len(cs))
	}
	got, err := CasesWaitingTranscription(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a, d}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("waiting = %v, want %v", got, want)
	}
}
