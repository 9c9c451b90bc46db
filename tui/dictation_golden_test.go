package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// goldenRecording is the recording the recorder goldens show.
func goldenRecording() record.Recording {
	return record.Recording{Title: "Report for the hearing on 9 November", WorkType: "court report", Priority: "urgent",
		Status: "draft", Recorded: "2026-11-02T08:15:00Z", DurationMS: 75_000, Author: "Test Worker", Interrupted: true}
}

// goldenRecordings are the recordings the list goldens show: every
// status, priority and flag.
func goldenRecordings() []store.Item[record.Recording] {
	rec := func(id, when string, ms int64, status record.RecordingStatus, prio record.Priority, wt, title string) store.Item[record.Recording] {
		return store.Item[record.Recording]{ID: id, CaseID: "c1", Value: record.Recording{Title: title, WorkType: wt,
			Priority: prio, Status: status, Recorded: when, DurationMS: ms, Author: "Test Worker"}}
	}
	items := []store.Item[record.Recording]{
		rec("r1", "2026-11-02T08:15:00Z", 75_000, "draft", "urgent", "court report", "Report for the hearing on 9 November"),
		rec("r2", "2026-10-30T16:02:00Z", 312_400, "submitted", "high", "visit note", "Home visit, kitchen repaired"),
		rec("r3", "2026-10-21T11:40:00Z", 3_725_000, "transcribed", "normal", "letter", ""),
		rec("r4", "2026-10-20T09:05:00Z", 2_000, "draft", "normal", "other", "Cut short"),
		{ID: "r5", CaseID: "c1", Sealed: true, Value: record.Recording{Recorded: "2026-10-01T10:00:00Z"}},
	}
	items[0].Unsynced = true
	items[1].Conflict = true
	items[3].Value.Interrupted = true
	return items
}

// dictationModel is a root model at w×h showing the given screens, built
// without running a program or unlocking (the goldens show constructed
// states: no clock, device or vault read decides what they show).
func dictationModel(t *testing.T, w, h int, screens func(e *env) []component) *Model {
	t.Helper()
	v := openVault(t, demoVaultFile(t))
	m := New(testOptions(t, v))
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.unlocked = true
	m.stack = screens(m.env)
	for _, c := range m.stack {
		c.SetSize(m.contentSize())
	}
	return m
}

// goldenRecorder is a recorder showing snap, as loaded.
func goldenRecorder(t *testing.T, e *env, snap recSnap, set func(r *recorder)) *recorder {
	r := newRecorder(e, "c1", snap.id, "DEMO-0042")
	t.Cleanup(func() { r.hd.stop(true) })
	r.started, r.loaded, r.snap, r.pos = true, true, snap, snap.pos
	if set != nil {
		set(r)
	}
	return r
}

// TestDictationGolden renders the recordings list and the recorder in
// several states at each size and compares the views, ANSI stripped, with
// testdata/TestDictationGolden/<size>/<screen>.golden (-update rewrites).
func TestDictationGolden(t *testing.T) {
	markers := []audio.Marker{
		{At: 3 * time.Second, Comment: "check the spelling of the mother's name"},
		{At: 41 * time.Second, Comment: "insert the date of the core group meeting"},
		{At: 70*time.Second + 500*time.Millisecond, Comment: "ask the typist to add the school's letter as an appendix"},
	}
	stopped := recSnap{id: "r1", meta: goldenRecording(), unsynced: true, dur: 75 * time.Second, markers: markers, pos: 40 * time.Second}
	recording := stopped
	recording.meta.Interrupted = false
	recording.recording = true
	recording.take = liveTake{id: 3, mode: dictation.Insert, base: 20 * time.Second,
		marks: []audio.Marker{{At: 4 * time.Second, Comment: "new paragraph"}}}
	recording.pos = 20 * time.Second

	screens := []struct {
		name string
		make func(t *testing.T, e *env) []component
	}{
		{"recordings", func(t *testing.T, e *env) []component {
			l := newRecordings(e, "c1", "DEMO-0042")
			l.loaded, l.items = true, goldenRecordings()
			l.nav.Clamp(len(l.items))
			l.nav.Select(1)
			return []component{l}
		}},
		{"recordings-empty", func(t *testing.T, e *env) []component {
			l := newRecordings(e, "c1", "DEMO-0042")
			l.loaded = true
			return []component{l}
		}},
		{"recorder-stopped", func(t *testing.T, e *env) []component {
			return []component{goldenRecorder(t, e, stopped, func(r *recorder) { r.sel, r.info = 1, "Recorded 0:12." })}
		}},
		{"recorder-recording", func(t *testing.T, e *env) []component {
			return []component{goldenRecorder(t, e, recording, func(r *recorder) {
				r.elapsed = 7*time.Second + 300*time.Millisecond
				r.level = audio.Level{RMS: -18, Peak: -6}
				r.stats = audio.Stats{FramesCaptured: 365, FramesDropped: 12}
			})}
		}},
		{"recorder-nomic", func(t *testing.T, e *env) []component {
			empty := recSnap{meta: record.Recording{WorkType: "visit note", Priority: "normal", Status: "draft"}}
			return []component{goldenRecorder(t, e, empty, func(r *recorder) {
				r.devErr = audioError(e.l, fmt.Errorf("%w: no input device %q", audio.ErrNoDevice, "USB headset"))
			})}
		}},
		{"settings", func(t *testing.T, e *env) []component {
			s := newSettings(e)
			e.audioDevice = "pulse"
			s.Update(devicesMsg{devs: []audio.Device{
				{Index: 0, Name: "pulse", Inputs: 32, Outputs: 32},
				{Index: 1, Name: "default", Inputs: 32, Outputs: 32, DefaultInput: true, DefaultOutput: true},
				{Index: 2, Name: "USB headset: Audio (hw:1,0)", Inputs: 1},
			}})
			return []component{s}
		}},
	}
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			for _, sc := range screens {
				m := dictationModel(t, sz.w, sz.h, func(e *env) []component { return sc.make(t, e) })
				screen := ansi.Strip(m.View().Content)
				assertFits(t, sc.name, screen, sz.w, sz.h)
				t.Run(sc.name, func(t *testing.T) { golden.RequireEqual(t, screen) })
			}
		})
	}
}
