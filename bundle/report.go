package bundle

import (
	"fmt"
	"io"
)

// WriteText writes the report for people: each check that held, each
// note, each failing item, and the agency key's fingerprint to confirm.
func (r *Report) WriteText(w io.Writer, dir string) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("bundle %s\n", dir)
	for _, c := range r.Checked {
		p("  ok    %s\n", c)
	}
	for _, n := range r.Notes {
		p("  note  %s\n", n)
	}
	for _, f := range r.Problems {
		p("  FAIL  %s\n", f)
	}
	if r.AgencyFingerprint != "" {
		p("agency key fingerprint %s: confirm it with the agency\n", r.AgencyFingerprint)
	}
	if r.OK() {
		p("the bundle verifies: %d revisions, %d files, %d pages\n", r.Records, r.Files, r.Pages)
	} else {
		p("the bundle does NOT verify: %d problem(s)\n", len(r.Problems))
	}
	return nil
}
