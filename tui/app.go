package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/store"
)

// DefaultIdleLock is how long the TUI waits without a key before it locks.
const DefaultIdleLock = 10 * time.Minute

// DefaultDraftDelay is how soon after a change the note being typed is
// sealed into the vault.
const DefaultDraftDelay = 3 * time.Second

// Options configure the TUI.
type Options struct {
	// Locale is the language every screen speaks (nil: English).
	Locale *i18n.Locale
	// Vault is an opened, locked vault. The TUI unlocks and locks it but
	// never closes it: the caller does, after Run returns.
	Vault *store.Vault
	// DemoPassphrase, when not empty, is shown on the unlock screen (demo
	// vaults only: their data is not secret).
	DemoPassphrase string
	// IdleLock is how long without a key press before drafts are saved, the
	// vault is locked and the unlock screen shown. Zero means
	// DefaultIdleLock; a negative value turns the idle lock off.
	IdleLock time.Duration
	// OnLock, if set, runs whenever the TUI locks (by a key or when idle),
	// e.g. to make an unlock agent forget the vault too.
	OnLock func()
	// HighContrast selects the high-contrast theme.
	HighContrast bool
	// NoColor drops every colour (Run also sets it when NO_COLOR is set).
	NoColor bool
	// Now is the clock for dates ("today", overdue). Nil means time.Now;
	// tests pin it.
	Now func() time.Time
	// DateOrder is how dates typed as numbers are read (14/12/2026 is
	// DMY, the zero value).
	DateOrder when.DateOrder
	// DueRules are this laptop's turnaround setting (nil: none): a
	// submission's due date follows them only when the agency has signed
	// no due rules (dictation.DuePolicyOf).
	DueRules dictation.DueRules
	// Log receives diagnostics. The screen is not a log: point it at a file.
	// Nil discards.
	Log *slog.Logger
	// Sync reports synchronisation state to the status bar. Nil means
	// "local only: not enrolled".
	Sync SyncStatus
	// Team links supervisor screens to the server (refresh the team view,
	// reassign a case, change the weighting policy). Nil on a device that
	// is not enrolled: the team screens then show what the vault holds.
	Team TeamService
	// Retention links the destruction queue's acts (approve, hold,
	// release) to the server. Nil on a device that is not enrolled.
	Retention RetentionService
	// DraftDelay is how soon after a change a draft is sealed. Zero means
	// DefaultDraftDelay.
	DraftDelay time.Duration
	// AudioDevice is the microphone to dictate from: a device name or index
	// as audio.ListDevices gives them; "" is the system's default. The
	// settings screen changes it.
	AudioDevice string
	// SaveAudioDevice, when not nil, keeps the microphone chosen in the
	// settings screen for later sessions ("" is the system's default). It
	// is called inside a tea.Cmd; its error is shown, and the choice still
	// holds for this session.
	SaveAudioDevice func(name string) error
	// Pedal, when not nil, delivers the events of a transcription foot
	// pedal (pedal.Watch): the transcript editor and the recorder play
	// while its middle pedal is held. An event with Err is shown once the
	// vault is unlocked; the channel closing ends the pedal for the session.
	Pedal <-chan pedal.Event
	// AutoRewind is how far playback goes back when it pauses under the
	// pedal or resumes under the play key, so the typist hears the last
	// words again. Zero means two seconds; a negative value, none.
	AutoRewind time.Duration
	// ProgramOptions are passed to tea.NewProgram by Run (input, output,
	// colour profile, environment…).
	ProgramOptions []tea.ProgramOption
}

