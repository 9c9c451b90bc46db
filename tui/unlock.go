package tui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/fieldcase/fieldcase/store"
)

// unlockScreen asks for the passphrase. Unlocking runs scrypt (about 0.75 s)
// in a command, with a spinner; a wrong passphrase says so and lets the user
// try again.
type unlockScreen struct {
	env    *env
	input  textinput.Model
	spin   spinner.Model
	busy   bool
	reason string // why we are here again ("Locked after 10 minutes…")
	err    string
	tries  int
	w, h   int
}

type (
	// unlockResultMsg is the outcome of Vault.Unlock.
	unlockResultMsg struct{ err error }
	// unlockedMsg tells the root the vault is open: start a session.
	unlockedMsg struct{}
)

func newUnlockScreen(e *env, reason string) *unlockScreen {
	in := textinput.New()
	in.Prompt = ""
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	in.SetStyles(e.st.textinputStyles())
	in.SetWidth(40)
	in.Focus()
	sp := spinner.New(spinner.WithSpinner(spinner.Dot))
	return &unlockScreen{env: e, input: in, spin: sp, reason: reason}
}

func (u *unlockScreen) Init() tea.Cmd { return nil }

func (u *unlockScreen) Title() string { return u.env.l.T("tui.unlock.title") }

func (u *unlockScreen) Typing() bool { return true }

func (u *unlockScreen) SetSize(w, h int) {
	u.w, u.h = w, h
	u.input.SetWidth(min(40, max(10, w-24)))
}

func (u *unlockScreen) ShortHelp() []key.Binding { return u.env.keys.unlock.ShortHelp() }

func (u *unlockScreen) FullHelp() [][]key.Binding { return u.env.keys.unlock.FullHelp() }

func unlockCmd(v *store.Vault, pass string) tea.Cmd {
	return func() tea.Msg { return unlockResultMsg{err: v.Unlock(pass)} }
}

func (u *unlockScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case unlockResultMsg:
		u.busy = false
		switch {
		case msg.err == nil:
			return u, cmdOf(unlockedMsg{})
		case errors.Is(msg.err, store.ErrWrongPassphrase):
			u.tries++
			u.err = u.env.l.T("tui.unlock.wrong")
			if u.tries > 1 {
				u.err = u.env.l.N("tui.unlock.wrong_again", u.tries)
			}
		default:
			u.env.logErr("unlock", msg.err)
			u.err = u.env.l.T("tui.unlock.failed", "Err", msg.err.Error())
		}
		return u, u.input.Focus()
	case spinner.TickMsg:
		if !u.busy {
			return u, nil
		}
		var cmd tea.Cmd
		u.spin, cmd = u.spin.Update(msg)
		return u, cmd
	case tea.KeyPressMsg:
		if u.busy {
			return u, nil
		}
		if key.Matches(msg, u.env.keys.unlock.Unlock) {
			pass := u.input.Value()
			if pass == "" {
				u.err = u.env.l.T("tui.unlock.empty")
				return u, nil
			}
			// Don't keep the passphrase in the model longer than needed.
			u.input.Reset()
			u.busy, u.err, u.reason = true, "", ""
			return u, tea.Batch(unlockCmd(u.env.vault, pass), u.spin.Tick)
		}
	}
	var cmd tea.Cmd
	u.input, cmd = u.input.Update(msg)
	return u, cmd
}

func (u *unlockScreen) View() string {
	st, l := u.env.st, u.env.l
	var b strings.Builder
	b.WriteString(st.Title.Render(l.T("tui.unlock.heading", "Name", u.env.name)) + "\n\n")
	if u.reason != "" {
		b.WriteString(st.Warn.Render(u.reason) + "\n\n")
	}
	if u.busy {
		b.WriteString(u.spin.View() + " " + l.T("tui.unlock.unlocking") + "\n")
	} else {
		b.WriteString(st.FocusLbl.Render(l.T("tui.unlock.passphrase")+" ") + u.input.View() + "\n")
	}
	b.WriteString("\n")
	if u.err != "" {
		b.WriteString(st.Error.Render(u.err) + "\n")
	} else {
		b.WriteString("\n")
	}
	if u.env.demoPass != "" {
		b.WriteString(st.Muted.Render(l.T("tui.unlock.demo")+" ") + u.env.demoPass + "\n")
	}
	bw := min(max(u.w-4, 20), 64)
	box := st.Box.Width(bw).Render(strings.TrimRight(b.String(), "\n"))
	return lipgloss.Place(u.w, u.h, lipgloss.Center, lipgloss.Center, box)
}
