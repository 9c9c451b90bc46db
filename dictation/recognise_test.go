package dictation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// submittedRecording is a recording of d of tone, submitted for typing.
func submittedRecording(t *testing.T, d time.Duration) (*store.Vault, *Recording) {
	t.Helper()
	v, caseID := mustVault(t)
	r, err := New(v, caseID, record.Recording{WorkType: "letter"})
	if err != nil {
		t.Fatal(err)
	}
	takeOf(t, r, Append, 0, tone(440, d))
	if err := r.Submit(time.Now(), "", DefaultDueRules); err != nil {
		t.Fatal(err)
	}
	return v, r
}

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/bash\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// The recogniser gets the whole recording as WAV on its standard input,
// and its words become the draft: correction pending, sealed in the
// manifest, tied to the timeline.
func TestDraftFromRecogniser(t *testing.T) {
	v, r := submittedRecording(t, 2*time.Second)
	// It answers with the first four bytes it read and how many there were.
	rc := Recogniser{Command: script(t, t.TempDir(), "echoer", `
head=$(head -c 4); n=$(( $(wc -c) + 4 ))
printf '{"format":"fieldcase-recognition-1","engine":"echoer","version":"1","words":[
 {"word":"%s","start_ms":0,"end_ms":400},{"word":"%s","start_ms":500,"end_ms":2600}]}' "$head" "$n"`)}
	res, err := r.Draft(context.Background(), netWhereNeeded(t, rc))
	if err != nil {
		t.Fatal(err)
	}
	var wav bytes.Buffer
	if err := r.ExportWAV(context.Background(), &wav); err != nil {
		t.Fatal(err)
	}
	wavBytes := wav.Len()
	it, err := v.Recording(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := it.Value.Draft
	if it.Value.Status != record.StatusCorrection || d == nil {
		t.Fatalf("after the draft: status %q, draft %+v; want correction pending with a draft", it.Value.Status, d)
	}
	// The last word ran past the end (2.6 s of 2 s): brought back to it.
	want := []record.Word{{W: "RIFF", S: 0, E: 400}, {W: strconv.Itoa(wavBytes), S: 500, E: r.TL.Duration().Milliseconds()}}
	if fmt.Sprint(d.Words) != fmt.Sprint(want) || d.Text != "RIFF "+strconv.Itoa(wavBytes) {
		t.Errorf("draft words %v text %q, want %v (the WAV's magic and its length)", d.Words, d.Text, want)
	}
	if d.Engine != "echoer" || d.Version != "1" || d.By != "GAL" || !r.DraftMatches() || res.MaxRSS <= 0 || res.Elapsed <= 0 {
		t.Errorf("draft %+v (matches its timeline: %v), run %+v", d, r.DraftMatches(), res)
	}

	// The typist's correction says it began as the draft.
	if _, err := r.Transcribe("Corrected text."); err != nil {
		t.Fatal(err)
	}
	it, _ = v.Recording(r.ID)
	if it.Value.Status != "transcribed" || !it.Value.CorrectedDraft || it.Value.TranscribedBy != "GAL" || it.Value.Draft == nil {
		t.Errorf("after correction: %+v", it.Value)
	}
	evs, err := v.AuditEvents(r.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; !strings.Contains(last.Detail, "corrected by GAL from a machine draft (echoer 1)") {
		t.Errorf("audit event %q does not say the transcript was corrected from the machine draft", last.Detail)
	}
}

// A recording edited after its draft drops the draft: its words no longer
// sit where it says. It waits for typing again.
func TestDraftDroppedWhenAudioChanges(t *testing.T) {
	_, r := submittedRecording(t, time.Second)
	rc := Recogniser{Command: script(t, t.TempDir(), "one", `cat >/dev/null; echo '{"format":"fieldcase-recognition-1","engine":"one","words":[{"word":"a","start_ms":0,"end_ms":10}]}'`)}
	if _, err := r.Draft(context.Background(), netWhereNeeded(t, rc)); err != nil {
		t.Fatal(err)
	}
	takeOf(t, r, Append, 0, tone(300, time.Second))
	if r.Meta.Draft != nil || r.Meta.Status != "submitted" {
		t.Errorf("after an edit: status %q, draft %+v; want submitted without the draft", r.Meta.Status, r.Meta.Draft)
	}
}

// A recogniser that is not configured, missing, failing, hanging or
// talking nonsense leaves the recording submitted, as it was, and says why.
func TestDraftFailuresLeaveRecordingSubmitted(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	cases := []struct {
		name string
		rc   Recogniser
		want string
	}{
		{"none configured", Recogniser{}, "no speech recogniser is configured"},
		{"missing", Recogniser{Command: filepath.Join(dir, "no-such-recogniser")}, "is not installed here"},
		{"fails", Recogniser{Command: script(t, dir, "fails", `cat >/dev/null; echo "loading the model: /opt/model.bin: no such file" >&2; exit 1`)},
			"failed (exit status 1): loading the model: /opt/model.bin: no such file"},
		// It starts a child that would outlive it: the timeout ends both.
		{"hangs", Recogniser{Timeout: 300 * time.Millisecond, Command: script(t, dir, "hangs", `sleep 30 & echo $! >`+pidFile+`; wait`)},
			"took longer than 300ms and was stopped"},
		{"nonsense", Recogniser{Command: script(t, dir, "nonsense", `cat >/dev/null; echo hello`)}, "not fieldcase-recognition-1 JSON"},
		{"other format", Recogniser{Command: script(t, dir, "other", `cat >/dev/null; echo '{"format":"whisper","engine":"x"}'`)}, `format "whisper"`},
		{"hears nothing", Recogniser{Command: script(t, dir, "deaf", `cat >/dev/null; echo '{"format":"fieldcase-recognition-1","engine":"x","words":[]}'`)}, "it heard no words"},
		{"goes back in time", Recogniser{Command: script(t, dir, "back", `cat >/dev/null; echo '{"format":"fieldcase-recognition-1","engine":"x","words":[{"word":"b","start_ms":500,"end_ms":600},{"word":"a","start_ms":100,"end_ms":200}]}'`)},
			"goes back from the one before it"},
		{"a word without times", Recogniser{Command: script(t, dir, "untimed", `cat >/dev/null; echo '{"format":"fieldcase-recognition-1","engine":"x","words":[{"word":"a"}]}'`)},
			"word 0 without start_ms and end_ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, r := submittedRecording(t, time.Second)
			before, err := v.Recording(r.ID)
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			_, err = r.Draft(context.Background(), netWhereNeeded(t, c.rc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if c.rc.Command != "" && !errors.Is(err, ErrRecogniser) {
				t.Errorf("%v is not ErrRecogniser", err)
			}
			after, err := v.Recording(r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Rev != before.Rev || after.Value.Status != "submitted" || r.Meta.Status != "submitted" || r.Meta.Draft != nil {
				t.Errorf("after a failed draft: status %q (in memory %q), rev %s → %s; want it submitted and untouched",
					after.Value.Status, r.Meta.Status, before.Rev.Short(), after.Rev.Short())
			}
			if c.name == "hangs" {
				if took := time.Since(began); took > 5*time.Second {
					t.Errorf("a 300 ms timeout took %v", took)
				}
				b, err := os.ReadFile(pidFile)
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if pid <= 0 || !gone(pid) {
					t.Errorf("the recogniser's child %d outlived the timeout", pid)
				}
			}
		})
	}
}

// netWhereNeeded is rc as the agency would set it on a machine without
// user namespaces (IsolationWorks fails: a chroot, or a sysctl): allowed
// the network, isolated another way. Where namespaces work, rc is as given.
func netWhereNeeded(t *testing.T, rc Recogniser) Recogniser {
	if err := IsolationWorks(); err != nil {
		t.Logf("no network namespace for the recogniser here (%v): testing with the network allowed", err)
		rc.AllowNetwork = true
	}
	return rc
}

// The recogniser reaches no network unless allowed: not even this
// machine's loopback, where a listener here waits for it.
func TestRecogniserHasNoNetwork(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cmd := script(t, t.TempDir(), "dialer", fmt.Sprintf(`cat >/dev/null
if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then w=connected; else w=isolated; fi
echo '{"format":"fieldcase-recognition-1","engine":"dialer","words":[{"word":"'$w'","start_ms":0,"end_ms":10}]}'`, port))
	for _, c := range []struct {
		allow bool
		want  string
	}{{false, "isolated"}, {true, "connected"}} {
		_, r := submittedRecording(t, time.Second)
		_, err := r.Draft(context.Background(), Recogniser{Command: cmd, AllowNetwork: c.allow})
		if !c.allow && IsolationWorks() != nil {
			// No user namespaces here (a chroot, or turned off): the
			// recogniser must then not run at all.
			if err == nil || !strings.Contains(err.Error(), "off from the network") || r.Meta.Draft != nil {
				t.Fatalf("without isolation: %v, draft %v; want a refusal naming the network", err, r.Meta.Draft)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Meta.Draft.Text; got != c.want {
			t.Errorf("network allowed %v: the recogniser was %s, want %s", c.allow, got, c.want)
		}
	}
}

// gone reports whether process pid has ended (or is a zombie waiting for
// an init that reaps it), within a second of a SIGKILL.
func gone(pid int) bool {
	for range 20 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if _, after, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(after, "Z") {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
