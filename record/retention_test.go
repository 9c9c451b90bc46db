package record

import (
	"encoding/json"
	"testing"
)

func TestRetentionDue(t *testing.T) {
	p := DefaultRetentionPolicy()
	tests := []struct {
		name    string
		f       RetentionFacts
		until   Date
		unknown string
		working string
	}{
		{"child: until the 75th birthday", RetentionFacts{Type: "child", Status: "closed", Closed: "2020-06-30", Birth: "2010-04-12"},
			"2085-04-12", "", "birth 2010-04-12 + 75 years = 2085-04-12; closed 2020-06-30 + 6 years = 2026-06-30"},
		{"child born on 29 February: a day longer, never less", RetentionFacts{Type: "child", Status: "closed", Closed: "2020-01-01", Birth: "2008-02-29"},
			"2083-03-01", "", ""},
		{"adult: six years after the last contact", RetentionFacts{Type: "adult", Status: "closed", Closed: "2019-05-01", LastContact: "2019-03-14"},
			"2025-05-01", "", "last contact 2019-03-14 + 6 years = 2025-03-14; closed 2019-05-01 + 6 years = 2025-05-01"},
		{"adult contacted after closing", RetentionFacts{Type: "adult", Status: "closed", Closed: "2019-05-01", LastContact: "2021-01-20"},
			"2027-01-20", "", ""},
		{"unknown type takes the default", RetentionFacts{Type: "fostering", Status: "closed", Closed: "2018-02-01", LastContact: "2018-01-05"},
			"2024-02-01", "", ""},
		{"open case is never due", RetentionFacts{Type: "adult", Status: "open", LastContact: "2001-01-01", Closed: "2001-01-01"},
			"", "the case is not closed", ""},
		{"child without a date of birth: no date", RetentionFacts{Type: "child", Status: "closed", Closed: "2001-01-01"},
			"", "no birth date", ""},
		{"closed without a closing date: no date", RetentionFacts{Type: "adult", Status: "closed", LastContact: "2001-01-01"},
			"", "no closing date", ""},
	}
	for _, tt := range tests {
		d := p.Due(tt.f)
		if d.Until != tt.until || d.Unknown != tt.unknown {
			t.Errorf("%s: until %q unknown %q, want %q %q", tt.name, d.Until, d.Unknown, tt.until, tt.unknown)
		}
		if tt.working != "" && d.Working != tt.working {
			t.Errorf("%s: working\n%s\nwant\n%s", tt.name, d.Working, tt.working)
		}
	}
	d := p.Due(RetentionFacts{Type: "child", Status: "closed", Closed: "2020-06-30", Birth: "2010-04-12"})
	if d.Rule != "child" || d.Formula != "kept until the latest of: birth + 75 years; closed + 6 years" {
		t.Errorf("rule %q formula %q", d.Rule, d.Formula)
	}
	if d.Past("2085-04-11") || !d.Past("2085-04-12") {
		t.Error("Past wrong at the boundary")
	}
}

func TestFactsOf(t *testing.T) {
	c := Case{CaseType: "adult", Status: "closed", Closed: "2020-01-01", DOB: "1970-01-01", Opened: "2015-01-01"}
	f := FactsOf(c, []Note{{Kind: "visit", Date: "2019-06-01"}, {Kind: "supervision", Date: "2019-12-01"}, {Kind: "phone", Date: "2019-07-02"}})
	if f.LastContact != "2019-07-02" || f.Birth != "1970-01-01" || f.Closed != "2020-01-01" {
		t.Errorf("facts %+v: supervision is not contact, the latest contact counts", f)
	}
	if FactsOf(c, nil).LastContact != "2015-01-01" {
		t.Error("no contact notes: last contact should be the opening date")
	}
}

func TestRetentionPolicyValidate(t *testing.T) {
	if err := DefaultRetentionPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		`{"approvals":3,"default":[{"from":"closed","years":6}]}`,
		`{"approvals":1,"default":[]}`,
		`{"approvals":1,"default":[{"from":"opened","years":6}]}`,
		`{"approvals":1,"default":[{"from":"closed","years":0}]}`,
		`{"approvals":1,"default":[{"from":"closed","years":6}],"types":{"child":[]}}`,
	}
	for _, js := range bad {
		var p RetentionPolicy
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			t.Fatal(err)
		}
		if p.Validate() == nil {
			t.Errorf("%s accepted", js)
		}
	}
}
