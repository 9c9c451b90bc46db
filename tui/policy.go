package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// policyFormulaLine is the weighting formula in one sentence (record.Policy
// documents it).
func policyFormulaLine(l *i18n.Locale) string { return l.T("tui.policy.formula") }

// The keys of the policy form's fields (parsePolicy reads them back).
const (
	fieldBase       = "base"        // i18n: a field's key
	fieldChild      = "child"       // i18n: a field's key
	fieldComplexity = "complexity:" // i18n: a field's key, before the level
	fieldCourt      = "court:"      // i18n: a field's key, before the stage
	fieldRisk       = "risk:"       // i18n: a field's key, before the risk
	fieldTravel     = "travel"      // i18n: a field's key
	fieldCapacity   = "capacity"    // i18n: a field's key
	fieldCapacities = "capacities"  // i18n: a field's key
)

// Names of the policy's keyed weights, in the order shown.
var (
	policyComplexities = []int{1, 2, 3}
	policyCourtStages  = []string{"none", "pre-proceedings", "proceedings", "final"} // i18n: the policy's keys, as signed
	policyRisks        = []string{"low", "medium", "high"}                           // i18n: the policy's keys, as signed
)

type (
	// policyLoadedMsg carries the team view kept in the vault, for the
	// policy screen opened before any team view was loaded.
	policyLoadedMsg struct {
		tv  *protocol.TeamView
		err error
	}
	// policySavedMsg reports SetPolicy.
	policySavedMsg struct {
		pol     record.Policy
		version int
		err     error
	}
)

// policyScreen shows the team's caseload-weighting policy and explains
// the formula; e edits it (a form over the numbers), checked with
// Policy.Validate, signed by this supervisor's laptop as their team's
// policy (a trust.KindPolicy statement every device verifies) and sent to
// the server, against the version it started from, so an edit made
// meanwhile by another supervisor is not overwritten.
type policyScreen struct {
	env     *env
	ts      TeamService
	loaded  bool
	errText string
	info    string
	editing bool
	saving  bool
	f       *form
	fields  map[string]*field
	order   []string
	w, h    int
}

func newPolicyScreen(e *env, ts TeamService) *policyScreen {
	if e.team == nil {
		e.team = &teamState{}
	}
	return &policyScreen{env: e, ts: ts}
}

func (p *policyScreen) Title() string { return p.env.l.T("tui.policy.title") }

func (p *policyScreen) Typing() bool { return p.editing }

func (p *policyScreen) SetSize(w, h int) {
	p.w, p.h = w, h
	if p.f != nil {
		p.f.setSize(w, h-3)
	}
}

func (p *policyScreen) ShortHelp() []key.Binding {
	k := p.env.keys.policy
	if p.editing {
		return []key.Binding{k.Save, k.NextField, k.cancel()}
	}
	return k.ShortHelp()
}

func (p *policyScreen) FullHelp() [][]key.Binding {
	k := p.env.keys.policy
	if p.editing {
		return [][]key.Binding{{k.Save, k.cancel()}, {k.NextField, k.PrevField}}
	}
	return k.FullHelp()
}

// HelpNote is the formula.
func (p *policyScreen) HelpNote() string { return policyFormulaLine(p.env.l) }

func (p *policyScreen) Init() tea.Cmd {
	if p.editing && p.f != nil {
		return p.f.setFocus(p.f.focus)
	}
	if p.ts == nil {
		p.loaded = true
		return nil
	}
	if p.env.team.tv != nil {
		p.loaded = true
		return nil
	}
	ts := p.ts
	return p.env.io(func() tea.Msg {
		tv, err := ts.Stored()
		return policyLoadedMsg{tv: tv, err: err}
	})
}

// current is the policy shown and the version it has.
func (p *policyScreen) current() (record.Policy, int, bool) {
	tv := p.env.team.tv
	if tv == nil {
		return record.DefaultPolicy(), 0, false
	}
	return caseload.PolicyOf(tv), tv.PolicyVersion, true
}

