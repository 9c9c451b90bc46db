package tui

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// component is the contract every screen implements. The root model keeps a
// stack of components and routes messages to the one on top.
type component interface {
	// Init starts the screen's loading; it is called when the screen is
	// pushed and again whenever it is uncovered, so it shows fresh data.
	Init() tea.Cmd
	Update(tea.Msg) (component, tea.Cmd)
	// View renders the screen into the size given by SetSize.
	View() string
	SetSize(width, height int)
	// Typing reports whether keys are going into a text field, so the root
	// leaves q and ? alone.
	Typing() bool
	// Title names the screen in the header's breadcrumb.
	Title() string
	help.KeyMap
}

// drafter is a screen holding text that must survive a quit, an idle lock
// or a crash: the note editor.
type drafter interface {
	// PendingDraft returns the draft to seal now, if anything changed since
	// it was last saved.
	PendingDraft() (store.Draft, bool)
}

// localKeeper is a screen holding text kept in the vault's device-local
// state (a transcript being typed) that must survive a quit or an idle
// lock like a draft.
type localKeeper interface {
	// PendingLocal returns the text to keep now under key, if it changed
	// since it was last kept.
	PendingLocal() (local localText, ok bool)
}

// localText is device-local text to keep in the vault; blank text removes
// what was kept.
type localText struct{ key, text string }

// persistLocals keeps each text in the vault, or removes it when blank.
func persistLocals(v *store.Vault, ls []localText) error {
	var errs []error
	for _, l := range ls {
		var err error
		if strings.TrimSpace(l.text) == "" {
			err = v.DeleteLocal(l.key)
		} else {
			err = v.PutLocal(l.key, []byte(l.text))
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// audioHolder is a screen holding an audio device or a take being recorded:
// the recorder. The root keeps it on top while audio is live, and stops and
// saves its take before a quit or a lock.
type audioHolder interface {
	// AudioLive reports a take, playback or a command on them under way.
	AudioLive() bool
	// AudioStop returns a function that stops and saves the take under way
	// and stops playback; closing also ends the screen's hold on the audio.
	// The function blocks: run it in a command, or after the program.
	AudioStop(closing bool) func() error
}

// ioGate counts the vault commands under way. A lock, and the end of Run,
// close it and wait: Vault.Lock wipes the keys a running read may still be
// using. Once closed, commands that have not started yet do nothing.
type ioGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	n      int
	closed bool
}

func newIOGate() *ioGate {
	g := &ioGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// close stops new commands and waits for those under way.
func (g *ioGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.n > 0 {
		g.cond.Wait()
	}
}

// open lets commands run again (after an unlock).
func (g *ioGate) open() {
	g.mu.Lock()
	g.closed = false
	g.mu.Unlock()
}

func (g *ioGate) run(cmd tea.Cmd) tea.Msg {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.n++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.n--
		if g.n == 0 {
			g.cond.Broadcast()
		}
		g.mu.Unlock()
	}()
	return cmd()
}

// env is what every screen shares: the vault, keys, styles, the clock.
type env struct {
	l          *i18n.Locale // every word a screen shows comes from here
	vault      *store.Vault
	name       string // the vault's display name
	keys       *keyMap
	st         *styles
	now        func() time.Time
	log        *slog.Logger
	draftDelay time.Duration
	demoPass   string
	gate       *ioGate

	// dateOrder is how dates typed as numbers are read.
	dateOrder when.DateOrder
	dueRules  dictation.DueRules

	// audioDevice is the microphone chosen for this session ("" for the
	// system's default); the settings screen changes it.
	audioDevice string
	// saveAudioDevice keeps the settings screen's choice for later
	// sessions; nil keeps it for this one only.
	saveAudioDevice func(name string) error
	// autoRewind is how far playback goes back at a pause (the pedal) or
	// a resume (the play key).
	autoRewind time.Duration
	// recovery is this unlock's crash recovery of recordings.
	recovery *recovery
	// team is the team view the supervisor screens share this unlock.
	team *teamState
	// retention is the link for the destruction queue's acts (nil: not
	// enrolled).
	retention RetentionService
	// teamService links the supervisor screens to the server (nil: not
	// enrolled).
	teamService TeamService
}

// logErr logs a failure without case data: a validation message can quote
// a reference or a field, so for those only the kind of error is logged.
func (e *env) logErr(what string, err error) {
	if errors.Is(err, record.ErrInvalid) {
		e.log.Warn(what, "err", "invalid record")
		return
	}
	e.log.Error(what, "err", err)
}

// io wraps a command that uses the vault, so that locking waits for it.
// Every command touching the vault goes through it (but Unlock's own).
func (e *env) io(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg { return e.gate.run(cmd) }
}

func (e *env) today() record.Date { return record.DateOf(e.now()) }

// parseDate reads a date as people type it (see package when): in the
// agency's order, from today.
func (e *env) parseDate(s string) (record.Date, error) {
	return when.ParseDate(s, e.now(), e.dateOrder)
}

// Messages to the root: back closes the top screen (opening one is navMsg,
// nav.go), a notice, a change.
type (
	// backMsg closes the top screen. A non-empty Notice is shown in the
	// status bar; Changed says the vault was written (counts refresh).
	backMsg struct {
		Notice  string
		Changed bool
		Focus   string // a record the screen below shows once back (a note just saved)
	}
	// noticeMsg shows a line in the status bar until the next key.
	noticeMsg struct {
		Text string
		Err  bool
	}
	// changedMsg says the vault was written: the status bar recounts.
	changedMsg struct{}
)

func cmdOf(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

func back(notice string, changed bool) tea.Cmd {
	return cmdOf(backMsg{Notice: notice, Changed: changed})
}

// focuser is a screen that can bring a record into view (see backMsg.Focus).
type focuser interface{ Focus(recordID string) }

func notice(text string) tea.Cmd { return cmdOf(noticeMsg{Text: text}) }

// fit cuts or pads s to exactly w columns and h lines.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = fitLine(l, w)
	}
	return strings.Join(lines, "\n")
}

// fitLine cuts or pads one line to w columns.
func fitLine(l string, w int) string {
	if w <= 0 {
		return ""
	}
	lw := ansi.StringWidth(l)
	if lw > w {
		return ansi.Truncate(l, w, "…")
	}
	return l + strings.Repeat(" ", w-lw)
}

// cell cuts or pads plain text to w columns (for table cells).
func cell(s string, w int) string { return fitLine(s, w) }

// wrap word-wraps s to w columns (hard-wrapping words that are too long).
func wrap(s string, w int) []string {
	if w < 4 {
		w = 4
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// plural writes "1 note", "2 notes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return commas(n) + " " + many
}

// commas writes 12345 as 12,345.
func commas(n int) string {
	s := []byte(strings.TrimPrefix(itoa(n), "-"))
	var out []byte
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if n < 0 {
		return "-" + string(out)
	}
	return string(out)
}

func itoa(n int) string { return strconv.Itoa(n) }

// ansiStrip drops escape sequences from s.
func ansiStrip(s string) string { return ansi.Strip(s) }

// ansiWidth is the width of s in cells, ignoring escape sequences.
func ansiWidth(s string) int { return ansi.StringWidth(s) }

// daysBetween counts whole days from a to b (dates).
func daysBetween(a, b record.Date) int {
	return int(b.Time().Sub(a.Time()).Hours() / 24)
}
