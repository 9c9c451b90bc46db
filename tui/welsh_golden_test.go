package tui

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// welsh is the Welsh locale of the Welsh goldens.
func welsh(t *testing.T) *i18n.Locale {
	t.Helper()
	l, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// settle runs cmd and the commands the screen answers with, feeding their
// messages to the screen, until none is left: the screen's loading done
// without a program (so the golden shows a settled state). A command that
// takes over a second (a tick, a timer) is dropped: nothing the goldens
// show waits on one.
func settle(t *testing.T, c component, cmd tea.Cmd) component {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 100 {
			t.Fatal("the screen's commands do not settle")
		}
		cmd, queue = queue[0], queue[1:]
		if cmd == nil {
			continue
		}
		ch := make(chan tea.Msg, 1)
		go func() { ch <- cmd() }()
		var msg tea.Msg
		select {
		case msg = <-ch:
		case <-time.After(time.Second):
			continue
		}
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
				// tea.Sequence's message: its commands, in order.
				for i := range v.Len() {
					queue = append(queue, v.Index(i).Interface().(tea.Cmd))
				}
				continue
			}
			var next tea.Cmd
			c, next = c.Update(msg)
			queue = append(queue, next)
		}
	}
	return c
}

// welshModel is a root model in Welsh at w×h showing the screens build
// builds, each settled, built without running a program or unlocking as
// dictationModel's are (the unlock screen and the case list are not this
// test's to wait on).
func welshModel(t *testing.T, opts Options, w, h int, build func(e *env) []component) *Model {
	t.Helper()
	opts.Locale = welsh(t)
	m := New(opts)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.unlocked = true
	m.stack = build(m.env)
	for i, c := range m.stack {
		c.SetSize(m.contentSize())
		m.stack[i] = settle(t, c, c.Init())
	}
	return m
}

// TestWelshGolden renders the screens of the dictation, typing and
// supervisor work (the team view, the weighting policy, the turnaround) in Welsh at 80×24 and compares them, ANSI stripped, with
// testdata/TestWelshGolden/80x24/<screen>.golden (-update rewrites): every
// word from the Welsh catalogue, nothing wrapped into the status or help
// lines.
func TestWelshGolden(t *testing.T) {
	const w, h = 80, 24
	check := func(t *testing.T, name string, m *Model) {
		t.Helper()
		screen := ansi.Strip(m.View().Content)
		assertFits(t, name, screen, w, h)
		t.Run(name, func(t *testing.T) { golden.RequireEqual(t, screen) })
	}
	t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
		// The supervisor's team view, as refreshed from the server, and
		// its help.
		v, _, opts := supervisorSetup(t)
		if err := v.Unlock(testPass); err != nil {
			t.Fatal(err)
		}
		m := welshModel(t, opts, w, h, func(e *env) []component { return []component{newTeamScreen(e, opts.Team)} })
		check(t, "team", m)
		m.showHelp = true
		check(t, "team-help", m)
		m = welshModel(t, opts, w, h, func(e *env) []component { return []component{newPolicyScreen(e, opts.Team)} })
		check(t, "policy", m)
		turnaroundFixture(t, v)
		m = welshModel(t, opts, w, h, func(e *env) []component { return []component{newTurnaroundScreen(e)} })
		check(t, "turnaround", m)

		// The typist's queue: due dates, an overdue one, a recording
		// without one; and the transcript editor.
		v = roleVault(t, "Tia Typist", protocol.RoleTypist)
		caseID := caseByRef(t, v, "DEMO-0042")
		submit := func(title string, priority record.Priority, at time.Time) {
			id := makeRecording(t, v, caseID, 95*time.Second, record.Recording{Title: title, Priority: priority,
				WorkType: "visit note", Author: "M. Doherty", Recorded: at.Add(-time.Hour).UTC().Format(time.RFC3339)})
			r, err := dictation.Open(v, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Submit(at, "", dictation.DefaultDueRules); err != nil {
				t.Fatal(err)
			}
		}
		submit("Ymweliad â'r ysgol", "normal", testNow.AddDate(0, 0, -7))
		submit("Adroddiad llys", "urgent", testNow.AddDate(0, 0, -4))
		submit("Galwad ffôn", "high", testNow)
		opts = testOptions(t, v)
		var q *typingQueue
		m = welshModel(t, opts, w, h, func(e *env) []component {
			q = newTypingQueue(e)
			return []component{q}
		})
		check(t, "typing-queue", m)
		m.showHelp = true
		check(t, "typing-queue-help", m)
		m.showHelp = false
		if len(q.recs) != 3 {
			t.Fatalf("typing queue: %d recordings, want 3", len(q.recs))
		}
		m = welshModel(t, opts, w, h, func(e *env) []component { return []component{newTranscribe(e, q.recs[0])} })
		check(t, "transcript", m)

		// The recorder and a case's recordings, in the states of the
		// English dictation goldens.
		meta := goldenRecording()
		meta.Title = "Adroddiad ar gyfer y gwrandawiad ar 9 Tachwedd"
		stopped := recSnap{id: "r1", meta: meta, unsynced: true, dur: 75 * time.Second, pos: 40 * time.Second,
			markers: []audio.Marker{{At: 3 * time.Second, Comment: "gwirio sillafiad enw'r fam"},
				{At: 41 * time.Second, Comment: "rhoi dyddiad cyfarfod y grŵp craidd"}}}
		recording := stopped
		recording.meta.Interrupted, recording.recording, recording.pos = false, true, 20*time.Second
		recording.take = liveTake{id: 3, mode: dictation.Insert, base: 20 * time.Second,
			marks: []audio.Marker{{At: 4 * time.Second, Comment: "paragraff newydd"}}}
		v = openVault(t, demoVaultFile(t))
		opts = testOptions(t, v)
		for _, sc := range []struct {
			name  string
			build func(e *env) []component
		}{
			{"recordings", func(e *env) []component {
				l := newRecordings(e, "c1", "DEMO-0042")
				l.loaded, l.items = true, goldenRecordings()
				l.nav.Clamp(len(l.items))
				l.nav.Select(1)
				return []component{l}
			}},
			{"recorder-stopped", func(e *env) []component {
				return []component{goldenRecorder(t, e, stopped, func(r *recorder) { r.sel, r.info = 1, e.l.T("tui.dictation.recorded", "Length", "0:12") })}
			}},
			{"recorder-recording", func(e *env) []component {
				return []component{goldenRecorder(t, e, recording, func(r *recorder) {
					r.elapsed = 7*time.Second + 300*time.Millisecond
					r.level = audio.Level{RMS: -18, Peak: -6}
					r.stats = audio.Stats{FramesCaptured: 365, FramesDropped: 12}
				})}
			}},
			{"recorder-nomic", func(e *env) []component {
				empty := recSnap{meta: record.Recording{WorkType: "visit note", Priority: "normal", Status: "draft"}}
				return []component{goldenRecorder(t, e, empty, func(r *recorder) {
					r.devErr = audioError(e.l, fmt.Errorf("%w: no input device %q", audio.ErrNoDevice, "USB headset"))
				})}
			}},
		} {
			// Built as loaded, not settled: no device or vault read
			// decides what they show.
			o := opts
			o.Locale = welsh(t)
			m := New(o)
			m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			m.unlocked = true
			m.stack = sc.build(m.env)
			for _, c := range m.stack {
				c.SetSize(m.contentSize())
			}
			check(t, sc.name, m)
			if sc.name == "recorder-stopped" {
				m.showHelp = true
				check(t, "recorder-help", m)
			}
		}
	})
}

