package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/store"
)

// settings chooses the microphone the recorder records from (the default
// comes from Options.AudioDevice); Options.SaveAudioDevice, when set, keeps
// the choice for later sessions. Playback uses the same device when it has
// a speaker, else the system's default output.
type settings struct {
	env    *env
	devs   []audio.Device // input devices
	loaded bool
	err    string
	cursor int // 0 is the system default, i the input devs[i-1]
	// due is the due rules in force and where they come from (the
	// agency's signed rules win over this laptop's turnaround setting).
	due  dictation.DuePolicy
	w, h int
}

// duePolicyMsg carries the due rules in force (sent by duePolicyCmd).
type duePolicyMsg struct{ pol dictation.DuePolicy }

func duePolicyCmd(v *store.Vault, local dictation.DueRules) tea.Cmd {
	return func() tea.Msg { return duePolicyMsg{pol: dictation.DuePolicyOf(v, local)} }
}

// devicesMsg carries the audio devices (sent by listDevicesCmd).
type devicesMsg struct {
	devs []audio.Device
	err  error
}

func listDevicesCmd() tea.Msg {
	devs, err := audio.ListDevices()
	var in []audio.Device
	for _, d := range devs {
		if d.Inputs > 0 {
			in = append(in, d)
		}
	}
	return devicesMsg{devs: in, err: err}
}

func newSettings(e *env) *settings { return &settings{env: e} }

func (s *settings) Init() tea.Cmd {
	return tea.Batch(listDevicesCmd, s.env.io(duePolicyCmd(s.env.vault, s.env.dueRules)))
}

func (s *settings) Title() string { return s.env.l.T("tui.settings.title") }

func (s *settings) Typing() bool { return false }

func (s *settings) SetSize(w, h int) { s.w, s.h = w, h }

func (s *settings) ShortHelp() []key.Binding {
	return s.env.keys.settings.ShortHelp()
}

func (s *settings) FullHelp() [][]key.Binding {
	return s.env.keys.settings.FullHelp()
}

// choices are the device names offered: "" (the system default) first.
func (s *settings) choices() []string {
	out := []string{""}
	for _, d := range s.devs {
		out = append(out, d.Name)
	}
	return out
}

func (s *settings) Update(msg tea.Msg) (component, tea.Cmd) {
	k := s.env.keys.settings
	switch msg := msg.(type) {
	case duePolicyMsg:
		s.due = msg.pol
		return s, nil
	case devicesMsg:
		s.loaded, s.devs, s.err = true, msg.devs, ""
		if msg.err != nil {
			s.env.log.Warn("listing audio devices", "err", msg.err)
			s.err = s.env.l.T("tui.settings.list_failed", "Err", msg.err.Error())
		}
		s.cursor = 0
		for i, c := range s.choices() {
			if c == s.env.audioDevice {
				s.cursor = i
			}
		}
		return s, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return s, back("", false)
		case key.Matches(msg, k.Up):
			s.cursor = max(0, s.cursor-1)
		case key.Matches(msg, k.Down):
			s.cursor = min(len(s.choices())-1, s.cursor+1)
		case key.Matches(msg, k.Open):
			if !s.loaded {
				return s, nil
			}
			name := s.choices()[s.cursor]
			s.env.audioDevice = name
			l := s.env.l
			what := l.T("tui.settings.default_mic")
			if name != "" {
				what = name
			}
			save, log := s.env.saveAudioDevice, s.env.log
			if save == nil {
				return s, back(l.T("tui.settings.chosen_session", "Device", what), false)
			}
			return s, func() tea.Msg { // writing the settings file is I/O
				if err := save(name); err != nil {
					log.Warn("saving the microphone setting", "err", err)
					return backMsg{Notice: l.T("tui.settings.chosen_unsaved", "Device", what, "Err", err.Error())}
				}
				return backMsg{Notice: l.T("tui.settings.chosen_kept", "Device", what)}
			}
		}
	}
	return s, nil
}

// lifetime says how long the choice holds.
func (s *settings) lifetime() string {
	if s.env.saveAudioDevice != nil {
		return "  " + s.env.l.T("tui.settings.lifetime_kept")
	}
	return "  " + s.env.l.T("tui.settings.lifetime_session")
}

func (s *settings) View() string {
	st, lc := s.env.st, s.env.l
	w := s.w
	rule := strings.Repeat("─", max(0, w)) // i18n: a rule
	lines := []string{st.Title.Render(lc.T("tui.settings.title")), st.Muted.Render(rule), "",
		st.Section.Render(lc.T("tui.settings.microphone")) + st.Muted.Render(s.lifetime())}
	switch {
	case !s.loaded:
		lines = append(lines, st.Muted.Render("  "+lc.T("tui.settings.looking")))
		return strings.Join(lines, "\n")
	case s.err != "":
		lines = append(lines, st.Error.Render("  "+s.err))
	case len(s.devs) == 0:
		lines = append(lines, st.Error.Render("  "+lc.T("tui.settings.no_mic")))
	}
	if s.env.audioDevice != "" && !s.listed(s.env.audioDevice) {
		lines = append(lines, st.Warn.Render("  "+lc.T("tui.settings.not_connected", "Device", s.env.audioDevice)))
	}
	for i, name := range s.choices() {
		label := name
		if name == "" {
			label = lc.T("tui.settings.system_default")
			for _, d := range s.devs {
				if d.DefaultInput {
					label = lc.T("tui.settings.system_default_now", "Device", d.Name)
				}
			}
		}
		chosen := "  "
		if name == s.env.audioDevice {
			chosen = "● " // i18n: a sign, the legend below says it
		}
		l := "  " + chosen + label
		if i == s.cursor {
			l = st.Selected.Render(fitLine("▸ "+chosen+label, w)) // i18n: the cursor
		}
		lines = append(lines, fitLine(l, w))
	}
	lines = append(lines, "", fitLine(st.Muted.Render(lc.T("tui.settings.legend")), w))
	if s.due.Source != "" {
		lines = append(lines, "", st.Section.Render(lc.T("tui.settings.due"))+st.Muted.Render("  "+lc.T("tui.settings.due_note")))
		for _, l := range wrap(s.due.String(), max(10, w-2)) {
			lines = append(lines, fitLine("  "+l, w))
		}
	}
	return strings.Join(lines, "\n")
}

func (s *settings) listed(name string) bool {
	for _, d := range s.devs {
		if d.Name == name {
			return true
		}
	}
	return false
}
