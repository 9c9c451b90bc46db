package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
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
func recogniserField(name string, f func(p *recogniserConfig) **string, help string, check func(string) (string, error)) setting {
	return setting{key: "recogniser." + name, text: true, help: help,
		set: func(c *config, v string) error {
			if c.Recogniser == nil {
				c.Recogniser = &recogniserConfig{}
			}
			v, err := check(v)
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
	trim := func(v string) (string, error) { return strings.TrimSpace(v), nil }
	return []setting{
		recogniserField("command", func(p *recogniserConfig) **string { return &p.Command },
			"the speech recogniser for machine drafts: a program given the recording as WAV on its standard input that prints fieldcase-recognition-1 JSON, such as the repository's scripts/recognisers/pocketsphinx (docs/DICTATION.md)", settingPath),
		recogniserField("args", func(p *recogniserConfig) **string { return &p.Args },
			"its arguments, separated by spaces (no quoting), e.g. -m /opt/whisper/ggml-small.en.bin", trim),
		recogniserField("timeout", func(p *recogniserConfig) **string { return &p.Timeout },
			"how long a run may take before it is stopped, e.g. 5m; default 10m", parseRecogniserTimeout),
		recogniserField("network", func(p *recogniserConfig) **string { return &p.Network },
			"isolate (default: it runs in a network namespace of its own and can reach nothing) or allow (when the agency isolates it another way)", parseRecogniserNetwork),
	}
}

func init() { settings = append(settings, recogniserSettings()...) }

func parseRecogniserTimeout(v string) (string, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 || d > 24*time.Hour {
		return v, fmt.Errorf("%q is not a time from 1s to 24h, such as 5m or 90s", v)
	}
	return d.String(), nil
}

func parseRecogniserNetwork(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v != "isolate" && v != "allow" {
		return v, fmt.Errorf("%q is not isolate or allow", v)
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
		return cli.WithHint(dictation.ErrNoRecogniser, "set one with 'fieldcase config set recogniser.command PROGRAM' (docs/DICTATION.md)")
	}
	v, r, err := a.openRecording("fieldcase recording draft", c.ID)
	if err != nil {
		return err
	}
	defer v.Close()
	fprintf(a.stderr, "recognising %s of audio with %s…\n", clock(r.TL.Duration()), rc.Command)
	res, err := r.Draft(a.ctx, rc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cli.WithHint(fmt.Errorf("draft: part of the audio is not on this device yet"), "sync, then try again; the recording is still submitted")
	case errors.Is(err, dictation.ErrRecogniser):
		return cli.WithHint(err, "the recording is still submitted for typing, as it was; nothing is lost")
	case err != nil:
		return err
	}
	d := r.Meta.Draft
	fprintf(a.stdout, "recording %s: machine draft by %s of %d words in %s; correction pending\n", r.ID, engineName(d), len(d.Words), res.Elapsed.Round(100*time.Millisecond))
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
	id, err := recordingID(v, c.ID)
	if err != nil {
		return err
	}
	it, err := v.Recording(id)
	if err != nil {
		return err
	}
	if it.Sealed {
		return cli.WithHint(store.ErrNoKey, "this case's key has not reached this laptop yet; sync")
	}
	m := it.Value
	if c.JSON {
		return writeJSON(a.stdout, recordingJSONOf(it))
	}
	fprintf(a.stdout, "recording  %s\ntitle      %s\nstatus     %s\nauthor     %s\nwork type  %s · %s\nrecorded   %s · %s\n",
		it.ID, cmpStr(m.Title, "(untitled)"), record.StatusLabel(m.Status), cmpStr(m.Author, "—"), m.WorkType, m.Priority,
		m.Recorded, clock(time.Duration(m.DurationMS)*time.Millisecond))
	if m.Due != "" {
		fprintf(a.stdout, "due        %s\n", m.Due)
	}
	if m.Status == record.StatusTranscribed {
		how := "typed"
		if m.CorrectedDraft {
			how = "corrected from the machine draft"
		}
		fprintf(a.stdout, "transcript note %s, %s by %s on %s\n", m.Transcript, how, cmpStr(m.TranscribedBy, "—"), m.Transcribed)
	}
	if d := m.Draft; d != nil {
		fprintf(a.stdout, "\nMACHINE DRAFT by %s, made %s by %s (%d words) — machine text, %s:\n%s\n",
			engineName(d), d.Made, cmpStr(d.By, "—"), len(d.Words), draftState(m), d.Text)
	}
	return nil
}

// draftState says whether a person has corrected a draft yet.
func draftState(m record.Recording) string {
	if m.CorrectedDraft {
		return "corrected since by " + cmpStr(m.TranscribedBy, "a typist") + " (the transcript note)"
	}
	return "not corrected"
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
	ID             string     `json:"id"`
	CaseID         string     `json:"case_id"`
	Title          string     `json:"title,omitempty"`
	WorkType       string     `json:"work_type"`
	Priority       string     `json:"priority"`
	Status         string     `json:"status"`
	StatusLabel    string     `json:"status_label"`
	Recorded       string     `json:"recorded"`
	Duration       float64    `json:"duration_seconds"`
	Chunks         int        `json:"chunks"`
	Interrupted    bool       `json:"interrupted"`
	Author         string     `json:"author,omitempty"`
	Submitted      string     `json:"submitted,omitempty"`
	Due            string     `json:"due,omitempty"`
	Transcript     string     `json:"transcript,omitempty"`
	Transcribed    string     `json:"transcribed,omitempty"`
	TranscribedBy  string     `json:"transcribed_by,omitempty"`
	CorrectedDraft bool       `json:"corrected_draft,omitempty"`
	Draft          *draftJSON `json:"draft,omitempty"`
	Conflict       bool       `json:"conflict"`
	Unsynced       bool       `json:"unsynced"`
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
