// Package tui is fieldcase's terminal user interface, on bubbletea v2.
//
// Run is the entry point; New builds the root model, which only routes: it
// holds a stack of screens (one per file: unlock, case list, case detail,
// case form, note editor, consent form, tasks, search, conflict, draft
// prompt, recordings, recorder, settings, and the supervisor and typist
// screens below), the global keys, the window
// size, the idle lock and the status bar. Every screen implements the same
// small contract (component). Vault reads and writes happen only inside
// tea.Cmds; their results come back as the XxxMsg types declared next to
// the command that sends them.
//
// What a caseworker types is never lost: the note being written is sealed
// into the vault as a draft a few seconds after each change, when leaving
// the editor, at quit and at the idle lock, and offered back after the next
// unlock.
//
// Nor is what they dictate. The recorder (recorder.go) works like a
// dictation machine over the dictation and audio packages: the audio is
// sealed into the vault a second at a time as it is captured; leaving the
// recorder, quitting and the idle lock stop the take and place it in its
// recording; a take cut short by a crash is recovered after the next unlock,
// before any recording is listed. The devices and the vault are reached only
// from commands, through a handle (dictation.go) that runs them one at a
// time; a tea.Tick polls the level meter, the time and the playback position
// while a take or playback is under way. The microphone is chosen in the
// settings screen (","), and kept for later sessions through
// Options.SaveAudioDevice when the caller gives one.
//
// Supervisors (role supervisor or admin) have the team view (T on the case
// list, team.go): each worker's open cases, weighted load against capacity
// (caseload.Build, record.Policy), overdue visits, hearings soon, conflicts,
// dictations waiting and their devices' last sync. It opens on the view kept
// in the vault and refreshes it from the server (TeamService) in a command;
// enter lists a worker's cases, a there (or in a case) reassigns one
// (assign.go), p shows and edits the weighting policy (policy.go). The team
// view they share during an unlock is env.team; a screen that changes it
// publishes a changed copy, never edits the one commands may be reading.
// Everyone has the agenda (a on the case list, agenda.go): what is overdue,
// due today and in the six days after across every open case (visits,
// tasks, hearings, consent reviews; caseload.BuildAgenda), enter opening the
// case or the task. Everyone but typists has the consent overview (C,
// consentoverview.go);
// every case's access history is A in the case (access.go), and opening a
// case records an audit event. Typists have their queue (W, typist.go): the
// recordings submitted for typing, a transcript editor that keeps what is
// typed in the vault's local state, and dictation's Transcribe to save it.
package tui
