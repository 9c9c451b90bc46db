package tui

import (
	"time"

	"charm.land/bubbles/v2/key"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// The TUI's key bindings. Each screen has its own keymap, a struct of
// key.Binding that implements help.KeyMap: the screen matches keys with
// key.Matches against it and builds its help from it, so the help can never
// drift from what the keys do. Every screen's keymap embeds the shared
// global bindings, and TestKeymapsBindNoKeyTwice checks that no keymap binds
// one key to two bindings. A screen with modes (a confirmation, a form
// inside a list) has a keymap per mode, as a named field of its keymap.

// rootKeys are the keys the root model handles before the screen sees them.
type rootKeys struct {
	Quit      key.Binding // q: only where no text is being typed
	ForceQuit key.Binding // ctrl+c: always
	Help      key.Binding // ?: only where no text is being typed
	HelpAny   key.Binding // f1: always
	Lock      key.Binding // f12: always
	LockKey   key.Binding // L: only where no text is being typed
	Redraw    key.Binding // ctrl+l: every terminal user's reflex, so it redraws rather than locks
	SyncNow   key.Binding // f5, ctrl+r: always
	Settings  key.Binding // ,: only where no text is being typed
}

// globalKeys are the keys every screen has: the root's, and esc, which each
// screen handles as its way back (a form's cancel, a prompt's later).
type globalKeys struct {
	rootKeys
	Back key.Binding
	l    *i18n.Locale // the help texts' language, for the texts the methods below give
}

// ShortHelp is the tail of every key line.
func (g globalKeys) ShortHelp() []key.Binding { return []key.Binding{g.Help, g.Quit} }

// FullHelp is the column of global keys in the full help.
func (g globalKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{g.Help, withHelp(g.HelpAny, g.l.T("tui.keys.help_even_while_typing")), g.Back,
		g.Quit, withHelp(g.ForceQuit, g.l.T("tui.keys.quit_even_while_typing")), g.LockKey, g.Lock, g.SyncNow, g.Redraw, g.Settings}}
}

// cancel is esc where it cancels.
func (g globalKeys) cancel() key.Binding { return withHelp(g.Back, g.l.T("tui.keys.cancel")) }

// navKeys move through a list or a page.
type navKeys struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
}

// confirmKeys answer a yes/no question. While one is asked, esc means no.
type confirmKeys struct {
	rootKeys
	Yes key.Binding
	No  key.Binding
}

func (k confirmKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Yes, k.No} }
func (k confirmKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// formKeys are the keys of a form's fields (form.go).
type formKeys struct {
	NextField key.Binding
	PrevField key.Binding
	Choice    key.Binding // ←/→ change a choice
	Toggle    key.Binding // space toggles a check box
}

func (k formKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.NextField, k.PrevField, k.Choice, k.Toggle}
}
func (k formKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// playKeys play a recording in the transcript editor (playback.go):
// function keys and alt+…, which never type.
type playKeys struct {
	TPlay    key.Binding
	TRewind  key.Binding
	TForward key.Binding
	TSlower  key.Binding
	TFaster  key.Binding
	TMarker  key.Binding
	TWord    key.Binding // play from the word under the cursor (a machine draft's)
}

// unlockKeys: nothing is open yet, so there is no way back (esc).
type unlockKeys struct {
	rootKeys
	Unlock key.Binding
}

func (k unlockKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Unlock} }
func (k unlockKeys) FullHelp() [][]key.Binding { return [][]key.Binding{{k.Unlock}} }

// helpKeys scroll the help screen; the root handles them.
type helpKeys struct {
	globalKeys
	navKeys
}

func (k helpKeys) ShortHelp() []key.Binding { return []key.Binding{k.Back} }
func (k helpKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Back}}
}

type caseListKeys struct {
	globalKeys
	navKeys
	Open        key.Binding
	Filter      key.Binding
	Sort        key.Binding
	Search      key.Binding
	NewCase     key.Binding
	Agenda      key.Binding
	Team        key.Binding // the team's caseloads (supervisors)
	Consents    key.Binding // consent problems across cases
	TypingQueue key.Binding // recordings waiting for typing (typists)
}

// ShortHelp is the most used first: a narrow key line drops from the end
// (the title says how the list is sorted, and ? lists o). The screen adds
// the keys of the user's role.
func (k caseListKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Agenda, k.Filter, k.Search, k.NewCase, k.Sort}
}