func (p *policyScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	k := p.env.keys.policy
	switch msg := msg.(type) {
	case policyLoadedMsg:
		p.loaded = true
		if msg.err != nil {
			p.env.logErr("loading the team view", msg.err)
			p.errText = p.env.l.T("tui.team.load_failed", "Err", p.env.writeErr(msg.err))
			return p, nil
		}
		if p.env.team.tv == nil {
			p.env.team.tv = msg.tv
		}
		return p, nil
	case policySavedMsg:
		p.saving = false
		if msg.err != nil {
			p.env.logErr("saving the weighting policy", msg.err)
			p.errText = p.env.l.T("tui.recorder.err.not_saved", "Err", policyError(p.env.l, msg.err))
			return p, nil
		}
		p.editing, p.errText = false, ""
		p.info = p.env.l.T("tui.policy.saved", "Version", msg.version)
		p.publish(msg.pol, msg.version)
		return p, nil
	case tea.KeyPressMsg:
		if p.editing {
			switch {
			case key.Matches(msg, k.cancel()):
				p.editing, p.errText = false, ""
				p.info = p.env.l.T("tui.policy.not_changed")
				return p, nil
			case key.Matches(msg, k.Save):
				if p.saving {
					return p, nil
				}
				return p, p.save()
			}
			cmd, changed := p.f.update(msg)
			if changed {
				p.errText = ""
			}
			return p, cmd
		}
		p.info = ""
		switch {
		case key.Matches(msg, k.Back):
			return p, back("", false)
		case key.Matches(msg, k.EditPolicy):
			switch {
			case p.ts == nil:
				p.errText = p.env.l.T("tui.policy.not_enrolled", "NotEnrolled", notEnrolledTeam(p.env.l))
				return p, nil
			case p.env.team.tv == nil:
				p.errText = p.env.l.T("tui.assign.no_team_view")
				return p, nil
			}
			p.errText = ""
			return p, p.edit()
		}
	}
	return p, nil
}

// policyError says why a save failed; a stale version gets its own advice.
func policyError(l *i18n.Locale, err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeConflict {
		return l.T("tui.policy.stale")
	}
	if errors.Is(err, trust.ErrNotAllowed) {
		return err.Error()
	}
	return serverError(l, err)
}

// publish makes the saved policy the team view's (a copy: commands may be
// reading the old one).
func (p *policyScreen) publish(pol record.Policy, version int) {
	ts := p.env.team
	if ts.tv == nil {
		return
	}
	tv := *ts.tv
	if js, err := json.Marshal(pol); err == nil {
		tv.Policy = js
	}
	tv.PolicyVersion = version
	ts.tv = &tv
	ts.changed++
}

// edit builds the form over the policy's numbers.
func (p *policyScreen) edit() tea.Cmd {
	pol, _, _ := p.current()
	l := p.env.l
	f := newForm(p.env)
	f.labelW = 31
	p.fields = map[string]*field{}
	p.order = nil
	add := func(id, label string, v float64, hint string) {
		p.fields[id] = f.text(label, num(v), hint)
		p.order = append(p.order, id)
	}
	add(fieldBase, l.T("tui.policy.base"), pol.Base, l.T("tui.policy.base_hint"))
	add(fieldChild, l.T("tui.policy.child"), pol.PerExtraChild, l.T("tui.policy.child_hint"))
	for _, c := range policyComplexities {
		add(fieldComplexity+itoa(c), l.T("tui.policy.complexity_n", "N", c), pol.Complexity[c], "")
	}
	for _, s := range policyCourtStages {
		add(fieldCourt+s, l.T("tui.policy.court_stage_of", "Stage", s), pol.CourtStage[s], "")
	}
	for _, r := range policyRisks {
		add(fieldRisk+r, l.T("tui.policy.risk_of", "Risk", r), pol.Risk[r], "")
	}
	add(fieldTravel, l.T("tui.policy.travel"), pol.TravelPer30, l.T("tui.policy.travel_hint"))
	add(fieldCapacity, l.T("tui.policy.capacity"), pol.Capacity, l.T("tui.policy.capacity_hint"))
	p.fields[fieldCapacities] = f.text(l.T("tui.policy.capacities"), capacitiesText(pol.Capacities), l.T("tui.policy.capacities_hint"))
	p.order = append(p.order, fieldCapacities)
	p.f = f
	p.f.setSize(p.w, p.h-3)
	p.editing = true
	return p.f.start()
}

// capacitiesText writes per-worker capacities as "name=12, name=10".
func capacitiesText(m map[string]float64) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, name+"="+num(m[name]))
	}
	return strings.Join(parts, ", ")
}

