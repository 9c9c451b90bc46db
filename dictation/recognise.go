package dictation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/fieldcase/fieldcase/record"
)

// Errors of a machine draft. A draft that fails for any of them leaves the
// recording as it was (submitted), with nothing lost.
var (
	// ErrNoRecogniser means no recogniser is configured on this laptop.
	ErrNoRecogniser = errors.New("no speech recogniser is configured")
	// ErrRecogniser means the recogniser is missing, failed, timed out or
	// answered something that is not a transcript.
	ErrRecogniser = errors.New("the speech recogniser did not make a draft")
)

// RecognitionFormat names the JSON a recogniser writes on its standard
// output (docs/DICTATION.md):
//
//	{"format": "fieldcase-recognition-1", "engine": "pocketsphinx", "version": "5prealpha",
//	 "text": "the child was seen",
//	 "words": [{"word": "the", "start_ms": 30, "end_ms": 210}, …]}
//
// Words are in order, with times in milliseconds from the start of the
// audio it was given; text may be left out when words are given.
const RecognitionFormat = "fieldcase-recognition-1"

// Limits on what a recogniser may say: its output, and the tail of its
// error output kept for the message when it fails.
const (
	maxRecogniserOutput = 16 << 20
	maxRecogniserStderr = 4 << 10
)

// Recogniser is an external speech recogniser the agency installs: a
// command given the recording as a 16 kHz mono 16-bit WAV stream on its
// standard input, which writes a RecognitionFormat answer on its standard
// output. Decoded audio goes through the pipe only, never to a file.
type Recogniser struct {
	Command string
	Args    []string
	// Timeout ends the run (the command and every process it started);
	// 0 means DefaultRecogniserTimeout.
	Timeout time.Duration
	// AllowNetwork runs the command in this laptop's network. Otherwise it
	// runs in a network namespace of its own with no interface but a
	// loopback that is down (an unprivileged user namespace, as `unshare
	// -rn` makes), so it can reach nothing, not even this machine.
	AllowNetwork bool
}

// DefaultRecogniserTimeout bounds a run when the settings do not.
const DefaultRecogniserTimeout = 10 * time.Minute

// Recognition is what a recogniser made, and what the run cost.
type Recognition struct {
	Engine, Version string
	Text            string
	Words           []record.Word
	Elapsed         time.Duration // wall time of the run
	MaxRSS          int64         // peak resident memory of the command and its children, bytes
}

type recognitionJSON struct {
	Format  string `json:"format"`
	Engine  string `json:"engine"`
	Version string `json:"version"`
	Text    string `json:"text"`
	Words   []struct {
		Word    string `json:"word"`
		StartMS *int64 `json:"start_ms"`
		EndMS   *int64 `json:"end_ms"`
	} `json:"words"`
}

// Recognise runs the recogniser on the audio that wav writes (a WAV
// stream) and reads its answer. The command runs in a process group of its
// own, which a timeout or a cancelled ctx kills whole.
func (rc Recogniser) Recognise(ctx context.Context, wav func(io.Writer) error) (Recognition, error) {
	if strings.TrimSpace(rc.Command) == "" {
		return Recognition{}, ErrNoRecogniser
	}
	path, err := exec.LookPath(rc.Command)
	if err != nil {
		return Recognition{}, fmt.Errorf("%w: %s is not installed here (%v)", ErrRecogniser, rc.Command, errors.Unwrap(err))
	}
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = DefaultRecogniserTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, rc.Args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if !rc.AllowNetwork && !isolate(cmd.SysProcAttr) {
		return Recognition{}, fmt.Errorf("%w: cannot cut %s off from the network on this system: isolate it another way and set recogniser.network = allow", ErrRecogniser, rc.Command)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second // a grandchild holding the pipes open cannot keep us
	cmd.Env = recogniserEnv()
	var stdout limitedBuffer
	stdout.max = maxRecogniserOutput
	stderr := &tailBuffer{max: maxRecogniserStderr}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return Recognition{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		if !rc.AllowNetwork && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC)) {
			return Recognition{}, fmt.Errorf("%w: cannot cut %s off from the network on this laptop (%v): allow user namespaces, or isolate it another way and set recogniser.network = allow", ErrRecogniser, rc.Command, err)
		}
		return Recognition{}, fmt.Errorf("%w: starting %s: %v", ErrRecogniser, rc.Command, err)
	}
	fed := make(chan error, 1)
	go func() {
		err := wav(in)
		in.Close()
		fed <- err
	}()
	waitErr := cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever it left behind
	feedErr := <-fed
	out := Recognition{Elapsed: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		out.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return out, fmt.Errorf("%w: %s took longer than %v and was stopped", ErrRecogniser, rc.Command, timeout)
	case ctx.Err() != nil:
		return out, fmt.Errorf("%w: %v", ErrRecogniser, ctx.Err())
	case waitErr != nil:
		return out, fmt.Errorf("%w: %s failed (%v)%s", ErrRecogniser, rc.Command, waitErr, stderr.said())
	case stdout.over:
		return out, fmt.Errorf("%w: %s wrote more than %d bytes", ErrRecogniser, rc.Command, maxRecogniserOutput)
	case feedErr != nil && !errors.Is(feedErr, syscall.EPIPE) && !errors.Is(feedErr, os.ErrClosed):
		// The audio could not be decoded: the answer is of part of it.
		return out, fmt.Errorf("%w: decoding the recording for it: %v", ErrRecogniser, feedErr)
	}
	if err := out.parse(stdout.Bytes()); err != nil {
		return out, fmt.Errorf("%w: %s answered %v", ErrRecogniser, rc.Command, err)
	}
	return out, nil
}

