package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// TestTaskFormDraftAtQuit: a task half typed when the program quits is
// sealed as the form's draft (the autosave never ran: only the quit saved
// it), offered after the next unlock, restored into the form, and gone
// once the task is added.
func TestTaskFormDraftAtQuit(t *testing.T) {
	path := demoVaultFile(t)
	v := openVault(t, path)
	opts := testOptions(t, v)
	opts.DraftDelay = time.Hour // only the quit saves it
	p := start(t, opts, 100, 30)
	p.unlock()
	p.openCaseByFilter("0005", "DEMO-0005")
	p.key(runeKey('t'))
	p.waitText("Tasks & visits · DEMO-0005")
	p.key(runeKey('a'))
	p.waitText("New task or visit")
	p.typeText("Check the boiler, marker-task-5")
	p.waitText("marker-task-5")
	p.key(keyCtrlC)
	p.final()
	ds, err := v.Drafts()
	if err != nil || len(ds) != 1 || ds[0].Form != store.DraftTask || ds[0].Fields["Title"] != "Check the boiler, marker-task-5" {
		t.Fatalf("drafts after ctrl+c: %+v, %v; want the task form's title", ds, err)
	}
	caseID := ds[0].CaseID
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	v2 := openVault(t, path)
	p2 := start(t, testOptions(t, v2), 100, 30)
	p2.unlock()
	p2.waitText("Work you had not saved", "DEMO-0005", "new task or visit", "marker-task-5")
	p2.key(runeKey('r'))
	p2.waitText("New task or visit", "are back", "Check the boiler, marker-task-5")
	p2.key(keyCtrlS)
	p2.waitText("Added: Check the boiler, marker-task-5")
	p2.quit()
	if ds, err := v2.Drafts(); err != nil || len(ds) != 0 {
		t.Errorf("Drafts() = %+v, %v; want none once the task is added", ds, err)
	}
	ts, err := v2.Tasks(caseID)
	if err != nil || !strings.Contains(taskTitles(ts), "marker-task-5") {
		t.Errorf("tasks %q, %v; want the restored task", taskTitles(ts), err)
	}
}

func taskTitles(ts []store.Item[record.Task]) string {
	var out []string
	for _, it := range ts {
		out = append(out, it.Value.Title)
	}
	return strings.Join(out, ", ")
}
