// Package tui is fieldcase's terminal user interface, on bubbletea v2.
//
// Run is the entry point; New builds the root model, which only routes: it
// holds a stack of screens (one per file: unlock, case list, case detail,
// case form, note editor, consent form, tasks, search, conflict, draft
// prompt), the global keys, the window size, the idle lock and the status
// bar. Every screen implements the same small contract (component). Vault
// reads and writes happen only inside tea.Cmds; their results come back as
// the XxxMsg types declared next to the command that sends them.
//
// What a caseworker types is never lost: the note being written is sealed
// into the vault as a draft a few seconds after each change, when leaving
// the editor, at quit and at the idle lock, and offered back after the next
// unlock.
package tui
