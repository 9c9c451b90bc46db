package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// StatusCorrection is a recording's status while a machine draft of its
// transcript waits for a typist to correct it: after "submitted", before
// "transcribed".
const StatusCorrection RecordingStatus = "correction"

// StatusLabel is a recording status as people read it.
func StatusLabel(status RecordingStatus) string {
	if status == StatusCorrection {
		return "correction pending"
	}
	return string(status)
}

// WaitsForTyping reports a recording a typist still has to turn into a
// transcript: submitted, or with a machine draft to correct.
func (r *Recording) WaitsForTyping() bool {
	return r.Status == StatusSubmitted || r.Status == StatusCorrection
}

// Limits of a machine draft: about eleven hours of speech at 150 words a
// minute, and text to match. The manifest carrying it must also fit a
// revision body (MaxBodySize, compressed).
const (
	MaxDraftWords    = 100_000
	MaxDraftText     = 1 << 20
	MaxDraftWordLen  = 100
	MaxDraftEngine   = 100
	MaxDraftTimeline = 64 // hex SHA-256
)

// MachineDraft is a transcript a speech recogniser made on a laptop, kept
// on the recording's manifest (so it is sealed, signed and synced with it,
// and stays tied to the timeline it was made from) until a typist's
// corrected transcript replaces it, and after that as the record of what
// was machine text.
type MachineDraft struct {
	Engine  string `json:"engine"`            // the recogniser's name, as it reports it
	Version string `json:"version,omitempty"` // and its version
	Made    string `json:"made"`              // RFC 3339, when the draft was made
	By      string `json:"by,omitempty"`      // who ran the recogniser
	// Timeline is the hex SHA-256 of the timeline encoding the draft was
	// made from: once the recording is edited, the draft no longer
	// matches the audio.
	Timeline string `json:"timeline"`
	// Text is the draft; with Words, it is the words joined by single
	// spaces, so that the n-th word of the text is Words[n].
	Text  string `json:"text"`
	Words []Word `json:"words,omitempty"`
}

// Word is a recognised word and where it is on the recording's timeline,
// in milliseconds from its start.
type Word struct {
	W string `json:"w"`
	S int64  `json:"s"`
	E int64  `json:"e"`
}

// Validate checks a draft against its recording's duration: bounded sizes,
// words without spaces, times within the recording and never going back.
func (d *MachineDraft) Validate(durationMS int64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: machine draft: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.TrimSpace(d.Engine) == "" || len(d.Engine) > MaxDraftEngine || len(d.Version) > MaxDraftEngine || len(d.By) > MaxDraftEngine:
		return bad("an engine name (and version) of 1 to %d bytes", MaxDraftEngine)
	case len(d.Timeline) > MaxDraftTimeline:
		return bad("timeline hash too long")
	case len(d.Text) > MaxDraftText:
		return bad("%d bytes of text, more than %d", len(d.Text), MaxDraftText)
	case len(d.Words) > MaxDraftWords:
		return bad("%d words, more than %d", len(d.Words), MaxDraftWords)
	case !utf8.ValidString(d.Text):
		return bad("text is not UTF-8")
	}
	if _, err := time.Parse(time.RFC3339, d.Made); err != nil {
		return bad("made %q is not an RFC 3339 time", d.Made)
	}
	var prev Word
	for i, w := range d.Words {
		switch {
		case w.W == "" || len(w.W) > MaxDraftWordLen || !utf8.ValidString(w.W) || strings.IndexFunc(w.W, unicode.IsSpace) >= 0:
			return bad("word %d is empty, longer than %d bytes or holds a space", i, MaxDraftWordLen)
		case w.S < 0 || w.S > w.E || w.E > durationMS:
			return bad("word %d (%q) runs %d–%d ms, outside the recording's %d ms", i, w.W, w.S, w.E, durationMS)
		case i > 0 && (w.S < prev.S || w.E < prev.E):
			return bad("word %d (%q) at %d ms goes back from the one before it at %d ms", i, w.W, w.S, prev.S)
		}
		prev = w
	}
	if len(d.Words) > 0 && d.Text != JoinWords(d.Words) {
		return bad("the text is not its words")
	}
	return nil
}

// JoinWords is the text of words: joined by single spaces.
func JoinWords(ws []Word) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.W)
	}
	return b.String()
}

// TypistChangeOnly reports whether b differs from a only in what a typist
// may change on a recording: its status, its transcript (the link, when
// and by whom, whether it was corrected from a draft) and its machine
// draft. Everything else (the audio, its author, dates, priority) stays as
// the caseworker left it.
func TypistChangeOnly(a, b Recording) bool {
	for _, r := range []*Recording{&a, &b} {
		r.Status, r.Transcript, r.Transcribed, r.TranscribedBy, r.CorrectedDraft, r.Draft = "", "", "", "", false, nil
	}
	return a.equal(&b)
}

func (r *Recording) equal(o *Recording) bool {
	a, errA := json.Marshal(r)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
