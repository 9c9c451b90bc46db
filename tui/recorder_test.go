package tui

import (
	"context"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// needAudio skips a test that records from the (virtual) sound device when
// there is none, but fails under CI, which must provide it:
// eval "$(scripts/virtual-audio.sh start DIR)" (docs/TESTING.md).
func needAudio(t *testing.T) {
	t.Helper()
	if os.Getenv("PULSE_SERVER") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but PULSE_SERVER is unset: start the virtual sound device (scripts/virtual-audio.sh; make test starts it)")
		}
		t.Skip("no sound device: PULSE_SERVER is unset (scripts/virtual-audio.sh starts a virtual one; see docs/TESTING.md)")
	}
}

// caseByRef unlocks v if needed and returns the case's id.
func caseByRef(t *testing.T, v *store.Vault, ref string) string {
	t.Helper()
	if !v.Unlocked() {
		if err := v.Unlock(testPass); err != nil {
			t.Fatal(err)
		}
	}
	cv, err := v.CaseByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return cv.ID
}

// makeRecording dictates d of a tone into a new recording of a case,
// without a microphone (the encoder the recorder uses, fed directly).
func makeRecording(t *testing.T, v *store.Vault, caseID string, d time.Duration, meta record.Recording) string {
	t.Helper()
	r, err := dictation.New(v, caseID, meta)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, int(d.Seconds()*audio.SampleRate))
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	if err := r.AppendPCM(context.Background(), pcm); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// onlyRecording returns the one recording of a case.
func onlyRecording(t *testing.T, v *store.Vault, caseID string) store.Item[record.Recording] {
	t.Helper()
	recs, err := v.Recordings(caseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("case has %d recordings, want 1", len(recs))
	}
	return recs[0]
}

// noPendingTake checks that no take is left for the crash recovery: every
// take was placed in its recording.
func noPendingTake(t *testing.T, v *store.Vault) {
	t.Helper()
	takes, err := v.Locals("take:")
	if err != nil {
		t.Fatal(err)
	}
	if len(takes) != 0 {
		t.Errorf("%d takes still pending after stopping; want 0", len(takes))
	}
}

func durationOf(it store.Item[record.Recording]) time.Duration {
	return time.Duration(it.Value.DurationMS) * time.Millisecond
}

// openRecorderNew goes from the case to a new recording in the recorder.
func (p *program) openRecorderNew(ref string) {
	p.t.Helper()
	p.key(runeKey('d'))
	p.waitText("Recordings · "+ref, "0 recordings")
	p.key(runeKey('n'))
	p.waitText("Dictation · "+ref+" · new recording", "■ STOPPED", "Press r to start dictating")
}

var elapsedRe = regexp.MustCompile(`(RECORDING|PAUSED) +(\d+:\d\d)`)

// elapsedOn reads the take's elapsed time off the recorder screen.
func elapsedOn(screen string) string {
	m := elapsedRe.FindStringSubmatch(screen)
	if m == nil {
		return ""
	}
	return m[2]
}

// recordUntil presses r and waits until the take's elapsed time shows at
// least the given m:ss, so the device has really captured that much.
func (p *program) recordFor(key rune, elapsed string) {
	p.t.Helper()
	p.key(runeKey(key))
	p.waitFor("recording "+elapsed, func(s string) bool {
		e := elapsedOn(s)
		return strings.Contains(s, "● RECORDING") && e != "" && e >= elapsed
	})
}

