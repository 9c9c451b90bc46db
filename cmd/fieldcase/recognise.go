package main

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// recogniserConfig is the [recogniser] table: the speech recogniser that
// makes machine drafts of transcripts (docs/DICTATION.md).
type recogniserConfig struct {
	Command *string `toml:"command,omitempty"`
	Args    *string `toml:"args,omitempty"`
	Timeout *string `toml:"timeout,omitempty"`
	Network *string `toml:"network,omitempty"`
}

// recogniserField is a [recogniser] setting: f picks its field.
func recogniserField(name string, f func(p *recogniserConfig) **string, help string, check func(*i18n.Locale, string) (string, error)) setting {
	return setting{key: "recogniser." + name, text: true, help: help,
		set: func(c *config, v string, l *i18n.Locale) error {
			if c.Recogniser == nil {
				c.Recogniser = &recogniserConfig{}
			}
			v, err := check(l, v)
			*f(c.Recogniser) = &v
			return err
		},
		get: func(c *config) (string, bool) {
			if c.Recogniser == nil {
				return "", false
			}
			return deref(*f(c.Recogniser))
		},
		unset: func(c *config) {
			if c.Recogniser == nil {
				return
			}
			*f(c.Recogniser) = nil
			if *c.Recogniser == (recogniserConfig{}) {
				c.Recogniser = nil
			}
		}}
}

func recogniserSettings() []setting {
	trim := func(_ *i18n.Locale, v string) (string, error) { return strings.TrimSpace(v), nil }
	return []setting{
		recogniserField("command", func(p *recogniserConfig) **string { return &p.Command },
			"setting.recogniser.command", settingPath),
		recogniserField("args", func(p *recogniserConfig) **string { return &p.Args },
			"setting.recogniser.args", trim),
		recogniserField("timeout", func(p *recogniserConfig) **string { return &p.Timeout },
			"setting.recogniser.timeout", parseRecogniserTimeout),
		recogniserField("network", func(p *recogniserConfig) **string { return &p.Network },
			"setting.recogniser.network", parseRecogniserNetwork),
	}
}

func init() { settings = append(settings, recogniserSettings()...) }

func parseRecogniserTimeout(l *i18n.Locale, v string) (string, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 || d > 24*time.Hour {
		return v, l.Error("config.bad_recogniser_timeout", "Value", strconv.Quote(v))
	}
	return d.String(), nil
}

func parseRecogniserNetwork(l *i18n.Locale, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v != "isolate" && v != "allow" {
		return v, l.Error("config.bad_recogniser_network", "Value", strconv.Quote(v))
	}
	return v, nil
}

// recogniser is the configured recogniser; its Command is "" when none is.
func (a *app) recogniser() dictation.Recogniser {
	var rc dictation.Recogniser
	c := a.config
	if c == nil || c.Recogniser == nil {
		return rc
	}
	if v, ok := deref(c.Recogniser.Command); ok {
		rc.Command = v
	}
	if v, ok := deref(c.Recogniser.Args); ok {
		rc.Args = strings.Fields(v)
	}
	if v, ok := deref(c.Recogniser.Timeout); ok {
		rc.Timeout, _ = time.ParseDuration(v)
	}
	if v, ok := deref(c.Recogniser.Network); ok {
		rc.AllowNetwork = v == "allow"
	}
	return rc
}

type recordingDraftCmd struct {
	ID string `arg:"" help:"Recording id, or a unique prefix of it (from 'fieldcase recording list')."`
}

