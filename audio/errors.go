package audio

import (
	"errors"

	"github.com/fieldcase/fieldcase/audio/track"
)

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
	// ErrInvalidChunk, ErrInvalidTimeline and ErrOutOfRange are package
	// track's errors (malformed chunks; malformed timelines or bad edits; a
	// time outside the timeline), under the names callers of audio know.
	ErrInvalidChunk    = track.ErrInvalidChunk
	ErrInvalidTimeline = track.ErrInvalidTimeline
	ErrOutOfRange      = track.ErrOutOfRange
)
