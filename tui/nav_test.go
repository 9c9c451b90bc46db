package tui

import (
	"fmt"
	"slices"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// navModel is a root model unlocked on a demo vault whose user has role,
// showing the case list. No command runs: the tests look at the stack.
func navModel(t *testing.T, role protocol.Role) (*Model, *store.Vault) {
	t.Helper()
	v := roleVault(t, "Nav Tester", role)
	m := New(testOptions(t, v))
	m.unlockedCmds()
	t.Cleanup(m.Shutdown)
	return m, v
}

// screens names the screens stacked, bottom first.
func screens(m *Model) []string {
	var s []string
	for _, c := range m.stack {
		s = append(s, fmt.Sprintf("%T", c))
	}
	return s
}

// TestNavigation opens screens through navMsg as the root does: who may
// open what, replacing and stacking, the notices, and the two screens a
// resumed draft opens in place of the prompt.
func TestNavigation(t *testing.T) {
	tests := []struct {
		name   string
		role   protocol.Role
		before func(m *Model, cv store.CaseView) // screens already open
		nav    func(cv store.CaseView) navMsg
		want   []string // the screens above the case list
		notice string
	}{
		{"a case", protocol.RoleCaseworker, nil,
			func(cv store.CaseView) navMsg { return openCase(cv.ID, "") }, []string{"*tui.caseDetail"}, ""},
		{"the team view, by a caseworker", protocol.RoleCaseworker, nil,
			func(store.CaseView) navMsg { return openTeam() }, nil, "The team view is for supervisors."},
		{"the team view, by a supervisor", protocol.RoleSupervisor, nil,
			func(store.CaseView) navMsg { return openTeam() }, []string{"*tui.teamScreen"}, ""},
		{"a case's assignment, by a caseworker", protocol.RoleCaseworker, nil,
			func(cv store.CaseView) navMsg { return openAssign(cv.ID, cv.Value.Ref) }, nil, "Reassigning a case is for supervisors."},
		{"the destruction queue, by an admin", protocol.RoleAdmin, nil,
			func(store.CaseView) navMsg { return openRetention() }, []string{"*tui.retentionScreen"}, ""},
		{"the consent overview, by a typist", protocol.RoleTypist, nil,
			func(store.CaseView) navMsg { return openConsents() }, nil, "The consent overview is for caseworkers and supervisors."},
		{"the typing queue, by a caseworker", protocol.RoleCaseworker, nil,
			func(store.CaseView) navMsg { return openTypingQueue() }, nil, "The typing queue is for typists."},
		{"the typing queue, by a typist", protocol.RoleTypist, nil,
			func(store.CaseView) navMsg { return openTypingQueue() }, []string{"*tui.typingQueue"}, ""},
		{"the settings, once", protocol.RoleCaseworker,
			func(m *Model, _ store.CaseView) { m.open(openSettings()) },
			func(store.CaseView) navMsg { return openSettings() }, []string{"*tui.settings"}, ""},
		{"a note's editor in place of the conflict", protocol.RoleCaseworker,
			func(m *Model, cv store.CaseView) {
				m.open(openCase(cv.ID, ""))
				m.open(openConflict(cv.ID, cv.ID, record.KindCase))
			},
			func(cv store.CaseView) navMsg {
				return editNote(store.Draft{CaseID: cv.ID}, cv.Value.Ref, "Combined.").replacing()
			}, []string{"*tui.caseDetail", "*tui.noteEdit"}, "Combined."},
		{"a resumed note: the case and its editor", protocol.RoleCaseworker,
			func(m *Model, _ store.CaseView) { m.push(newDraftPrompt(m.env, nil)) },
			func(cv store.CaseView) navMsg { return resumeDraft(store.Draft{CaseID: cv.ID}, cv.Value.Ref) },
			[]string{"*tui.caseDetail", "*tui.noteEdit"}, ""},
		{"a resumed task: the case and its tasks", protocol.RoleCaseworker,
			func(m *Model, _ store.CaseView) { m.push(newDraftPrompt(m.env, nil)) },
			func(cv store.CaseView) navMsg {
				return resumeDraft(store.Draft{CaseID: cv.ID, Form: store.DraftTask}, cv.Value.Ref)
			},
			[]string{"*tui.caseDetail", "*tui.tasks"}, ""},
		{"a resumed new case: its form alone", protocol.RoleCaseworker,
			func(m *Model, _ store.CaseView) { m.push(newDraftPrompt(m.env, nil)) },
			func(store.CaseView) navMsg { return resumeDraft(store.Draft{Form: store.DraftCase}, "") },
			[]string{"*tui.caseEdit"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, v := navModel(t, tt.role)
			cv := caseWithNotes(t, v, 1)
			if tt.before != nil {
				tt.before(m, cv)
			}
			m.status.setNotice("", false)
			before := screens(m)
			m.Update(tt.nav(cv))
			want := append([]string{"*tui.caseList"}, tt.want...)
			if got := screens(m); !slices.Equal(got, want) {
				t.Errorf("screens %q, want %q (before: %q)", got, want, before)
			}
			if m.status.notice != tt.notice {
				t.Errorf("notice %q, want %q", m.status.notice, tt.notice)
			}
		})
	}
}

// TestNavigationResumedTaskAdds: a resumed task's list opens adding one,
// sized, so its form finds the draft.
func TestNavigationResumedTaskAdds(t *testing.T) {
	m, v := navModel(t, protocol.RoleCaseworker)
	cv := caseWithNotes(t, v, 1)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.push(newDraftPrompt(m.env, nil))
	m.Update(resumeDraft(store.Draft{CaseID: cv.ID, Form: store.DraftTask}, cv.Value.Ref))
	tk, ok := m.top().(*tasks)
	if !ok {
		t.Fatalf("top is %T, want the tasks", m.top())
	}
	if tk.adding == nil || tk.w != 100 {
		t.Errorf("tasks adding %v at width %d, want a form at width 100", tk.adding != nil, tk.w)
	}
	if d, ok := m.stack[1].(*caseDetail); !ok || !d.audited || d.ref != cv.Value.Ref {
		t.Errorf("under the tasks: %T, want the case %s with its open audited", m.stack[1], cv.Value.Ref)
	}
}

// TestNavigationLocked: a navigation arriving after a lock opens nothing
// over the unlock screen.
func TestNavigationLocked(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	m := New(testOptions(t, v))
	t.Cleanup(m.Shutdown)
	m.Update(openSearch())
	m.Update(backMsg{})
	if got, want := screens(m), []string{"*tui.unlockScreen"}; !slices.Equal(got, want) {
		t.Errorf("screens %q, want %q", got, want)
	}
}

// TestNavigationSettingsAudioLive: the settings are refused over a screen
// holding live audio, whose messages must keep reaching it.
func TestNavigationSettingsAudioLive(t *testing.T) {
	m, _ := navModel(t, protocol.RoleCaseworker)
	m.push(liveAudio{m.top()})
	m.Update(openSettings())
	if _, ok := m.top().(liveAudio); !ok {
		t.Errorf("top is %T, want the screen with live audio", m.top())
	}
	if want := m.env.l.T("tui.app.settings_audio_live"); m.status.notice != want {
		t.Errorf("notice %q, want %q", m.status.notice, want)
	}
}

// liveAudio is a screen whose audio is live.
type liveAudio struct{ component }

func (liveAudio) AudioLive() bool                     { return true }
func (liveAudio) AudioStop(closing bool) func() error { return func() error { return nil } }
