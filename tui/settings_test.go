package tui

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

// Choosing a microphone keeps it through Options.SaveAudioDevice (the
// caseworker's settings file), inside a command; a failure to save is
// said, and the choice still holds for the session.
func TestSettingsSaveMicrophone(t *testing.T) {
	devs := []audio.Device{{Index: 0, Name: "default", Inputs: 2, DefaultInput: true}, {Index: 1, Name: "USB headset", Inputs: 1}}
	tests := []struct {
		name    string
		save    func(*[]string) func(string) error
		down    int
		want    string // the device saved, when saving
		notice  string
		heading string
	}{
		{"saved", func(got *[]string) func(string) error {
			return func(n string) error { *got = append(*got, n); return nil }
		}, 2, "USB headset", "Recording from USB headset from now on (kept in the settings).", "kept for next time"},
		{"system default", func(got *[]string) func(string) error {
			return func(n string) error { *got = append(*got, n); return nil }
		}, 0, "", "Recording from the system's default microphone from now on (kept in the settings).", "kept for next time"},
		{"save fails", func(got *[]string) func(string) error {
			return func(n string) error { *got = append(*got, n); return errors.New("disk full") }
		}, 2, "USB headset", "Recording from USB headset for this session; the choice could not be saved: disk full", "kept for next time"},
		{"no saving", nil, 2, "", "Recording from USB headset for this session.", "until you quit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var saved []string
			e := &env{l: i18n.English(), keys: newKeyMap(nil), st: newStyles(themeNoColor, true), now: fixedNow, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if tt.save != nil {
				e.saveAudioDevice = tt.save(&saved)
			}
			s := newSettings(e)
			s.SetSize(80, 20)
			s.Update(devicesMsg{devs: devs})
			if v := s.View(); !strings.Contains(v, tt.heading) {
				t.Errorf("heading lacks %q:\n%s", tt.heading, v)
			}
			for range tt.down {
				s.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
			}
			_, cmd := s.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
			if cmd == nil {
				t.Fatal("no command")
			}
			msg, ok := cmd().(backMsg)
			if !ok || msg.Notice != tt.notice {
				t.Errorf("notice %q, want %q", msg.Notice, tt.notice)
			}
			if tt.save != nil && (len(saved) != 1 || saved[0] != tt.want) {
				t.Errorf("saved %q, want [%q]", saved, tt.want)
			}
			if tt.save == nil && len(saved) != 0 {
				t.Errorf("saved %q without a saver", saved)
			}
		})
	}
}
