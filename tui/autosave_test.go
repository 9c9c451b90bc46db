package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// The autosave machine, without a program: each step is an event (an
// edit, a tick, an autosave result, a final write and its end) and the
// test checks what the machine asks to run and what it would leave at a
// quit. A command the machine returns is never run here: the test plays
// the vault, answering with the result message itself, in the order the
// case under test needs (a late answer is just a later step).

type asStep struct {
	do string // edit TEXT, tick, saved, failed, commit, leave, discard, ended, left, finalFailed, restore TEXT
	// What the machine must answer.
	save    bool   // an autosave command starts (of the text on screen)
	tick    bool   // a debounce tick is armed
	final   bool   // the final write runs now (not held back)
	pending string // what a quit would seal now ("-" for nothing, "∅" for the empty text)
	state   string // the header's draft state, when not ""
}

// asRig drives one machine: text is what the editor shows, inFlight the
// value of the autosave command started last (what its result carries).
type asRig struct {
	t        *testing.T
	a        *autosave[string]
	text     string
	inFlight []string
	finals   int // final writes run so far
}

func newAsRig(t *testing.T, opened string, restored bool) *asRig {
	e := &env{l: i18n.English(), draftDelay: time.Hour, now: fixedNow, gate: newIOGate()}
	persist := func(string) error {
		t.Fatal("the machine ran its own command: commands are the caller's to run")
		return nil
	}
	a := newAutosave(e, 7, opened, restored, func(a, b string) bool { return a == b },
		func(s string) bool { return strings.TrimSpace(s) == "" }, persist)
	return &asRig{t: t, a: a, text: opened}
}

func (r *asRig) step(i int, s asStep) {
	t, a := r.t, r.a
	var cmd tea.Cmd
	starting := r.a.saving
	cur := func() string { return r.text }
	verb, arg, _ := strings.Cut(s.do, " ")
	ticking := a.ticking && verb != "tick" // a tick step consumes the tick on its way
	finalCmd := func() tea.Cmd { r.finals++; return func() tea.Msg { return nil } }
	finalsBefore := r.finals
	var ran tea.Cmd
	switch verb {
	case "edit":
		r.text = arg
		cmd = a.edited(r.text)
	case "restore":
		a.restore(arg)
	case "tick":
		if !a.ticking {
			t.Fatalf("step %d: a tick came that was never armed", i)
		}
		cmd, _ = a.update(autosaveTickMsg{id: a.id}, cur)
	case "othertick":
		var ok bool
		cmd, ok = a.update(autosaveTickMsg{id: a.id + 1}, cur)
		if !ok || cmd != nil {
			t.Fatalf("step %d: another editor's tick: cmd %v, ok %v", i, cmd != nil, ok)
		}
	case "saved", "failed":
		if len(r.inFlight) == 0 {
			t.Fatalf("step %d: no autosave in flight", i)
		}
		v := r.inFlight[0]
		r.inFlight = r.inFlight[1:]
		var err error
		if verb == "failed" {
			err = errors.New("disk full")
		}
		cmd, _ = a.update(autosavedMsg{id: a.id, value: v, err: err}, cur)
		ran = cmd
	case "commit", "discard":
		cmd = a.final(finalCmd(), false)
	case "leave":
		cmd = a.final(finalCmd(), true)
	case "ended":
		a.ended()
	case "left":
		a.left(r.text)
	case "finalFailed":
		cmd = a.failed(r.text)
	default:
		t.Fatalf("step %d: unknown step %q", i, s.do)
	}
	// What started: an autosave (saving turned on), a tick (ticking turned
	// on), a final write (a command built by finalCmd came back).
	save := a.saving && !starting
	if save {
		r.inFlight = append(r.inFlight, r.text)
	}
	tick := a.ticking && !ticking
	final := cmd != nil && r.finals > finalsBefore && !a.saving
	if verb == "saved" || verb == "failed" {
		final = ran != nil && a.queued == nil && a.busy
	}
	if save != s.save || tick != s.tick || final != s.final {
		t.Errorf("step %d (%s): save %v tick %v final %v, want %v %v %v", i, s.do, save, tick, final, s.save, s.tick, s.final)
	}
	if (save || tick || final) && cmd == nil {
		t.Errorf("step %d (%s): no command returned", i, s.do)
	}
	got := "-"
	if a.pending(r.text) {
		got = r.text
		if got == "" {
			got = "∅" // the empty text: sealing it removes the draft
		}
	}
	if s.pending != "" && got != s.pending {
		t.Errorf("step %d (%s): pending at quit %q, want %q", i, s.do, got, s.pending)
	}
	if s.state != "" && a.state(r.text) != s.state {
		t.Errorf("step %d (%s): state %q, want %q", i, s.do, a.state(r.text), s.state)
	}
}

