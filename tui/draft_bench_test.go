package tui

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
)

// longDraft is a machine draft of about 30 minutes of dictation: 4,500
// words at 150 a minute, with a pause of over a second every 15 words.
func longDraft() *record.MachineDraft {
	vocab := []string{"the", "child", "was", "seen", "at", "home", "with", "her", "grandmother", "who", "said", "that", "school", "has", "been", "going", "well", "and", "contact", "continues"}
	d := &record.MachineDraft{Engine: "bench", Made: "2026-12-07T10:00:00Z"}
	at := int64(0)
	for i := range 4500 {
		if i > 0 && i%15 == 0 {
			at += 1200
		}
		d.Words = append(d.Words, record.Word{W: vocab[i%len(vocab)], S: at, E: at + 300})
		at += 360
	}
	d.Text = record.JoinWords(d.Words)
	return d
}

// editorAt is the transcript editor of a recording with draft d (nil: an
// empty transcript), w×h, its cursor half-way through the text.
func editorAt(b testing.TB, d *record.MachineDraft, w, h int) *transcribe {
	e := &env{l: i18n.English(), keys: newKeyMap(), st: newStyles(themeNoColor, true), now: fixedNow, draftDelay: time.Hour}
	rec := queuedRec{ref: "DEMO-0042"}
	rec.ID, rec.CaseID = "r1", "c1"
	rec.Value = record.Recording{Title: "Court report", WorkType: "court report", Priority: "normal", DurationMS: 30 * 60 * 1000}
	if d != nil {
		rec.Value.Status, rec.Value.Draft = record.StatusCorrection, d
	}
	t := newTranscribe(e, rec)
	t.SetSize(w, h)
	t.f.setFocus(0)
	t.text.area.MoveToBegin()
	for range t.text.area.LineCount() / 2 {
		t.text.area.CursorDown()
	}
	b.Cleanup(func() { t.pb.hd.stop(true) })
	return t
}

// keystrokes types n keys into t (a letter, then backspace, so the text
// keeps its size) and draws the screen after each, as the program does;
// it returns the wall time and the CPU time of the process per keystroke
// (on a loaded machine the wall time is mostly waiting for a core).
func keystrokes(t *transcribe, n int) (wall, cpu time.Duration) {
	keys := []tea.KeyPressMsg{{Code: 'x', Text: "x"}, {Code: tea.KeyBackspace}}
	cpu0 := cpuTime()
	began := time.Now()
	for i := range n {
		t.Update(keys[i%2])
		_ = t.View()
	}
	return time.Since(began) / time.Duration(n), (cpuTime() - cpu0) / time.Duration(n)
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTranscriptEditor: a keystroke in the typist's editor holding a
// 30-minute machine draft (4,500 words), from the key to the new screen
// (the screen's Update and View; the terminal's own drawing is not in it).
// Target: under 16 ms (one frame at 60 Hz). Reported per keystroke, as a
// fraction of 16 ms, and against the same keystroke in an empty editor in
// the same run.
func BenchmarkTranscriptEditor(b *testing.B) {
	const n = 200
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 50}} {
		b.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(b *testing.B) {
			var base, long, cpu time.Duration
			for range b.N {
				base, _ = keystrokes(editorAt(b, nil, size.w, size.h), n)
				long, cpu = keystrokes(editorAt(b, longDraft(), size.w, size.h), n)
			}
			b.ReportMetric(float64(long.Nanoseconds()), "ns/key")
			b.ReportMetric(float64(cpu.Nanoseconds()), "cpu-ns/key")
			b.ReportMetric(float64(long)/float64(16*time.Millisecond), "of-16ms")
			b.ReportMetric(float64(long)/float64(base), "x-empty-editor")
		})
	}
}
