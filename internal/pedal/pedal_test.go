package pedal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func readAll(t *testing.T, r Reader) ([]Event, error) {
	t.Helper()
	var evs []Event
	for {
		ev, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return evs, nil
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestEvdevReader(t *testing.T) {
	var b []byte
	b = AppendEvdev(b, 4, 4, 0x90002) // EV_MSC MSC_SCAN, as hid-generic sends first
	b = AppendKey(b, BTN0+1, true)
	b = AppendEvdev(b, unix.EV_KEY, BTN0+1, 2) // auto-repeat: skipped
	b = AppendKey(b, BTN0+1, false)
	b = AppendKey(b, BTN0, true)
	b = AppendKey(b, 30, true) // KEY_A: not mapped by default
	b = AppendKey(b, BTN0+2, false)
	b = AppendEvdev(b, unix.EV_KEY, BTN0, 7) // a value no key has: skipped
	evs, err := readAll(t, NewEvdevReader(bytes.NewReader(b), DefaultMapping()))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Pedal: Play, Down: true, Code: BTN0 + 1},
		{Pedal: Play, Down: false, Code: BTN0 + 1},
		{Pedal: Rewind, Down: true, Code: BTN0},
		{Pedal: None, Down: true, Code: 30},
		{Pedal: Forward, Down: false, Code: BTN0 + 2},
	}
	if !slices.Equal(evs, want) {
		t.Errorf("events\n got %v\nwant %v", evs, want)
	}
	if EventSize != 24 && unsafeSizeIs64() {
		t.Errorf("EventSize %d on a 64-bit machine, want 24", EventSize)
	}
}

func unsafeSizeIs64() bool { return ^uint(0)>>63 == 1 }

func TestEvdevTruncated(t *testing.T) {
	b := AppendKey(nil, BTN0, true)
	b = b[:len(b)-5]
	evs, err := readAll(t, NewEvdevReader(bytes.NewReader(b), DefaultMapping()))
	if len(evs) != 1 || !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, %v; want the press, then ErrTruncated", evs, err)
	}
	if !strings.Contains(err.Error(), "19 of 24 bytes") && EventSize == 24 {
		t.Errorf("error %q does not say how much was read", err)
	}
}

func TestHIDReader(t *testing.T) {
	// Middle down, middle up, left down, left+right, right only, none; a
	// bit above the three pedals (bit 5), then nothing again.
	reports := []byte{0b010, 0b000, 0b001, 0b101, 0b100, 0b000, 0b100000, 0}
	evs, err := readAll(t, NewHIDReader(bytes.NewReader(reports), DefaultMapping(), 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Pedal: Play, Down: true, Code: BTN0 + 1},
		{Pedal: Play, Down: false, Code: BTN0 + 1},
		{Pedal: Rewind, Down: true, Code: BTN0},
		{Pedal: Forward, Down: true, Code: BTN0 + 2},
		{Pedal: Rewind, Down: false, Code: BTN0},
		{Pedal: Forward, Down: false, Code: BTN0 + 2},
		{Pedal: None, Down: true, Code: BTN0 + 5},
		{Pedal: None, Down: false, Code: BTN0 + 5},
	}
	if !slices.Equal(evs, want) {
		t.Errorf("events\n got %v\nwant %v", evs, want)
	}
	// Reports of 8 bytes: only the first counts; a short last one is an error.
	long := []byte{1, 9, 9, 9, 9, 9, 9, 9, 0, 9, 9}
	evs, err = readAll(t, NewHIDReader(bytes.NewReader(long), DefaultMapping(), 8))
	if len(evs) != 1 || evs[0].Pedal != Rewind || !errors.Is(err, ErrTruncated) {
		t.Errorf("8-byte reports: %v, %v", evs, err)
	}
}