// Run runs the TUI on the terminal until the user quits or ctx ends. It
// returns nil on a normal quit. Drafts still unsaved when the program ends
// (a cancelled context, a signal) are sealed into the vault before Run
// returns.
func Run(ctx context.Context, opts Options) error {
	if opts.Vault == nil {
		return errors.New("tui: no vault") // i18n: a caller's bug, never a user's
	}
	if os.Getenv("NO_COLOR") != "" { // i18n: a variable's name
		opts.NoColor = true
	}
	m := New(opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	popts = append(popts, opts.ProgramOptions...)
	final, err := tea.NewProgram(m, popts...).Run()
	if fm, ok := final.(*Model); ok {
		fm.Shutdown()
		for _, d := range fm.pendingDrafts() {
			if derr := persistDraft(opts.Vault, d); derr != nil {
				m.env.logErr("saving draft at exit", derr)
				err = errors.Join(err, fmt.Errorf("%s: %w", m.env.l.T("tui.app.saving_draft"), derr))
			}
		}
		if lerr := persistLocals(opts.Vault, fm.pendingLocals()); lerr != nil {
			m.env.logErr("keeping a transcript at exit", lerr)
			err = errors.Join(err, fmt.Errorf("%s: %w", m.env.l.T("tui.app.keeping_transcript"), lerr))
		}
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // the caller cancelled: not an error of ours
	}
	return err
}

// Model is the root model. It only routes: it holds the stack of screens,
// handles the global keys (quit, help, lock), the window size, the idle lock
// and the status bar, and passes everything else to the screen on top.
type Model struct {
	env   *env
	opts  Options
	stack []component

	width, height int
	showHelp      bool
	helpScroll    int // first line of the help shown, when it is taller than the window
	help          help.Model
	status        statusBar

	unlocked   bool
	locking    bool // drafts are being saved and the vault locked
	lockGen    int  // ends idle timers and note loads of an earlier unlock
	lastInput  time.Time
	load       *notesLoad // note decryption under way, if any
	quitFailed bool       // a quit could not save a draft; the next quit forces
	quitArmed  bool       // q was pressed with changes not yet synced; q again quits
	unsaved    []store.Draft
	pedalErr   string // the pedal's failure, shown once unlocked
}

// New builds the root model, showing the unlock screen. teatest drives it.
func New(opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleLock == 0 {
		opts.IdleLock = DefaultIdleLock
	}
	if opts.DraftDelay <= 0 {
		opts.DraftDelay = DefaultDraftDelay
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	th := themeNormal
	switch {
	case opts.NoColor:
		th = themeNoColor
	case opts.HighContrast:
		th = themeHighContrast
	}
	if opts.Locale == nil {
		opts.Locale = i18n.English()
	}
	e := &env{
		l: opts.Locale, vault: opts.Vault, name: opts.Vault.Name(), keys: newKeyMap(opts.Locale), st: newStyles(th, true), now: opts.Now,
		log: opts.Log, draftDelay: opts.DraftDelay, demoPass: opts.DemoPassphrase, gate: newIOGate(),
		audioDevice: opts.AudioDevice, saveAudioDevice: opts.SaveAudioDevice, dateOrder: opts.DateOrder, dueRules: opts.DueRules,
		autoRewind: autoRewind(opts.AutoRewind), retention: opts.Retention, teamService: opts.Team,
	}
	e.keys.transcribe.TPlay.SetHelp("f9/alt+p", playHelp(e.l, e.autoRewind))
	m := &Model{env: e, opts: opts, help: help.New(), width: 80, height: 24}
	m.help.Styles = e.st.Help
	m.status = statusBar{env: e, sync: opts.Sync, name: e.name}
	m.stack = []component{newUnlockScreen(e, "")}
	m.lastInput = time.Now()
	return m
}

// Init asks the terminal for its background (to pick light or dark styles)
// and starts the unlock screen.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.top().Init(), m.status.pollCmd(), waitPedal(m.opts.Pedal))
}

func (m *Model) top() component { return m.stack[len(m.stack)-1] }

// contentSize is the space a screen gets: the window less the header, the
// status bar and the help line.
func (m *Model) contentSize() (int, int) { return m.width, max(1, m.height-3) }

func (m *Model) push(c component) tea.Cmd {
	c.SetSize(m.contentSize())
	m.stack = append(m.stack, c)
	m.showHelp = false
	return c.Init()
}

// replaceTop swaps the top screen for c.
func (m *Model) replaceTop(c component) tea.Cmd {
	if len(m.stack) > 1 {
		m.stack = m.stack[:len(m.stack)-1]
	}
	return m.push(c)
}

func (m *Model) pop() tea.Cmd {
	if len(m.stack) > 1 {
		m.stack = m.stack[:len(m.stack)-1]
	}
	return m.top().Init()
}

// Update routes a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		w, h := m.contentSize()
		for _, c := range m.stack {
			c.SetSize(w, h)
		}
		m.help.SetWidth(msg.Width)
		return m, nil

	case tea.BackgroundColorMsg:
		*m.env.st = *newStyles(m.env.st.theme, msg.IsDark())
		m.help.Styles = m.env.st.Help
		return m, nil

	case tea.KeyPressMsg:
		return m.key(msg)

	case tea.PasteMsg:
		m.lastInput = time.Now()
	case pedalMsg:
		return m, m.pedal(msg)

	// Unlock and lock.
	case unlockedMsg:
		return m, m.unlockedCmds()
	case idleTickMsg:
		return m, m.idleTick(msg)
	case lockedMsg:
		return m, m.locked(msg)

	// Loading and counts.
	case notesProgressMsg:
		if msg.gen != m.lockGen {
			return m, nil
		}
		m.status.progress = [2]int{msg.done, msg.total}
		return m, waitNotes(msg.load, msg.gen)
	case notesLoadedMsg:
		if msg.gen != m.lockGen {
			return m, nil
		}
		m.status.progress = [2]int{}
		if msg.err != nil && !errors.Is(msg.err, store.ErrLocked) && !errors.Is(msg.err, context.Canceled) {
			m.env.logErr("loading notes", msg.err)
			m.status.setNotice(m.env.l.T("tui.app.notes_failed", "Err", msg.err.Error()), true)
		}
		m.load = nil // LoadNotes has returned
		c, cmd := m.top().Update(msg)
		m.stack[len(m.stack)-1] = c
		return m, tea.Batch(cmd, m.env.io(statsCmd(m.env.vault)))
	case statsMsg:
		m.status.setStats(msg)
		return m, nil
	case syncTickMsg:
		cmd := m.status.pollCmd()
		if m.status.syncChanged() && m.unlocked {
			// New data may have arrived: recount and reload what is shown.
			return m, tea.Batch(cmd, m.env.io(statsCmd(m.env.vault)), m.top().Init())
		}
		return m, cmd
	case noticeMsg:
		m.status.setNotice(msg.Text, msg.Err)
		return m, nil
	case changedMsg:
		return m, m.env.io(statsCmd(m.env.vault))
	case draftsFoundMsg:
		if len(msg.Drafts) == 0 || !m.unlocked {
			return m, nil
		}
		return m, m.push(newDraftPrompt(m.env, msg.Drafts))
	case quitReadyMsg:
		if msg.err != nil {
			m.quitFailed = true
			m.status.setNotice(m.env.l.T("tui.app.quit_draft_failed", "Err", msg.err.Error()), true)
			return m, nil
		}
		return m, tea.Quit

	// Navigation (none while locked: a late answer must not open a screen
	// over the unlock screen).
	case navMsg:
		if !m.unlocked {
			return m, nil
		}
		return m, m.open(msg)
	case backMsg:
		if !m.unlocked {
			return m, nil
		}
		return m, m.back(msg)
	}

	c, cmd := m.top().Update(msg)
	m.stack[len(m.stack)-1] = c
	return m, cmd
}

