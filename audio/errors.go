package audio

import "errors"

// Errors returned by this package. Callers test for them with errors.Is; the
// returned errors wrap them with detail.
var (
	// ErrNoDevice means there is no usable input (or output) device: no
	// microphone or speaker at all, no default one, or none of the given name.
	ErrNoDevice = errors.New("no audio device")
	// ErrDevice means the audio device or PortAudio failed: it could not be
	// opened or started, or it failed while recording or playing.
	ErrDevice = errors.New("audio device failed")
	// ErrBusy means the Recorder is already recording.
	ErrBusy = errors.New("recorder busy")
	// ErrInvalidChunk means a chunk's encoding, or a chunk handed back by a
	// ChunkSource, is malformed or does not match the timeline.
	ErrInvalidChunk = errors.New("invalid audio chunk")
	// ErrInvalidTimeline means a timeline's encoding is malformed, or an edit
	// would make the timeline inconsistent (a take used twice, a bad comment).
	ErrInvalidTimeline = errors.New("invalid timeline")
	// ErrOutOfRange means a time lies outside the timeline.
	ErrOutOfRange = errors.New("time out of range")
)