func (c *recordingDraftCmd) Run(a *app) error {
	rc := a.recogniser()
	if rc.Command == "" {
		return cli.WithHint(dictation.ErrNoRecogniser, a.l.T("draft.no_recogniser_hint"))
	}
	v, r, err := a.openRecording("fieldcase recording draft", c.ID)
	if err != nil {
		return err
	}
	defer v.Close()
	fprintf(a.stderr, "%s\n", a.l.T("draft.recognising", "Duration", clock(r.TL.Duration()), "Command", rc.Command))
	res, err := r.Draft(a.ctx, rc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cli.WithHint(a.l.Error("draft.audio_missing"), a.l.T("draft.audio_missing_hint"))
	case errors.Is(err, dictation.ErrRecogniser):
		return cli.WithHint(err, a.l.T("draft.failed_hint"))
	case err != nil:
		return err
	}
	d := r.Meta.Draft
	fprintf(a.stdout, "%s\n", a.l.T("draft.made", "Words", len(d.Words), "ID", r.ID, "Engine", engineName(d), "Took", res.Elapsed.Round(100*time.Millisecond)))
	return nil
}

// engineName is "pocketsphinx 5prealpha".
func engineName(d *record.MachineDraft) string { return strings.TrimSpace(d.Engine + " " + d.Version) }

type recordingShowCmd struct {
	ID   string `arg:"" help:"Recording id, or a unique prefix of it (from 'fieldcase recording list')."`
	JSON bool   `name:"json" help:"Print JSON, with the machine draft's words and their times."`
}

func (c *recordingShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase recording show")
	if err != nil {
		return err
	}
	defer v.Close()
	id, err := recordingID(a.l, v, c.ID)
	if err != nil {
		return err
	}
	it, err := v.Recording(id)
	if err != nil {
		return err
	}
	if it.Sealed {
		return cli.WithHint(store.ErrNoKey, a.l.T("recording.no_key_hint"))
	}
	m := it.Value
	if c.JSON {
		return writeJSON(a.stdout, recordingJSONOf(it))
	}
	rows := [][2]string{
		{a.l.T("recording.show.recording"), it.ID},
		{a.l.T("recording.show.title"), cmpStr(m.Title, a.l.T("recording.untitled"))},
		{a.l.T("recording.show.status"), statusName(a.l, m.Status)},
		{a.l.T("recording.show.author"), cmpStr(m.Author, "—")},
		{a.l.T("recording.show.work_type"), workTypeName(a.l, m.WorkType) + " · " + priorityName(a.l, m.Priority)},
		{a.l.T("recording.show.recorded"), m.Recorded + " · " + clock(time.Duration(m.DurationMS)*time.Millisecond)},
	}
	if m.Due != "" {
		rows = append(rows, [2]string{a.l.T("recording.show.due"), string(m.Due)})
	}
	writeLabelled(a.stdout, rows)
	if m.Status == record.StatusTranscribed {
		how := a.l.T("recording.typed")
		if m.CorrectedDraft {
			how = a.l.T("recording.corrected")
		}
		fprintf(a.stdout, "%s\n", a.l.T("recording.transcript", "Note", m.Transcript, "How", how, "By", cmpStr(m.TranscribedBy, "—"), "Date", m.Transcribed))
	}
	if d := m.Draft; d != nil {
		fprintf(a.stdout, "\n%s\n%s\n", a.l.T("recording.draft_header", "Words", len(d.Words), "Engine", engineName(d), "Made", d.Made,
			"By", cmpStr(d.By, "—"), "State", draftState(a.l, m)), d.Text)
	}
	return nil
}

// writeLabelled writes label, value rows with the values in a column two
// spaces after the longest label.
func writeLabelled(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r[0]))
	}
	for _, r := range rows {
		fprintf(w, "%s%s%s\n", r[0], strings.Repeat(" ", width+2-utf8.RuneCountInString(r[0])), r[1])
	}
}

// draftState says whether a person has corrected a draft yet.
func draftState(l *i18n.Locale, m record.Recording) string {
	if m.CorrectedDraft {
		return l.T("recording.draft_corrected", "By", cmpStr(m.TranscribedBy, l.T("recording.a_typist")))
	}
	return l.T("recording.draft_not_corrected")
}

