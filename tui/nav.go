package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Navigation: a screen says where to go with one message, navMsg, built by
// the functions below (openCase, editNote, openTeam…); the root builds the
// screen it names and stacks it. Who may open a screen is decided here, where
// the screen is built, so no way of reaching a screen can skip the check.
// Going back is not opening: backMsg is its own message.

// navMsg asks the root to open a screen.
type navMsg struct {
	// open builds what to stack, from the shared env and the screen on top
	// now; it runs in Update, never in a command.
	open func(e *env, top component) opening
	// replace swaps the top screen for the new one instead of stacking it.
	replace bool
}

// opening is what a navMsg's open built.
type opening struct {
	// screen goes on top; nil opens nothing (notice says why, if anything).
	screen component
	// below are stacked under screen without their Init: they start when
	// they are uncovered (the case under an editor resumed from a draft).
	below []component
	// also runs beside the screen's Init.
	also tea.Cmd
	// then, if set, runs once the screen is stacked and sized.
	then func() tea.Cmd
	// notice is shown in the status bar.
	notice string
}

// replacing is n swapping the top screen instead of stacking over it.
func (n navMsg) replacing() navMsg {
	n.replace = true
	return n
}

// to is a navMsg that opens the screen open builds.
func to(open func(e *env) component) navMsg {
	return navMsg{open: func(e *env, _ component) opening { return opening{screen: open(e)} }}
}

// refused opens nothing and says why.
func refused(why string) opening { return opening{notice: why} }

// open stacks what msg asks for. The root calls it only while unlocked: a
// late answer must not open a screen over the unlock screen.
func (m *Model) open(msg navMsg) tea.Cmd {
	o := msg.open(m.env, m.top())
	if o.notice != "" {
		m.status.setNotice(o.notice, false)
	}
	if o.screen == nil {
		return nil
	}
	if msg.replace && len(m.stack) > 1 {
		m.stack = m.stack[:len(m.stack)-1]
	}
	for _, c := range o.below {
		c.SetSize(m.contentSize())
		m.stack = append(m.stack, c)
	}
	cmd := tea.Batch(o.also, m.push(o.screen))
	if o.then != nil {
		cmd = tea.Batch(cmd, o.then())
	}
	return cmd
}

// openCase opens a case's detail, scrolled to noteID when set.
func openCase(caseID, noteID string) navMsg {
	return to(func(e *env) component { return newCaseDetail(e, caseID, noteID) })
}

// editCase opens the case form; caseID "" makes a new case.
func editCase(caseID string) navMsg {
	return to(func(e *env) component { return newCaseEdit(e, caseID, nil) })
}

// mergeCase opens the case form on the combination of a case's versions
// in conflict (merged carries every version): saving writes a merge.
func mergeCase(caseID string, merged *store.CaseView) navMsg {
	return to(func(e *env) component { return newCaseEdit(e, caseID, merged) })
}

// editNote opens the note editor on a draft (a new note, an edit, or the
// combination of a note's versions in conflict), showing notice.
func editNote(d store.Draft, ref, notice string) navMsg {
	return navMsg{open: func(e *env, _ component) opening {
		return opening{screen: newNoteEdit(e, d, ref), notice: notice}
	}}
}

// resumeDraft opens the case and the editor on a draft over it, in place
// of the draft prompt (a form finds its draft itself).
func resumeDraft(d store.Draft, ref string) navMsg {
	return navMsg{replace: true, open: func(e *env, _ component) opening {
		if d.Form == store.DraftCase && d.CaseID == "" {
			return opening{screen: newCaseEdit(e, "", nil)}
		}
		detail := newCaseDetail(e, d.CaseID, d.NoteID)
		detail.ref = ref
		o := opening{below: []component{detail}, also: detail.auditOpen()}
		switch d.Form {
		case store.DraftCase:
			o.screen = newCaseEdit(e, d.CaseID, nil)
		case store.DraftConsent:
			o.screen = newConsentEdit(e, d.CaseID)
		case store.DraftTask:
			t := newTasks(e, d.CaseID)
			o.screen, o.then = t, t.startAdding
		default:
			o.screen = newNoteEdit(e, d, ref)
		}
		return o
	}}
}

// editConsent opens the consent form of a case.
func editConsent(caseID string) navMsg {
	return to(func(e *env) component { return newConsentEdit(e, caseID) })
}