// parsePolicy reads the form back into a policy, keeping what the form
// does not show.
func (p *policyScreen) parsePolicy() (record.Policy, error) {
	old, version, _ := p.current()
	pol := old
	pol.Version = version + 1
	pol.Complexity = maps.Clone(old.Complexity)
	pol.CourtStage = maps.Clone(old.CourtStage)
	pol.Risk = maps.Clone(old.Risk)
	if pol.Complexity == nil {
		pol.Complexity = map[int]float64{}
	}
	if pol.CourtStage == nil {
		pol.CourtStage = map[string]float64{}
	}
	if pol.Risk == nil {
		pol.Risk = map[string]float64{}
	}
	get := func(id string) (float64, error) {
		fd := p.fields[id]
		s := strings.TrimSpace(fd.value())
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, p.env.l.Error("tui.policy.not_number", "Label", fd.label, "Value", strconv.Quote(s))
		}
		// Policy.Validate checks the others; these it does not.
		if strings.Contains(id, ":") && (f < 0 || f > 100) {
			return 0, p.env.l.Error("tui.policy.out_of_range", "Label", fd.label)
		}
		return f, nil
	}
	var err error
	for _, id := range p.order {
		if id == "capacities" {
			continue
		}
		var f float64
		if f, err = get(id); err != nil {
			return pol, err
		}
		kind, name, _ := strings.Cut(id, ":")
		switch kind {
		case "base":
			pol.Base = f
		case "child":
			pol.PerExtraChild = f
		case "travel":
			pol.TravelPer30 = f
		case "capacity":
			pol.Capacity = f
		case "complexity":
			n, _ := strconv.Atoi(name)
			pol.Complexity[n] = f
		case "court":
			pol.CourtStage[name] = f
		case "risk":
			pol.Risk[name] = f
		}
	}
	pol.Capacities = nil
	for _, part := range strings.Split(p.fields[fieldCapacities].value(), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || name == "" || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return pol, p.env.l.Error("tui.policy.bad_capacity", "Value", strconv.Quote(part))
		}
		if pol.Capacities == nil {
			pol.Capacities = map[string]float64{}
		}
		pol.Capacities[name] = f
	}
	if err := pol.Validate(); err != nil {
		return pol, errors.New(p.env.writeErr(err))
	}
	return pol, nil
}

func (p *policyScreen) save() tea.Cmd {
	pol, err := p.parsePolicy()
	if err != nil {
		p.errText = err.Error()
		return nil
	}
	_, version, _ := p.current()
	p.errText, p.saving = "", true
	ts := p.ts
	return p.env.io(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		ver, err := ts.SetPolicy(ctx, pol, version)
		if err == nil {
			pol.Version = ver
		}
		return policySavedMsg{pol: pol, version: ver, err: err}
	})
}

func (p *policyScreen) View() string {
	st, l := p.env.st, p.env.l
	pol, version, have := p.current()
	head := l.T("tui.policy.title")
	right := ""
	if have {
		right = l.T("tui.policy.version", "Version", version)
	} else if p.loaded {
		right = l.T("tui.policy.default")
	}
	msg := ""
	switch {
	case p.errText != "":
		msg = st.Error.Render(p.errText)
	case p.saving:
		msg = st.Muted.Render(l.T("tui.policy.signing"))
	case p.info != "":
		msg = st.Notice.Render(p.info)
	case p.editing:
		msg = st.Muted.Render(l.T("tui.policy.editing"))
	case p.ts == nil:
		msg = st.Muted.Render(l.T("tui.policy.showing_default", "NotEnrolled", notEnrolledTeam(l)))
	}
	lines := []string{spread(st.Title.Render(head), st.Muted.Render(right), p.w)}
	for _, line := range wrap(msg, max(10, p.w)) {
		lines = append(lines, fitLine(line, p.w))
	}
	if !p.loaded {
		return strings.Join(append(lines, st.Muted.Render(l.T("tui.typist.loading"))), "\n")
	}
	if p.editing {
		return strings.Join(lines, "\n") + "\n" + p.f.view(p.h-len(lines))
	}
	for _, line := range wrap(policyFormulaLine(l), max(10, p.w-2)) {
		lines = append(lines, "  "+st.Muted.Render(line))
	}
	lines = append(lines, "")
	val := func(label, v string) {
		for i, line := range wrap(v, max(10, p.w-26)) {
			if i > 0 {
				label = ""
			}
			lines = append(lines, fitLine("  "+st.Label.Render(cell(label, 24))+line, p.w))
		}
	}
	val(l.T("tui.policy.base"), num(pol.Base))
	val(l.T("tui.policy.child"), num(pol.PerExtraChild))
	var cx []string
	for _, c := range policyComplexities {
		cx = append(cx, fmt.Sprintf("%d: %s", c, num(pol.Complexity[c])))
	}
	val(l.T("tui.policy.complexity"), strings.Join(cx, " · "))
	var cs []string
	for _, s := range policyCourtStages {
		cs = append(cs, s+" "+num(pol.CourtStage[s]))
	}
	val(l.T("tui.policy.court_stage"), strings.Join(cs, " · "))
	var rs []string
	for _, r := range policyRisks {
		rs = append(rs, r+" "+num(pol.Risk[r]))
	}
	val(l.T("tui.policy.risk"), strings.Join(rs, " · "))
	val(l.T("tui.policy.travel"), num(pol.TravelPer30))
	val(l.T("tui.policy.capacity"), num(pol.Capacity))
	if len(pol.Capacities) > 0 {
		val(l.T("tui.policy.capacities"), capacitiesText(pol.Capacities))
	}
	lines = append(lines, "", fitLine("  "+st.Muted.Render(l.T("tui.policy.edit_hint")), p.w))
	return strings.Join(lines, "\n")
}