func TestParseCode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint16
		err  bool
	}{
		{"BTN_0", 0x100, false}, {"btn_2", 0x102, false}, {" KEY_A ", 30, false}, {"KEY_Q", 16, false},
		{"KEY_M", 50, false}, {"KEY_F13", 183, false}, {"KEY_F12", 88, false}, {"BTN_TRIGGER", 0x120, false},
		{"258", 258, false}, {"0x102", 0x102, false},
		{"", 0, true}, {"BTN_10", 0, true}, {"0", 0, true}, {"70000", 0, true}, {"play", 0, true},
	} {
		got, err := ParseCode(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseCode(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for _, name := range []string{"BTN_0", "KEY_A", "KEY_Z", "KEY_F24", "BTN_THUMB2"} {
		c, _ := ParseCode(name)
		if CodeName(c) != name {
			t.Errorf("CodeName(%d) = %s, want %s", c, CodeName(c), name)
		}
	}
	if CodeName(700) != "700" {
		t.Errorf("an unnamed code: %s", CodeName(700))
	}
}

func TestNewMapping(t *testing.T) {
	m, err := NewMapping("", "", "")
	if err != nil || len(m) != 3 || m[BTN0] != Rewind || m[BTN0+1] != Play || m[BTN0+2] != Forward {
		t.Fatalf("defaults: %v, %v", m, err)
	}
	m, err = NewMapping("KEY_A", "KEY_B, BTN_1", "KEY_C")
	if err != nil {
		t.Fatal(err)
	}
	if m[30] != Rewind || m[48] != Play || m[BTN0+1] != Play || m[46] != Forward || m[BTN0] != None {
		t.Errorf("KEY_A/B/C: %v", m)
	}
	if got := m.Codes(Play); !slices.Equal(got, []string{"BTN_1", "KEY_B"}) {
		t.Errorf("play codes %v", got)
	}
	for _, tt := range []struct{ r, p, f, err string }{
		{"", "BTN_0", "", "BTN_0 is both the rewind and the play pedal"},
		{"KEY_A", "KEY_A", "", "KEY_A is both the rewind and the play pedal"},
		{"", "", "nope", `forward: "nope" is not a key code`},
		{"BTN_0,", "", "", `rewind: "" is not a key code`},
	} {
		if _, err := NewMapping(tt.r, tt.p, tt.f); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("NewMapping(%q, %q, %q): %v, want %q", tt.r, tt.p, tt.f, err, tt.err)
		}
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{
		"usb-VEC_VEC_USB_Footpedal-event-if00",
		"usb-Logitech_USB_Receiver-event-kbd",
		"usb-Logitech_USB_Receiver-if01-event-mouse",
		"usb-Philips_Foot_Control-event-joystick",
		"usb-Philips_Foot_Control-joystick", // the joystick alias, not an event device
		"usb-OM_Digital_Solutions_RS31H-event-if00",
		"usb-Microsoft_Comfort_Mouse-event-mouse", // "om" only inside a word
		"usb-Philips_SpeechMike_III-event-kbd",    // a dictation microphone's buttons
		"usb-Philips_Optical_Mouse-event-mouse",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "usb-OM_Digital_Solutions_RS31H-event-if00"),
		filepath.Join(dir, "usb-Philips_Foot_Control-event-joystick"),
		filepath.Join(dir, "usb-VEC_VEC_USB_Footpedal-event-if00"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Discover\n got %v\nwant %v", got, want)
	}
	if p, err := Find("", dir); err != nil || p != want[0] {
		t.Errorf("Find: %s, %v", p, err)
	}
	if _, err := Find("", filepath.Join(dir, "none")); !errors.Is(err, ErrNoDevice) {
		t.Errorf("no by-id directory: %v, want ErrNoDevice", err)
	}
	if _, err := Find(filepath.Join(dir, "gone"), dir); err == nil || !strings.Contains(err.Error(), "the foot pedal "+dir) {
		t.Errorf("a configured pedal that is not there: %v", err)
	}
	if IsHIDRaw(want[0]) || !IsHIDRaw("/dev/hidraw3") {
		t.Error("IsHIDRaw")
	}
}

// Watch reads a FIFO as it would a device: events arrive as they are
// written, unmapped codes are left out, and cancelling the context ends a
// blocked read and closes the channel.
func TestWatchFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event0")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Opening a FIFO for reading waits for a writer: open both at once.
	wch := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			close(wch)
			return
		}
		wch <- w
	}()
	ch, err := Watch(ctx, path, DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	w := <-wch
	if w == nil {
		t.FailNow()
	}
	defer w.Close()
	b := AppendKey(nil, 30, true) // KEY_A: not a pedal by default
	b = AppendKey(b, BTN0+1, true)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Pedal != Play || !ev.Down {
			t.Errorf("first event %v, want play down", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	cancel() // the writer stays open: the read is blocked until this
	select {
	case ev, ok := <-ch:
		if ok {
			t.Errorf("after cancel: %v, want the channel closed", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not close on cancel")
	}
}

// A malformed stream ends the watch with an error event, not a panic.
func TestStreamError(t *testing.T) {
	b := AppendKey(nil, BTN0, true)
	b = append(b, 1, 2, 3)
	ch := Stream(context.Background(), NewEvdevReader(bytes.NewReader(b), DefaultMapping()), nil)
	var evs []Event
	for ev := range ch {
		evs = append(evs, ev)
	}
	if len(evs) != 2 || evs[0].Pedal != Rewind || !errors.Is(evs[1].Err, ErrTruncated) {
		t.Errorf("got %v; want rewind down, then a truncation error", evs)
	}
	if _, err := Watch(context.Background(), filepath.Join(t.TempDir(), "none"), DefaultMapping()); err == nil {
		t.Error("Watch of a missing device: no error")
	}
}

func FuzzEvdevReader(f *testing.F) {
	f.Add(AppendKey(AppendKey(nil, BTN0+1, true), BTN0+1, false))
	f.Add(AppendEvdev(nil, unix.EV_KEY, 0xffff, -1))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewEvdevReader(bytes.NewReader(b), DefaultMapping())
		n := 0
		for {
			ev, err := d.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTruncated) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, ErrTruncated) != (len(b)%EventSize != 0) {
					t.Fatalf("%d bytes: error %v", len(b), err)
				}
				break
			}
			n++
			if n > len(b)/EventSize {
				t.Fatalf("%d events from %d bytes", n, len(b))
			}
			if ev.Pedal != DefaultMapping()[ev.Code] {
				t.Fatalf("event %v not mapped", ev)
			}
		}
	})
}

func FuzzHIDReader(f *testing.F) {
	f.Add([]byte{2, 0, 1, 5, 4, 0}, uint8(1))
	f.Add([]byte{0xff, 0, 0xff}, uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, size uint8) {
		d := NewHIDReader(bytes.NewReader(b), DefaultMapping(), int(size%16))
		held := map[uint16]bool{}
		for {
			ev, err := d.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTruncated) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			// Presses and releases alternate for every bit.
			if held[ev.Code] == ev.Down || ev.Code < BTN0 || ev.Code > BTN0+7 {
				t.Fatalf("event %v with %v held", ev, held)
			}
			held[ev.Code] = ev.Down
		}
	})
}