// openTasks opens a case's tasks and visits, with taskID selected when set.
func openTasks(caseID, taskID string) navMsg {
	return to(func(e *env) component {
		t := newTasks(e, caseID)
		t.focusID = taskID
		return t
	})
}

// openAgenda opens the agenda across cases.
func openAgenda() navMsg { return to(func(e *env) component { return newAgenda(e) }) }

// openSearch opens note search.
func openSearch() navMsg { return to(func(e *env) component { return newSearch(e) }) }

// openConflict opens the versions of a record in conflict.
func openConflict(caseID, recordID string, kind record.Kind) navMsg {
	req := conflictReq{CaseID: caseID, RecordID: recordID, Kind: kind}
	return to(func(e *env) component { return newConflict(e, req) })
}

// openRecordings opens a case's recordings.
func openRecordings(caseID, ref string) navMsg {
	return to(func(e *env) component { return newRecordings(e, caseID, ref) })
}

// openRecorder opens the recorder on a recording of a case; recordingID ""
// starts a new one.
func openRecorder(caseID, recordingID, ref string) navMsg {
	return to(func(e *env) component { return newRecorder(e, caseID, recordingID, ref) })
}

// openSettings opens the settings (the microphone), unless they are open
// already or the screen on top holds live audio: its messages go to the
// top screen, so it must stay there.
func openSettings() navMsg {
	return navMsg{open: func(e *env, top component) opening {
		if _, ok := top.(*settings); ok {
			return opening{}
		}
		if a, ok := top.(audioHolder); ok && a.AudioLive() {
			return refused(e.l.T("tui.app.settings_audio_live"))
		}
		return opening{screen: newSettings(e)}
	}}
}

// supervisors opens what build builds for supervisors and admins, and
// refuses anyone else with why.
func supervisors(why func(e *env) string, build func(e *env) component) navMsg {
	return navMsg{open: func(e *env, _ component) opening {
		if !isSupervisor(e.vault) {
			return refused(why(e))
		}
		return opening{screen: build(e)}
	}}
}

// openTeam opens the team view (supervisors).
func openTeam() navMsg {
	return supervisors(func(e *env) string { return e.l.T("tui.team.refuse_team") },
		func(e *env) component { return newTeamScreen(e, e.teamService) })
}

// openPolicy opens the weighting policy (supervisors).
func openPolicy() navMsg {
	return supervisors(func(e *env) string { return e.l.T("tui.team.refuse_policy") },
		func(e *env) component { return newPolicyScreen(e, e.teamService) })
}

// openTurnaround opens the dictation turnaround (supervisors).
func openTurnaround() navMsg {
	return supervisors(func(e *env) string { return e.l.T("tui.team.refuse_turnaround") },
		func(e *env) component { return newTurnaroundScreen(e) })
}

// openRetention opens the destruction queue (supervisors).
func openRetention() navMsg {
	return supervisors(retentionForSupervisors, func(e *env) component { return newRetentionScreen(e) })
}

// openAssign opens the assignment of a case (supervisors).
func openAssign(caseID, ref string) navMsg {
	return supervisors(func(e *env) string { return e.l.T("tui.team.refuse_assign") },
		func(e *env) component { return newAssignScreen(e, e.teamService, caseID, ref) })
}

// openWorkerCases opens the cases a worker holds, per the team view.
func openWorkerCases(userID, name string) navMsg {
	return to(func(e *env) component { return newWorkerCaseList(e, userID, name) })
}

// openConsents opens the consent overview (everyone but typists).
func openConsents() navMsg {
	return navMsg{open: func(e *env, _ component) opening {
		if e.vault.Profile().Role == protocol.RoleTypist {
			return refused(e.l.T("tui.team.refuse_consents"))
		}
		return opening{screen: newConsentOverview(e)}
	}}
}

// openAccess opens a case's access history.
func openAccess(caseID, ref string) navMsg {
	return to(func(e *env) component { return newAccessHistory(e, caseID, ref) })
}

// openTypingQueue opens the recordings waiting for typing (typists).
func openTypingQueue() navMsg {
	return navMsg{open: func(e *env, _ component) opening {
		if e.vault.Profile().Role != protocol.RoleTypist {
			return refused(e.l.T("tui.team.refuse_typing"))
		}
		return opening{screen: newTypingQueue(e)}
	}}
}

// openTranscribe opens the transcript editor of a recording.
func openTranscribe(rec queuedRec) navMsg {
	return to(func(e *env) component { return newTranscribe(e, rec) })
}
