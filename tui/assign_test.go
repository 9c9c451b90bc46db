package tui

import (
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// The picker's rows: a case weighing 1.5 held by A. Able. A worker chosen
// takes it on; with the box ticked, the holder gives it up unless chosen.
func TestAssignRows(t *testing.T) {
	a := &assignScreen{caseID: "c1", weight: 1.5, weighs: true}
	a.setTeam(&protocol.TeamView{
		Users: []protocol.TeamUser{
			{ID: "u-c", Name: "C. Cole", Role: protocol.RoleCaseworker},
			{ID: "u-a", Name: "A. Able", Role: protocol.RoleCaseworker},
			{ID: "u-b", Name: "B. Baker", Role: protocol.RoleCaseworker},
			{ID: "u-s", Name: "S. Sup", Role: protocol.RoleSupervisor},
		},
		Cases: []protocol.TeamCase{{ID: "c1", Members: []string{"u-a"}}, {ID: "c2", Members: []string{"u-b"}}},
	})
	a.loads = map[string]caseload.Worker{
		"u-a": {UserID: "u-a", OpenCases: 12, Weighted: 12.5, Capacity: 15},
		"u-b": {UserID: "u-b", OpenCases: 10, Weighted: 14, Capacity: 15},
		"u-c": {UserID: "u-c", OpenCases: 4, Weighted: 3, Capacity: 10},
	}
	texts := func() []string {
		var rows []assignRow
		for i := range a.choices {
			rows = append(rows, a.row(i))
		}
		c := assignColumns(i18n.English(), rows, 100)
		var out []string
		for _, r := range rows {
			out = append(out, strings.Join(strings.Fields(r.text(c)), " "))
		}
		return out
	}
	check := func(what string, want ...string) {
		t.Helper()
		got := texts()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: rows\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	a.cursor = 1 // B. Baker
	check("holder keeps it",
		"A. Able 12 → 12 12.5 → 12.5 / 15 holds it · keeps it",
		"B. Baker 10 → 11 14.0 → 15.5 / 15 !",
		"C. Cole 4 → 5 3.0 → 4.5 / 10")
	a.remove = true
	check("holder loses it",
		"A. Able 12 → 11 12.5 → 11.0 / 15 holds it · loses it",
		"B. Baker 10 → 11 14.0 → 15.5 / 15 !",
		"C. Cole 4 → 5 3.0 → 4.5 / 10")
	a.cursor = 0 // the holder chosen: they keep it
	check("holder chosen",
		"A. Able 12 → 12 12.5 → 12.5 / 15 holds it · keeps it",
		"B. Baker 10 → 11 14.0 → 15.5 / 15 !",
		"C. Cole 4 → 5 3.0 → 4.5 / 10")
	// A closed case weighs nothing: the loads do not move.
	a.weight, a.weighs, a.cursor = 0, false, 1
	check("closed case",
		"A. Able 12 → 12 12.5 → 12.5 / 15 holds it · loses it",
		"B. Baker 10 → 10 14.0 → 14.0 / 15",
		"C. Cole 4 → 4 3.0 → 3.0 / 10")
	// A worker with no known load (not in the rows) has empty cells.
	delete(a.loads, "u-c")
	if got := texts()[2]; got != "C. Cole" {
		t.Errorf("row with no load = %q, want just the name", got)
	}
}
