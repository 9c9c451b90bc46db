package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

type recordCmd struct {
	Case    string  `required:"" help:"Case reference or id."`
	Seconds seconds `help:"Stop after this long: seconds (e.g. 8) or a duration (e.g. 1m30s); otherwise Enter or Ctrl+C stops." placeholder:"SECONDS"`
	Device  string  `help:"Input device (name or index, see 'fieldcase recording devices'; default: the system's)." env:"FIELDCASE_AUDIO_DEVICE"`
	formFlag
	Title    *string `form:"title" personal:"" help:"A title for the recording."`
	WorkType *string `name:"work-type" form:"work_type" enum:"visit note,court report,letter,other" help:"visit note, court report, letter or other (default visit note)."`
	Priority *string `form:"priority" enum:"normal,high,urgent" help:"normal, high or urgent (default normal)."`
}

func (c *recordCmd) Run(a *app, kctx *kong.Context) error {
	if _, err := a.entry(kctx, c.Form, nil); err != nil {
		return err
	}
	v, cv, err := a.unlockCase("fieldcase record", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := dictation.Recover(a.ctx, v); err != nil {
		return err
	}
	// PortAudio and ALSA print to file descriptor 2 from C; keep that off
	// the user's terminal while the device is in use.
	restore := quietC(a)
	defer restore()
	r, err := dictation.New(v, cv.ID, record.Recording{Title: orEmpty(c.Title), WorkType: cmp.Or(orEmpty(c.WorkType), "visit note"), Priority: cmp.Or(record.Priority(orEmpty(c.Priority)), record.PriorityNormal)})
	if err != nil {
		return err
	}
	takeID, sink, err := r.StartTake(dictation.Append, 0)
	if err != nil {
		return err
	}
	rec := audio.NewRecorder(audio.Options{Device: c.Device})
	if err := rec.Start(a.ctx, takeID, sink); err != nil {
		return audioError(a.l, err)
	}
	stopped := make(chan string, 2)
	go func() { // Enter stops; end of input does not (scripts use --seconds)
		if _, err := bufio.NewReader(a.stdin).ReadString('\n'); err == nil {
			stopped <- "enter"
		}
	}()
	var timer <-chan time.Time
	if c.Seconds > 0 {
		timer = time.After(time.Duration(c.Seconds))
	}
	tty := isTTY(a.stderr)
	fmt.Fprintln(a.stderr, a.l.T("record.recording_to", "Ref", cv.Value.Ref))
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-stopped:
			break wait
		case <-timer:
			break wait
		case <-a.ctx.Done(): // Ctrl+C: stop cleanly, keep what was recorded
			break wait
		case <-rec.Done():
			break wait
		case <-tick.C:
			if tty {
				fmt.Fprintf(a.stderr, "\r%s  %s ", clock(rec.Elapsed()), meter(rec.Level().RMS, 30))
			}
		}
	}
	take, stopErr := rec.Stop()
	if tty {
		fmt.Fprint(a.stderr, "\r\033[K") // i18n: a terminal control sequence: erase the line
	}
	// Whatever was captured is kept, even when the device failed midway.
	if err := r.FinishTake(take); err != nil {
		return err
	}
	st := rec.Stats()
	fprintf(a.stdout, "%s\n", a.l.T("record.recorded", "Duration", clock(take.Duration()), "ID", r.ID, "Chunks", len(take.Chunks), "Dropped", st.FramesDropped))
	if stopErr != nil {
		return audioError(a.l, stopErr)
	}
	return nil
}

