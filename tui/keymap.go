package tui

import "charm.land/bubbles/v2/key"

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
}

// ShortHelp is the tail of every key line.
func (g globalKeys) ShortHelp() []key.Binding { return []key.Binding{g.Help, g.Quit} }

// FullHelp is the column of global keys in the full help.
func (g globalKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{g.Help, withHelp(g.HelpAny, "help, even while typing"), g.Back,
		g.Quit, withHelp(g.ForceQuit, "quit, even while typing"), g.LockKey, g.Lock, g.SyncNow, g.Redraw, g.Settings}}
}

// cancel is esc where it cancels.
func (g globalKeys) cancel() key.Binding { return withHelp(g.Back, "cancel") }

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

type unlockKeys struct {
	globalKeys
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
		{k.NextNote, k.PrevNote, withHelp(k.Open, "edit the selected note"), k.NewNote, k.EditCase},
		{k.Consent, k.Tasks, withHelp(k.Dictation, "recordings: dictate, play"), k.Conflicts, k.Search, k.Back},
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
		{withHelp(k.Open, "open the case, or the task in its case's tasks"), k.NextSection, k.PrevSection, k.Back},
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
	return []key.Binding{withHelp(k.Open, "assign"), withHelp(k.Toggle, "also take it from the holder"), k.Up, k.Down, k.Back}
}

func (k assignKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{withHelp(k.Toggle, "also take the case from those holding it (rotates its key)"), withHelp(k.Open, "assign to the chosen worker"), k.Back},
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
	return []key.Binding{k.Save, k.NextField, withHelp(k.Back, "leave (keeps draft)"), k.Discard}
}

func (k noteEditKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Save, withHelp(k.Back, "leave, keeping the draft"), k.Discard},
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
	return []key.Binding{withHelp(k.Open, "open the case"), k.Filter, k.Sort, k.Back}
}

func (k consentOverviewKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, "open the case (c there records a decision)"),
			withHelp(k.Filter, "filter: case, subject, person, scope, decision"),
			withHelp(k.Sort, "sort: case, person, decision, review date"), k.Back},
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

// policyKeys are the weighting policy's, shown and being edited.
type policyKeys struct {
	globalKeys
	Up         key.Binding
	Down       key.Binding
	EditPolicy key.Binding
	Save       key.Binding
	NextField  key.Binding
	PrevField  key.Binding
}

func (k policyKeys) ShortHelp() []key.Binding { return []key.Binding{k.EditPolicy, k.Back} }
func (k policyKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down}, {k.EditPolicy, k.Back}}
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
	return []key.Binding{k.Record, withHelp(k.PlayPause, "play"), k.SeekBack, k.InsertRec, k.Overwrite, k.AddMarker, k.Submit, k.Back}
}

func (k recorderKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Record, k.InsertRec, k.Overwrite, withHelp(k.PlayPause, "play/pause; pause/resume a take"), k.StopRec},
		{k.SeekBack, k.SeekFwd, k.SeekStart, k.SeekEnd},
		{withHelp(k.AddMarker, "marker at the position"), withHelp(k.Up, "previous marker"), withHelp(k.Down, "next marker"),
			withHelp(k.Open, "jump to the marker"), k.DeleteMarker},
		{k.RecTitle, k.WorkType, k.Priority, k.Submit, withHelp(k.Back, "stop, save and leave")},
	}
}

type recordingsKeys struct {
	globalKeys
	Up           key.Binding
	Down         key.Binding
	Top          key.Binding
	Bottom       key.Binding
	Open         key.Binding
	NewRecording key.Binding
}

func (k recordingsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.NewRecording, withHelp(k.Open, "open in the recorder"), k.Up, k.Down, k.Back}
}

func (k recordingsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.NewRecording, withHelp(k.Open, "open in the recorder (play, edit)"), k.Back},
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
	return []key.Binding{withHelp(k.Open, "open at note"), k.Choose, k.Back}
}

