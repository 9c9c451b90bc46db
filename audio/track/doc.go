// Package track is the format of a dictation recording, without cgo: the
// Opus packets of a take grouped in chunks (Chunk, with its binary
// encoding), the edited timeline that orders runs of takes' packets
// (Timeline, with its binary encoding), and the Ogg Opus export of a
// timeline, which copies packets without decoding them (WriteOgg).
//
// Package audio captures, encodes, decodes and plays, with PortAudio and
// libopus, and re-exports these types under its own name. Code that must not
// link those C libraries, such as the server's recovery export, uses this
// package directly.
package track