// audioError explains device problems to a person.
func audioError(l *i18n.Locale, err error) error {
	switch {
	case errors.Is(err, audio.ErrNoDevice):
		return cli.WithHint(err, l.T("record.no_device_hint"))
	case errors.Is(err, audio.ErrDevice):
		return cli.WithHint(err, l.T("record.device_failed_hint"))
	}
	return err
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// meter draws an RMS level in dBFS (-60…0) as a bar.
func meter(db float64, width int) string {
	if math.IsInf(db, -1) || db < -60 {
		db = -60
	}
	n := int(float64(width) * (db + 60) / 60)
	return "[" + strings.Repeat("█", n) + strings.Repeat(" ", width-n) + "]"
}

// isTTY says whether a stream (a.stdin, a.stdout, a.stderr) is a terminal.
func isTTY(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// quietC points file descriptor 2 at /dev/null for C libraries and keeps
// a.stderr on the real one; restore undoes it.
func quietC(a *app) (restore func()) { return redirectC(a, os.DevNull) }

// redirectC points file descriptor 2 (where PortAudio and ALSA write from
// C) at path, keeping a.stderr on the real one; restore undoes it.
func redirectC(a *app, path string) (restore func()) {
	f, ok := a.stderr.(*os.File)
	if !ok || f.Fd() != 2 {
		return func() {}
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		return func() {}
	}
	null, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		syscall.Close(saved)
		return func() {}
	}
	syscall.Dup2(int(null.Fd()), 2)
	null.Close()
	orig := a.stderr
	a.stderr = os.NewFile(uintptr(saved), "stderr")
	return func() {
		syscall.Dup2(saved, 2)
		a.stderr.(*os.File).Close()
		a.stderr = orig
	}
}

type recordingCmd struct {
	List       recordingListCmd       `cmd:"" help:"List a case's recordings."`
	Export     recordingExportCmd     `cmd:"" help:"Decrypt a recording to a standard Ogg Opus (or WAV) file."`
	Submit     recordingSubmitCmd     `cmd:"" help:"Mark a recording submitted for typing."`
	Devices    recordingDevicesCmd    `cmd:"" help:"List audio input devices."`
	Show       recordingShowCmd       `cmd:"" help:"Show a recording's details and its machine draft, if any."`
	Draft      recordingDraftCmd      `cmd:"" help:"Make a machine draft of a submitted recording's transcript with the configured speech recogniser; it waits for correction."`
	Transcribe recordingTranscribeCmd `cmd:"" help:"Attach a transcript to a submitted recording and mark it transcribed (typists)."`
	Turnaround recordingTurnaroundCmd `cmd:"" help:"How long dictations wait for their transcripts, by typist and by author (supervisors)."`
}

type recordingTurnaroundCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *recordingTurnaroundCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase recording turnaround")
	if err != nil {
		return err
	}
	defer v.Close()
	rep, err := dictation.VaultTurnaround(v, time.Now())
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, turnaroundJSONOf(rep))
	}
	if len(rep.Typists)+len(rep.Authors) == 0 {
		fprintf(a.stdout, "%s\n", a.l.T("turnaround.none"))
		return nil
	}
	span := func(d time.Duration, n int) string {
		if n == 0 {
			return "—"
		}
		if d < time.Hour {
			return a.l.T("turnaround.minutes", "N", int(d.Minutes()))
		}
		return a.l.T("turnaround.hours", "H", fmt.Sprintf("%.1f", d.Hours()))
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("turnaround.typist_header"))
	for _, t := range rep.Typists {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", t.Name, t.Done, span(t.Median, t.Done), span(t.P90, t.Done))
	}
	fmt.Fprintln(tw, "\t\t\t")
	fmt.Fprintln(tw, a.l.T("turnaround.author_header"))
	for _, t := range rep.Authors {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\n", t.Name, t.Done, span(t.Median, t.Done), span(t.P90, t.Done), t.Waiting, span(t.Oldest, t.Waiting), t.Overdue)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fprintf(a.stdout, "\n%s\n", a.l.T("turnaround.footer"))
	return nil
}

type recordingListCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *recordingListCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase recording list", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := dictation.Recover(a.ctx, v); err != nil {
		return err
	}
	recs, err := v.Recordings(cv.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		out := []recordingJSON{}
		for _, r := range recs {
			rj := recordingJSONOf(r)
			if rj.Draft != nil {
				rj.Draft.Words = nil // 'recording show --json' has them
			}
			out = append(out, rj)
		}
		return writeJSON(a.stdout, out)
	}
	ids, err := allRecordingIDs(v)
	if err != nil {
		return err
	}
	idLen := abbrevLength(ids)
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("recording.header"))
	for _, r := range recs {
		flags := flags(r)
		if r.Value.Interrupted {
			flags = strings.Trim(flags+",interrupted", ",")
		}
		if r.Value.Draft != nil && !r.Value.CorrectedDraft {
			flags = strings.Trim(flags+",machine-draft", ",")
		}
		when := r.Value.Recorded
		if t, err := time.Parse(time.RFC3339, when); err == nil {
			when = t.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", abbrev(r.ID, idLen), when, clock(time.Duration(r.Value.DurationMS)*time.Millisecond), workTypeName(a.l, r.Value.WorkType), priorityName(a.l, r.Value.Priority), statusName(a.l, r.Value.Status), flags)
	}
	return tw.Flush()
}

