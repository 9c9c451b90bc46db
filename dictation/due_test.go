package dictation

import (
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func TestDueFor(t *testing.T) {
	mon := time.Date(2026, 12, 7, 16, 30, 0, 0, time.UTC) // a Monday
	fri := time.Date(2026, 12, 11, 9, 0, 0, 0, time.UTC)
	sat := time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC)
	rules := DueRules{"urgent": 1, "high": 2, "normal": 5}
	for _, tt := range []struct {
		rules    DueRules
		priority record.Priority
		at       time.Time
		want     record.Date
	}{
		{rules, "urgent", mon, "2026-12-08"},
		{rules, "high", mon, "2026-12-09"},
		{rules, "normal", mon, "2026-12-14"}, // a working week: the Monday after
		{rules, "urgent", fri, "2026-12-14"}, // over the weekend
		{rules, "high", fri, "2026-12-15"},
		{rules, "urgent", sat, "2026-12-15"}, // from Monday, the first working day
		{DueRules{"urgent": 0}, "urgent", sat, "2026-12-14"},
		{DueRules{"urgent": 0}, "urgent", mon, "2026-12-07"},
		{rules, "unknown", mon, "2026-12-14"},                // as normal
		{DueRules{"urgent": 1}, "normal", mon, "2026-12-14"}, // normal missing: the default five
		{nil, "high", mon, "2026-12-09"},                     // no rules: the defaults
	} {
		if got := tt.rules.DueFor(tt.priority, tt.at); got != tt.want {
			t.Errorf("%v.DueFor(%s, %s) = %s, want %s", tt.rules, tt.priority, tt.at.Format("Mon 2 Jan"), got, tt.want)
		}
	}
}

func TestDueRulesValidate(t *testing.T) {
	if err := DefaultDueRules.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, bad := range []DueRules{{"soon": 1}, {"urgent": -1}, {"normal": 61}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseDueRules(t *testing.T) {
	r, err := ParseDueRules("urgent=0, normal=10")
	if err != nil || r["urgent"] != 0 || r["high"] != 2 || r["normal"] != 10 {
		t.Errorf("ParseDueRules = %v, %v", r, err)
	}
	if got := r.String(); got != "urgent=0,high=2,normal=10" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"urgent", "urgent=x", "soon=1", "normal=99"} {
		if _, err := ParseDueRules(bad); err == nil {
			t.Errorf("ParseDueRules(%q) accepted", bad)
		}
	}
}

// A work type's days cap its priority's; the shorter wins.
func TestDueOfWorkType(t *testing.T) {
	mon := time.Date(2026, 12, 7, 16, 30, 0, 0, time.UTC) // a Monday
	rules, err := ParseDueRules("urgent=1,normal=5,court report=3")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		priority record.Priority
		workType string
		want     record.Date
	}{
		{"normal", "court report", "2026-12-10"}, // capped at 3
		{"urgent", "court report", "2026-12-08"}, // 1 is shorter
		{"normal", "letter", "2026-12-14"},       // no cap
		{"normal", "", "2026-12-14"},
		{"court report", "letter", "2026-12-14"}, // a work type is no priority: as normal
	} {
		if got := rules.DueOf(tt.priority, tt.workType, mon); got != tt.want {
			t.Errorf("DueOf(%s, %s) = %s, want %s", tt.priority, tt.workType, got, tt.want)
		}
	}
	if got, want := rules.String(), "urgent=1,high=2,normal=5,court report=3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := rules.Sentence(), "urgent 1, high 2, normal 5 working days; court report at most 3"; got != want {
		t.Errorf("Sentence() = %q, want %q", got, want)
	}
	list := trust.DueRuleList(rules)
	if len(list) != 4 || list[0] != (trust.DueRule{Key: "court report", Days: 3}) || list[3].Key != "urgent" {
		t.Errorf("DueRuleList: %+v", list)
	}
}
