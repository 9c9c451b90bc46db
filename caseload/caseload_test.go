package caseload

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Weighted caseloads from a known policy on fixture cases.
func TestBuild(t *testing.T) {
	v := storetest.Create(t, filepath.Join(t.TempDir(), "v.db"), "caseload test passphrase", store.Profile{}, store.Options{})
	today := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mk := func(ref string, c record.Case) string {
		c.Ref, c.Subject = ref, "Subject "+ref
		id, err := v.CreateCase(c)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a1 := mk("A-1", record.Case{Risk: "high", NextVisit: "2026-11-01", Weights: record.Weights{Children: 3, Complexity: 3, CourtStage: "proceedings", TravelMins: 60},
		CourtDates: []record.CourtDate{{Date: "2026-11-30"}}})
	a2 := mk("A-2", record.Case{Risk: "low", NextVisit: "2026-12-20", Weights: record.Weights{Children: 1, Complexity: 1}})
	a3 := mk("A-3", record.Case{Risk: "low", Status: "closed"})
	b1 := mk("B-1", record.Case{Risk: "medium", NextVisit: "2026-12-01", Weights: record.Weights{Complexity: 2},
		CourtDates: []record.CourtDate{{Date: "2027-03-01"}}})
	pol := record.DefaultPolicy()
	pol.Capacities = map[string]float64{"bob": 7}
	pj, _ := json.Marshal(pol)
	synced := today.Add(-2 * time.Hour)
	tv := &protocol.TeamView{Team: "north", Policy: pj, Users: []protocol.TeamUser{
		{ID: "U1", Name: "ada", Role: "caseworker", Devices: []protocol.TeamDevice{{ID: "D1", LastSync: synced}}},
		{ID: "U2", Name: "bob", Role: "caseworker", Devices: []protocol.TeamDevice{{ID: "D2"}}},
		{ID: "U3", Name: "sam", Role: "supervisor"},
		{ID: "U4", Name: "tia", Role: "typist"},
	}, Cases: []protocol.TeamCase{
		{ID: a1, Members: []string{"U1"}}, {ID: a2, Members: []string{"U1"}}, {ID: a3, Members: []string{"U1"}},
		{ID: b1, Members: []string{"U2"}}, {ID: "SEALED", Members: []string{"U2"}},
	}}
	got, err := Build(v, tv, today)
	if err != nil {
		t.Fatal(err)
	}
	want := []Worker{
		// ada: A-1 = 1 + 0.5 + 1 + 0.75 + 0.75 + 0.5 = 4.5; A-2 = 1; A-3 closed.
		{Name: "ada", OpenCases: 2, Weighted: 5.5, Capacity: 14, Overdue: 1, CourtSoon: 1},
		// bob: B-1 = 1 + 0.5 + 0.25 = 1.75; capacity 7 (part-time); one case not yet readable.
		{Name: "bob", OpenCases: 1, Weighted: 1.75, Capacity: 7, SealedCases: 1},
	}
	if len(got) != 2 {
		t.Fatalf("rows = %+v", got)
	}
	// Heaviest load first: ada 5.5/14 = 0.39, bob 1.75/7 = 0.25.
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.OpenCases != w.OpenCases || g.Weighted != w.Weighted || g.Capacity != w.Capacity ||
			g.Overdue != w.Overdue || g.CourtSoon != w.CourtSoon || g.SealedCases != w.SealedCases {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if !got[0].LastSync.Equal(synced) || got[0].NeverSynced || !got[1].NeverSynced {
		t.Errorf("last sync: ada %v never=%v, bob never=%v", got[0].LastSync, got[0].NeverSynced, got[1].NeverSynced)
	}
}

// A case moving between workers: the weight Build counts for it leaves one
// load and joins the other; closed and sealed cases weigh nothing.
func TestCaseWeightMoves(t *testing.T) {
	pol := record.DefaultPolicy()
	mk := func(id string, c record.Case, sealed bool) store.CaseView {
		return store.CaseView{Item: store.Item[record.Case]{ID: id, Value: c, Sealed: sealed}}
	}
	open := mk("c1", record.Case{Risk: "high", Weights: record.Weights{Children: 3, Complexity: 3, CourtStage: "proceedings", TravelMins: 60}}, false)
	w, ok := CaseWeight(pol, open)
	if !ok || w != 4.5 { // 1 + 0.5 + 1 + 0.75 + 0.75 + 0.5
		t.Fatalf("CaseWeight = %v, %v; want 4.5, true", w, ok)
	}
	for _, c := range []store.CaseView{
		mk("closed", record.Case{Status: "closed", Risk: "high"}, false),
		mk("sealed", record.Case{}, true),
	} {
		if w, ok := CaseWeight(pol, c); ok || w != 0 {
			t.Errorf("CaseWeight(%s) = %v, %v; want 0, false", c.ID, w, ok)
		}
	}
	from := Worker{Name: "ada", OpenCases: 12, Weighted: 12.5, Capacity: 15}
	to := Worker{Name: "bob", OpenCases: 9, Weighted: 11.1, Capacity: 15}
	if g := to.Gain(w); g.OpenCases != 10 || g.Weighted != 15.6 || g.Load() <= 1 {
		t.Errorf("bob gaining 4.5 = %d cases, %v (load %.3f); want 10, 15.6, over capacity", g.OpenCases, g.Weighted, g.Load())
	}
	if l := from.Lose(w); l.OpenCases != 11 || l.Weighted != 8 {
		t.Errorf("ada losing 4.5 = %d cases, %v; want 11, 8", l.OpenCases, l.Weighted)
	}
	if l := (Worker{OpenCases: 0, Weighted: 1}).Lose(4.5); l.OpenCases != 0 || l.Weighted != 0 {
		t.Errorf("losing more than held = %d, %v; want 0, 0", l.OpenCases, l.Weighted)
	}
	if to.OpenCases != 9 || to.Weighted != 11.1 {
		t.Errorf("Gain changed the worker it was called on: %+v", to)
	}
}
