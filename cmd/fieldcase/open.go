package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/tui"
)

type openCmd struct {
	IdleLock     int    `name:"idle-lock" default:"10" env:"FIELDCASE_IDLE_LOCK" group:"tui" placeholder:"MINUTES" help:"Lock after this many minutes without a key press (0: never; setting idle_lock)."`
	HighContrast bool   `name:"high-contrast" env:"FIELDCASE_HIGH_CONTRAST" group:"tui" help:"High-contrast colours (setting high_contrast)."`
	AudioDevice  string `name:"audio-device" env:"FIELDCASE_AUDIO_DEVICE" group:"tui" placeholder:"DEVICE" help:"Microphone for dictation: name or index, see 'fieldcase recording devices' (default: the system's; setting audio_device, which the TUI's settings screen writes)."`
	Log          string `group:"tui" placeholder:"FILE" type:"path" help:"Diagnostics log file (default under the XDG state directory; setting log)."`
}

// needTerminal checks, before anything is opened, that the TUI has a
// terminal to draw on and read keys from: standard output, and standard
// input or the controlling terminal (bubbletea falls back to /dev/tty).
func needTerminal(a *app) error {
	errNoTerminal, hint := a.l.Error("open.no_terminal"), a.l.T("open.no_terminal_hint")
	if !isTTY(a.stdout) {
		return cli.WithHint(errNoTerminal, hint)
	}
	if isTTY(a.stdin) {
		return nil
	}
	tty, err := openTTY()
	if err != nil {
		return cli.WithHint(errNoTerminal, hint)
	}
	tty.Close()
	return nil
}

func (c *openCmd) Run(a *app) error {
	if err := needTerminal(a); err != nil {
		return err
	}
	v, err := store.Open(a.vaultPath(), store.Options{Program: "fieldcase tui"})
	if err != nil {
		return err
	}
	defer v.Close()
	logger, logPath, closeLog := c.logger()
	defer closeLog()
	// PortAudio and ALSA write to file descriptor 2 from C; on the TUI's
	// screen that would be garbage. Send it to the log for the session.
	if logPath != "" {
		defer redirectC(a, logPath)()
	}
	opts := tui.Options{Locale: a.l, Vault: v, HighContrast: c.HighContrast, Log: logger, IdleLock: time.Duration(c.IdleLock) * time.Minute,
		AudioDevice: c.AudioDevice, DateOrder: a.dateOrder(), DueRules: a.localDueRules(),
		// The microphone chosen in the settings screen is kept for next time.
		SaveAudioDevice: func(name string) error { return a.saveSetting("audio_device", name) },
		OnLock:          a.stopAgent}
	if c.IdleLock == 0 {
		opts.IdleLock = -1
	}
	// The foot pedal, if there is one, until the TUI ends.
	pedalCtx, stopPedal := context.WithCancel(a.ctx)
	defer stopPedal()
	opts.Pedal, opts.AutoRewind = a.watchPedal(pedalCtx, pedal.ByIDDir), a.pedalAutoRewind()
	if v.IsDemo() {
		opts.DemoPassphrase = demo.Passphrase
	}
	var bridge *syncBridge
	if v.Enrolled() {
		bridge = &syncBridge{ctx: a.ctx, v: v, log: logger, l: a.l}
		defer bridge.Close()
		opts.Sync, opts.Team, opts.Retention = bridge, bridge, bridge
	} else if v.IsDemo() {
		opts.Team = demoTeam{v}
	}
	logger.Info("tui start", "vault", v.Name(), "demo", v.IsDemo())
	err = tui.Run(a.ctx, opts)
	if bridge != nil {
		bridge.Close() // a round under way ends first
		if n := v.OutboxLen(); n > 0 && v.Unlocked() {
			fmt.Fprintf(a.stderr, "fieldcase: %s\n", a.l.T("open.waiting", "N", n)) // i18n: the program's name, as its error path writes it
		}
	}
	return err
}

// logger opens the diagnostics log. The screen is not a log; a log never
// holds case data (only events, counts and errors).
func (c *openCmd) logger() (*slog.Logger, string, func()) {
	path := c.Log
	if path == "" {
		dir := os.Getenv("XDG_STATE_HOME")
		if dir == "" {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".local", "state")
		}
		path = filepath.Join(dir, "fieldcase", "fieldcase.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return slog.New(slog.DiscardHandler), "", func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), "", func() {}
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), path, func() { f.Close() }
}
