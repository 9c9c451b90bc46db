package record

import (
	"strings"
	"testing"
	"time"
)

func TestMachineDraftValidate(t *testing.T) {
	made := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).Format(time.RFC3339)
	ok := func() MachineDraft {
		ws := []Word{{"the", 0, 200}, {"child", 200, 600}, {"slept", 700, 1000}}
		return MachineDraft{Engine: "pocketsphinx", Made: made, Text: JoinWords(ws), Words: ws}
	}
	cases := []struct {
		name string
		edit func(d *MachineDraft)
		want string // "" valid
	}{
		{"valid", func(d *MachineDraft) {}, ""},
		{"text only", func(d *MachineDraft) { d.Words = nil; d.Text = "no timings" }, ""},
		{"no engine", func(d *MachineDraft) { d.Engine = " " }, "engine name"},
		{"bad time", func(d *MachineDraft) { d.Made = "yesterday" }, "not an RFC 3339 time"},
		{"past the end", func(d *MachineDraft) { d.Words[2].E = 1001 }, "outside the recording's 1000 ms"},
		{"negative", func(d *MachineDraft) { d.Words[0].S = -1 }, "outside"},
		{"ends before it starts", func(d *MachineDraft) { d.Words[1].S, d.Words[1].E = 500, 400 }, "outside"},
		{"goes back", func(d *MachineDraft) { d.Words[2].S, d.Words[2].E = 100, 650 }, "goes back"},
		{"space in a word", func(d *MachineDraft) { d.Words[1].W = "the child"; d.Text = JoinWords(d.Words) }, "holds a space"},
		{"empty word", func(d *MachineDraft) { d.Words[1].W = ""; d.Text = JoinWords(d.Words) }, "empty"},
		{"text is not its words", func(d *MachineDraft) { d.Text = "something else" }, "the text is not its words"},
		{"too much text", func(d *MachineDraft) { d.Words = nil; d.Text = strings.Repeat("a", MaxDraftText+1) }, "more than"},
		{"too many words", func(d *MachineDraft) {
			d.Words = make([]Word, MaxDraftWords+1)
			for i := range d.Words {
				d.Words[i] = Word{"a", 0, 0}
			}
			d.Text = JoinWords(d.Words)
		}, "words, more than"},
		{"not UTF-8", func(d *MachineDraft) { d.Words = nil; d.Text = "\xff" }, "not UTF-8"},
	}
	for _, c := range cases {
		d := ok()
		c.edit(&d)
		err := d.Validate(1000)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	r := Recording{WorkType: "letter", Priority: "normal", Status: StatusCorrection, DurationMS: 1000}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "needs its machine draft") {
		t.Errorf("correction pending without a draft: %v", err)
	}
	d := ok()
	r.Draft = &d
	if err := r.Validate(); err != nil {
		t.Errorf("correction pending with a draft: %v", err)
	}
}

func TestTypistChangeOnly(t *testing.T) {
	ws := []Word{{"a", 0, 10}}
	base := Recording{Title: "visit", WorkType: "letter", Priority: "normal", Status: "submitted", DurationMS: 1000, Author: "ada"}
	cases := []struct {
		name string
		edit func(r *Recording)
		want bool
	}{
		{"nothing", func(r *Recording) {}, true},
		{"a draft", func(r *Recording) {
			r.Status, r.Draft = StatusCorrection, &MachineDraft{Engine: "x", Text: "a", Words: ws}
		}, true},
		{"the transcript", func(r *Recording) {
			r.Status, r.Transcript, r.Transcribed, r.TranscribedBy, r.CorrectedDraft = "transcribed", "n1", "2026-12-07T10:00:00Z", "tia", true
		}, true},
		{"the title", func(r *Recording) { r.Title = "renamed" }, false},
		{"the author", func(r *Recording) { r.Author = "tia" }, false},
		{"the due date", func(r *Recording) { r.Due = "2026-12-31" }, false},
		{"the audio", func(r *Recording) { r.Chunks = []ChunkRef{{Take: 1}} }, false},
	}
	for _, c := range cases {
		b := base
		c.edit(&b)
		if got := TypistChangeOnly(base, b); got != c.want {
			t.Errorf("a typist changing %s: %v, want %v", c.name, got, c.want)
		}
	}
}
