package tui

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/trust"
)

// RetentionService is the TUI's link to the case server for a supervisor's
// retention acts: approvals and holds are statements this laptop signs and
// the server carries (docs/ARCHITECTURE.md, "Retention, legal hold and
// destruction"). The queue itself is read from the vault, so the screen
// opens offline; these calls need the server and fail with an error
// wrapping client.ErrOffline when it cannot be reached.
type RetentionService interface {
	// ApproveDestruction signs this supervisor's approval of destroying a
	// case past retention; destroyed reports that it was the last one the
	// policy asks for, and the case is gone.
	ApproveDestruction(ctx context.Context, caseID, reason string) (destroyed bool, err error)
	// PlaceHold puts a case on legal hold and returns the hold's id.
	PlaceHold(ctx context.Context, caseID, ref, orderedBy, reason string) (string, error)
	// ReleaseHold releases a hold a supervisor placed.
	ReleaseHold(ctx context.Context, h trust.Hold, reason string) error
}

// retentionKeys are the destruction queue's keys.
type retentionKeys struct {
	globalKeys
	navKeys
	Approve, Hold, Release, All, Policy, Confirm, Cancel, Next key.Binding
}

func newRetentionKeys(e *env) retentionKeys {
	l := e.l
	nb, keys, help := key.NewBinding, key.WithKeys, key.WithHelp
	k := retentionKeys{globalKeys: e.keys.access.globalKeys, navKeys: e.keys.access.navKeys}
	k.Approve = nb(keys("a"), help("a", l.T("tui.retention.key_approve")))
	k.Hold = nb(keys("h"), help("h", l.T("tui.retention.key_hold")))
	k.Release = nb(keys("r"), help("r", l.T("tui.retention.key_release")))
	k.All = nb(keys("tab"), help("tab", l.T("tui.retention.key_all")))
	k.Policy = nb(keys("p"), help("p", l.T("tui.retention.key_policy")))
	k.Confirm = nb(keys("enter"), help("enter", l.T("tui.retention.key_confirm")))
	k.Cancel = nb(keys("esc"), help("esc", l.T("tui.retention.key_cancel")))
	k.Next = nb(keys("tab"), help("tab", l.T("tui.retention.key_next_hold")))
	return k
}

func (k retentionKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Approve, k.Hold, k.Release, k.All, k.Policy, k.Back}
}

func (k retentionKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Approve, k.Hold, k.Release, k.All, k.Policy, k.Back},
	}
}

// retentionLoadedMsg carries the vault's retention items and policy.
type retentionLoadedMsg struct {
	items []store.RetentionItem
	ret   trust.Retention
	err   error
}

// retentionDoneMsg is a server act's answer.
type retentionDoneMsg struct {
	act       string // "approve", "hold", "release"
	ref       string
	destroyed bool
	err       error
}

// The steps of an act typed in the prompt line.
const (
	retNone = iota
	retConfirm
	retHoldRef
	retHoldBy
	retHoldReason
	retRelease
	retBusy
)

// retentionScreen is the supervisors' destruction queue: the cases past
// retention and not on hold, with how each date was worked out, the holds
// in force and the approvals given; a supervisor approves (typing the
// case's reference, as destruction cannot be undone), places and releases
// holds. tab shows every case, p the policy's formulas.
type retentionScreen struct {
	env     *env
	keys    retentionKeys
	items   []store.RetentionItem // all of them
	shown   []store.RetentionItem // the queue, or all
	ret     trust.Retention
	all     bool
	policy  bool
	loaded  bool
	err     string
	nav     listNav
	step    int
	input   textinput.Model
	hold    [3]string // the hold being typed: reference, ordered by, reason
	release int       // which of the selected case's holds r releases
	msg     string    // the last act's outcome
	msgErr  bool
	w, h    int
}

// retentionForSupervisors is what others are told when they open it.
func retentionForSupervisors(e *env) string { return e.l.T("tui.retention.for_supervisors") }

func newRetentionScreen(e *env) *retentionScreen {
	in := textinput.New()
	in.CharLimit = 200
	return &retentionScreen{env: e, keys: newRetentionKeys(e), input: in}
}

func (r *retentionScreen) Init() tea.Cmd {
	v, today := r.env.vault, record.DateOf(r.env.now())
	return r.env.io(func() tea.Msg {
		var msg retentionLoadedMsg
		if rs := v.Roster(); rs != nil {
			msg.ret = rs.Retention
		}
		// The last contact is read from the notes.
		if msg.err = v.LoadAll(context.Background()); msg.err == nil {
			msg.items, msg.err = v.Retention(today)
		}
		return msg
	})
}

func (r *retentionScreen) Title() string { return r.env.l.T("tui.retention.title") }

func (r *retentionScreen) Typing() bool { return r.step != retNone && r.step != retBusy }