// back closes the top screen as msg asks.
func (m *Model) back(msg backMsg) tea.Cmd {
	if n := len(m.stack); msg.Focus != "" && n > 1 {
		if f, ok := m.stack[n-2].(focuser); ok {
			f.Focus(msg.Focus)
		}
	}
	cmd := m.pop()
	if msg.Notice != "" {
		m.status.setNotice(msg.Notice, false)
	}
	if msg.Changed {
		cmd = tea.Batch(cmd, m.env.io(statsCmd(m.env.vault)))
	}
	return cmd
}

// key handles the global keys and passes the rest to the top screen.
func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.env.keys.help
	m.lastInput = time.Now()
	m.status.clearNotice()
	typing := m.top().Typing()
	armed := m.quitArmed
	m.quitArmed = false

	switch {
	case key.Matches(msg, k.ForceQuit):
		return m, m.quit()
	case m.locking:
		return m, nil // the screens are going: keys would act on a locked vault
	case m.showHelp:
		_, ch := m.contentSize()
		switch {
		case key.Matches(msg, k.Help, k.HelpAny, k.Back, k.Quit):
			m.showHelp = false
		case key.Matches(msg, k.Down):
			m.helpScroll++
		case key.Matches(msg, k.Up):
			m.helpScroll--
		case key.Matches(msg, k.PageDown):
			m.helpScroll += max(1, ch-2)
		case key.Matches(msg, k.PageUp):
			m.helpScroll -= max(1, ch-2)
		case key.Matches(msg, k.Top):
			m.helpScroll = 0
		case key.Matches(msg, k.Bottom):
			m.helpScroll = 1 << 20 // clamped when drawn
		}
		m.helpScroll = max(m.helpScroll, 0)
		return m, nil
	case key.Matches(msg, k.HelpAny), key.Matches(msg, k.Help) && !typing:
		m.showHelp, m.helpScroll = true, 0
		return m, nil
	case key.Matches(msg, k.Quit) && !typing:
		if n := m.status.waiting(); n > 0 && m.unlocked && !armed {
			m.quitArmed = true
			m.status.setNotice(m.env.l.T("tui.app.quit_again", "Unsynced", m.unsyncedWarning(n)), true)
			return m, nil
		}
		return m, m.quit()
	case key.Matches(msg, k.Redraw):
		return m, tea.ClearScreen
	case key.Matches(msg, k.SyncNow):
		return m, m.syncNow()
	case (key.Matches(msg, k.Lock) || key.Matches(msg, k.LockKey) && !typing) && m.unlocked:
		reason := m.env.l.T("tui.app.locked")
		if n := m.status.waiting(); n > 0 {
			reason = m.env.l.T("tui.app.locked_unsynced", "Unsynced", m.unsyncedWarning(n))
		}
		return m, m.lock(reason)
	case key.Matches(msg, k.Settings) && !typing && m.unlocked:
		return m, m.open(openSettings())
	}
	c, cmd := m.top().Update(msg)
	m.stack[len(m.stack)-1] = c
	return m, cmd
}