// parse reads a RecognitionFormat answer.
func (r *Recognition) parse(b []byte) error {
	var j recognitionJSON
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("something that is not %s JSON: %v", RecognitionFormat, err)
	}
	if j.Format != RecognitionFormat {
		return fmt.Errorf("format %q, not %q", j.Format, RecognitionFormat)
	}
	r.Engine, r.Version, r.Text = strings.TrimSpace(j.Engine), strings.TrimSpace(j.Version), j.Text
	if r.Engine == "" {
		return errors.New("no engine name")
	}
	for i, w := range j.Words {
		if w.StartMS == nil || w.EndMS == nil {
			return fmt.Errorf("word %d without start_ms and end_ms", i)
		}
		// A word is what lies between spaces in the text the typist
		// corrects; an engine's word with a space in it becomes two.
		for _, part := range strings.FieldsFunc(w.Word, unicode.IsSpace) {
			r.Words = append(r.Words, record.Word{W: part, S: *w.StartMS, E: *w.EndMS})
		}
	}
	return nil
}

// Draft makes a machine draft of the transcript with rc and keeps it on
// the manifest: the recording moves from submitted (or an earlier draft's
// correction) to correction pending. On any failure the recording is left
// as it was, and the error says why.
func (r *Recording) Draft(ctx context.Context, rc Recogniser) (Recognition, error) {
	if !r.Meta.WaitsForTyping() {
		return Recognition{}, fmt.Errorf("recording %s is %s: only a recording submitted for typing gets a machine draft", r.ID, record.StatusLabel(r.Meta.Status))
	}
	res, err := rc.Recognise(ctx, func(w io.Writer) error { return r.ExportWAV(ctx, w) })
	if err != nil {
		return res, err
	}
	d, err := r.draftOf(res)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrRecogniser, err)
	}
	prev := r.Meta
	r.Meta.Draft, r.Meta.Status = d, record.StatusCorrection
	if err := r.Save(); err != nil {
		r.Meta = prev
		return res, err
	}
	return res, nil
}

// draftOf turns a recogniser's answer into a draft of this recording:
// times a little past the end (engines pad the last word) are brought
// back to it, and the text is the words.
func (r *Recording) draftOf(res Recognition) (*record.MachineDraft, error) {
	dur := r.TL.Duration().Milliseconds()
	d := &record.MachineDraft{Engine: res.Engine, Version: res.Version, Made: time.Now().UTC().Format(time.RFC3339),
		By: r.v.Profile().Name, Timeline: timelineHash(r.Meta.Timeline), Text: strings.TrimSpace(res.Text)}
	for _, w := range res.Words {
		w.S, w.E = min(w.S, dur), min(w.E, dur)
		d.Words = append(d.Words, w)
	}
	if len(d.Words) > 0 {
		d.Text = record.JoinWords(d.Words)
	}
	if d.Text == "" {
		return nil, errors.New("it heard no words")
	}
	if err := d.Validate(dur); err != nil {
		return nil, err
	}
	return d, nil
}

// DraftMatches reports whether the recording has a machine draft made from
// the audio as it is now.
func (r *Recording) DraftMatches() bool {
	return r.Meta.Draft != nil && r.Meta.Draft.Timeline == timelineHash(r.Meta.Timeline)
}

func timelineHash(tl []byte) string {
	h := sha256.Sum256(tl)
	return hex.EncodeToString(h[:])
}

// recogniserEnv is the environment a recogniser runs with: enough to find
// its programs and libraries and to speak UTF-8, not the user's session
// (no display, no session bus, no proxies, nothing of fieldcase's).
func recogniserEnv() []string {
	env := []string{"PATH=" + cmpOr(os.Getenv("PATH"), "/usr/local/bin:/usr/bin:/bin"), "LC_ALL=C.UTF-8"}
	for _, k := range []string{"HOME", "TMPDIR", "LD_LIBRARY_PATH"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// limitedBuffer keeps up to max bytes and notes that more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// said is the last line or two the command wrote on its error output, as
// ": …" for a message, or "".
func (b *tailBuffer) said() string {
	lines := strings.Split(strings.TrimSpace(string(b.buf)), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	lines = lines[max(0, len(lines)-2):]
	s := strings.Join(lines, " / ")
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return ": " + s
}