func (r *retentionScreen) SetSize(w, h int) {
	r.w, r.h = w, h
	r.input.SetWidth(max(10, w-4))
	r.nav.SetHeight(r.listHeight())
}

func (r *retentionScreen) ShortHelp() []key.Binding {
	if r.Typing() {
		if r.step == retRelease {
			return []key.Binding{r.keys.Confirm, r.keys.Next, r.keys.Cancel}
		}
		return []key.Binding{r.keys.Confirm, r.keys.Cancel}
	}
	return r.keys.ShortHelp()
}

func (r *retentionScreen) FullHelp() [][]key.Binding { return r.keys.FullHelp() }

// HelpNote says what approving does.
func (r *retentionScreen) HelpNote() string { return r.env.l.T("tui.retention.help_note") }

// detailLines is how many lines the selected case's working takes.
const retentionDetailLines = 5

func (r *retentionScreen) listHeight() int { return max(1, r.h-4-retentionDetailLines) }

// refilter picks the queue (due, or awaiting a second approval) or every
// case, keeping the selection on the same case when it is still shown.
func (r *retentionScreen) refilter() {
	sel := ""
	if it, ok := r.selected(); ok {
		sel = it.CaseID
	}
	r.shown = r.shown[:0]
	for _, it := range r.items {
		if r.all || it.State == store.RetentionDue || it.State == store.RetentionSecond {
			r.shown = append(r.shown, it)
		}
	}
	at := 0
	for i, it := range r.shown {
		if it.CaseID == sel {
			at = i
		}
	}
	r.nav.Reload(len(r.shown), at)
}

func (r *retentionScreen) selected() (store.RetentionItem, bool) {
	if i := r.nav.Cursor(); i < len(r.shown) {
		return r.shown[i], true
	}
	return store.RetentionItem{}, false
}

func (r *retentionScreen) say(text string, isErr bool) { r.msg, r.msgErr = text, isErr }

func (r *retentionScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	l := r.env.l
	switch msg := msg.(type) {
	case retentionLoadedMsg:
		r.loaded = true
		if msg.err != nil {
			r.env.logErr("reading the retention queue", msg.err)
			r.err = l.T("tui.retention.load_failed", "Error", r.env.writeErr(msg.err))
			return r, nil
		}
		r.err, r.items, r.ret = "", msg.items, msg.ret
		r.refilter()
		return r, nil
	case retentionDoneMsg:
		r.step = retNone
		if msg.err != nil {
			r.env.logErr("retention: "+msg.act, msg.err)
			r.say(r.actError(msg.err), true)
			return r, nil
		}
		switch {
		case msg.act == "hold":
			r.say(l.T("tui.retention.held", "Ref", msg.ref), false)
		case msg.act == "release":
			r.say(l.T("tui.retention.released", "Ref", msg.ref), false)
		case msg.destroyed:
			r.say(l.T("tui.retention.destroyed", "Ref", msg.ref), false)
		default:
			r.say(l.T("tui.retention.approved", "Ref", msg.ref), false)
		}
		return r, tea.Batch(r.Init(), cmdOf(changedMsg{}))
	case tea.KeyPressMsg:
		if r.step == retBusy {
			return r, nil
		}
		if r.Typing() {
			return r.typing(msg)
		}
		return r.key(msg)
	}
	return r, nil
}

func (r *retentionScreen) key(msg tea.KeyPressMsg) (component, tea.Cmd) {
	k, l := r.keys, r.env.l
	it, ok := r.selected()
	switch {
	case key.Matches(msg, k.Back):
		return r, back("", false)
	case key.Matches(msg, k.All):
		r.all = !r.all
		r.refilter()
	case key.Matches(msg, k.Policy):
		r.policy = !r.policy
	case key.Matches(msg, k.Approve):
		switch {
		case !ok:
		case r.env.retention == nil:
			r.say(l.T("tui.retention.not_enrolled"), true)
		case it.State != store.RetentionDue && it.State != store.RetentionSecond:
			r.say(l.T("tui.retention.not_in_queue", "Ref", it.Ref), true)
		default:
			r.prompt(retConfirm)
		}
	case key.Matches(msg, k.Hold):
		switch {
		case !ok:
		case r.env.retention == nil:
			r.say(l.T("tui.retention.not_enrolled"), true)
		default:
			r.hold = [3]string{}
			r.prompt(retHoldRef)
		}
	case key.Matches(msg, k.Release):
		switch {
		case !ok:
		case r.env.retention == nil:
			r.say(l.T("tui.retention.not_enrolled"), true)
		case len(it.Holds) == 0:
			r.say(l.T("tui.retention.no_hold", "Ref", it.Ref), true)
		default:
			r.release = 0
			r.prompt(retRelease)
		}
	default:
		r.nav.Key(msg, k.navKeys)
	}
	return r, nil
}