func TestAutosaveTransitions(t *testing.T) {
	saved := "Draft saved " + fixedNow().Format("15:04")
	for _, tc := range []struct {
		name     string
		opened   string
		restored bool
		steps    []asStep
	}{
		{"debounce: one tick for many edits, then one save", "", false, []asStep{
			{do: "edit a", tick: true, pending: "a", state: "● not saved yet"},
			{do: "edit ab", pending: "ab"},
			{do: "edit abc", pending: "abc"},
			{do: "tick", save: true, pending: "abc"},
			{do: "saved", pending: "-", state: saved},
		}},
		{"nothing typed: nothing to keep, no tick", "", false, []asStep{
			{do: "edit   ", pending: "-", state: "-"},
		}},
		{"an edit back to what the vault holds needs no save", "kept", true, []asStep{
			{do: "edit kept!", tick: true, pending: "kept!"},
			{do: "edit kept", pending: "-", state: "Draft restored"},
			{do: "tick", pending: "-"},
		}},
		{"emptying a kept draft is a change (it removes the draft)", "kept", true, []asStep{
			{do: "edit ", tick: true, pending: "∅"},
			{do: "tick", save: true},
			{do: "saved", pending: "-"},
		}},
		{"one write at a time: a tick during an autosave waits", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "tick", save: true},
			{do: "edit ab", tick: true, pending: "ab"},
			{do: "tick", tick: true, pending: "ab"}, // still saving "a"
			{do: "saved", pending: "ab"},            // tick already armed
			{do: "tick", save: true},
			{do: "saved", pending: "-"},
		}},
		{"a failed autosave keeps the text, says why, tries again", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "tick", save: true},
			{do: "failed", tick: true, pending: "a", state: "● not saved yet"},
			{do: "tick", save: true},
			{do: "saved", pending: "-", state: saved},
		}},
		{"a commit with no autosave under way runs at once", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "commit", final: true, pending: "-"},
			{do: "tick", pending: "-"}, // armed before: must not save
			{do: "ended", pending: "-"},
		}},
		{"race: autosave in flight, commit, late result: no draft comes back", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "tick", save: true},
			{do: "edit ab", tick: true},
			{do: "commit", pending: "ab"}, // held back; a quit now keeps the text
			{do: "saved", final: true, pending: "-"},
			{do: "ended", pending: "-"},
		}},
		{"race: tick armed during a commit lands after it", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "tick", save: true},
			{do: "edit ab", tick: true},
			{do: "commit"},
			{do: "tick"}, // busy: no autosave may start behind the commit
			{do: "saved", final: true, pending: "-"},
			{do: "ended", pending: "-"},
		}},
		{"a failed commit lets autosaves run again", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "commit", final: true, pending: "-"},
			{do: "tick", pending: "-"},
			{do: "finalFailed", tick: true, pending: "a"},
			{do: "tick", save: true},
			{do: "saved", pending: "-"},
		}},
		{"leaving keeps the text pending until it lands", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "leave", final: true, pending: "a"},
			{do: "left", pending: "-"},
			{do: "tick", pending: "-"},
		}},
		{"a discard behind an autosave; a quit during it does not resurrect", "kept", true, []asStep{
			{do: "edit kept2", tick: true},
			{do: "tick", save: true},
			{do: "discard", pending: "kept2"}, // held back: a quit keeps it
			{do: "saved", final: true, pending: "-"},
			{do: "ended", pending: "-", state: "-"},
		}},
		{"another editor's tick is ignored", "", false, []asStep{
			{do: "edit a", tick: true},
			{do: "othertick", pending: "a"},
		}},
		{"a draft found after opening", "", false, []asStep{
			{do: "restore old", pending: "∅", state: "● not saved yet"},
			{do: "edit old", pending: "-", state: "Draft restored"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAsRig(t, tc.opened, tc.restored)
			for i, s := range tc.steps {
				if s.state == "-" {
					s.state = ""
					r.step(i, s)
					if got := r.a.state(r.text); got != "" {
						t.Errorf("step %d: state %q, want none", i, got)
					}
					continue
				}
				r.step(i, s)
			}
		})
	}
}

// The failure is the machine's to report: err says why, and clears once an
// autosave lands.
func TestAutosaveFailureReported(t *testing.T) {
	r := newAsRig(t, "", false)
	r.step(0, asStep{do: "edit a", tick: true})
	r.step(1, asStep{do: "tick", save: true})
	r.step(2, asStep{do: "failed", tick: true})
	if r.a.err == nil || writeErrorIn(i18n.English(), r.a.err) != "disk full" {
		t.Fatalf("err = %v, want disk full", r.a.err)
	}
	r.step(3, asStep{do: "tick", save: true})
	r.step(4, asStep{do: "saved"})
	if r.a.err != nil {
		t.Errorf("err = %v after a save landed, want nil", r.a.err)
	}
}
