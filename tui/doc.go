// Package tui is fieldcase's terminal user interface, on bubbletea v2.
//
// Run is the entry point; New builds the root model, which only routes: it
// holds a stack of screens (one per file: unlock, case list, case detail,
// case form, note editor, consent form, tasks, search, conflict, draft
// prompt, recordings, recorder, settings), the global keys, the window
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
// settings screen (",") for the session.
package tui