func (k caseListKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Agenda, k.Filter, k.Sort, k.Search, k.NewCase},
		{k.Team, k.Consents},
	}
}

// workerCasesKeys are the case list's keys when it shows the cases a worker
// holds (from the team view): a is assign there, not the agenda.
type workerCasesKeys struct {
	globalKeys
	navKeys
	Open     key.Binding
	Reassign key.Binding
	Filter   key.Binding
	Sort     key.Binding
}

func (k workerCasesKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Reassign, k.Filter, k.Sort, k.Back}
}

func (k workerCasesKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Reassign, k.Filter, k.Sort, k.Back},
	}
}

type caseDetailKeys struct {
	globalKeys
	navKeys
	Open      key.Binding
	NewNote   key.Binding
	EditCase  key.Binding
	Consent   key.Binding
	Tasks     key.Binding
	NextNote  key.Binding
	PrevNote  key.Binding
	Conflicts key.Binding
	Dictation key.Binding
	Search    key.Binding
	Access    key.Binding // the case's access history
	Reassign  key.Binding // a worker's cases: give the case to another worker
}

// ShortHelp leaves out the conflicts key, which the screen puts first when
// the case has a conflict.
func (k caseDetailKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.NewNote, k.NextNote, k.Open, k.EditCase, k.Consent, k.Tasks, k.Dictation, k.Back}
}

func (k caseDetailKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NextNote, k.PrevNote, withHelp(k.Open, k.l.T("tui.keys.edit_the_selected_note")), k.NewNote, k.EditCase},
		{k.Consent, k.Tasks, withHelp(k.Dictation, k.l.T("tui.keys.recordings_dictate_play")), k.Conflicts, k.Search, k.Back},
		{k.Access, k.Reassign},
	}
}

type accessKeys struct {
	globalKeys
	navKeys
}

func (k accessKeys) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down, k.PageDown, k.Back} }
func (k accessKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Back}}
}

type agendaKeys struct {
	globalKeys
	navKeys
	Open        key.Binding
	NextSection key.Binding
	PrevSection key.Binding
}

func (k agendaKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.NextSection, k.Up, k.Down, k.Back}
}

func (k agendaKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, k.l.T("tui.keys.open_the_case_or_the_task")), k.NextSection, k.PrevSection, k.Back},
	}
}

type assignKeys struct {
	globalKeys
	Up      key.Binding
	Down    key.Binding
	Top     key.Binding
	Bottom  key.Binding
	Open    key.Binding
	Toggle  key.Binding
	Confirm confirmKeys
}

// ShortHelp is the most used first: a narrow key line drops from the end.
func (k assignKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Open, k.l.T("tui.keys.assign")), withHelp(k.Toggle, k.l.T("tui.keys.also_take_it_from_the_holder")), k.Up, k.Down, k.Back}
}

func (k assignKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{withHelp(k.Toggle, k.l.T("tui.keys.also_take_the_case_from_those")), withHelp(k.Open, k.l.T("tui.keys.assign_to_the_chosen_worker")), k.Back},
	}
}

// caseEditKeys are the case form's and the consent form's: esc cancels.
type caseEditKeys struct {
	globalKeys
	formKeys
	Save    key.Binding
	Confirm confirmKeys
}

func (k caseEditKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.NextField, k.Choice, k.Back}
}

func (k caseEditKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Save, k.Back}, k.formKeys.ShortHelp()}
}

type consentEditKeys struct{ caseEditKeys }

func (k consentEditKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.NextField, k.Choice, k.Toggle, k.Back}
}

type noteEditKeys struct {
	globalKeys
	formKeys
	Save    key.Binding
	Discard key.Binding
	Confirm confirmKeys
}

func (k noteEditKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.NextField, withHelp(k.Back, k.l.T("tui.keys.leave_keeps_draft")), k.Discard}
}

func (k noteEditKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Save, withHelp(k.Back, k.l.T("tui.keys.leave_keeping_the_draft")), k.Discard},
		k.formKeys.ShortHelp(),
	}
}

type conflictKeys struct {
	globalKeys
	Up          key.Binding
	Down        key.Binding
	PrevVersion key.Binding
	NextVersion key.Binding
	Keep        key.Binding
	Combine     key.Binding
}