type recordingExportCmd struct {
	ID      string `arg:"" help:"Recording id, or a unique prefix of it (from 'fieldcase recording list')."`
	Out     string `required:"" short:"o" help:"Output file: .ogg (Ogg Opus) or .wav." placeholder:"FILE"`
	Sidecar bool   `help:"Also write FILE.json: author, work type, priority, dates, markers and the audio's SHA-256, for a dictation workflow system (DSS and DS2 need a proprietary codec)."`
}

// dictationSidecar is what --sidecar writes beside an exported recording.
type dictationSidecar struct {
	Format      string                 `json:"format"` // fieldcase-dictation-1
	AudioFile   string                 `json:"audio_file"`
	AudioSHA256 string                 `json:"audio_sha256"`
	RecordingID string                 `json:"recording_id"`
	CaseRef     string                 `json:"case_ref"`
	Title       string                 `json:"title,omitempty"`
	Author      string                 `json:"author,omitempty"`
	WorkType    string                 `json:"work_type"`
	Priority    record.Priority        `json:"priority"`
	Status      record.RecordingStatus `json:"status"`
	Recorded    string                 `json:"recorded,omitempty"`
	Submitted   string                 `json:"submitted,omitempty"`
	Due         record.Date            `json:"due,omitempty"`
	Duration    float64                `json:"duration_seconds"`
	Markers     []sidecarMarker        `json:"markers"`
}

type sidecarMarker struct {
	At      float64 `json:"at_seconds"`
	Comment string  `json:"comment,omitempty"`
}

func (c *recordingExportCmd) Run(a *app) error {
	ext := strings.ToLower(filepath.Ext(c.Out))
	if ext != ".ogg" && ext != ".opus" && ext != ".wav" {
		return cli.WithHint(a.l.Error("export.bad_ext", "File", strconv.Quote(c.Out)), a.l.T("export.bad_ext_hint"))
	}
	v, r, err := a.openRecording("fieldcase recording export", c.ID)
	if err != nil {
		return err
	}
	defer v.Close()
	err = writePrivate(c.Out, func(f io.Writer) error {
		w := bufio.NewWriter(f)
		var err error
		if ext == ".wav" {
			err = r.ExportWAV(a.ctx, w)
		} else {
			err = r.ExportOgg(a.ctx, w)
		}
		if err != nil {
			return err
		}
		return w.Flush()
	})
	if errors.Is(err, store.ErrNotFound) {
		return cli.WithHint(a.l.Error("export.audio_missing"), a.l.T("export.audio_missing_hint"))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.l.T("export.export"), err)
	}
	if c.Sidecar {
		if err := writeSidecar(v, r, c.Out); err != nil {
			return fmt.Errorf("%s: %w", a.l.T("export.sidecar"), err)
		}
	}
	if err := v.Audit(r.CaseID, record.AuditExport, "recording "+r.ID+" exported to "+filepath.Base(c.Out)); err != nil {
		return err
	}
	fprintf(a.stderr, "%s\n", a.l.T("export.done", "Duration", clock(r.TL.Duration()), "File", c.Out))
	return nil
}

type recordingSubmitCmd struct {
	ID  string `arg:"" help:"Recording id, or a unique prefix of it (from 'fieldcase recording list')."`
	Due string `help:"When the transcript is due (14/12/2026, +3d, fri …); default from its priority and work type by the agency's signed due rules, else this laptop's turnaround setting, else urgent 1, high 2, normal 5 working days (see 'fieldcase team due-rules')."`
}

func (c *recordingSubmitCmd) Run(a *app) error {
	var due record.Date
	if c.Due != "" {
		var err error
		if due, err = a.parseDate("--due", c.Due); err != nil {
			return err
		}
	}
	v, r, err := a.openRecording("fieldcase recording submit", c.ID)
	if err != nil {
		return err
	}
	defer v.Close()
	pol, err := r.SubmitByPolicy(time.Now(), due, a.localDueRules())
	if err != nil {
		return err
	}
	d := r.Meta.Due.Time()
	dueText := a.l.T("recording.due_date", "Weekday", weekdayName(a.l, d.Weekday()), "Day", d.Day(), "Mon", d.Format("Jan"),
		"Month", a.l.Month(d.Month()), "Year", d.Year())
	if c.Due != "" {
		fprintf(a.stdout, "%s\n", a.l.T("recording.submitted", "ID", r.ID, "Due", dueText))
		return nil
	}
	var from string
	switch pol.Source {
	case dictation.DueFromAgency:
		from = a.l.T("recording.due_from_agency", "Version", pol.Version)
	case dictation.DueFromLocal:
		from = a.l.T("recording.due_from_local")
	default:
		from = a.l.T("recording.due_from_default")
	}
	fprintf(a.stdout, "%s\n", a.l.T("recording.submitted_by", "ID", r.ID, "Due", dueText, "From", from))
	return nil
}

