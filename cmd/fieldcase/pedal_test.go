package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/pedal"
)

// The [pedal] table: read, checked, written back as a table, and emptied
// away when its last key is unset.
func TestPedalConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fieldcase", "config.toml")
	os.MkdirAll(filepath.Dir(path), 0o700)
	write := func(s string) { os.WriteFile(path, []byte(s), 0o600) }
	for _, tt := range []struct{ content, err string }{
		{"[pedal]\ndevice = \"/dev/input/by-id/usb-VEC_VEC_USB_Footpedal-event-if00\"\nrewind = \"KEY_A\"\nplay = \"KEY_B, BTN_1\"\nforward = \"0x2e\"\nauto_rewind = \"1.5s\"\n", ""},
		{"[pedal]\nplay = \"PLAY\"\n", `pedal.play: "PLAY" is not a key code`},
		{"[pedal]\nauto_rewind = \"a while\"\n", `pedal.auto_rewind: "a while" is not a time from 0s to 10s`},
		{"[pedal]\nauto_rewind = \"11s\"\n", `is not a time from 0s to 10s`},
		{"[pedal]\nspeed = 2\n", `unknown setting "pedal.speed"`},
		{"[pedals]\nplay = \"BTN_1\"\n", `unknown setting "pedals.play"`},
	} {
		write(tt.content)
		c, err := loadConfig(path)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.content, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		a := &app{config: c}
		m, err := a.pedalMapping()
		if err != nil || m[30] != pedal.Rewind || m[48] != pedal.Play || m[pedal.BTN0+1] != pedal.Play || m[46] != pedal.Forward {
			t.Errorf("mapping %v, %v", m, err)
		}
		if a.pedalAutoRewind() != 1500*time.Millisecond || a.pedalDevice() != "/dev/input/by-id/usb-VEC_VEC_USB_Footpedal-event-if00" {
			t.Errorf("auto-rewind %v, device %q", a.pedalAutoRewind(), a.pedalDevice())
		}
	}

	// A code given to two pedals is refused where it is used.
	write("[pedal]\nplay = \"BTN_0\"\n")
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&app{config: c}).pedalMapping(); err == nil || !strings.Contains(err.Error(), "BTN_0 is both the rewind and the play pedal") {
		t.Errorf("a code of two pedals: %v", err)
	}

	// config set writes a [pedal] table; unsetting every key removes it.
	os.Remove(path)
	a := &app{getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] }}
	if err := a.saveSetting("pedal.auto_rewind", "3"); err != nil {
		t.Fatal(err)
	}
	if err := a.saveSetting("pedal.play", "KEY_F13"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "[pedal]\n") || !strings.Contains(string(raw), `auto_rewind = "3s"`) || !strings.Contains(string(raw), `play = "KEY_F13"`) {
		t.Errorf("settings file:\n%s", raw)
	}
	a.saveSetting("pedal.auto_rewind", "")
	a.saveSetting("pedal.play", "")
	if raw, _ := os.ReadFile(path); strings.Contains(string(raw), "pedal") {
		t.Errorf("an empty [pedal] table is left:\n%s", raw)
	}
	if err := a.saveSetting("pedal.auto_rewind", "0s"); err != nil {
		t.Fatal(err)
	}
	c, _ = loadConfig(path)
	if d := (&app{config: c}).pedalAutoRewind(); d >= 0 {
		t.Errorf("auto_rewind 0s is none (negative for the TUI), got %v", d)
	}
}

// The TUI's pedal: none found is no pedal and no message; a configured
// pedal that is missing says so; a found one is read.
func TestWatchPedal(t *testing.T) {
	byID := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{config: &config{}}
	if ch := a.watchPedal(ctx, byID); ch != nil {
		t.Error("no pedal found: want no channel")
	}
	missing := filepath.Join(byID, "usb-VEC_VEC_USB_Footpedal-event-if00")
	a.config.Pedal = &pedalConfig{Device: &missing}
	ev := <-a.watchPedal(ctx, byID)
	if ev.Err == nil || !strings.Contains(ev.Err.Error(), "(setting pedal.device)") {
		t.Errorf("a configured pedal that is missing: %v", ev)
	}
	// Found by its name: a recorded stream in its place.
	b := pedal.AppendKey(nil, pedal.BTN0+1, true)
	b = pedal.AppendKey(b, 30, true)
	b = pedal.AppendKey(b, pedal.BTN0+1, false)
	if err := os.WriteFile(missing, b, 0o600); err != nil {
		t.Fatal(err)
	}
	a.config.Pedal = nil
	var got []string
	for ev := range a.watchPedal(ctx, byID) {
		got = append(got, ev.String())
	}
	if want := "BTN_1 down (play)|BTN_1 up (play)"; strings.Join(got, "|") != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

// 'fieldcase pedal test --replay' on the real binary: each code with its
// pedal under the configured mapping, hidraw reports too, and a truncated
// recording fails with a clear error.
func TestPedalTestCommand(t *testing.T) {
	dir := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg")}
	ev := filepath.Join(dir, "in-usb-2.events")
	b := pedal.AppendKey(nil, pedal.BTN0+1, true)
	b = pedal.AppendKey(b, pedal.BTN0+1, false)
	b = pedal.AppendKey(b, 30, true) // KEY_A
	os.WriteFile(ev, b, 0o600)
	out, errOut, code := fc(t, env, "", "pedal", "test", "--replay", ev)
	want := "Reading the recording " + ev + " (input events). Rewind is BTN_0, play BTN_1, forward BTN_2.\n" +
		"BTN_1        down  play\n" +
		"BTN_1        up    play\n" +
		"KEY_A        down  not a pedal ('fieldcase config set pedal.play KEY_A' would make it the play pedal)\n" +
		"3 presses and releases.\n"
	if code != 0 || out != want {
		t.Errorf("pedal test: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, want)
	}

	if _, errOut, code := fc(t, env, "", "config", "set", "pedal.rewind", "KEY_A"); code != 0 {
		t.Fatalf("config set: %s", errOut)
	}
	out, _, _ = fc(t, env, "", "pedal", "test", "--replay", ev)
	if !strings.Contains(out, "Rewind is KEY_A,") || !strings.Contains(out, "KEY_A        down  rewind\n") {
		t.Errorf("with pedal.rewind KEY_A:\n%s", out)
	}
	out, _, _ = fc(t, env, "", "config", "show")
	if !strings.Contains(out, `pedal.rewind = "KEY_A"`) || !strings.Contains(out, "# pedal.device (not set)") {
		t.Errorf("config show:\n%s", out)
	}

	hid := filepath.Join(dir, "in-usb-2.hidraw")
	os.WriteFile(hid, []byte{0b010, 0b011, 0b000}, 0o600)
	out, _, code = fc(t, env, "", "pedal", "test", "--hidraw", "--replay", hid)
	if want := "(HID reports)"; code != 0 || !strings.Contains(out, want) ||
		!strings.Contains(out, "BTN_1        down  play\nBTN_0        down  not a pedal") || !strings.Contains(out, "4 presses and releases.") {
		t.Errorf("hidraw replay (exit %d):\n%s", code, out)
	}

	os.WriteFile(ev, b[:len(b)-3], 0o600)
	_, errOut, code = fc(t, env, "", "pedal", "test", "--replay", ev)
	if code != 1 || !strings.Contains(errOut, "the stream ended inside an input event") {
		t.Errorf("truncated: exit %d, %q", code, errOut)
	}
}