// statusName is a recording's status in l's language.
func statusName(l *i18n.Locale, status record.RecordingStatus) string {
	switch status {
	case record.StatusDraft:
		return l.T("recording.status.draft")
	case record.StatusSubmitted:
		return l.T("recording.status.submitted")
	case record.StatusCorrection:
		return l.T("recording.status.correction")
	case record.StatusTranscribed:
		return l.T("recording.status.transcribed")
	}
	return record.StatusLabel(status)
}

// workTypeName is a work type in l's language (the flags' values stay
// English: scripts give them).
func workTypeName(l *i18n.Locale, wt string) string {
	switch wt {
	case "visit note":
		return l.T("recording.work.visit_note")
	case "court report":
		return l.T("recording.work.court_report")
	case "letter":
		return l.T("recording.work.letter")
	case "other":
		return l.T("recording.work.other")
	}
	return wt
}

// priorityName is a priority in l's language.
func priorityName(l *i18n.Locale, p record.Priority) string {
	switch p {
	case record.PriorityNormal:
		return l.T("recording.priority.normal")
	case record.PriorityHigh:
		return l.T("recording.priority.high")
	case record.PriorityUrgent:
		return l.T("recording.priority.urgent")
	}
	return string(p)
}

func cmpStr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// recordingJSON is a recording in --json output; a machine draft is
// marked "machine": true, words with their times in milliseconds.
type recordingJSON struct {
	ID             string                 `json:"id"`
	CaseID         string                 `json:"case_id"`
	Title          string                 `json:"title,omitempty"`
	WorkType       string                 `json:"work_type"`
	Priority       record.Priority        `json:"priority"`
	Status         record.RecordingStatus `json:"status"`
	StatusLabel    string                 `json:"status_label"`
	Recorded       string                 `json:"recorded"`
	Duration       float64                `json:"duration_seconds"`
	Chunks         int                    `json:"chunks"`
	Interrupted    bool                   `json:"interrupted"`
	Author         string                 `json:"author,omitempty"`
	Submitted      string                 `json:"submitted,omitempty"`
	Due            string                 `json:"due,omitempty"`
	Transcript     string                 `json:"transcript,omitempty"`
	Transcribed    string                 `json:"transcribed,omitempty"`
	TranscribedBy  string                 `json:"transcribed_by,omitempty"`
	CorrectedDraft bool                   `json:"corrected_draft,omitempty"`
	Draft          *draftJSON             `json:"draft,omitempty"`
	Conflict       bool                   `json:"conflict"`
	Unsynced       bool                   `json:"unsynced"`
}

type draftJSON struct {
	Machine   bool          `json:"machine"` // always true: this is machine text
	Corrected bool          `json:"corrected"`
	Engine    string        `json:"engine"`
	Version   string        `json:"version,omitempty"`
	Made      string        `json:"made"`
	By        string        `json:"by,omitempty"`
	Text      string        `json:"text"`
	Words     []record.Word `json:"words"`
}

func recordingJSONOf(it store.Item[record.Recording]) recordingJSON {
	m := it.Value
	out := recordingJSON{ID: it.ID, CaseID: it.CaseID, Title: m.Title, WorkType: m.WorkType, Priority: m.Priority,
		Status: m.Status, StatusLabel: record.StatusLabel(m.Status), Recorded: m.Recorded, Duration: float64(m.DurationMS) / 1000,
		Chunks: len(m.Chunks), Interrupted: m.Interrupted, Author: m.Author, Submitted: m.Submitted, Due: string(m.Due),
		Transcript: m.Transcript, Transcribed: m.Transcribed, TranscribedBy: m.TranscribedBy, CorrectedDraft: m.CorrectedDraft,
		Conflict: it.Conflict, Unsynced: it.Unsynced}
	if d := m.Draft; d != nil {
		out.Draft = &draftJSON{Machine: true, Corrected: m.CorrectedDraft, Engine: d.Engine, Version: d.Version, Made: d.Made, By: d.By,
			Text: d.Text, Words: append([]record.Word{}, d.Words...)}
	}
	return out
}