// ShortHelp leaves out combine, which the screen adds where versions can be
// combined (not for tasks).
func (k conflictKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.PrevVersion, k.NextVersion, k.Keep, k.Back}
}

func (k conflictKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.PrevVersion, k.NextVersion, k.Up, k.Down}, {k.Keep, k.Combine, k.Back}}
}

type consentOverviewKeys struct {
	globalKeys
	navKeys
	Open   key.Binding
	Filter key.Binding
	Sort   key.Binding
}

// ShortHelp is the most used first: a narrow key line drops from the end.
func (k consentOverviewKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Open, k.l.T("tui.keys.open_the_case")), k.Filter, k.Sort, k.Back}
}

func (k consentOverviewKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, k.l.T("tui.keys.open_the_case_c_there_records")),
			withHelp(k.Filter, k.l.T("tui.keys.filter_case_subject_person_scope_decision")),
			withHelp(k.Sort, k.l.T("tui.keys.sort_case_person_decision_review_date")), k.Back},
	}
}

// draftPromptKeys: esc is "later".
type draftPromptKeys struct {
	globalKeys
	Up           key.Binding
	Down         key.Binding
	Resume       key.Binding
	DiscardDraft key.Binding
	Confirm      confirmKeys
}

func (k draftPromptKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Resume, k.DiscardDraft, k.Back}
}

func (k draftPromptKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.Resume, k.DiscardDraft, k.Back}}
}

// policyKeys are the weighting policy's, shown and being edited (a form:
// form.go matches its keys).
type policyKeys struct {
	globalKeys
	formKeys
	EditPolicy key.Binding
	Save       key.Binding
}

func (k policyKeys) ShortHelp() []key.Binding { return []key.Binding{k.EditPolicy, k.Back} }
func (k policyKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.EditPolicy, k.Back}}
}

type recorderKeys struct {
	globalKeys
	Up           key.Binding // previous marker
	Down         key.Binding // next marker
	Open         key.Binding // jump to the marker; enter in a text line
	Record       key.Binding
	InsertRec    key.Binding
	Overwrite    key.Binding
	PlayPause    key.Binding // play/pause, or pause/resume while recording
	StopRec      key.Binding
	SeekBack     key.Binding
	SeekFwd      key.Binding
	SeekStart    key.Binding
	SeekEnd      key.Binding
	AddMarker    key.Binding
	DeleteMarker key.Binding
	WorkType     key.Binding
	Priority     key.Binding
	RecTitle     key.Binding
	Submit       key.Binding
	Confirm      confirmKeys
}

// ShortHelp is a draft's, with something recorded; the screen picks the
// keys of the recorder's other states.
func (k recorderKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Record, withHelp(k.PlayPause, k.l.T("tui.keys.play")), k.SeekBack, k.InsertRec, k.Overwrite, k.AddMarker, k.Submit, k.Back}
}

func (k recorderKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Record, k.InsertRec, k.Overwrite, withHelp(k.PlayPause, k.l.T("tui.keys.play_pause_pause_resume_a_take")), k.StopRec},
		{k.SeekBack, k.SeekFwd, k.SeekStart, k.SeekEnd},
		{withHelp(k.AddMarker, k.l.T("tui.keys.marker_at_the_position")), withHelp(k.Up, k.l.T("tui.keys.previous_marker")), withHelp(k.Down, k.l.T("tui.keys.next_marker")),
			withHelp(k.Open, k.l.T("tui.keys.jump_to_the_marker")), k.DeleteMarker},
		{k.RecTitle, k.WorkType, k.Priority, k.Submit, withHelp(k.Back, k.l.T("tui.keys.stop_save_and_leave"))},
	}
}

type recordingsKeys struct {
	globalKeys
	navKeys
	Open         key.Binding
	NewRecording key.Binding
}

func (k recordingsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.NewRecording, withHelp(k.Open, k.l.T("tui.keys.open_in_the_recorder")), k.Up, k.Down, k.Back}
}

func (k recordingsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NewRecording, withHelp(k.Open, k.l.T("tui.keys.open_in_the_recorder_play_edit")), k.Back},
	}
}

// searchKeys: the query is typed, so j and k type; the arrows choose.
type searchKeys struct {
	globalKeys
	Choose   key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Open     key.Binding
}

func (k searchKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Open, k.l.T("tui.keys.open_at_note")), k.Choose, k.Back}
}

