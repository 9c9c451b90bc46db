package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key binding of the TUI, in one place. Screens match keys
// with key.Matches against these bindings and build their help from them, so
// the help can never drift from what the keys do.
type keyMap struct {
	// Global.
	Quit      key.Binding // q: only where no text is being typed
	ForceQuit key.Binding // ctrl+c: always
	Help      key.Binding // ?: only where no text is being typed
	HelpAny   key.Binding // f1: always
	Back      key.Binding
	Lock      key.Binding // f12: always
	LockKey   key.Binding // L: only where no text is being typed
	Redraw    key.Binding // ctrl+l: every terminal user's reflex, so it redraws rather than locks
	SyncNow   key.Binding // f5, ctrl+r: always
	Settings  key.Binding // ,: only where no text is being typed

	// Moving.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding

	// Case list.
	Filter  key.Binding
	Sort    key.Binding
	Search  key.Binding
	NewCase key.Binding

	// Case detail.
	NewNote   key.Binding
	EditCase  key.Binding
	Consent   key.Binding
	Tasks     key.Binding
	NextNote  key.Binding
	PrevNote  key.Binding
	Conflicts key.Binding
	Dictation key.Binding

	// Recordings list.
	NewRecording key.Binding

	// Supervisor and typist screens.
	Team        key.Binding // case list: the team's caseloads
	Consents    key.Binding // case list: consent problems across cases
	TypingQueue key.Binding // case list: recordings waiting for typing
	Agenda      key.Binding // case list: what is due across cases
	NextSection key.Binding // agenda: the next section
	PrevSection key.Binding // agenda: the previous section
	Refresh     key.Binding // team view: fetch it again from the server
	Policy      key.Binding // team view: the weighting policy
	Turnaround  key.Binding // team view: dictation turnaround by typist and author
	EditPolicy  key.Binding
	Reassign    key.Binding // case detail, a worker's cases: give the case to another worker
	Access      key.Binding // case detail: the case's access history
	PlayRec     key.Binding // typing queue: play in the recorder
	Listen      key.Binding // transcript editor: play in the recorder

	// Transcript editor playback: function keys and alt+…, which never type.
	TPlay    key.Binding
	TRewind  key.Binding
	TForward key.Binding
	TSlower  key.Binding
	TFaster  key.Binding
	TMarker  key.Binding
	TWord    key.Binding // play from the word under the cursor (a machine draft's)

	// Recorder.
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

	// Forms and editors.
	NextField key.Binding
	PrevField key.Binding
	Choice    key.Binding // ←/→ change a choice
	Toggle    key.Binding // space toggles a check box
	Save      key.Binding
	Cancel    key.Binding
	Discard   key.Binding

	// Tasks.
	AddTask    key.Binding
	ToggleDone key.Binding
	DeleteTask key.Binding

	// Conflicts.
	PrevVersion key.Binding
	NextVersion key.Binding
	Keep        key.Binding
	Combine     key.Binding

	// Draft prompt.
	Resume       key.Binding
	DiscardDraft key.Binding
	Later        key.Binding

	// Unlock.
	Unlock key.Binding

	// Confirmations.
	Yes key.Binding
	No  key.Binding
}

