package dictation

import (
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/trust"
)

// Where a device's due rules come from, strongest first.
const (
	DueFromAgency  = "agency"  // the agency's signed rules (the team's own, else agency-wide)
	DueFromLocal   = "local"   // this laptop's turnaround setting: only when the agency has none
	DueFromDefault = "default" // neither: DefaultDueRules
)

// DuePolicy is the due rules a dictation submitted on this device gets,
// and where they come from.
type DuePolicy struct {
	Rules  DueRules
	Source string // DueFromAgency, DueFromLocal or DueFromDefault
	// For the agency's rules: their version, the team they are for ("" the
	// whole agency) and who signed them (the agency, or a supervisor by
	// name).
	Version  uint64
	Team     string
	SignedBy string
}

// DuePolicyOf is the due rules in force on v: the agency's signed rules
// win (the user's team's own, else the agency-wide ones, as the roster of
// verified statements proves them, so a server can neither forge nor roll
// them back); this laptop's turnaround setting (local, nil when unset)
// applies only when the agency has set none; the defaults when neither.
func DuePolicyOf(v *store.Vault, local DueRules) DuePolicy {
	r := v.Roster()
	team := ""
	if r != nil {
		if w, ok := r.Writer(v.DeviceID()); ok {
			team = w.User.Team
		}
	}
	if d, ok := r.DueRulesFor(team); ok {
		p := DuePolicy{Rules: DueRules{}, Source: DueFromAgency, Version: d.Version, Team: d.Team, SignedBy: "the agency"}
		for _, rule := range d.Rules {
			p.Rules[rule.Key] = int(rule.Days)
		}
		if dev, ok := r.Writer(strings.TrimPrefix(d.Signer, trust.SignerDevice(""))); ok && d.Signer != trust.SignerAgency {
			p.SignedBy = dev.User.Name + " (" + string(dev.User.Role) + ")"
		}
		if d.Team != "" {
			if t, ok := r.Teams[d.Team]; ok && t.Name != "" {
				p.Team = t.Name
			}
		}
		return p
	}
	if local != nil {
		return DuePolicy{Rules: local, Source: DueFromLocal}
	}
	return DuePolicy{Rules: DefaultDueRules, Source: DueFromDefault}
}

// String says which rules are in force and where they come from.
func (p DuePolicy) String() string {
	switch p.Source {
	case DueFromAgency:
		scope := "agency-wide"
		if p.Team != "" {
			scope = "team " + p.Team
		}
		return fmt.Sprintf("%s (agency policy v%d, %s, signed by %s)", p.Rules.Sentence(), p.Version, scope, p.SignedBy)
	case DueFromLocal:
		return p.Rules.Sentence() + " (this laptop's turnaround setting: the agency has set no due rules)"
	}
	return p.Rules.Sentence() + " (the defaults: the agency has set no due rules)"
}
