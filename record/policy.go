package record

import (
	"fmt"
	"math"
)

// Policy is an agency's caseload-weighting policy: what each case factor
// adds to a case's weight, and the weighted capacity of a worker. A case's
// weight is
//
//	weight = Base
//	       + PerExtraChild × (children − 1)
//	       + Complexity[complexity]
//	       + CourtStage[court stage]
//	       + Risk[risk]
//	       + TravelPer30 × (one-way travel minutes / 30)
//
// for open and pending cases; closed cases weigh nothing. A worker's
// weighted caseload is the sum over their cases, set against their capacity
// (Capacity unless Capacities names them).
type Policy struct {
	Version       int                `json:"version"`
	Base          float64            `json:"base"`
	PerExtraChild float64            `json:"per_extra_child"`
	Complexity    map[int]float64    `json:"complexity"`
	CourtStage    map[string]float64 `json:"court_stage"`
	Risk          map[string]float64 `json:"risk"`
	TravelPer30   float64            `json:"travel_per_30_min"`
	Capacity      float64            `json:"capacity"`
	Capacities    map[string]float64 `json:"capacities,omitempty"` // by user name
}

// DefaultPolicy is a starting point an agency tunes: with it a routine,
// low-risk, single-child case close by weighs 1, and a worker carries 14.
func DefaultPolicy() Policy {
	return Policy{
		Version:       1,
		Base:          1,
		PerExtraChild: 0.25,
		Complexity:    map[int]float64{1: 0, 2: 0.5, 3: 1},
		CourtStage:    map[string]float64{"none": 0, "pre-proceedings": 0.25, "proceedings": 0.75, "final": 0.5},
		Risk:          map[string]float64{"low": 0, "medium": 0.25, "high": 0.75},
		TravelPer30:   0.25,
		Capacity:      14,
	}
}

// Weight is a case's weight under p.
func (p Policy) Weight(c Case) float64 {
	if c.Status == CaseClosed {
		return 0
	}
	w := p.Base
	if c.Weights.Children > 1 {
		w += p.PerExtraChild * float64(c.Weights.Children-1)
	}
	w += p.Complexity[c.Weights.Complexity]
	w += p.CourtStage[c.Weights.CourtStage]
	w += p.Risk[c.Risk]
	w += p.TravelPer30 * float64(c.Weights.TravelMins) / 30
	return math.Round(w*100) / 100
}

// CapacityOf is a worker's weighted capacity.
func (p Policy) CapacityOf(worker string) float64 {
	if c, ok := p.Capacities[worker]; ok {
		return c
	}
	return p.Capacity
}

// Validate checks a policy.
func (p Policy) Validate() error {
	if p.Capacity <= 0 {
		return fmt.Errorf("%w: capacity must be positive", ErrInvalid)
	}
	for _, v := range []float64{p.Base, p.PerExtraChild, p.TravelPer30} {
		if v < 0 || v > 100 || math.IsNaN(v) {
			return fmt.Errorf("%w: weights must be between 0 and 100", ErrInvalid)
		}
	}
	for name, c := range p.Capacities {
		if c <= 0 {
			return fmt.Errorf("%w: capacity of %s must be positive", ErrInvalid, name)
		}
	}
	return nil
}