func (r *retentionScreen) prompt(step int) {
	r.step, r.msg = step, ""
	r.input.Reset()
	r.input.Focus()
}

// typing handles the prompt line: the case reference that confirms an
// approval, a hold's three fields, a release's reason.
func (r *retentionScreen) typing(msg tea.KeyPressMsg) (component, tea.Cmd) {
	k, l := r.keys, r.env.l
	it, ok := r.selected()
	switch {
	case key.Matches(msg, k.Cancel) || !ok:
		r.step = retNone
		r.input.Blur()
		r.say(l.T("tui.retention.cancelled"), false)
		return r, nil
	case r.step == retRelease && key.Matches(msg, k.Next):
		r.release = (r.release + 1) % len(it.Holds)
		return r, nil
	case key.Matches(msg, k.Confirm):
		text := strings.TrimSpace(r.input.Value())
		switch r.step {
		case retConfirm:
			if text != it.Ref {
				r.step = retNone
				r.say(l.T("tui.retention.ref_mismatch", "Ref", it.Ref), true)
				return r, nil
			}
			return r, r.act("approve", it, func(ctx context.Context, s RetentionService) (bool, error) { // i18n: the act, for the log
				return s.ApproveDestruction(ctx, it.CaseID, "past retention") // i18n: the approval's recorded reason, as the CLI's default
			})
		case retHoldRef, retHoldBy:
			if text == "" {
				return r, nil // both are required
			}
			r.hold[r.step-retHoldRef] = text
			r.prompt(r.step + 1)
			return r, nil
		case retHoldReason:
			h := r.hold
			h[2] = text
			return r, r.act("hold", it, func(ctx context.Context, s RetentionService) (bool, error) { // i18n: the act, for the log
				_, err := s.PlaceHold(ctx, it.CaseID, h[0], h[1], h[2])
				return false, err
			})
		case retRelease:
			if text == "" {
				return r, nil // a release says why
			}
			h := it.Holds[r.release%len(it.Holds)]
			return r, r.act("release", it, func(ctx context.Context, s RetentionService) (bool, error) { // i18n: the act, for the log
				return false, s.ReleaseHold(ctx, h, text)
			})
		}
	}
	var cmd tea.Cmd
	r.input, cmd = r.input.Update(msg)
	return r, cmd
}

// act runs a server act in the background, bounded by serverTimeout.
func (r *retentionScreen) act(name string, it store.RetentionItem, do func(context.Context, RetentionService) (bool, error)) tea.Cmd {
	r.step = retBusy
	r.input.Blur()
	r.say(r.env.l.T("tui.retention.working"), false)
	s := r.env.retention
	return r.env.io(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		gone, err := do(ctx, s)
		return retentionDoneMsg{act: name, ref: it.Ref, destroyed: gone, err: err}
	})
}

// actError says why an act was refused, in words for a supervisor.
func (r *retentionScreen) actError(err error) string {
	l := r.env.l
	switch {
	case errors.Is(err, client.ErrHeld):
		return l.T("tui.retention.err_held")
	case errors.Is(err, client.ErrBehindLog):
		return l.T("tui.retention.err_behind")
	case errors.Is(err, client.ErrNotDue):
		return l.T("tui.retention.err_not_due")
	case errors.Is(err, trust.ErrNotAllowed):
		return l.T("tui.retention.err_not_allowed")
	}
	return l.T("tui.retention.err_server", "Error", serverError(l, err))
}

// stateLabel is a retention state in the screen's language.
func (r *retentionScreen) stateLabel(it store.RetentionItem) string {
	l := r.env.l
	switch it.State {
	case store.RetentionNoPolicy:
		return l.T("tui.retention.state_no_policy")
	case store.RetentionUnknown:
		return l.T("tui.retention.state_unknown")
	case store.RetentionKept:
		return l.T("tui.retention.state_kept")
	case store.RetentionHeld:
		return l.T("tui.retention.state_held")
	case store.RetentionDue:
		return l.T("tui.retention.state_due")
	case store.RetentionSecond:
		return l.T("tui.retention.state_second", "Have", it.Approvers(), "Needed", it.Needed)
	case store.RetentionSealed:
		return l.T("tui.retention.state_sealed")
	}
	return it.State
}

