package dictation

import (
	"cmp"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// Turnaround is how long dictations wait for their transcripts, for one
// typist or one author: the figures a supervisor balances typing work by.
type Turnaround struct {
	Name string `json:"name"`
	// Done counts the transcripts saved; Median and P90 are how long they
	// waited from submission (nearest rank), 0 when Done is 0.
	Done   int           `json:"done"`
	Median time.Duration `json:"-"`
	P90    time.Duration `json:"-"`
	// Waiting counts dictations submitted and not yet transcribed (authors
	// only: a waiting dictation has no typist yet); Oldest is how long the
	// longest of them has waited, Overdue how many are past their due date.
	Waiting int           `json:"waiting"`
	Oldest  time.Duration `json:"-"`
	Overdue int           `json:"overdue"`
}

// TurnaroundReport is the turnaround by typist and by author, each sorted by
// name. Dictations without a submission time (from before it was kept) are
// left out.
type TurnaroundReport struct {
	Typists []Turnaround
	Authors []Turnaround
	// All is every transcript's wait (Done, Median, P90) and every waiting
	// dictation (Waiting, Oldest, Overdue), whoever typed or wrote it.
	All    Turnaround
	Sealed int // recordings this device cannot read (VaultTurnaround)
}

// Totals are how many dictations wait, how many of them are overdue, and
// the longest wait (All's).
func (r TurnaroundReport) Totals() (waiting, overdue int, oldest time.Duration) {
	return r.All.Waiting, r.All.Overdue, r.All.Oldest
}

// TurnaroundOf computes the report of recs at now.
func TurnaroundOf(recs []record.Recording, now time.Time) TurnaroundReport {
	waits := map[string][]time.Duration{} // by typist
	authorWaits := map[string][]time.Duration{}
	authors := map[string]*Turnaround{}
	author := func(name string) *Turnaround {
		if name == "" {
			name = "(unknown)"
		}
		if authors[name] == nil {
			authors[name] = &Turnaround{Name: name}
		}
		return authors[name]
	}
	today := record.DateOf(now)
	for _, r := range recs {
		sub, err := time.Parse(time.RFC3339, r.Submitted)
		if err != nil {
			continue
		}
		a := author(r.Author)
		switch r.Status {
		case record.StatusSubmitted, record.StatusCorrection:
			a.Waiting++
			a.Oldest = max(a.Oldest, now.Sub(sub))
			if r.Due.Before(today) {
				a.Overdue++
			}
		case record.StatusTranscribed:
			done, err := time.Parse(time.RFC3339, r.Transcribed)
			if err != nil || done.Before(sub) {
				continue
			}
			typist := cmp.Or(r.TranscribedBy, "(unknown)")
			waits[typist] = append(waits[typist], done.Sub(sub))
			authorWaits[a.Name] = append(authorWaits[a.Name], done.Sub(sub))
		}
	}
	rep := TurnaroundReport{All: Turnaround{Name: "all"}}
	var all []time.Duration
	for name, ws := range waits {
		all = append(all, ws...)
		t := Turnaround{Name: name}
		t.Done, t.Median, t.P90 = len(ws), percentile(ws, 50), percentile(ws, 90)
		rep.Typists = append(rep.Typists, t)
	}
	for name, a := range authors {
		ws := authorWaits[name]
		a.Done, a.Median, a.P90 = len(ws), percentile(ws, 50), percentile(ws, 90)
		rep.Authors = append(rep.Authors, *a)
		rep.All.Waiting += a.Waiting
		rep.All.Overdue += a.Overdue
		rep.All.Oldest = max(rep.All.Oldest, a.Oldest)
	}
	rep.All.Done, rep.All.Median, rep.All.P90 = len(all), percentile(all, 50), percentile(all, 90)
	byName := func(x, y Turnaround) int { return cmp.Compare(x.Name, y.Name) }
	slices.SortFunc(rep.Typists, byName)
	slices.SortFunc(rep.Authors, byName)
	return rep
}

// percentile is the nearest-rank p-th percentile of ds (0 for none).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

// VaultTurnaround is the turnaround of every recording v can read, at now:
// what a supervisor's vault holds of the team's cases, so it needs no
// server. Sealed recordings (no key here) are counted in Sealed, not
// guessed at.
func VaultTurnaround(v *store.Vault, now time.Time) (TurnaroundReport, error) {
	cases, err := v.Cases()
	if err != nil {
		return TurnaroundReport{}, err
	}
	var recs []record.Recording
	sealed := 0
	for _, cv := range cases {
		items, err := v.Recordings(cv.ID)
		if err != nil {
			return TurnaroundReport{}, err
		}
		for _, it := range items {
			if it.Sealed {
				sealed++
				continue
			}
			recs = append(recs, it.Value)
		}
	}
	rep := TurnaroundOf(recs, now)
	rep.Sealed = sealed
	return rep, nil
}
