package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
)

// The audio of a recording is exported as the member's device exports it
// ('fieldcase recording export'): the stored Opus packets copied into an Ogg
// Opus file, not re-encoded, so fieldcased needs no audio library (package
// audio/track has no cgo).

// recordingsDir is the directory of a case's export that holds the audio.
const recordingsDir = "recordings"

// oggVendor names the writer in the files' comment header (RFC 7845 §5.2).
const oggVendor = "fieldcased export"

// silencePacket is a 20 ms Opus packet (CELT, fullband) that decodes to
// silence. It stands in for the packets of a chunk the export cannot read,
// so that the rest of the recording keeps its place in time.
var silencePacket = []byte{0xf8, 0xff, 0xfe}

// recordingAudio says what became of a recording's audio.
type recordingAudio struct {
	// File is the Ogg Opus file, relative to the case's directory; empty
	// when none was written.
	File string `json:"file,omitempty"`
	// Chunks is how many chunks of audio the recording plays; Missing how
	// many of them were not on the server or could not be opened (silent in
	// the file), with the first reason in Problem.
	Chunks  int    `json:"chunks"`
	Missing int    `json:"missing_chunks,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// summary is the audio's line in case.md.
func (a *recordingAudio) summary() string {
	switch {
	case a == nil:
		return "no audio"
	case a.File == "":
		return "no audio: " + a.Problem
	case a.Missing > 0:
		return fmt.Sprintf("audio incomplete: %d of %d chunks (%s; the gaps are silent) in %s", a.Chunks-a.Missing, a.Chunks, a.Problem, a.File)
	}
	return "audio in " + a.File
}

// writeRecordings writes the audio of each recording into dir/recordings
// and notes the outcome on its entry. Audio that cannot be read is noted,
// not an error; failing to write is.
func (c *caseExport) writeRecordings(ctx context.Context, st server.Store, dir string) error {
	for i := range c.Recordings {
		e := &c.Recordings[i]
		a, err := c.writeRecording(ctx, st, dir, e)
		if err != nil {
			return err
		}
		e.Audio = a
	}
	return nil
}

func (c *caseExport) writeRecording(ctx context.Context, st server.Store, dir string, e *entry) (*recordingAudio, error) {
	r := e.Value.(*record.Recording)
	if len(r.Timeline) == 0 {
		return nil, nil
	}
	tl, err := track.UnmarshalTimeline(r.Timeline)
	if err != nil {
		return &recordingAudio{Problem: err.Error()}, nil
	}
	if tl.Packets() == 0 {
		return nil, nil
	}
	name := e.ID
	if e.Versions > 1 { // one file for each version in conflict
		name += "-" + e.Rev[:min(12, len(e.Rev))]
	}
	rel := filepath.Join(recordingsDir, safeName(name, e.ID)+".ogg")
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	src := c.chunkSource(e.ID, r, tl)
	err = writeFile(path, func(f *os.File) error {
		return st.View(ctx, func(tx server.Tx) error {
			src.tx = tx
			return track.WriteOgg(ctx, f, tl, src, oggVendor)
		})
	})
	a := &recordingAudio{File: rel, Chunks: len(src.asked), Missing: src.missing, Problem: src.problem}
	if errors.Is(err, track.ErrInvalidChunk) || err == nil && a.Missing == a.Chunks {
		// Nothing worth keeping: a manifest at odds with itself, or audio
		// that is all gaps.
		if rerr := os.Remove(path); rerr != nil {
			return nil, rerr
		}
		if err != nil {
			a.Problem = err.Error()
		}
		a.File = ""
		return a, nil
	}
	return a, err
}

// chunkSource reads the chunks of recording id (its manifest r, its
// timeline tl) from the store.
func (c *caseExport) chunkSource(id string, r *record.Recording, tl *track.Timeline) *chunkSource {
	src := &chunkSource{c: c, recordingID: id, refs: map[[2]uint32]record.ChunkRef{},
		sizes: map[uint32][]int{}, asked: map[[2]uint32]bool{}}
	for _, ref := range r.Chunks {
		src.refs[[2]uint32{ref.Take, ref.Index}] = ref
	}
	for _, tk := range tl.Takes() {
		src.sizes[tk.ID] = tk.Chunks
	}
	return src
}

// chunkSource reads a recording's chunks from the server's store and opens
// them with the case keys the recovery identity unwrapped. A chunk it cannot
// read becomes silence of the chunk's length, counted in missing.
type chunkSource struct {
	c           *caseExport
	tx          server.BlobTx
	recordingID string
	refs        map[[2]uint32]record.ChunkRef // the manifest's chunks by take and index
	sizes       map[uint32][]int              // packets per chunk, by take, as the timeline has them

	asked   map[[2]uint32]bool
	missing int
	problem string // why the first missing chunk is missing
}

func (s *chunkSource) ReadChunk(ctx context.Context, take, index uint32) (track.Chunk, error) {
	k := [2]uint32{take, index}
	first := !s.asked[k]
	s.asked[k] = true
	ref, ok := s.refs[k]
	if !ok {
		return s.gap(k, first, errors.New("not in the recording's manifest")), nil
	}
	b, err := s.tx.Blob(s.c.ID, ref.ID)
	if errors.Is(err, server.ErrNotFound) {
		return s.gap(k, first, errors.New("not on the server")), nil
	}
	if err != nil {
		return track.Chunk{}, err
	}
	ch, err := s.open(ref, b)
	if err != nil {
		return s.gap(k, first, err), nil
	}
	return ch, nil
}

func (s *chunkSource) open(ref record.ChunkRef, b []byte) (track.Chunk, error) {
	if record.RevID(sha256.Sum256(b)) != ref.ID {
		return track.Chunk{}, errors.New("does not match its id")
	}
	keys, err := s.c.keyFor(b)
	if err != nil {
		return track.Chunk{}, err
	}
	var plain []byte
	for _, key := range keys {
		if plain, err = crypto.Open(key, sealed.ChunkPlace(s.c.ID, s.recordingID, ref.Take, ref.Index, ref.Last), b); err == nil {
			break
		}
	}
	if err != nil {
		return track.Chunk{}, err
	}
	ch, err := track.UnmarshalChunk(plain)
	if err != nil {
		return track.Chunk{}, err
	}
	if ch.Take != ref.Take || ch.Index != ref.Index || len(ch.Packets) != s.size(ref.Take, ref.Index) {
		return track.Chunk{}, errors.New("does not match the recording's timeline")
	}
	return ch, nil
}

// gap returns silence in place of chunk k, and counts it missing the first
// time.
func (s *chunkSource) gap(k [2]uint32, first bool, why error) track.Chunk {
	if first {
		if s.missing++; s.problem == "" {
			s.problem = fmt.Sprintf("chunk %d of take %d: %v", k[1], k[0], why)
		}
	}
	n := s.size(k[0], k[1])
	ch := track.Chunk{Take: k[0], Index: k[1], Packets: make([][]byte, n), Samples: n * track.FrameSamples}
	for i := range ch.Packets {
		ch.Packets[i] = silencePacket
	}
	return ch
}

// size is the number of packets the timeline expects in a chunk.
func (s *chunkSource) size(take, index uint32) int {
	if sz := s.sizes[take]; int64(index) < int64(len(sz)) {
		return sz[index]
	}
	return 0
}