// pedal passes a pedal event to the top screen, if it has a player; a
// pedal is input, so it holds off the idle lock.
func (m *Model) pedal(msg pedalMsg) tea.Cmd {
	if !msg.ok {
		return nil
	}
	next := waitPedal(m.opts.Pedal)
	if msg.ev.Err != nil {
		m.env.log.Warn("foot pedal", "err", msg.ev.Err)
		text := m.env.l.T("tui.app.pedal_failed", "Err", msg.ev.Err.Error())
		if m.unlocked {
			m.status.setNotice(text, true)
		} else {
			m.pedalErr = text
		}
		return next
	}
	if !m.unlocked || m.locking {
		return next
	}
	m.lastInput = time.Now()
	if u, ok := m.top().(pedalUser); ok {
		return tea.Batch(next, u.Pedal(msg.ev))
	}
	return next
}

// unsyncedWarning says that n changes never left the laptop, and when the
// server was last reached.
func (m *Model) unsyncedWarning(n int) string {
	w := m.env.l.N("tui.app.unsynced", n)
	if t := m.status.state.LastSync; !t.IsZero() {
		w = m.env.l.T("tui.app.unsynced_last_reached", "Unsynced", w, "When", dayTime(m.env.l, t))
	}
	return w
}

// syncNow asks the background syncer for a round at once.
func (m *Model) syncNow() tea.Cmd {
	switch {
	case !m.unlocked:
		m.status.setNotice(m.env.l.T("tui.app.sync_locked"), true)
	case m.status.sync == nil || !m.status.state.Enrolled:
		m.status.setNotice(m.env.l.T("tui.app.sync_not_enrolled"), true)
	default:
		sn, ok := m.status.sync.(SyncNower)
		if !ok {
			m.status.setNotice(m.env.l.T("tui.app.sync_background_only"), true)
			return nil
		}
		sn.SyncNow()
		m.status.setNotice(m.env.l.T("tui.app.syncing_now"), false)
	}
	return nil
}

// Shutdown stops note decryption and waits for the vault commands still
// under way. Call it after the program has ended and before the vault is
// locked or closed; Run does.
func (m *Model) Shutdown() {
	for _, stop := range m.audioStops(true) {
		if err := stop(); err != nil {
			m.env.logErr("stopping the recording at exit", err)
		}
	}
	m.load.stop()
	m.load = nil
	m.env.gate.close()
}

