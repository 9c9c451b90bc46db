package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// A case taken away from this laptop's user: case list --json names the new
// worker and the date of the signed change, and the text says read-only and
// what keeps the copy here.
func TestReassignedCaseJSON(t *testing.T) {
	on := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	cv := store.CaseView{Item: store.Item[record.Case]{ID: "C1", Value: record.Case{Ref: "DEMO-0042"}},
		Reassigned: &store.Reassignment{CaseID: "C1", Ref: "DEMO-0042", To: []string{"Sam Carter"}, By: "Pat Lowe", On: on,
			Waiting: []string{"a draft note (copy what you need, then discard it)"}}}
	js, err := json.Marshal(caseToJSON(cv, "2026-12-07"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	if to, _ := got["reassigned_to"].([]any); len(to) != 1 || to[0] != "Sam Carter" || got["reassigned_on"] != "2026-12-03" || got["reassigned_by"] != "Pat Lowe" {
		t.Errorf("JSON: %s", js)
	}
	if kept, _ := got["kept_for"].([]any); len(kept) != 1 {
		t.Errorf("kept_for: %s", js)
	}
	line := reassignedLine(cv.Reassigned)
	for _, want := range []string{"reassigned to Sam Carter on 3 Dec 2026", "by Pat Lowe", "read-only", "draft"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if f := flagsOf(cv); f != "reassigned" {
		t.Errorf("flags %q", f)
	}
	plain, _ := json.Marshal(caseToJSON(store.CaseView{Item: cv.Item}, "2026-12-07"))
	if strings.Contains(string(plain), "reassigned") {
		t.Errorf("a case not reassigned: %s", plain)
	}
}
