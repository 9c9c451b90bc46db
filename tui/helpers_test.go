package tui

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

// The clock every test pins: goldens must not depend on the day they run.
var testNow = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

const testPass = demo.Passphrase

// templateVault is a demo vault (200 cases, seed 1) made once per test
// binary; tests copy it, so each has its own file.
var templateVault string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fieldcase-tui-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	templateVault = filepath.Join(dir, "demo.db")
	if err := makeDemoVault(templateVault); err != nil {
		fmt.Fprintln(os.Stderr, "making the demo vault:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := syncharness.Main(m) // removes the fieldcased it built, if a test did
	os.RemoveAll(dir)
	os.Exit(code)
}

func makeDemoVault(path string) error {
	v, err := store.Create(path, testPass, store.Profile{Name: "Test Worker"}, store.Options{WorkFactor: 10})
	if err != nil {
		return err
	}
	if err := demo.Populate(v, demo.Options{Cases: 200, Seed: 1, Today: testNow}); err != nil {
		v.Close()
		return err
	}
	return v.Close()
}

// demoVaultFile copies the template into the test's temporary directory.
func demoVaultFile(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(templateVault)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openVault opens path locked, closed at the end of the test (after the
// programs using it, which are registered later and so stopped first).
func openVault(t testing.TB, path string) *store.Vault {
	t.Helper()
	return storetest.Open(t, path, store.Options{Program: "tui test", LockWait: 5 * time.Second})
}

// testOptions are the options of a test program: pinned clock, idle lock
// off, fast draft saving, logs to a file in the test's directory.
func testOptions(t testing.TB, v *store.Vault) Options {
	f, err := os.Create(filepath.Join(t.TempDir(), "tui.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return Options{
		Vault:          v,
		DemoPassphrase: testPass,
		IdleLock:       -1,
		Now:            fixedNow,
		DraftDelay:     50 * time.Millisecond,
		Log:            slog.New(slog.NewTextHandler(f, nil)),
	}
}

// harness wraps the root model so a test can read the screen the program
// is showing now: a probeMsg makes Update (on the program's goroutine, so
// without a race) send the current view back.
type harness struct{ m *Model }

type probeMsg struct {
	ch  chan string
	raw bool // with ANSI codes
}

func (h harness) Init() tea.Cmd { return h.m.Init() }

func (h harness) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if p, ok := msg.(probeMsg); ok {
		if p.raw {
			p.ch <- h.m.View().Content
		} else {
			p.ch <- ansi.Strip(h.m.View().Content)
		}
		return h, nil
	}
	m, cmd := h.m.Update(msg)
	return harness{m.(*Model)}, cmd
}

func (h harness) View() tea.View { return h.m.View() }

// program is a running TUI under teatest.
type program struct {
	t  testing.TB
	tm *teatest.TestModel
}

// start runs the TUI at w×h with a pinned colour profile and TERM.
func start(t testing.TB, opts Options, w, h int) *program {
	t.Helper()
	tm := teatest.NewTestModel(t, harness{New(opts)},
		teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(
			tea.WithColorProfile(colorprofile.Ascii),
			tea.WithEnvironment([]string{"TERM=xterm-256color", "NO_COLOR=1"}),
		),
	)
	p := &program{t: t, tm: tm}
	t.Cleanup(func() {
		tm.Quit()
		p.final()
	})
	return p
}

// screen returns what the program shows now, without ANSI codes.
func (p *program) screen() string { return p.probe(false) }

// rawScreen is the current view with its ANSI codes.
func (p *program) rawScreen() string { return p.probe(true) }

func (p *program) probe(raw bool) string {
	ch := make(chan string, 1)
	go p.tm.Send(probeMsg{ch: ch, raw: raw})
	select {
	case s := <-ch:
		return s
	case <-time.After(3 * time.Second):
		return ""
	}
}

// screenReader is an io.Reader over the program's screens for
// teatest.WaitFor: each read cycle yields the current screen after a form
// feed, or nothing when it has not changed.
type screenReader struct {
	p       *program
	pending []byte
	last    string
}

func (r *screenReader) Read(b []byte) (int, error) {
	if r.pending == nil {
		s := r.p.screen()
		if s == r.last {
			return 0, io.EOF
		}
		r.last = s
		r.pending = []byte("\f" + s)
	}
	n := copy(b, r.pending)
	r.pending = r.pending[n:]
	if len(r.pending) == 0 {
		r.pending = nil
		return n, io.EOF
	}
	return n, nil
}

// waitFor waits (up to 10 s: the race detector on a loaded box is slow)
// until the screen satisfies cond, and returns that screen.
func (p *program) waitFor(what string, cond func(screen string) bool) string {
	p.t.Helper()
	var got string
	r := &screenReader{p: p}
	teatest.WaitFor(p.t, r, func(b []byte) bool {
		i := bytes.LastIndexByte(b, '\f')
		if i < 0 {
			return false
		}
		got = string(b[i+1:])
		return cond(got)
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	return got
}

// waitText waits until every one of texts is on the screen.
func (p *program) waitText(texts ...string) string {
	p.t.Helper()
	return p.waitFor(strings.Join(texts, " + "), func(s string) bool {
		for _, t := range texts {
			if !strings.Contains(s, t) {
				return false
			}
		}
		return true
	})
}

func (p *program) key(k tea.KeyPressMsg) { p.tm.Send(k) }

func (p *program) typeText(s string) { p.tm.Type(s) }

// typeEach types s one rune at a time, waiting after each for the screen
// to show what was typed so far (prefix + the runes so far).
func (p *program) typeEach(prefix, s string) {
	p.t.Helper()
	typed := ""
	for _, r := range s {
		p.tm.Type(string(r))
		typed += string(r)
		p.waitText(prefix + typed)
	}
}

var (
	keyEnter = tea.KeyPressMsg{Code: tea.KeyEnter}
	keyEsc   = tea.KeyPressMsg{Code: tea.KeyEscape}
	keyTab   = tea.KeyPressMsg{Code: tea.KeyTab}
	keyCtrlS = tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	keyCtrlC = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	keyRight = tea.KeyPressMsg{Code: tea.KeyRight}

	keyShiftTab = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
)

func runeKey(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

// unlock types the passphrase and waits for the case list.
func (p *program) unlock() {
	p.t.Helper()
	p.waitText("Passphrase")
	p.typeText(testPass)
	p.key(keyEnter)
	// The case list, loaded (its title counts the cases), or the draft
	// prompt over it.
	p.waitFor("the case list", func(s string) bool {
		return strings.Contains(s, "200 cases · sorted by") || strings.Contains(s, "Work you had not saved")
	})
}

// notesLoaded waits until the status bar counts notes.
func (p *program) notesLoaded() string {
	p.t.Helper()
	return p.waitFor("notes decrypted", func(s string) bool {
		return strings.Contains(s, " notes") && !strings.Contains(s, "decrypting")
	})
}

// quit presses q and waits for the program to end.
func (p *program) quit() *Model {
	p.t.Helper()
	p.key(runeKey('q'))
	return p.final()
}

// final waits for the program to end and returns its root model, with
// note decryption stopped so the vault can be closed.
func (p *program) final() *Model {
	p.t.Helper()
	fm := p.tm.FinalModel(p.t, teatest.WithFinalTimeout(10*time.Second)).(harness).m
	fm.Shutdown()
	return fm
}