func (r *retentionScreen) View() string {
	st, l := r.env.st, r.env.l
	due, second, held := 0, 0, 0
	for _, it := range r.items {
		switch it.State {
		case store.RetentionDue:
			due++
		case store.RetentionSecond:
			second++
		case store.RetentionHeld:
			held++
		}
	}
	right := ""
	if r.loaded && r.err == "" {
		right = l.T("tui.retention.counts", "Due", due, "Second", second, "Held", held)
	}
	title := l.T("tui.retention.heading_queue")
	if r.all {
		title = l.T("tui.retention.heading_all")
	}
	lines := []string{spread(st.Title.Render(title), st.Muted.Render(right), r.w)}
	refW, stateW, untilW := 14, 22, 10
	hdr := "  " + cell(l.T("tui.retention.col_case"), refW) + " " + cell(l.T("tui.retention.col_state"), stateW) + " " +
		cell(l.T("tui.retention.col_until"), untilW) + " " + l.T("tui.retention.col_rule")
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, r.w)))
	switch {
	case !r.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.retention.loading")))
	case r.err != "":
		lines = append(lines, st.Error.Render("  "+r.err))
	case r.ret.Policy == nil:
		lines = append(lines, "  "+l.T("tui.retention.no_policy"))
	case len(r.shown) == 0 && !r.all:
		lines = append(lines, "  "+l.T("tui.retention.queue_empty"))
	}
	start, end := r.nav.Visible()
	for i := start; i < end; i++ {
		it := r.shown[i]
		until := string(it.Due.Until)
		if until == "" {
			until = "—"
		}
		row := cell(it.Ref, refW) + " " + cell(r.stateLabel(it), stateW) + " " + cell(until, untilW) + " " + it.Due.Rule
		lines = append(lines, listRow(st, row, r.nav.Selected(i), r.w))
	}
	for len(lines) < 2+r.listHeight() {
		lines = append(lines, "")
	}
	detail := r.detail()
	for len(detail) < retentionDetailLines {
		detail = append(detail, "")
	}
	for _, d := range detail[:retentionDetailLines] {
		lines = append(lines, fitLine(d, r.w))
	}
	lines = append(lines, r.promptLine())
	return strings.Join(lines, "\n")
}

// detail is the selected case's working, holds and approvals, or the
// policy's formulas (p).
func (r *retentionScreen) detail() []string {
	st, l := r.env.st, r.env.l
	if r.policy {
		if r.ret.Policy == nil {
			return []string{st.Muted.Render(l.T("tui.retention.no_policy"))}
		}
		p := r.ret.Policy
		out := []string{st.Title.Render(l.N("tui.retention.policy", p.Approvals, "Version", r.ret.Version))}
		for _, t := range slices.Sorted(maps.Keys(p.Types)) {
			out = append(out, "  "+t+": "+record.Formula(p.Types[t]))
		}
		return append(out, "  "+l.T("tui.retention.any_other")+": "+record.Formula(p.Default))
	}
	it, ok := r.selected()
	if !ok {
		return nil
	}
	var out []string
	switch {
	case it.Due.Unknown != "":
		out = append(out, l.T("tui.retention.unknown", "Why", it.Due.Unknown))
	case it.Due.Working != "":
		out = append(out, l.T("tui.retention.working_out", "Working", it.Due.Working))
	}
	for _, h := range it.Holds {
		line := l.T("tui.retention.hold_line", "Ref", h.Ref, "By", h.OrderedBy, "Date", l.Date(h.At))
		if h.Reason != "" {
			line += " — " + h.Reason
		}
		out = append(out, st.Warn.Render(line))
	}
	if len(it.Approvals) > 0 {
		names := make([]string, 0, len(it.Approvals))
		for _, a := range it.Approvals {
			names = append(names, a.User+" ("+l.Date(a.At)+")")
		}
		out = append(out, l.T("tui.retention.approved_by", "Names", strings.Join(names, ", "), "Needed", it.Needed))
	}
	if it.State == store.RetentionDue || it.State == store.RetentionSecond {
		out = append(out, st.Muted.Render(l.T("tui.retention.approve_hint")))
	}
	return out
}

// promptLine is the line under the detail: the prompt of an act being
// typed, or the outcome of the last one.
func (r *retentionScreen) promptLine() string {
	st, l := r.env.st, r.env.l
	it, _ := r.selected()
	label := ""
	switch r.step {
	case retConfirm:
		label = l.T("tui.retention.prompt_confirm", "Ref", it.Ref)
	case retHoldRef:
		label = l.T("tui.retention.prompt_hold_ref")
	case retHoldBy:
		label = l.T("tui.retention.prompt_hold_by")
	case retHoldReason:
		label = l.T("tui.retention.prompt_hold_reason")
	case retRelease:
		if n := len(it.Holds); n > 0 {
			h := it.Holds[r.release%n]
			label = l.T("tui.retention.prompt_release", "Ref", h.Ref, "Which", strconv.Itoa(r.release%n+1), "Of", strconv.Itoa(n))
		}
	default:
		if r.msgErr {
			return fitLine(st.Error.Render(r.msg), r.w)
		}
		return fitLine(st.Muted.Render(r.msg), r.w)
	}
	return fitLine(st.Title.Render(label)+" "+r.input.View(), r.w)
}
