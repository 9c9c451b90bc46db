package audio

import "github.com/fieldcase/fieldcase/audio/track"

// The format of recordings (chunks, timelines, packets) lives in package
// track, which needs no cgo, so that a server can read recordings without
// PortAudio or libopus. These names keep it part of this package's API.

// Audio format constants: see package track.
const (
	SampleRate      = track.SampleRate
	FrameDuration   = track.FrameDuration
	FrameSamples    = track.FrameSamples
	MaxChunkPackets = track.MaxChunkPackets
	MaxCommentLen   = track.MaxCommentLen
)

type (
	Chunk       = track.Chunk
	Sink        = track.Sink
	ChunkSource = track.ChunkSource
	Take        = track.Take
	Location    = track.Location
	Marker      = track.Marker
	Timeline    = track.Timeline
)

var (
	UnmarshalChunk    = track.UnmarshalChunk
	UnmarshalTimeline = track.UnmarshalTimeline
)
