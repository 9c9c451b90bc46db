// Package caseload is the supervisor's view of a team: per worker, the
// cases they hold, their weighted caseload against capacity (see
// record.Policy for the formula), overdue visits, hearings soon, conflicts,
// dictations waiting for typing, and when each of their devices last
// synced. It joins what the server knows (who holds which case; devices)
// with what only the supervisor's device can read (the cases).
//
// It also holds the views the TUI and the command line share, computed
// from the vault's small read API (Reader) rather than inside the vault:
// the agenda (agenda.go), consent summaries and the consent issues across
// cases, and the cases waiting for typing (views.go).
package caseload

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// CourtSoon is how far ahead a hearing counts as soon.
const CourtSoon = 14 * 24 * time.Hour

// Worker is one row of the team view.
type Worker struct {
	UserID      string
	Name        string
	Role        protocol.Role
	Cases       []string // case ids they hold (open and pending)
	OpenCases   int
	Weighted    float64
	Capacity    float64
	Overdue     int // cases whose next visit or task is overdue
	CourtSoon   int // cases with a hearing within CourtSoon
	Conflicts   int // records in conflict across their cases
	Dictations  int // recordings submitted, waiting for typing
	Devices     []protocol.TeamDevice
	SealedCases int // cases this device cannot read yet (key not shared)
	LastSync    time.Time
	NeverSynced bool
}

// Load is the weighted caseload as a share of capacity (1 = full).
func (w Worker) Load() float64 {
	if w.Capacity <= 0 {
		return 0
	}
	return w.Weighted / w.Capacity
}

// CaseWeight is what case c adds to the load of a worker holding it under
// pol, and whether it counts at all: a closed case does not, nor a sealed
// one (this device cannot read it yet). Build sums it over a worker's
// cases; the reassignment picker moves it from one worker to another.
func CaseWeight(pol record.Policy, c store.CaseView) (float64, bool) {
	if c.Sealed || c.Value.Status == record.CaseClosed {
		return 0, false
	}
	return pol.Weight(c.Value), true
}

// Gain is w once they hold one more open case of weight (see CaseWeight).
func (w Worker) Gain(weight float64) Worker {
	w.OpenCases++
	w.Weighted = round2(w.Weighted + weight)
	return w
}

// Lose is w once one of their open cases, of weight, is taken from them.
func (w Worker) Lose(weight float64) Worker {
	w.OpenCases = max(0, w.OpenCases-1)
	w.Weighted = max(0, round2(w.Weighted-weight))
	return w
}

// round2 keeps a sum of weights (each to hundredths) free of binary
// fractions: 115 − 3.35 is 111.65, not 111.64999….
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// PolicyOf reads the team's policy from the team view, or the default.
func PolicyOf(tv *protocol.TeamView) record.Policy {
	p := record.DefaultPolicy()
	if tv != nil && len(tv.Policy) > 0 {
		var q record.Policy
		if json.Unmarshal(tv.Policy, &q) == nil && q.Validate() == nil {
			p = q
		}
	}
	return p
}

// Build computes the team view. Workers are caseworkers (and supervisors
// holding cases), heaviest load first.
func Build(v *store.Vault, tv *protocol.TeamView, today time.Time) ([]Worker, error) {
	pol := PolicyOf(tv)
	cases, err := v.Cases()
	if err != nil {
		return nil, err
	}
	byID := map[string]store.CaseView{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	waiting := map[string]int{}
	if ids, err := CasesWaitingTranscription(v); err == nil {
		for _, id := range ids {
			recs, _ := v.Recordings(id)
			for _, r := range recs {
				if r.Value.WaitsForTyping() {
					waiting[id]++
				}
			}
		}
	}
	todayD := record.DateOf(today)
	soon := record.DateOf(today.Add(CourtSoon))
	var out []Worker
	for _, u := range tv.Users {
		if u.Role == protocol.RoleTypist {
			continue
		}
		w := Worker{UserID: u.ID, Name: u.Name, Role: u.Role, Devices: u.Devices, Capacity: pol.CapacityOf(u.Name), NeverSynced: true}
		for _, d := range u.Devices {
			if !d.LastSync.IsZero() {
				w.NeverSynced = false
				if d.LastSync.After(w.LastSync) {
					w.LastSync = d.LastSync
				}
			}
		}
		for _, tc := range tv.Cases {
			if !slices.Contains(tc.Members, u.ID) {
				continue
			}
			c, ok := byID[tc.ID]
			if !ok || c.Sealed {
				w.SealedCases++
				continue
			}
			weight, counts := CaseWeight(pol, c)
			if !counts {
				continue
			}
			w.Cases = append(w.Cases, c.ID)
			w = w.Gain(weight)
			if c.Overdue(todayD) {
				w.Overdue++
			}
			if next := c.Value.NextCourtDate(todayD); next != "" && next <= soon {
				w.CourtSoon++
			}
			w.Conflicts += c.Conflicts
			w.Dictations += waiting[c.ID]
		}
		if w.OpenCases == 0 && u.Role == protocol.RoleSupervisor {
			continue // a supervisor holding no cases is not a row
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Worker) int { return cmp.Or(cmp.Compare(b.Load(), a.Load()), cmp.Compare(a.Name, b.Name)) })
	return out, nil
}