func (k searchKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{withHelp(k.Open, "open the case at this note"), withHelp(k.Choose, "choose a result"), k.PageUp, k.PageDown, k.Back}}
}

type settingsKeys struct {
	globalKeys
	Up   key.Binding
	Down key.Binding
	Open key.Binding
}

func (k settingsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, withHelp(k.Open, "use this microphone"), k.Back}
}
func (k settingsKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// tasksKeys are the list of tasks and visits; Form is the form adding one.
type tasksKeys struct {
	globalKeys
	Up         key.Binding
	Down       key.Binding
	Top        key.Binding
	Bottom     key.Binding
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
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.AddTask, k.ToggleDone, k.DeleteTask, withHelp(k.Open, "resolve a task in conflict"), k.Back},
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
	return []key.Binding{withHelp(k.Open, "worker's cases"), k.Refresh, k.Policy, k.Turnaround, k.Retention, k.Back}
}

func (k teamKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, "the worker's cases"), k.Refresh, k.Policy, k.Turnaround, k.Retention, k.Back},
	}
}

type turnaroundKeys struct {
	globalKeys
	navKeys
}

func (k turnaroundKeys) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(k.Up, "scroll"), k.Back}
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
	return []key.Binding{withHelp(k.Open, "type the transcript"), k.PlayRec, k.Up, k.Down, k.Back}
}

func (k typingQueueKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, "type the transcript"), k.PlayRec, k.Back},
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
	return []key.Binding{withHelp(k.Save, "save as a note"), k.TPlay, withHelp(k.Back, "leave (keeps it)"), k.Discard}
}