type recordingDevicesCmd struct{}

func (c *recordingDevicesCmd) Run(a *app) error {
	restore := quietC(a)
	defer restore()
	devs, err := audio.ListDevices()
	if err != nil {
		return audioError(a.l, err)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("devices.header"))
	for _, d := range devs {
		if d.Inputs == 0 {
			continue
		}
		def := ""
		if d.DefaultInput {
			def = a.l.T("devices.default")
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", d.Index, d.Name, d.Inputs, def)
	}
	return tw.Flush()
}

// writeSidecar writes out+".json": the recording's details and markers,
// with the SHA-256 of the audio file as written, so that the pair can be
// checked together.
func writeSidecar(v *store.Vault, r *dictation.Recording, out string) error {
	f, err := os.Open(out)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return err
	}
	ref := r.CaseID
	if cv, err := v.Case(r.CaseID); err == nil && !cv.Sealed {
		ref = cv.Value.Ref
	}
	m := r.Meta
	sc := dictationSidecar{Format: "fieldcase-dictation-1", AudioFile: filepath.Base(out), AudioSHA256: hex.EncodeToString(h.Sum(nil)),
		RecordingID: r.ID, CaseRef: ref, Title: m.Title, Author: m.Author, WorkType: m.WorkType, Priority: m.Priority, Status: m.Status,
		Recorded: m.Recorded, Submitted: m.Submitted, Due: m.Due, Duration: r.TL.Duration().Seconds(), Markers: []sidecarMarker{}}
	for _, mk := range r.TL.Markers() {
		sc.Markers = append(sc.Markers, sidecarMarker{At: mk.At.Seconds(), Comment: mk.Comment})
	}
	var b bytes.Buffer
	if err := writeJSON(&b, sc); err != nil {
		return err
	}
	return writePrivate(out+".json", func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// weekdayName is a day of the week, short, in l's language.
func weekdayName(l *i18n.Locale, d time.Weekday) string {
	return l.T(weekdayIDs[d]) // i18n: the ids are the literals of weekdayIDs
}

// The weekdays' ids, Sunday first as time.Weekday counts.
var weekdayIDs = [7]string{"weekday.sun", "weekday.mon", "weekday.tue", "weekday.wed", "weekday.thu", "weekday.fri", "weekday.sat"}

// turnaroundRowJSON is one typist's or author's turnaround; waits are in
// hours, to a tenth. Typists have no waiting, oldest or overdue.
type turnaroundRowJSON struct {
	Name    string  `json:"name"`
	Done    int     `json:"done"`
	Median  float64 `json:"median_hours"`
	P90     float64 `json:"p90_hours"`
	Waiting *int    `json:"waiting,omitempty"`
	Oldest  float64 `json:"oldest_waiting_hours,omitempty"`
	Overdue *int    `json:"overdue,omitempty"`
}

// turnaroundJSON is dictation.TurnaroundReport as 'recording turnaround
// --json' and 'team --json' print it.
type turnaroundJSON struct {
	Typists []turnaroundRowJSON `json:"typists"`
	Authors []turnaroundRowJSON `json:"authors"`
	// All: every transcript's median and p90, every waiting dictation.
	All        turnaroundRowJSON `json:"all"`
	Unreadable int               `json:"recordings_not_readable,omitempty"`
}

func hours(d time.Duration) float64 { return math.Round(d.Hours()*10) / 10 }

func turnaroundJSONOf(rep dictation.TurnaroundReport) turnaroundJSON {
	out := turnaroundJSON{Typists: []turnaroundRowJSON{}, Authors: []turnaroundRowJSON{}, Unreadable: rep.Sealed}
	for _, t := range rep.Typists {
		out.Typists = append(out.Typists, turnaroundRowJSON{Name: t.Name, Done: t.Done, Median: hours(t.Median), P90: hours(t.P90)})
	}
	author := func(t dictation.Turnaround) turnaroundRowJSON {
		return turnaroundRowJSON{Name: t.Name, Done: t.Done, Median: hours(t.Median), P90: hours(t.P90),
			Waiting: &t.Waiting, Oldest: hours(t.Oldest), Overdue: &t.Overdue}
	}
	for _, t := range rep.Authors {
		out.Authors = append(out.Authors, author(t))
	}
	out.All = author(rep.All)
	return out
}
