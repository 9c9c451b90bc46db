package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
)

type pedalCmd struct {
	Test pedalTestCmd `cmd:"" help:"Show what the foot pedal sends, to set up its mapping: each key code pressed and released, and the pedal it is."`
	List pedalListCmd `cmd:"" help:"List the devices in /dev/input/by-id that look like foot pedals."`
}

// Help is shown by 'fieldcase pedal --help'.
func (pedalCmd) Help() string {
	return "A USB transcription foot pedal plays recordings in the transcript editor and the recorder: hold the middle pedal to play, let go to pause (a little back); hold the left or right pedal to go back or forward. " +
		"The settings pedal.device, pedal.rewind, pedal.play, pedal.forward and pedal.auto_rewind ('fieldcase config show') choose the device and which key code is which pedal. " +
		"The user needs read access to the device: see the udev rule in docs/PEDAL.md."
}

// pedalMapping is the mapping the settings file gives.
func (a *app) pedalMapping() (pedal.Mapping, error) {
	var r, p, f string
	if c := a.config; c != nil && c.Pedal != nil {
		r, _ = deref(c.Pedal.Rewind)
		p, _ = deref(c.Pedal.Play)
		f, _ = deref(c.Pedal.Forward)
	}
	m, err := pedal.NewMapping(r, p, f)
	if err != nil {
		return nil, cli.WithHint(fmt.Errorf("%s: %w", a.lang().T("pedal.settings"), err), a.lang().T("pedal.settings_hint"))
	}
	return m, nil
}

// pedalDevice is the configured pedal device, "" for none.
func (a *app) pedalDevice() string {
	if a.config == nil || a.config.Pedal == nil {
		return ""
	}
	d, _ := deref(a.config.Pedal.Device)
	return d
}

// pedalAutoRewind is the configured auto-rewind; zero for the default.
func (a *app) pedalAutoRewind() time.Duration {
	if a.config == nil || a.config.Pedal == nil || a.config.Pedal.AutoRewind == nil {
		return 0
	}
	d, err := time.ParseDuration(*a.config.Pedal.AutoRewind)
	if err != nil {
		return 0
	}
	if d == 0 {
		return -1 // none
	}
	return d
}

// watchPedal starts reading the foot pedal for the TUI: the configured
// device, else the first one found. No pedal is nil, silently, unless one
// was configured, or one was found and cannot be read: then the channel
// carries the reason (the TUI shows it once unlocked).
func (a *app) watchPedal(ctx context.Context, byID string) <-chan pedal.Event {
	failed := func(err error) <-chan pedal.Event {
		ch := make(chan pedal.Event, 1)
		ch <- pedal.Event{Err: err}
		close(ch)
		return ch
	}
	m, err := a.pedalMapping()
	if err != nil {
		return failed(err)
	}
	configured := a.pedalDevice()
	path, err := pedal.Find(configured, byID)
	if err != nil {
		if configured != "" {
			return failed(fmt.Errorf("%w (%s)", err, a.lang().T("pedal.setting_device")))
		}
		return nil
	}
	ch, err := pedal.Watch(ctx, path, m)
	if err != nil {
		return failed(err)
	}
	return ch
}

type pedalTestCmd struct {
	Device string `placeholder:"PATH" type:"path" help:"The device to read (default: the setting pedal.device, else the first pedal in /dev/input/by-id)."`
	Replay string `placeholder:"FILE" type:"existingfile" help:"Read a recorded stream instead of a device: Linux input events, or hidraw reports with --hidraw."`
	HIDRaw bool   `name:"hidraw" help:"The device or recording gives raw HID reports (a bitmask of the pedals), not input events; /dev/hidraw* devices are read so anyway."`
}

func (c *pedalTestCmd) Run(a *app) error {
	m, err := a.pedalMapping()
	if err != nil {
		return err
	}
	path, name := c.Replay, a.l.T("pedal.the_recording", "File", c.Replay)
	if path == "" {
		if path, err = pedal.Find(cmpOr(c.Device, a.pedalDevice()), pedal.ByIDDir); err != nil {
			if errors.Is(err, pedal.ErrNoDevice) {
				return cli.WithHint(err, a.l.T("pedal.none_hint", "Dir", pedal.ByIDDir))
			}
			return err
		}
		name = path
	}
	var (
		r      pedal.Reader
		closer io.Closer
	)
	if c.HIDRaw {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		r, closer = pedal.NewHIDReader(f, m, 1), f
	} else if r, closer, err = pedal.Open(path, m); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	go func() { <-ctx.Done(); closer.Close() }()
	kind := a.l.T("pedal.input_events")
	if c.HIDRaw || pedal.IsHIDRaw(path) {
		kind = a.l.T("pedal.hid_reports")
	}
	fprintf(a.stdout, "%s\n", a.l.T("pedal.reading", "Name", name, "Kind", kind, "Rewind", strings.Join(m.Codes(pedal.Rewind), ","),
		"Play", strings.Join(m.Codes(pedal.Play), ","), "Forward", strings.Join(m.Codes(pedal.Forward), ",")))
	if c.Replay == "" {
		fprintf(a.stdout, "%s\n", a.l.T("pedal.press_each"))
	}
	n := 0
	for {
		ev, err := r.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) || ctx.Err() != nil:
				fprintf(a.stdout, "%s\n", a.l.T("pedal.presses", "N", n))
				return nil
			default:
				return fmt.Errorf("%s: %w", a.l.T("pedal.reading_err", "Name", name), err)
			}
		}
		n++
		dir := a.l.T("pedal.up")
		if ev.Down {
			dir = a.l.T("pedal.down")
		}
		what := pedalName(a.l, ev.Pedal)
		if ev.Pedal == pedal.None {
			what = a.l.T("pedal.not_a_pedal", "Code", pedal.CodeName(ev.Code))
		}
		fprintf(a.stdout, "%-12s %-4s  %s\n", pedal.CodeName(ev.Code), dir, what)
	}
}

// pedalName is a pedal's name in l's language.
func pedalName(l *i18n.Locale, p pedal.Pedal) string {
	switch p {
	case pedal.Rewind:
		return l.T("pedal.rewind")
	case pedal.Play:
		return l.T("pedal.play")
	case pedal.Forward:
		return l.T("pedal.forward")
	}
	return p.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type pedalListCmd struct{}

func (c *pedalListCmd) Run(a *app) error {
	found, err := pedal.Discover(pedal.ByIDDir)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		fprintf(a.stdout, "%s\n", a.l.T("pedal.none_in", "Dir", pedal.ByIDDir))
		return nil
	}
	for _, p := range found {
		fprintf(a.stdout, "%s\n", p)
	}
	return nil
}