func (k transcribeKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{withHelp(k.Save, "save the transcript as a note; mark the recording transcribed"), k.Listen,
		withHelp(k.Back, "leave, keeping the transcript for later"), withHelp(k.Discard, "discard the transcript")},
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

func newKeyMap() *keyMap {
	nb := key.NewBinding
	keys, help := key.WithKeys, key.WithHelp

	root := rootKeys{
		Quit:      nb(keys("q"), help("q", "quit")),
		ForceQuit: nb(keys("ctrl+c"), help("ctrl+c", "quit")),
		Help:      nb(keys("?"), help("?", "help")),
		HelpAny:   nb(keys("f1"), help("f1", "help")),
		Lock:      nb(keys("f12"), help("f12", "lock now, even while typing")),
		LockKey:   nb(keys("L"), help("L", "lock now")),
		Redraw:    nb(keys("ctrl+l"), help("ctrl+l", "redraw the screen")),
		SyncNow:   nb(keys("f5", "ctrl+r"), help("f5/ctrl+r", "sync now")),
		Settings:  nb(keys(","), help(",", "settings (microphone)")),
	}
	g := globalKeys{rootKeys: root, Back: nb(keys("esc"), help("esc", "back"))}
	nav := navKeys{
		Up:       nb(keys("up", "k"), help("↑/k", "up")),
		Down:     nb(keys("down", "j"), help("↓/j", "down")),
		PageUp:   nb(keys("pgup", "ctrl+u"), help("pgup", "page up")),
		PageDown: nb(keys("pgdown", "ctrl+d"), help("pgdn", "page down")),
		Top:      nb(keys("home", "g"), help("g/home", "first")),
		Bottom:   nb(keys("end", "G"), help("G/end", "last")),
	}
	open := nb(keys("enter"), help("enter", "open"))
	filter := nb(keys("/"), help("/", "filter"))
	sort := nb(keys("o"), help("o", "sort"))
	search := nb(keys("s"), help("s", "search"))
	reassign := nb(keys("a"), help("a", "assign to… (supervisors)"))
	save := nb(keys("ctrl+s"), help("ctrl+s", "save"))
	discard := nb(keys("ctrl+x"), help("ctrl+x", "discard"))
	confirm := confirmKeys{
		rootKeys: root,
		Yes:      nb(keys("y"), help("y", "yes")),
		No:       nb(keys("n", "esc"), help("n/esc", "no")),
	}
	form := formKeys{
		NextField: nb(keys("tab"), help("tab", "next field")),
		PrevField: nb(keys("shift+tab"), help("shift+tab", "previous field")),
		Choice:    nb(keys("left", "right"), help("←/→", "change choice")),
		Toggle:    nb(keys("space"), help("space", "tick/untick")),
	}
	// The function keys of transcription software (F9 play, F7 rewind, F8
	// forward), and alt+… for keyboards without them.
	play := playKeys{
		TPlay:    nb(keys("f9", "alt+p"), help("f9/alt+p", "play/pause (resumes 2 s back)")),
		TRewind:  nb(keys("f7", "alt+,"), help("f7/alt+,", "back 3 s")),
		TForward: nb(keys("f8", "alt+."), help("f8/alt+.", "forward 3 s")),
		TSlower:  nb(keys("f2", "alt+-"), help("f2/alt+-", "slower (to 0.75×, same pitch)")),
		TFaster:  nb(keys("f3", "alt+="), help("f3/alt+=", "faster (to 1.5×, same pitch)")),
		TMarker:  nb(keys("f6", "alt+m"), help("f6/alt+m", "jump to the next marker")),
		TWord:    nb(keys("f4", "alt+w"), help("f4/alt+w", "play from the word under the cursor (machine draft)")),
	}
	cancelling := g
	cancelling.Back = g.cancel()
	later := g
	later.Back = withHelp(g.Back, "later")

	caseEdit := caseEditKeys{globalKeys: cancelling, formKeys: form, Save: save, Confirm: confirm}
	return &keyMap{
		global: g,
		help:   helpKeys{globalKeys: g, navKeys: nav},
		form:   form,
		unlock: unlockKeys{globalKeys: g, Unlock: nb(keys("enter"), help("enter", "unlock"))},
		caseList: caseListKeys{
			globalKeys: g, navKeys: nav, Open: open, Filter: filter, Sort: sort, Search: search,
			NewCase:     nb(keys("N"), help("N", "new case")),
			Agenda:      nb(keys("a"), help("a", "agenda")),
			Team:        nb(keys("T"), help("T", "team caseloads (supervisors)")),
			Consents:    nb(keys("C"), help("C", "consent overview")),
			TypingQueue: nb(keys("W"), help("W", "typing queue (typists)")),
		},
		workerCases: workerCasesKeys{globalKeys: g, navKeys: nav, Open: open, Reassign: reassign, Filter: filter, Sort: sort},
		caseDetail: caseDetailKeys{
			globalKeys: g, navKeys: nav, Open: open, Search: search, Reassign: reassign,
			NewNote:   nb(keys("n"), help("n", "new note")),
			EditCase:  nb(keys("e"), help("e", "edit case")),
			Consent:   nb(keys("c"), help("c", "consent")),
			Tasks:     nb(keys("t"), help("t", "tasks")),
			NextNote:  nb(keys("tab", "]"), help("tab", "next note")),
			PrevNote:  nb(keys("shift+tab", "["), help("shift+tab", "previous note")),
			Conflicts: nb(keys("v"), help("v", "resolve conflict")),
			Dictation: nb(keys("d"), help("d", "recordings")),
			Access:    nb(keys("A"), help("A", "access history")),
		},
		access: accessKeys{globalKeys: g, navKeys: nav},
		agenda: agendaKeys{
			globalKeys: g, navKeys: nav, Open: open,
			NextSection: nb(keys("tab"), help("tab", "next section")),
			PrevSection: nb(keys("shift+tab"), help("shift+tab", "previous section")),
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
			PrevVersion: nb(keys("left", "h"), help("←/h", "previous version")),
			NextVersion: nb(keys("right", "l"), help("→/l", "next version")),
			Keep:        nb(keys("enter"), help("enter", "keep this version")),
			Combine:     nb(keys("m"), help("m", "combine in editor")),
		},
		consentOverview: consentOverviewKeys{globalKeys: g, navKeys: nav, Open: open, Filter: filter, Sort: sort},
		draftPrompt: draftPromptKeys{
			globalKeys: later, Up: nav.Up, Down: nav.Down, Confirm: confirm,
			Resume:       nb(keys("r", "enter"), help("r/enter", "resume draft")),
			DiscardDraft: nb(keys("d"), help("d", "discard draft")),
		},
		policy: policyKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Save: save, NextField: form.NextField, PrevField: form.PrevField,
			EditPolicy: nb(keys("e"), help("e", "edit the policy")),
		},
		recorder: recorderKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Open: open, Confirm: confirm,
			Record:       nb(keys("r"), help("r", "record at the end")),
			InsertRec:    nb(keys("i"), help("i", "insert at position")),
			Overwrite:    nb(keys("o"), help("o", "re-record from position")),
			PlayPause:    nb(keys("space"), help("space", "play/pause")),
			StopRec:      nb(keys("s"), help("s", "stop")),
			SeekBack:     nb(keys("left", "h"), help("←/h", "back 5 s")),
			SeekFwd:      nb(keys("right", "l"), help("→/l", "forward 5 s")),
			SeekStart:    nb(keys("home", "g"), help("g/home", "to the start")),
			SeekEnd:      nb(keys("end", "G"), help("G/end", "to the end")),
			AddMarker:    nb(keys("m"), help("m", "marker")),
			DeleteMarker: nb(keys("D"), help("D", "delete marker")),
			WorkType:     nb(keys("w"), help("w", "work type")),
			Priority:     nb(keys("p"), help("p", "priority")),
			RecTitle:     nb(keys("e"), help("e", "title")),
			Submit:       nb(keys("S"), help("S", "submit for typing")),
		},
		recordings: recordingsKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Top: nav.Top, Bottom: nav.Bottom, Open: open,
			NewRecording: nb(keys("n"), help("n", "new recording")),
		},
		search: searchKeys{
			globalKeys: g, PageUp: nav.PageUp, PageDown: nav.PageDown, Open: open,
			Choose: nb(keys("up", "down"), help("↑/↓", "choose")),
		},
		settings: settingsKeys{globalKeys: g, Up: nav.Up, Down: nav.Down, Open: open},
		tasks: tasksKeys{
			globalKeys: g, Up: nav.Up, Down: nav.Down, Top: nav.Top, Bottom: nav.Bottom, Open: open, Confirm: confirm,
			AddTask:    nb(keys("a"), help("a", "add task/visit")),
			ToggleDone: nb(keys("space", "x"), help("space/x", "done/undone")),
			DeleteTask: nb(keys("D"), help("D", "delete")),
			Form:       taskFormKeys{globalKeys: g, formKeys: form, Save: save},
		},
		team: teamKeys{
			globalKeys: g, navKeys: nav, Open: open,
			Refresh:    nb(keys("r"), help("r", "refresh from the server")),
			Policy:     nb(keys("p"), help("p", "weighting policy")),
			Turnaround: nb(keys("t"), help("t", "dictation turnaround")),
			Retention:  nb(keys("d"), help("d", "destruction queue")),
		},
		turnaround: turnaroundKeys{globalKeys: g, navKeys: nav},
		typingQueue: typingQueueKeys{
			globalKeys: g, navKeys: nav, Open: open,
			PlayRec: nb(keys("p"), help("p", "play in the recorder")),
		},
		transcribe: transcribeKeys{
			globalKeys: g, playKeys: play, Save: save, Discard: discard, Confirm: confirm,
			Listen: nb(keys("ctrl+o"), help("ctrl+o", "listen in the recorder")),
		},
	}
}

// globalHelp is the column of global keys in the full help.
func (k *keyMap) globalHelp() []key.Binding { return k.global.FullHelp()[0] }