// TestWelshCounts: the Welsh counts the screens show take the noun's form
// for the number, mutations after two included, and English keeps its own.
func TestWelshCounts(t *testing.T) {
	cy, en := welsh(t), i18n.English()
	for _, tc := range []struct {
		l    *i18n.Locale
		id   string
		n    int
		want string
	}{
		{cy, "tui.team.workers", 1, "1 gweithiwr"},
		{cy, "tui.team.workers", 2, "2 weithiwr"}, // soft mutation after dau
		{cy, "tui.team.workers", 3, "3 gweithiwr"},
		{cy, "tui.playback.markers", 2, "2 farciwr"},
		{cy, "tui.playback.markers", 6, "6 marciwr"},
		{cy, "tui.access.events", 2, "2 ddigwyddiad, y diweddaraf yn gyntaf"},
		{cy, "tui.recorder.mic_lost", 1, "collodd y meicroffon sain 1 waith"},
		{cy, "tui.recorder.mic_lost", 3, "collodd y meicroffon sain 3 gwaith"},
		{cy, "tui.typist.waiting", 1234, "1,234 recordiad yn aros"},
		{en, "tui.team.workers", 1, "1 worker"},
		{en, "tui.team.workers", 1234, "1,234 workers"},
		{en, "tui.team.days_ago", 1234, "1234d ago"},
		{cy, "tui.team.days_ago", 2, "ers 2d"},
		{en, "tui.typist.sealed", 1, "1 case is open for typing but still sealed here: the key comes with the caseworker's next sync, then yours (f5)."},
	} {
		// Markers and Days: the two counts shown ungrouped, as English
		// always showed them.
		if got := tc.l.N(tc.id, tc.n, "Markers", itoa(tc.n), "Days", itoa(tc.n)); got != tc.want {
			t.Errorf("%s %s(%d) = %q, want %q", tc.l.Tag(), tc.id, tc.n, got, tc.want)
		}
	}
}
