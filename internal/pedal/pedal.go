// Package pedal reads USB transcription foot pedals (VEC/Infinity
// IN-USB-2, Philips ACC2310/2320, OM System RS27/28/31 and the like) on
// Linux, with no service of their own: through the kernel's evdev
// interface (/dev/input/event*, the default) or through hidraw
// (/dev/hidraw*) for pedals that send a bare bitmask.
//
// Both decoders read an io.Reader, so a recorded stream replays exactly as
// a device would send it. Key codes become pedals through a Mapping, since
// the same model sends different codes depending on its firmware; 'fieldcase
// pedal test' shows what a pedal sends.
package pedal

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pedal is one of the three pedals of a transcription foot control.
type Pedal int

const (
	// None is a key that is not mapped to a pedal.
	None Pedal = iota
	// Rewind is the left pedal: held, playback goes back.
	Rewind
	// Play is the middle pedal: held, it plays; released, it pauses.
	Play
	// Forward is the right pedal: held, playback goes forward.
	Forward
)

func (p Pedal) String() string {
	switch p {
	case Rewind:
		return "rewind"
	case Play:
		return "play"
	case Forward:
		return "forward"
	}
	return "none"
}

// Event is a pedal pressed (Down) or released.
type Event struct {
	Pedal Pedal
	Down  bool
	// Code is the key code the device sent (for hidraw, BTN_0 + the bit).
	Code uint16
	// Err, on the last event before a Watch channel closes, says why the
	// device stopped (unplugged, a malformed stream); nil when the context
	// ended.
	Err error
}

func (e Event) String() string {
	if e.Err != nil {
		return "error: " + e.Err.Error()
	}
	dir := "up"
	if e.Down {
		dir = "down"
	}
	return fmt.Sprintf("%s %s (%s)", CodeName(e.Code), dir, e.Pedal)
}

// Key codes from linux/input-event-codes.h that pedals are known or likely
// to send. Others can be given by number.
const (
	BTN0 uint16 = 0x100 // BTN_0: BTN_0..BTN_9 follow
)

var codeNames = func() map[string]uint16 {
	m := map[string]uint16{
		"BTN_LEFT": 0x110, "BTN_RIGHT": 0x111, "BTN_MIDDLE": 0x112, "BTN_SIDE": 0x113, "BTN_EXTRA": 0x114,
		"BTN_FORWARD": 0x115, "BTN_BACK": 0x116,
		"BTN_TRIGGER": 0x120, "BTN_THUMB": 0x121, "BTN_THUMB2": 0x122, "BTN_TOP": 0x123, "BTN_TOP2": 0x124,
		"BTN_PINKIE": 0x125, "BTN_BASE": 0x126,
		"KEY_NEXTSONG": 163, "KEY_PLAYPAUSE": 164, "KEY_PREVIOUSSONG": 165, "KEY_STOPCD": 166,
		"KEY_REWIND": 168, "KEY_PLAY": 207, "KEY_FASTFORWARD": 208, "KEY_PAUSE": 119,
		"KEY_F1": 59, "KEY_F2": 60, "KEY_F3": 61, "KEY_F4": 62, "KEY_F5": 63, "KEY_F6": 64, "KEY_F7": 65,
		"KEY_F8": 66, "KEY_F9": 67, "KEY_F10": 68, "KEY_F11": 87, "KEY_F12": 88,
		"KEY_1": 2, "KEY_2": 3, "KEY_3": 4, "KEY_LEFTCTRL": 29, "KEY_LEFTSHIFT": 42, "KEY_LEFTALT": 56,
	}
	for i := range uint16(10) {
		m["BTN_"+strconv.Itoa(int(i))] = BTN0 + i
	}
	for i := range uint16(12) {
		m["KEY_F"+strconv.Itoa(13+int(i))] = 183 + i
	}
	// The letter keys, in their keyboard rows.
	for _, row := range []struct {
		first uint16
		keys  string
	}{{16, "QWERTYUIOP"}, {30, "ASDFGHJKL"}, {44, "ZXCVBNM"}} {
		for i, c := range row.keys {
			m["KEY_"+string(c)] = row.first + uint16(i)
		}
	}
	return m
}()

// CodeName is a key code's name ("BTN_0"), or its number for a code
// without one here.
func CodeName(code uint16) string {
	best := ""
	for n, c := range codeNames {
		// Several names for a code cannot happen here, but stay stable.
		if c == code && (best == "" || n < best) {
			best = n
		}
	}
	if best == "" {
		return strconv.Itoa(int(code))
	}
	return best
}

// ParseCode reads a key code: a name as linux/input-event-codes.h spells
// it (BTN_0, KEY_A, KEY_F13; case does not matter), or a number (258,
// 0x102).
func ParseCode(s string) (uint16, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if c, ok := codeNames[t]; ok {
		return c, nil
	}
	if n, err := strconv.ParseUint(strings.ToLower(t), 0, 16); err == nil && n > 0 && n < 0x300 {
		return uint16(n), nil
	}
	return 0, fmt.Errorf("%q is not a key code: a name such as BTN_0 or KEY_A, or a number from 1 to 767 ('fieldcase pedal test' shows what a pedal sends)", s)
}

// ParseCodes reads one or more key codes separated by commas.
func ParseCodes(s string) ([]uint16, error) {
	var cs []uint16
	for f := range strings.SplitSeq(s, ",") {
		c, err := ParseCode(f)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Mapping says which key codes are which pedal.
type Mapping map[uint16]Pedal

// DefaultMapping is BTN_0, BTN_1 and BTN_2 for rewind, play and forward:
// the left, middle and right pedal of the IN-USB-2 as the kernel's generic
// HID driver reports it, and the bits 0, 1 and 2 of a hidraw report.
func DefaultMapping() Mapping {
	return Mapping{BTN0: Rewind, BTN0 + 1: Play, BTN0 + 2: Forward}
}

// NewMapping builds a mapping from the codes of each pedal (each as
// ParseCodes reads it); an empty string keeps that pedal's default. A code
// given to two pedals (a default included) is an error.
func NewMapping(rewind, play, forward string) (Mapping, error) {
	m := Mapping{}
	for _, p := range []struct {
		pedal Pedal
		codes string
	}{{Rewind, rewind}, {Play, play}, {Forward, forward}} {
		var cs []uint16
		if strings.TrimSpace(p.codes) == "" {
			cs = []uint16{BTN0 + uint16(p.pedal-Rewind)}
		} else {
			var err error
			if cs, err = ParseCodes(p.codes); err != nil {
				return nil, fmt.Errorf("%s: %w", p.pedal, err)
			}
		}
		for _, c := range cs {
			if other, taken := m[c]; taken && other != p.pedal {
				return nil, fmt.Errorf("%s is both the %s and the %s pedal", CodeName(c), other, p.pedal)
			}
			m[c] = p.pedal
		}
	}
	return m, nil
}

// Codes lists the codes of pedal p, by name, for showing.
func (m Mapping) Codes(p Pedal) []string {
	var ns []string
	for c, q := range m {
		if q == p {
			ns = append(ns, CodeName(c))
		}
	}
	slices.Sort(ns)
	return ns
}

// ErrNoDevice says no pedal was found.
var ErrNoDevice = errors.New("no foot pedal found")
