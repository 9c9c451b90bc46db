package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/dictation"
)

// needPocketsphinx fails in CI without Debian's pocketsphinx (make deps
// installs it) and skips elsewhere.
func needPocketsphinx(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pocketsphinx_continuous"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pocketsphinx_continuous not installed: make deps installs pocketsphinx and pocketsphinx-en-us")
		}
		t.Skip("pocketsphinx not installed")
	}
}

type shownRecording struct {
	Status         string  `json:"status"`
	StatusLabel    string  `json:"status_label"`
	Duration       float64 `json:"duration_seconds"`
	Chunks         int     `json:"chunks"`
	TranscribedBy  string  `json:"transcribed_by"`
	CorrectedDraft bool    `json:"corrected_draft"`
	Draft          *struct {
		Machine   bool   `json:"machine"`
		Corrected bool   `json:"corrected"`
		Engine    string `json:"engine"`
		Text      string `json:"text"`
		Words     []struct {
			W string `json:"w"`
			S int64  `json:"s"`
			E int64  `json:"e"`
		} `json:"words"`
	} `json:"draft"`
}

func showRecording(t *testing.T, env []string, id string) shownRecording {
	t.Helper()
	out, errOut, code := fc(t, env, "", "recording", "show", id, "--json")
	if code != 0 {
		t.Fatalf("recording show: %s", errOut)
	}
	var r shownRecording
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Dictation spoken into the virtual microphone, submitted, and drafted by
// the real pocketsphinx through scripts/recognisers/pocketsphinx: the
// draft is correction pending, machine text, its words in order and within
// the recording; the typist's transcript then records the correction. A
// recogniser that is not configured or hangs first leaves it submitted,
// with a clear message (dictation's tests try every way a recogniser can
// fail; this one what the user is told).
func TestRecordingDraftPocketsphinx(t *testing.T) {
	t.Parallel() // its own vault and private sound sink: real time, mostly waiting
	needAudio(t)
	needPocketsphinx(t)
	adapter, err := filepath.Abs("../../scripts/recognisers/pocketsphinx")
	if err != nil {
		t.Fatal(err)
	}
	env := append(audioEnv(t), "XDG_CONFIG_HOME="+t.TempDir())
	speech := filepath.Join(t.TempDir(), "speech.wav")
	if out, err := exec.Command("espeak-ng", "-w", speech, "The child was seen at home. Contact continues every week.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, out)
	}
	// Speak once the microphone runs (unlocking first takes its time on
	// a loaded machine).
	rec := exec.Command(filepath.Join(binDir, "fieldcase"), "record", "--case", "GAL-1", "--seconds", "6s")
	rec.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var recOut strings.Builder
	rec.Stdout = &recOut
	stderr, err := rec.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "recording to GAL-1") {
	}
	play := exec.Command("paplay", speech)
	play.Env = append(os.Environ(), env...)
	if out, err := play.CombinedOutput(); err != nil {
		t.Fatalf("paplay: %v %s", err, out)
	}
	go io.Copy(io.Discard, stderr)
	if err := rec.Wait(); err != nil {
		t.Fatalf("record: %v", err)
	}
	// "recorded 0:06 to recording ID (N chunks, …)": no unlock to list it.
	f := strings.Fields(recOut.String())
	if len(f) < 6 || f[0] != "recorded" || f[3] != "recording" {
		t.Fatalf("record said %q", recOut.String())
	}
	id := f[4]
	chunks, _ := strconv.Atoi(strings.TrimPrefix(f[5], "("))
	env = withAgent(t, env)
	if _, errOut, code := fc(t, env, "", "recording", "submit", id); code != 0 {
		t.Fatalf("submit: %s", errOut)
	}
	set := func(kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if _, errOut, code := fc(t, env, "", "config", "set", kv[i], kv[i+1]); code != 0 {
				t.Fatalf("config set %s: %s", kv[i], errOut)
			}
		}
	}

	// No recogniser yet, then one that hangs: stopped, or, where the
	// recogniser cannot be cut off from the network, refused.
	hangingWant := "took longer than 1s and was stopped"
	if dictation.IsolationWorks() != nil {
		hangingWant = "off from the network"
	}
	dir := t.TempDir()
	hanging := filepath.Join(dir, "hanging")
	os.WriteFile(hanging, []byte("#!/bin/sh\nexec sleep 60\n"), 0o700)
	for _, c := range []struct {
		name     string
		settings []string
		want     string
	}{
		{"none", nil, "fieldcase: no speech recogniser is configured\nhint: set one with 'fieldcase config set recogniser.command PROGRAM'"},
		{"hanging", []string{"recogniser.command", hanging, "recogniser.timeout", "1s"}, hangingWant},
	} {
		set(c.settings...)
		_, errOut, code := fc(t, env, "", "recording", "draft", id)
		if code == 0 || !strings.Contains("\n"+errOut, "\nfieldcase: ") || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "goroutine") ||
			(c.name != "none" && !strings.Contains(errOut, "hint: the recording is still submitted for typing")) {
			t.Errorf("%s recogniser: exit %d\n%s\nwant a message with %q", c.name, code, errOut, c.want)
		}
	}
	if r := showRecording(t, env, id); r.Status != "submitted" || r.Draft != nil || r.Chunks != chunks {
		t.Errorf("after the failed drafts: %+v, want it submitted with its audio and no draft", r)
	}

	set("recogniser.command", adapter, "recogniser.timeout", "2m")
	if err := dictation.IsolationWorks(); err != nil {
		// The agency's setting on a machine without user namespaces (a
		// chroot): the refusal is checked above, with the hanging one.
		set("recogniser.network", "allow")
	}
	out, errOut, code := fc(t, env, "", "recording", "draft", id)
	if code != 0 || !strings.Contains(out, "machine draft by pocketsphinx") || !strings.Contains(out, "correction pending") {
		t.Fatalf("draft: exit %d\n%s%s", code, out, errOut)
	}
	r := showRecording(t, env, id)
	if r.Status != "correction" || r.StatusLabel != "correction pending" || r.Draft == nil || !r.Draft.Machine || r.Draft.Corrected ||
		r.Draft.Engine != "pocketsphinx" {
		t.Fatalf("after the draft: %+v", r)
	}
	t.Logf("pocketsphinx heard %q in %.1f s", r.Draft.Text, r.Duration)
	if len(r.Draft.Words) < 3 {
		t.Errorf("%d words from two sentences", len(r.Draft.Words))
	}
	var prevS, prevE int64
	for i, w := range r.Draft.Words {
		if w.S < prevS || w.E < prevE || w.S > w.E || float64(w.E) > r.Duration*1000 {
			t.Errorf("word %d %q at %d–%d ms: not in order within the %.0f ms recording", i, w.W, w.S, w.E, r.Duration*1000)
		}
		prevS, prevE = w.S, w.E
	}
	if out, _, _ := fc(t, env, "", "recording", "list", "--case", "GAL-1"); !strings.Contains(out, "correction pending") || !strings.Contains(out, "machine-draft") {
		t.Errorf("recording list does not show the machine draft pending correction:\n%s", out)
	}
	if out, _, _ := fc(t, env, "", "recording", "show", id); !strings.Contains(out, "MACHINE DRAFT by pocketsphinx") || !strings.Contains(out, "machine text, not corrected") {
		t.Errorf("recording show does not mark the draft as machine text:\n%s", out)
	}

	// The typist's correction: the transcript records it.
	if _, errOut, code := fc(t, env, "The child was seen at home. Contact continues every week.", "recording", "transcribe", id, "--text-file", "-"); code != 0 {
		t.Fatalf("transcribe: %s", errOut)
	}
	r = showRecording(t, env, id)
	if r.Status != "transcribed" || !r.CorrectedDraft || r.TranscribedBy == "" || r.Draft == nil || !r.Draft.Corrected {
		t.Errorf("after the correction: %+v", r)
	}
}