// audioStops collects what stops and saves the takes and playback of the
// open screens (see audioHolder).
func (m *Model) audioStops(closing bool) []func() error {
	var fs []func() error
	for _, c := range m.stack {
		if a, ok := c.(audioHolder); ok {
			fs = append(fs, a.AudioStop(closing))
		}
	}
	return fs
}

// pendingDrafts collects the unsaved drafts of every open screen.
func (m *Model) pendingDrafts() []store.Draft {
	var ds []store.Draft
	if !m.unlocked {
		return nil
	}
	for _, c := range m.stack {
		if d, ok := c.(drafter); ok {
			if dr, ok := d.PendingDraft(); ok {
				ds = append(ds, dr)
			}
		}
	}
	return append(ds, m.unsaved...)
}

// pendingLocals collects the device-local texts (transcripts) that open
// screens have not kept yet.
func (m *Model) pendingLocals() []localText {
	if !m.unlocked {
		return nil
	}
	var ls []localText
	for _, c := range m.stack {
		if k, ok := c.(localKeeper); ok {
			if l, ok := k.PendingLocal(); ok {
				ls = append(ls, l)
			}
		}
	}
	return ls
}

// quit stops and saves a take being recorded, saves pending drafts, then
// quits. When saving a draft failed once, a second quit goes without them
// (Shutdown still saves the take).
func (m *Model) quit() tea.Cmd {
	ds, ls := m.pendingDrafts(), m.pendingLocals()
	stops := m.audioStops(false)
	if (len(ds) == 0 && len(ls) == 0 && len(stops) == 0) || m.quitFailed {
		return tea.Quit
	}
	v, gate, e := m.env.vault, m.env.gate, m.env
	return func() tea.Msg {
		// What was recorded is in the vault already, chunk by chunk; this
		// places the take in its recording. Should it fail, the recovery
		// after the next unlock does it.
		for _, stop := range stops {
			if err := stop(); err != nil {
				e.logErr("stopping the recording at quit", err)
			}
		}
		// Let an autosave under way land first, so it cannot overwrite
		// the newer text saved here.
		gate.close()
		var errs []error
		for _, d := range ds {
			if err := persistDraft(v, d); err != nil {
				errs = append(errs, err)
			}
		}
		if err := persistLocals(v, ls); err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			gate.open() // we are staying: let the screens work again
		}
		return quitReadyMsg{errors.Join(errs...)}
	}
}

// quitReadyMsg says the drafts are saved (or not) and the program may quit.
type quitReadyMsg struct{ err error }

// saveDraftsCmd seals drafts into the vault and reports with done.
func saveDraftsCmd(v *store.Vault, ds []store.Draft, done func(error) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		var errs []error
		for _, d := range ds {
			if err := persistDraft(v, d); err != nil {
				errs = append(errs, err)
			}
		}
		return done(errors.Join(errs...))
	}
}

// View draws the header, the top screen (or the help), the status bar and
// the short help.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "fieldcase" // i18n: the program's name
	return v
}

func (m *Model) render() string {
	st := m.env.st
	w, h := m.width, m.height
	if w < 30 || h < 8 {
		return fit(m.env.l.T("tui.app.too_small", "Width", w, "Height", h), w, h)
	}
	cw, ch := m.contentSize()

	// Header: where you are, and today's date.
	var crumbs []string
	for _, c := range m.stack {
		if t := c.Title(); t != "" {
			crumbs = append(crumbs, t)
		}
	}
	left := st.Header.Render("fieldcase") + st.Crumb.Render("  "+strings.Join(crumbs, " › ")) // i18n: the program's name; a separator
	right := st.Crumb.Render(headerDate(m.env.l, m.env.now()))
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	header := left
	if gap >= 1 {
		header = left + strings.Repeat(" ", gap) + right
	}

	var body string
	if m.showHelp {
		body = m.scrolledHelp(fullHelp(m.env, m.top(), cw, ch), ch)
	} else {
		body = m.top().View()
	}

	typing := m.top().Typing()
	k := m.env.keys.global
	short := m.top().ShortHelp()
	var tail []key.Binding
	switch {
	case m.showHelp:
		short, tail = nil, []key.Binding{k.Back}
	case typing:
		tail = []key.Binding{k.HelpAny, k.ForceQuit}
	default:
		tail = []key.Binding{k.Help, k.Quit}
	}
	return fitLine(header, w) + "\n" +
		fit(body, cw, ch) + "\n" +
		m.status.View(w, m.unlocked) + "\n" +
		m.footer(short, tail, w)
}

