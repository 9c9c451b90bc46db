package track

import "errors"

// Errors returned by this package (and, under the same names, by package
// audio). Callers test for them with errors.Is; the returned errors wrap
// them with detail.
var (
	// ErrInvalidChunk means a chunk's encoding, or a chunk handed back by a
	// ChunkSource, is malformed or does not match the timeline.
	ErrInvalidChunk = errors.New("invalid audio chunk")
	// ErrInvalidTimeline means a timeline's encoding is malformed, or an edit
	// would make the timeline inconsistent (a take used twice, a bad comment).
	ErrInvalidTimeline = errors.New("invalid timeline")
	// ErrOutOfRange means a time lies outside the timeline.
	ErrOutOfRange = errors.New("time out of range")
)