func (k searchKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{withHelp(k.Open, k.l.T("tui.keys.open_the_case_at_this_note")), withHelp(k.Choose, k.l.T("tui.keys.choose_a_result")), k.PageUp, k.PageDown, k.Back}}
}

type settingsKeys struct {
	globalKeys
	Up   key.Binding
	Down key.Binding
	Open key.Binding
}

func (k settingsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, withHelp(k.Open, k.l.T("tui.keys.use_this_microphone")), k.Back}
}
func (k settingsKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// tasksKeys are the list of tasks and visits; Form is the form adding one.
type tasksKeys struct {
	globalKeys
	navKeys
	Open       key.Binding // resolve a task in conflict
	AddTask    key.Binding
	ToggleDone key.Binding
	DeleteTask key.Binding
	Form       taskFormKeys
	Confirm    confirmKeys
}

func (k tasksKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.AddTask, k.ToggleDone, k.DeleteTask, k.Back}
}

func (k tasksKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.AddTask, k.ToggleDone, k.DeleteTask, withHelp(k.Open, k.l.T("tui.keys.resolve_a_task_in_conflict")), k.Back},
		{k.Form.Save, k.Form.NextField, k.Form.Choice},
	}
}

type taskFormKeys struct {
	globalKeys
	formKeys
	Save key.Binding
}

func (k taskFormKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.NextField, k.Choice, k.cancel()}
}
func (k taskFormKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Save, k.cancel()}, k.formKeys.ShortHelp()}
}

type teamKeys struct {
	globalKeys
	navKeys
	Open       key.Binding
	Refresh    key.Binding // fetch the team view again from the server
	Policy     key.Binding // the weighting policy
	Turnaround key.Binding // dictation turnaround by typist and author
	Retention  key.Binding // the destruction queue
}

func (k teamKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Open, k.l.T("tui.keys.worker_s_cases")), k.Refresh, k.Policy, k.Turnaround, k.Retention, k.Back}
}

func (k teamKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, k.l.T("tui.keys.the_worker_s_cases")), k.Refresh, k.Policy, k.Turnaround, k.Retention, k.Back},
	}
}

type turnaroundKeys struct {
	globalKeys
	navKeys
}

func (k turnaroundKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Up, k.l.T("tui.keys.scroll")), k.Back}
}
func (k turnaroundKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Back}}
}

type typingQueueKeys struct {
	globalKeys
	navKeys
	Open    key.Binding
	PlayRec key.Binding // play in the recorder
}

func (k typingQueueKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Open, k.l.T("tui.keys.type_the_transcript")), k.PlayRec, k.Up, k.Down, k.Back}
}

func (k typingQueueKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, k.l.T("tui.keys.type_the_transcript")), k.PlayRec, k.Back},
	}
}

// transcribeKeys are the transcript editor's: esc leaves, keeping the text.
type transcribeKeys struct {
	globalKeys
	playKeys
	Save    key.Binding
	Discard key.Binding
	Listen  key.Binding // play in the recorder
	Confirm confirmKeys
}

// ShortHelp leaves out the word key, which the screen adds for a machine
// draft.
func (k transcribeKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Save, k.l.T("tui.keys.save_as_a_note")), k.TPlay, withHelp(k.Back, k.l.T("tui.keys.leave_keeps_it")), k.Discard}
}

func (k transcribeKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{withHelp(k.Save, k.l.T("tui.keys.save_the_transcript_as_a_note")), k.Listen,
		withHelp(k.Back, k.l.T("tui.keys.leave_keeping_the_transcript_for_later")), withHelp(k.Discard, k.l.T("tui.keys.discard_the_transcript"))},
		{k.TPlay, k.TWord, k.TRewind, k.TForward, k.TSlower, k.TFaster, k.TMarker}}
}

// keyMap is every screen's keymap.
type keyMap struct {
	global          globalKeys
	help            helpKeys
	form            formKeys
	unlock          unlockKeys
	caseList        caseListKeys
	workerCases     workerCasesKeys
	caseDetail      caseDetailKeys
	access          accessKeys
	agenda          agendaKeys
	assign          assignKeys
	caseEdit        caseEditKeys
	consentEdit     consentEditKeys
	noteEdit        noteEditKeys
	conflict        conflictKeys
	consentOverview consentOverviewKeys
	draftPrompt     draftPromptKeys
	policy          policyKeys
	recorder        recorderKeys
	recordings      recordingsKeys
	search          searchKeys
	settings        settingsKeys
	tasks           tasksKeys
	team            teamKeys
	turnaround      turnaroundKeys
	typingQueue     typingQueueKeys
	transcribe      transcribeKeys
}