// scrolledHelp shows the window's worth of a help taller than the window,
// from helpScroll, saying on its last line that there is more and how to
// reach it.
func (m *Model) scrolledHelp(help string, h int) string {
	lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
	if len(lines) <= h || h < 2 {
		m.helpScroll = 0
		return help
	}
	m.helpScroll = min(m.helpScroll, len(lines)-(h-1))
	shown := lines[m.helpScroll : m.helpScroll+h-1]
	more := m.env.l.T("tui.app.help_more_below")
	switch {
	case m.helpScroll+h-1 >= len(lines):
		more = m.env.l.T("tui.app.help_more_above")
	case m.helpScroll > 0:
		more = m.env.l.T("tui.app.help_more_both")
	}
	return strings.Join(shown, "\n") + "\n" + m.env.st.Muted.Render(more)
}

// footer is the key line: the screen's keys, as many as fit the width
// (the first are the most used), then always the way back (esc) and help
// and quit, so that the way to every other key is never cut off.
func (m *Model) footer(screen, tail []key.Binding, w int) string {
	hm := m.help
	hm.SetWidth(0)
	screen = slices.Clone(screen)
	if i := slices.IndexFunc(screen, func(b key.Binding) bool { return slices.Contains(b.Keys(), "esc") }); i >= 0 { // i18n: a key's name
		tail = append([]key.Binding{screen[i]}, tail...)
		screen = slices.Delete(screen, i, i+1)
	}
	for n := len(screen); n >= 0; n-- {
		if v := hm.ShortHelpView(append(slices.Clone(screen[:n]), tail...)); lipgloss.Width(v) <= w || n == 0 {
			return fitLine(v, w)
		}
	}
	return ""
}

// headerDate is a day as the header shows it: "Mon 2 Jan 2006" in English.
func headerDate(l *i18n.Locale, t time.Time) string {
	wd := l.T(weekdayShortIDs[t.Weekday()]) // i18n: the ids are the literals of weekdayShortIDs
	return l.T("tui.common.header_date", "Weekday", wd, "Day", t.Day(), "Month", monthShort(l, t.Month()), "Year", t.Year())
}

// dayTime is a moment of the last few days in running text: "2 Jan 15:04"
// in English.
func dayTime(l *i18n.Locale, t time.Time) string {
	return l.T("tui.common.day_time", "Day", t.Day(), "Month", monthShort(l, t.Month()), "Time", t.Format("15:04"))
}

// longTime is a moment in full: "2 Jan 2006 15:04" in English.
func longTime(l *i18n.Locale, t time.Time) string {
	return l.T("tui.common.long_time", "Day", t.Day(), "Month", monthShort(l, t.Month()), "Year", t.Year(), "Time", t.Format("15:04"))
}

// monthShort is a month's short name ("Jan").
func monthShort(l *i18n.Locale, m time.Month) string {
	return l.T(monthShortIDs[m-1]) // i18n: the ids are the literals of monthShortIDs
}

// The short names' ids, spelled out so the catalogue test finds them.
var (
	weekdayShortIDs = [7]string{"tui.common.weekday.sun", "tui.common.weekday.mon", "tui.common.weekday.tue", // i18n: ids
		"tui.common.weekday.wed", "tui.common.weekday.thu", "tui.common.weekday.fri", "tui.common.weekday.sat"} // i18n: ids
	monthShortIDs = [12]string{"tui.common.month.jan", "tui.common.month.feb", "tui.common.month.mar", // i18n: ids
		"tui.common.month.apr", "tui.common.month.may", "tui.common.month.jun", "tui.common.month.jul", // i18n: ids
		"tui.common.month.aug", "tui.common.month.sep", "tui.common.month.oct", "tui.common.month.nov", // i18n: ids
		"tui.common.month.dec"} // i18n: ids
)