// TestDictateRecordAndList is the main path: choose the microphone in the
// settings, open a case, dictate about two seconds with a marker set while
// talking, stop; the recording is listed in the case and in its recordings
// with its length, and the vault holds it with no take left pending.
func TestDictateRecordAndList(t *testing.T) {
	needAudio(t)
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()

	// The microphone, for this session.
	p.key(runeKey(','))
	p.waitText("Settings", "Microphone", "System default", "pulse")
	p.waitFor("the choices", func(s string) bool { return strings.Contains(s, "▸ ● System default") })
	p.key(runeKey('j'))
	p.waitText("▸   pulse")
	p.key(keyEnter)
	p.waitText("Recording from pulse for this session.", "cases · sorted by")

	p.openCaseByFilter("0042", "DEMO-0042")
	p.waitText("Recordings (0)")
	p.openRecorderNew("DEMO-0042")
	p.recordFor('r', "0:01")
	if s := p.screen(); !strings.Contains(s, "Level") || !strings.Contains(s, "Audio lost  ") {
		t.Errorf("recording screen lacks the level meter or the audio-lost line:\n%s", s)
	}
	// The position moves with the take, and the length with it.
	p.waitFor("the position past 0:01", func(s string) bool {
		return regexp.MustCompile(`Position +0:0[1-9] / 0:0[1-9]`).MatchString(s)
	})
	p.key(runeKey('m'))
	p.waitText("of this take · typing its label (enter sets it, esc skips):")
	p.typeText("check the spelling")
	p.key(keyEnter)
	p.waitText("Marker set at 0:01 of this take.", "+0:01", "(placed when the take stops)")
	p.waitFor("two seconds", func(s string) bool { return elapsedOn(s) >= "0:02" })
	p.key(runeKey('s'))
	s := p.waitText("Recorded 0:0", "■ STOPPED", "Markers (1)", "check the spelling")
	if strings.Contains(s, "lost to a slow disk") {
		t.Logf("frames were dropped on this run:\n%s", s)
	}
	p.key(keyEsc)
	p.waitText("Recordings · DEMO-0042", "1 recording", "draft", "normal", "visit note", "(untitled)")
	p.key(keyEsc)
	p.waitText("Recordings (1)", "draft")
	p.quit()

	caseID := caseByRef(t, v, "DEMO-0042")
	it := onlyRecording(t, v, caseID)
	if d := durationOf(it); d < 1900*time.Millisecond || d > 5*time.Second {
		t.Errorf("recording lasts %v, want about 2 s", d)
	}
	if it.Value.Status != "draft" || it.Value.Interrupted || it.Value.Author != "Test Worker" {
		t.Errorf("recording %+v, want a draft by Test Worker, not interrupted", it.Value)
	}
	r, err := dictation.Open(v, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	ms := r.TL.Markers()
	if len(ms) != 1 || ms[0].Comment != "check the spelling" || ms[0].At < time.Second || ms[0].At > 2*time.Second {
		t.Errorf("markers %+v, want one at about 1 s", ms)
	}
	noPendingTake(t, v)
}

// TestDictatePauseResume: a pause keeps the device open and adds nothing;
// resuming goes on in the same take; what is stored is every frame
// captured outside the pause, in one contiguous take.
func TestDictatePauseResume(t *testing.T) {
	needAudio(t)
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")
	p.openRecorderNew("DEMO-0042")

	began := time.Now()
	p.recordFor('r', "0:01")
	p.key(runeKey(' '))
	p.waitText("❚❚ PAUSED")
	time.Sleep(300 * time.Millisecond) // a poll or two after the pause
	paused := elapsedOn(p.screen())
	time.Sleep(1200 * time.Millisecond)
	if got := elapsedOn(p.screen()); got != paused {
		t.Errorf("elapsed went from %s to %s while paused", paused, got)
	}
	p.key(runeKey(' '))
	p.waitText("● RECORDING")
	p.waitFor("two seconds", func(s string) bool { return elapsedOn(s) >= "0:02" })
	p.key(runeKey('s'))
	p.waitText("Recorded 0:0", "■ STOPPED")
	wall := time.Since(began)
	p.quit()

	caseID := caseByRef(t, v, "DEMO-0042")
	it := onlyRecording(t, v, caseID)
	d := durationOf(it)
	if d < 1900*time.Millisecond {
		t.Errorf("recording lasts %v, want at least 2 s", d)
	}
	if d > wall-time.Second {
		t.Errorf("recording lasts %v of %v wall time: the 1.2 s pause was recorded", d, wall)
	}
	// One take, its chunks 0…n-1 with the last marked: nothing missing.
	refs := it.Value.Chunks
	for i, c := range refs {
		if c.Take != refs[0].Take || int(c.Index) != i || c.Last != (i == len(refs)-1) {
			t.Fatalf("chunks %+v: not one contiguous take", refs)
		}
	}
	r, err := dictation.Open(v, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tk := r.TL.Takes(); len(tk) != 1 || tk[0].Duration() != d {
		t.Errorf("takes %+v, want one of %v", tk, d)
	}
	noPendingTake(t, v)
}

// TestDictateEdits: play back, seek, insert a passage at the start and
// re-record from a point, then quit while recording: the take is stopped
// and saved.
func TestDictateEdits(t *testing.T) {
	needAudio(t)
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")
	p.openRecorderNew("DEMO-0042")
	p.recordFor('r', "0:02")
	p.key(runeKey('s'))
	s := p.waitText("Recorded 0:0", "■ STOPPED")
	total := regexp.MustCompile(`Position +(\d:\d\d) / (\d:\d\d)`).FindStringSubmatch(s)
	if total == nil || total[1] != total[2] {
		t.Fatalf("after the take the position is not at the end:\n%s", s)
	}

	// Playback from the start, pause, seek.
	p.key(runeKey('g'))
	p.waitText("Position    0:00 /")
	p.key(runeKey(' '))
	p.waitText("▶ PLAYING")
	p.key(runeKey(' '))
	p.waitText("■ STOPPED")
	p.key(runeKey('G'))
	p.waitText("Position    " + total[2] + " / " + total[2])
	p.key(runeKey('h'))
	p.waitText("Position    0:00 / " + total[2])

	// Insert about a second at the start.
	p.recordFor('i', "0:01")
	p.waitText("inserting at 0:00")
	p.key(runeKey('s'))
	p.waitText("Recorded 0:0", "■ STOPPED")
	caseID := caseByRef(t, v, "DEMO-0042")
	afterInsert := durationOf(onlyRecording(t, v, caseID))
	if afterInsert < 2900*time.Millisecond {
		t.Errorf("after inserting 1 s into 2 s: %v", afterInsert)
	}

	// Re-record from the start: everything is replaced.
	p.key(runeKey('g'))
	p.waitText("Position    0:00 /")
	p.key(runeKey('o'))
	p.waitText("Re-record from 0:00?")
	p.key(runeKey('y'))
	p.waitText("re-recording from 0:00")
	p.waitFor("one second", func(s string) bool { return elapsedOn(s) >= "0:01" })
	// Quit while recording: the take is stopped and placed.
	p.key(runeKey('q'))
	p.final()

	it := onlyRecording(t, v, caseID)
	if d := durationOf(it); d < 900*time.Millisecond || d >= afterInsert {
		t.Errorf("after re-recording from the start: %v, want about 1 s (was %v)", d, afterInsert)
	}
	noPendingTake(t, v)
}

// TestDictateIdleLock: the idle lock while recording stops the take and
// saves it before the vault locks.
func TestDictateIdleLock(t *testing.T) {
	needAudio(t)
	v := openVault(t, demoVaultFile(t))
	opts := testOptions(t, v)
	opts.IdleLock = 3 * time.Second
	p := start(t, opts, 100, 30)
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")
	p.openRecorderNew("DEMO-0042")
	p.key(runeKey('r'))
	p.waitText("● RECORDING")
	p.waitText("Locked after 3 seconds without use", "Passphrase")
	if v.Unlocked() {
		t.Fatal("vault still unlocked after the idle lock")
	}
	p.key(keyCtrlC)
	p.final()

	caseID := caseByRef(t, v, "DEMO-0042")
	it := onlyRecording(t, v, caseID)
	if d := durationOf(it); d < 500*time.Millisecond || it.Value.Interrupted {
		t.Errorf("recording after the idle lock: %v, interrupted %v; want what was recorded, not interrupted", d, it.Value.Interrupted)
	}
	noPendingTake(t, v)
}

// TestRecorderMarkersAndSubmit (no microphone needed): markers set on a
// recording survive reopening it, one can be deleted, the work type and
// priority change, and submitting sets the status and stops edits.
func TestRecorderMarkersAndSubmit(t *testing.T) {
	path := demoVaultFile(t)
	v := openVault(t, path)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, 3*time.Second, record.Recording{Title: "Hearing report"})
	v.Lock()

	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")
	p.waitText("Recordings (1)", "Hearing report")
	p.key(runeKey('d'))
	p.waitText("Recordings · DEMO-0042", "1 recording", "0:03", "Hearing report")
	p.key(keyEnter)
	p.waitText("Dictation · DEMO-0042 · Hearing report", "Position    0:00 / 0:03", "Markers (0)")

	// Two markers: at the start, and 1 s in.
	p.key(runeKey('m'))
	p.waitText("Marker at 0:00 · typing its label")
	p.typeText("check the date")
	p.key(keyEnter)
	p.waitText("Marker set at 0:00.", "Markers (1)")
	p.key(keyRight) // +5 s: clamped to the end
	p.waitText("Position    0:03 / 0:03")
	p.key(runeKey('m'))
	p.waitText("Marker at 0:02 · typing its label") // the last packet: a marker marks audio
	p.typeText("name of the school")
	p.key(keyEnter)
	p.waitText("Markers (2)", "name of the school")

	// Change the details.
	p.key(runeKey('w'))
	p.waitText("court report")
	p.key(runeKey('p'))
	p.waitText("high")
	p.key(keyEsc)
	p.waitText("Recordings · DEMO-0042", "high", "court report")

	// Reopen: the markers are there; jump to the second, delete the first.
	p.key(keyEnter)
	p.waitText("Markers (2)", "check the date", "name of the school")
	p.key(runeKey('j'))
	p.key(keyEnter)
	p.waitText("Position    0:02 / 0:03")
	p.key(runeKey('k'))
	p.key(runeKey('D'))
	p.waitText("Delete the marker at 0:00? y / n")
	p.key(runeKey('y'))
	p.waitText("Marker deleted.", "Markers (1)")

	// Submit: the status changes, the audio can no longer be changed.
	p.key(runeKey('S'))
	p.waitText("Submit this recording for typing?")
	p.key(runeKey('y'))
	// High priority on Monday 2 Nov: two working days, by the defaults here.
	p.waitText("Submitted for typing. Due Wed 4 Nov by the default due rules.", "submitted · high · court report")
	// The keys that change a recording are gone from the key line.
	if s := p.screen(); strings.Contains(s, "r record") || strings.Contains(s, "S submit") || strings.Contains(s, "m marker") {
		t.Errorf("a submitted recording's key line offers changes:\n%s", s)
	}
	p.key(runeKey('r'))
	p.waitText("This recording was submitted for typing: it can be played, not changed.")
	p.key(keyEsc)
	p.waitText("Recordings · DEMO-0042", "submitted")
	p.quit()

	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta.Status != "submitted" || r.Meta.WorkType != "court report" || r.Meta.Priority != "high" {
		t.Errorf("recording details %+v, want submitted court report, high", r.Meta)
	}
	ms := r.TL.Markers()
	if len(ms) != 1 || ms[0].Comment != "name of the school" || ms[0].At != 3*time.Second-audio.FrameDuration {
		t.Errorf("markers %+v, want one at the last packet", ms)
	}
}

// TestRecorderNoMicrophone (no device needed): with a device that does not
// exist the recorder says so, creates nothing, and the rest of the app
// works on.
func TestRecorderNoMicrophone(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	opts := testOptions(t, v)
	opts.AudioDevice = "no-such-microphone-42"
	p := start(t, opts, 100, 30)
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")
	p.openRecorderNew("DEMO-0042")
	p.key(runeKey('r'))
	p.waitText("No microphone found — plug one in or choose a device in settings (,).", "■ STOPPED")
	p.key(runeKey(' '))
	p.waitText("Nothing recorded yet.")
	p.key(keyEsc)
	p.waitText("Recordings · DEMO-0042", "No recordings for this case yet")
	p.key(keyEsc)
	p.waitText("DEMO-0042  ", "Recordings (0)")
	p.key(runeKey('t'))
	p.waitText("Tasks & visits · DEMO-0042")
	p.key(keyEsc)
	p.waitText("DEMO-0042  ", "People")
	p.key(runeKey(','))
	p.waitText("Settings", "Microphone", "no-such-microphone-42 (chosen) is not connected")
	p.key(keyEsc)
	p.waitText("DEMO-0042  ", "People")
	p.quit()

	caseID := caseByRef(t, v, "DEMO-0042")
	if recs, err := v.Recordings(caseID); err != nil || len(recs) != 0 {
		t.Errorf("recordings after failing to record: %d, %v; want none", len(recs), err)
	}
	noPendingTake(t, v)
}

// TestRecoverAfterCrash (no device needed): a take cut short by a crash
// (its chunks in the vault, not yet placed) is put back after the next
// unlock, before the recordings are listed, and flagged interrupted.
func TestRecoverAfterCrash(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	caseID := caseByRef(t, v, "DEMO-0042")
	r, err := dictation.New(v, caseID, record.Recording{Title: "Cut short"})
	if err != nil {
		t.Fatal(err)
	}
	take, sink, err := r.StartTake(dictation.Append, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewEncoder(take, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Write(context.Background(), make([]int16, 5*audio.SampleRate/2)); err != nil {
		t.Fatal(err)
	}
	// The program dies here: two chunks committed, the take not placed.
	v.Lock()

	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.waitText("Recovered 1 recording cut short by a crash (marked interrupted).")
	p.openCaseByFilter("0042", "DEMO-0042")
	p.key(runeKey('d'))
	p.waitText("Recordings · DEMO-0042", "0:02 !", "Cut short", "! interrupted by a crash")
	p.key(keyEnter)
	p.waitText("! interrupted by a crash: holds what was saved", "Position    0:00 / 0:02")
	p.quit()
	noPendingTake(t, v)
}

func TestRecorderFormats(t *testing.T) {
	for _, tc := range []struct {
		d           time.Duration
		clock, secs string
	}{
		{0, "0:00", "0.0 s"},
		{-time.Second, "0:00", "0.0 s"},
		{1999 * time.Millisecond, "0:01", "2.0 s"},
		{240 * time.Millisecond, "0:00", "0.2 s"},
		{75 * time.Second, "1:15", "1:15"},
		{time.Hour + 2*time.Minute + 5*time.Second, "1:02:05", "1:02:05"},
	} {
		if got := clock(tc.d); got != tc.clock {
			t.Errorf("clock(%v) = %q, want %q", tc.d, got, tc.clock)
		}
		if got := seconds(i18n.English(), tc.d); got != tc.secs {
			t.Errorf("seconds(%v) = %q, want %q", tc.d, got, tc.secs)
		}
	}
	for _, tc := range []struct {
		db   float64
		want string
	}{
		{audio.SilenceDBFS, "░░░░░░"},
		{math.NaN(), "░░░░░░"},
		{-30, "███░░░"},
		{0, "██████"},
		{6, "██████"},
	} {
		if got := meter(tc.db, 6); got != tc.want {
			t.Errorf("meter(%v) = %q, want %q", tc.db, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aéb", 2, "a"}, // é is two bytes: not cut in half
		{"aéb", 3, "aé"},
	} {
		if got := truncBytes(tc.s, tc.n); got != tc.want {
			t.Errorf("truncBytes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := cycle(record.Priorities, "urgent"); got != "normal" {
		t.Errorf("cycle after urgent = %q, want normal", got)
	}
}
