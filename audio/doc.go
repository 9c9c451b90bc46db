// Package audio captures, encodes, edits, plays back and exports dictation,
// the way professional dictation systems do, and survives a crash with at
// most the last second lost.
//
// # Capture
//
// A Recorder reads 16 kHz mono int16 audio from a PortAudio input device in
// 20 ms frames, shows a live level meter (Level) and the elapsed time, and
// pauses and resumes. It encodes each frame to Opus (VoIP application,
// wideband, 24 kbit/s VBR, DTX in silences, complexity 5) and groups the
// packets of about one second in a Chunk that it hands to a Sink: the vault
// seals and commits each chunk as it comes. Capture, encoding and the sink
// are three goroutines joined by bounded queues; the capture loop never
// waits for the disk or the UI, and counts the frames it must drop (Stats)
// instead. Each dropped frame becomes a packet of silence, so a take keeps
// real time. With no microphone Start returns ErrNoDevice; a failing device
// gives ErrDevice. PortAudio is initialised while a Recorder, Player or
// ListDevices needs it, with a reference count, and terminated when none
// does. An Encoder does the same encoding for PCM already at hand.
//
// # Chunks
//
// The format of chunks and timelines, and the Ogg export, live in package
// audio/track, which needs no cgo; this package re-exports them (Chunk,
// Timeline and the rest are aliases) and adds what needs PortAudio or
// libopus.
//
// Chunk.MarshalBinary is what the vault stores: a version byte, a flags byte
// (last chunk), varints for the take, the chunk index and the packet count,
// then each packet with a varint length prefix. UnmarshalChunk accepts only
// that (every packet must be a 20 ms Opus packet) and never panics.
//
// # Editing
//
// A Timeline is a list of segments, each a run of packets of one take, so
// inserting a new take at a point, or re-recording from a point (Overwrite),
// never re-encodes audio. Times are whole 20 ms packets. Markers live in the
// timeline, anchored to the audio they mark rather than to a time: an insert
// before a marker moves it along, overwriting its audio removes it, and the
// caller has nothing to keep in step. The timeline has a compact binary form
// for the vault (MarshalBinary, UnmarshalTimeline).
//
// # Playback and export
//
// A Player plays a timeline from any point, seeks by any amount, jumps to
// the start or end, pauses, and reports the position being heard. WriteOgg
// writes a standard Ogg Opus file (RFC 7845) from the stored packets;
// WriteWAV decodes to 16 kHz 16-bit PCM. Both export the timeline's Duration
// less the 6.5 ms encoder delay that Ogg Opus calls pre-skip. At each edit
// point the decoder is reset and primed with 80 ms of the take before it.
//
// # Dependencies
//
// Opus: gopkg.in/hraban/opus.v2 is a thin cgo binding to the reference
// libopus, the Go Opus binding most used and still maintained (also published
// as github.com/hraban/opus); pure-Go ports such as pion/opus only decode.
// Only its encoder and decoder are used, so -tags nolibopusfile also builds.
//
// PortAudio: github.com/gordonklaus/portaudio. Its package state is not
// synchronised, so this package serialises every call that touches it.
//
// Ogg: our own, in internal/ogg (some 300 lines). The most used Go Ogg Opus
// writer, pion/webrtc's oggwriter, sits in a large module and is made for
// RTP (one page per packet, granules from RTP timestamps); a page reader we
// fuzz ourselves is one we can trust with files from elsewhere.
//
// Building needs cgo, pkg-config and the C headers of PortAudio and libopus
// (Debian: portaudio19-dev libopus-dev, plus libopusfile-dev unless built
// with -tags nolibopusfile).
package audio
