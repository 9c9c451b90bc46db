package pedal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// ByIDDir is where udev names input devices after their maker and model.
const ByIDDir = "/dev/input/by-id"

// nameWords are the words in a /dev/input/by-id name that mark a
// transcription pedal: the makers' names and the kind of device.
var nameWords = []string{"pedal", "footpedal", "footswitch", "footcontrol", "foot", "vec", "infinity",
	"philips", "olympus", "om", "omsystem", "speechware"}

// Discover lists the event devices in dir (normally ByIDDir) whose names
// look like a transcription pedal's, sorted by name. A missing dir (no
// input devices at all, as in a container) is no pedal, not an error.
func Discover(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []string
	for _, e := range ents {
		if looksLikePedal(e.Name()) {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(found)
	return found, nil
}

// looksLikePedal reports a by-id name of an event device (not its mouse
// or joystick alias; not a mouse or a SpeechMike, which a grab would take
// from the desktop) with one of nameWords among its words, e.g.
// "usb-VEC_VEC_USB_Footpedal-event-if00".
func looksLikePedal(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == '-' || r == '_' || r == '.' || r == ' '
	})
	if !slices.Contains(words, "event") || slices.Contains(words, "mouse") || slices.Contains(words, "speechmike") {
		return false // not a mouse, nor a dictation microphone's buttons
	}
	for _, w := range words {
		if slices.Contains(nameWords, w) {
			return true
		}
	}
	return false
}

// Find is the pedal to use: the configured path when there is one (it
// must exist), else the first one Discover finds in dir; ErrNoDevice when
// there is none.
func Find(configured, dir string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("the foot pedal %s: %w", configured, err)
		}
		return configured, nil
	}
	found, err := Discover(dir)
	if err != nil {
		return "", err
	}
	if len(found) == 0 {
		return "", ErrNoDevice
	}
	return found[0], nil
}

// IsHIDRaw reports a hidraw device path (read as raw reports, not input
// events).
func IsHIDRaw(path string) bool {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	return strings.HasPrefix(filepath.Base(path), "hidraw")
}

// eviocgrab is EVIOCGRAB, _IOW('E', 0x90, int): while held, a device's
// events go to this reader only.
const eviocgrab = 0x40044590

// Open opens a pedal and returns its reader. An event device is grabbed,
// so a pedal that sends letter keys never types into the desktop or the
// terminal while fieldcase reads it; a device that cannot be grabbed (a
// recorded stream, one grabbed already) is still read.
func Open(path string, m Mapping) (Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, nil, fmt.Errorf("%w: this user may not read the pedal; the udev rule in docs/PEDAL.md gives access", err)
		}
		return nil, nil, err
	}
	if IsHIDRaw(path) {
		return NewHIDReader(f, m, 1), f, nil
	}
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		if sc, err := f.SyscallConn(); err == nil {
			_ = sc.Control(func(fd uintptr) { _ = unix.IoctlSetInt(int(fd), eviocgrab, 1) })
		}
	}
	return NewEvdevReader(f, m), f, nil
}

// Watch opens the pedal at path and sends its pedal events (codes the
// mapping does not know are left out) until ctx ends or the device fails.
// The channel then closes; a failure comes first as an Event with Err (an
// unplugged pedal, a malformed stream). The end of a recorded stream is
// not a failure.
func Watch(ctx context.Context, path string, m Mapping) (<-chan Event, error) {
	r, c, err := Open(path, m)
	if err != nil {
		return nil, err
	}
	return Stream(ctx, r, c), nil
}

// Stream sends r's pedal events, as Watch does, until ctx ends or r fails
// or ends; c (may be nil) is closed then, and on ctx's end at once, to end
// a blocked read. Tests replay recorded streams through it.
func Stream(ctx context.Context, r Reader, c io.Closer) <-chan Event {
	ch := make(chan Event)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		if c != nil {
			c.Close()
		}
	}()
	go func() {
		defer close(ch)
		defer close(done)
		for {
			ev, err := r.Next()
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, io.EOF) {
					return
				}
				select {
				case ch <- Event{Err: fmt.Errorf("foot pedal: %w", err)}:
				case <-ctx.Done():
				}
				return
			}
			if ev.Pedal == None {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