// newKeyMap is every screen's keymap, its help in l's language (English
// for nil).
func newKeyMap(l *i18n.Locale) *keyMap {
	if l == nil {
		l = i18n.English()
	}
	nb := key.NewBinding
	keys, help := key.WithKeys, key.WithHelp

	root := rootKeys{
		Quit:      nb(keys("q"), help("q", l.T("tui.keys.quit"))),
		ForceQuit: nb(keys("ctrl+c"), help("ctrl+c", l.T("tui.keys.quit"))),
		Help:      nb(keys("?"), help("?", l.T("tui.keys.help"))),
		HelpAny:   nb(keys("f1"), help("f1", l.T("tui.keys.help"))),
		Lock:      nb(keys("f12"), help("f12", l.T("tui.keys.lock_now_even_while_typing"))),
		LockKey:   nb(keys("L"), help("L", l.T("tui.keys.lock_now"))),
		Redraw:    nb(keys("ctrl+l"), help("ctrl+l", l.T("tui.keys.redraw_the_screen"))),
		SyncNow:   nb(keys("f5", "ctrl+r"), help("f5/ctrl+r", l.T("tui.keys.sync_now"))),
		Settings:  nb(keys(","), help(",", l.T("tui.keys.settings_microphone"))),
	}
	g := globalKeys{rootKeys: root, Back: nb(keys("esc"), help("esc", l.T("tui.keys.back"))), l: l}
	nav := navKeys{
		Up:       nb(keys("up", "k"), help("↑/k", l.T("tui.keys.up"))),
		Down:     nb(keys("down", "j"), help("↓/j", l.T("tui.keys.down"))),
		PageUp:   nb(keys("pgup", "ctrl+u"), help("pgup", l.T("tui.keys.page_up"))),
		PageDown: nb(keys("pgdown", "ctrl+d"), help("pgdn", l.T("tui.keys.page_down"))),
		Top:      nb(keys("home", "g"), help("g/home", l.T("tui.keys.first"))),
		Bottom:   nb(keys("end", "G"), help("G/end", l.T("tui.keys.last"))),
	}
	open := nb(keys("enter"), help("enter", l.T("tui.keys.open")))
	filter := nb(keys("/"), help("/", l.T("tui.keys.filter")))
	sort := nb(keys("o"), help("o", l.T("tui.keys.sort")))
	search := nb(keys("s"), help("s", l.T("tui.keys.search")))
	reassign := nb(keys("a"), help("a", l.T("tui.keys.assign_to_supervisors")))
	save := nb(keys("ctrl+s"), help("ctrl+s", l.T("tui.keys.save")))
	discard := nb(keys("ctrl+x"), help("ctrl+x", l.T("tui.keys.discard")))
	confirm := confirmKeys{
		rootKeys: root,
		Yes:      nb(keys("y"), help("y", l.T("tui.keys.yes"))),
		No:       nb(keys("n", "esc"), help("n/esc", l.T("tui.keys.no"))),
	}
	form := formKeys{
		NextField: nb(keys("tab"), help("tab", l.T("tui.keys.next_field"))),
		PrevField: nb(keys("shift+tab"), help("shift+tab", l.T("tui.keys.previous_field"))),
		Choice:    nb(keys("left", "right"), help("←/→", l.T("tui.keys.change_choice"))),
		Toggle:    nb(keys("space"), help("space", l.T("tui.keys.tick_untick"))),
	}
	// The function keys of transcription software (F9 play, F7 rewind, F8
	// forward), and alt+… for keyboards without them.
	play := playKeys{
		TPlay:    nb(keys("f9", "alt+p"), help("f9/alt+p", playHelp(l, 2*time.Second))),
		TRewind:  nb(keys("f7", "alt+,"), help("f7/alt+,", l.T("tui.keys.back_3_s"))),
		TForward: nb(keys("f8", "alt+."), help("f8/alt+.", l.T("tui.keys.forward_3_s"))),
		TSlower:  nb(keys("f2", "alt+-"), help("f2/alt+-", l.T("tui.keys.slower_to_0_75x_same_pitch"))),
		TFaster:  nb(keys("f3", "alt+="), help("f3/alt+=", l.T("tui.keys.faster_to_1_5x_same_pitch"))),
		TMarker:  nb(keys("f6", "alt+m"), help("f6/alt+m", l.T("tui.keys.jump_to_the_next_marker"))),
		TWord:    nb(keys("f4", "alt+w"), help("f4/alt+w", l.T("tui.keys.play_from_the_word_under_the"))),
	}
	cancelling := g
	cancelling.Back = g.cancel()
	later := g
	later.Back = withHelp(g.Back, l.T("tui.keys.later"))

	caseEdit := caseEditKeys{globalKeys: cancelling, formKeys: form, Save: save, Confirm: confirm}
	return &keyMap{
		global: g,
		help:   helpKeys{globalKeys: g, navKeys: nav},
		form:   form,
		unlock: unlockKeys{rootKeys: root, Unlock: nb(keys("enter"), help("enter", l.T("tui.keys.unlock")))},
		caseList: caseListKeys{
			globalKeys: g, navKeys: nav, Open: open, Filter: filter, Sort: sort, Search: search,
			NewCase:     nb(keys("N"), help("N", l.T("tui.keys.new_case"))),
			Agenda:      nb(keys("a"), help("a", l.T("tui.keys.agenda"))),
			Team:        nb(keys("T"), help("T", l.T("tui.keys.team_caseloads_supervisors"))),
			Consents:    nb(keys("C"), help("C", l.T("tui.keys.consent_overview"))),
			TypingQueue: nb(keys("W"), help("W", l.T("tui.keys.typing_queue_typists"))),
		},
		workerCases: workerCasesKeys{globalKeys: g, navKeys: nav, Open: open, Reassign: reassign, Filter: filter, Sort: sort},
		caseDetail: caseDetailKeys{
			globalKeys: g, navKeys: nav, Open: open, Search: search, Reassign: reassign,
			NewNote:   nb(keys("n"), help("n", l.T("tui.keys.new_note"))),
			EditCase:  nb(keys("e"), help("e", l.T("tui.keys.edit_case"))),
			Consent:   nb(keys("c"), help("c", l.T("tui.keys.consent"))),
			Tasks:     nb(keys("t"), help("t", l.T("tui.keys.tasks"))),
			NextNote:  nb(keys("tab", "]"), help("tab", l.T("tui.keys.next_note"))),
			PrevNote:  nb(keys("shift+tab", "["), help("shift+tab", l.T("tui.keys.previous_note"))),
			Conflicts: nb(keys("v"), help("v", l.T("tui.keys.resolve_conflict"))),
			Dictation: nb(keys("d"), help("d", l.T("tui.keys.recordings"))),
			Access:    nb(keys("A"), help("A", l.T("tui.keys.access_history"))),
		},
		access: accessKeys{globalKeys: g, navKeys: nav},
		agenda: agendaKeys{
			globalKeys: g, navKeys: nav, Open: open,
			NextSection: nb(keys("tab"), help("tab", l.T("tui.keys.next_section"))),
			PrevSection: nb(keys("shift+tab"), help("shift+tab", l.T("tui.keys.previous_section"))),
		},
		assign: assignKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Top: nav.Top, Bottom: nav.Bottom, Open: open,
			Toggle: form.Toggle, Confirm: confirm,
		},
		caseEdit:    caseEdit,
		consentEdit: consentEditKeys{caseEdit},
		noteEdit:    noteEditKeys{globalKeys: g, formKeys: form, Save: save, Discard: discard, Confirm: confirm},
		conflict: conflictKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down,
			PrevVersion: nb(keys("left", "h"), help("←/h", l.T("tui.keys.previous_version"))),
			NextVersion: nb(keys("right", "l"), help("→/l", l.T("tui.keys.next_version"))),
			Keep:        nb(keys("enter"), help("enter", l.T("tui.keys.keep_this_version"))),
			Combine:     nb(keys("m"), help("m", l.T("tui.keys.combine_in_editor"))),
		},
		consentOverview: consentOverviewKeys{globalKeys: g, navKeys: nav, Open: open, Filter: filter, Sort: sort},
		draftPrompt: draftPromptKeys{
			globalKeys: later, Up: nav.Up, Down: nav.Down, Confirm: confirm,
			Resume:       nb(keys("r", "enter"), help("r/enter", l.T("tui.keys.resume_draft"))),
			DiscardDraft: nb(keys("d"), help("d", l.T("tui.keys.discard_draft"))),
		},
		policy: policyKeys{
			globalKeys: g, formKeys: form, Save: save,
			EditPolicy: nb(keys("e"), help("e", l.T("tui.keys.edit_the_policy"))),
		},
		recorder: recorderKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Open: open, Confirm: confirm,
			Record:       nb(keys("r"), help("r", l.T("tui.keys.record_at_the_end"))),
			InsertRec:    nb(keys("i"), help("i", l.T("tui.keys.insert_at_position"))),
			Overwrite:    nb(keys("o"), help("o", l.T("tui.keys.re_record_from_position"))),
			PlayPause:    nb(keys("space"), help("space", l.T("tui.keys.play_pause"))),
			StopRec:      nb(keys("s"), help("s", l.T("tui.keys.stop"))),
			SeekBack:     nb(keys("left", "h"), help("←/h", l.T("tui.keys.back_5_s"))),
			SeekFwd:      nb(keys("right", "l"), help("→/l", l.T("tui.keys.forward_5_s"))),
			SeekStart:    nb(keys("home", "g"), help("g/home", l.T("tui.keys.to_the_start"))),
			SeekEnd:      nb(keys("end", "G"), help("G/end", l.T("tui.keys.to_the_end"))),
			AddMarker:    nb(keys("m"), help("m", l.T("tui.keys.marker"))),
			DeleteMarker: nb(keys("D"), help("D", l.T("tui.keys.delete_marker"))),
			WorkType:     nb(keys("w"), help("w", l.T("tui.keys.work_type"))),
			Priority:     nb(keys("p"), help("p", l.T("tui.keys.priority"))),
			RecTitle:     nb(keys("e"), help("e", l.T("tui.keys.title"))),
			Submit:       nb(keys("S"), help("S", l.T("tui.keys.submit_for_typing"))),
		},
		recordings: recordingsKeys{
			globalKeys: g, navKeys: nav, Open: open,
			NewRecording: nb(keys("n"), help("n", l.T("tui.keys.new_recording"))),
		},
		search: searchKeys{
			globalKeys: g, PageUp: nav.PageUp, PageDown: nav.PageDown, Open: open,
			Choose: nb(keys("up", "down", "ctrl+p", "ctrl+n"), help("↑/↓", l.T("tui.keys.choose"))),
		},
		settings: settingsKeys{globalKeys: g, Up: nav.Up, Down: nav.Down, Open: open},
		tasks: tasksKeys{
			globalKeys: g, navKeys: nav, Open: open, Confirm: confirm,
			AddTask:    nb(keys("a"), help("a", l.T("tui.keys.add_task_visit"))),
			ToggleDone: nb(keys("space", "x"), help("space/x", l.T("tui.keys.done_undone"))),
			DeleteTask: nb(keys("D"), help("D", l.T("tui.keys.delete"))),
			Form:       taskFormKeys{globalKeys: g, formKeys: form, Save: save},
		},
		team: teamKeys{
			globalKeys: g, navKeys: nav, Open: open,
			Refresh:    nb(keys("r"), help("r", l.T("tui.keys.refresh_from_the_server"))),
			Policy:     nb(keys("p"), help("p", l.T("tui.keys.weighting_policy"))),
			Turnaround: nb(keys("t"), help("t", l.T("tui.keys.dictation_turnaround"))),
			Retention:  nb(keys("d"), help("d", l.T("tui.keys.destruction_queue"))),
		},
		turnaround: turnaroundKeys{globalKeys: g, navKeys: nav},
		typingQueue: typingQueueKeys{
			globalKeys: g, navKeys: nav, Open: open,
			PlayRec: nb(keys("p"), help("p", l.T("tui.keys.play_in_the_recorder"))),
		},
		transcribe: transcribeKeys{
			globalKeys: g, playKeys: play, Save: save, Discard: discard, Confirm: confirm,
			Listen: nb(keys("ctrl+o"), help("ctrl+o", l.T("tui.keys.listen_in_the_recorder"))),
		},
	}
}

// globalHelp is the column of global keys in the full help.
func (k *keyMap) globalHelp() []key.Binding { return k.global.FullHelp()[0] }