func newKeyMap() *keyMap {
	return &keyMap{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		HelpAny:   key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Lock:      key.NewBinding(key.WithKeys("f12"), key.WithHelp("f12", "lock now, even while typing")),
		LockKey:   key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "lock now")),
		Redraw:    key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "redraw the screen")),
		SyncNow:   key.NewBinding(key.WithKeys("f5", "ctrl+r"), key.WithHelp("f5/ctrl+r", "sync now")),
		Settings:  key.NewBinding(key.WithKeys(","), key.WithHelp(",", "settings (microphone)")),

		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),

		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort")),
		Search:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "search")),
		NewCase: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "new case")),

		NewNote:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new note")),
		EditCase:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit case")),
		Consent:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "consent")),
		Tasks:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tasks")),
		NextNote:  key.NewBinding(key.WithKeys("tab", "]"), key.WithHelp("tab", "next note")),
		PrevNote:  key.NewBinding(key.WithKeys("shift+tab", "["), key.WithHelp("shift+tab", "previous note")),
		Conflicts: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "resolve conflict")),
		Dictation: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "recordings")),

		NewRecording: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new recording")),

		Team:        key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "team caseloads (supervisors)")),
		Consents:    key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "consent overview")),
		TypingQueue: key.NewBinding(key.WithKeys("W"), key.WithHelp("W", "typing queue (typists)")),
		Agenda:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "agenda")),
		NextSection: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next section")),
		PrevSection: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous section")),
		Refresh:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh from the server")),
		Policy:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "weighting policy")),
		Turnaround:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "dictation turnaround")),
		EditPolicy:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit the policy")),
		Reassign:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "assign to… (supervisors)")),
		Access:      key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "access history")),
		PlayRec:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "play in the recorder")),
		Listen:      key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "listen in the recorder")),

		// The function keys of transcription software (F9 play, F7
		// rewind, F8 forward), and alt+… for keyboards without them.
		TPlay:    key.NewBinding(key.WithKeys("f9", "alt+p"), key.WithHelp("f9/alt+p", "play/pause (resumes 2 s back)")),
		TRewind:  key.NewBinding(key.WithKeys("f7", "alt+,"), key.WithHelp("f7/alt+,", "back 3 s")),
		TForward: key.NewBinding(key.WithKeys("f8", "alt+."), key.WithHelp("f8/alt+.", "forward 3 s")),
		TSlower:  key.NewBinding(key.WithKeys("f2", "alt+-"), key.WithHelp("f2/alt+-", "slower (to 0.75×, same pitch)")),
		TFaster:  key.NewBinding(key.WithKeys("f3", "alt+="), key.WithHelp("f3/alt+=", "faster (to 1.5×, same pitch)")),
		TMarker:  key.NewBinding(key.WithKeys("f6", "alt+m"), key.WithHelp("f6/alt+m", "jump to the next marker")),
		TWord:    key.NewBinding(key.WithKeys("f4", "alt+w"), key.WithHelp("f4/alt+w", "play from the word under the cursor (machine draft)")),

		Record:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "record at the end")),
		InsertRec:    key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "insert at position")),
		Overwrite:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "re-record from position")),
		PlayPause:    key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "play/pause")),
		StopRec:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "stop")),
		SeekBack:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "back 5 s")),
		SeekFwd:      key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "forward 5 s")),
		SeekStart:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "to the start")),
		SeekEnd:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "to the end")),
		AddMarker:    key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "marker")),
		DeleteMarker: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "delete marker")),
		WorkType:     key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "work type")),
		Priority:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "priority")),
		RecTitle:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "title")),
		Submit:       key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "submit for typing")),

		NextField: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		PrevField: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous field")),
		Choice:    key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "change choice")),
		Toggle:    key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "tick/untick")),
		Save:      key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Discard:   key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "discard")),

		AddTask:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add task/visit")),
		ToggleDone: key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space/x", "done/undone")),
		DeleteTask: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "delete")),

		PrevVersion: key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous version")),
		NextVersion: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next version")),
		Keep:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep this version")),
		Combine:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "combine in editor")),

		Resume:       key.NewBinding(key.WithKeys("r", "enter"), key.WithHelp("r/enter", "resume draft")),
		DiscardDraft: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "discard draft")),
		Later:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "later")),

		Unlock: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")),

		Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	}
}

// globalHelp is the column of global keys in the full help.
func (k *keyMap) globalHelp() []key.Binding {
	return []key.Binding{k.Help, withHelp(k.HelpAny, "help, even while typing"), k.Back,
		k.Quit, withHelp(k.ForceQuit, "quit, even while typing"), k.LockKey, k.Lock, k.SyncNow, k.Redraw, k.Settings}
}
