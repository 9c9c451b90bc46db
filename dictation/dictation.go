package dictation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// Mode says where a new take goes.
type Mode int

const (
	Append    Mode = iota // after the end
	Insert                // at At, pushing the rest later
	Overwrite             // from At, replacing everything after it (re-record)
)

// ErrBusy means a take is being recorded into this recording already.
var ErrBusy = errors.New("a take is being recorded")

// Recording is one recording being worked on: its manifest and timeline.
type Recording struct {
	v       *store.Vault
	CaseID  string
	ID      string
	Meta    record.Recording
	TL      *audio.Timeline
	parents []record.RevID
	take    *pending
	isNew   bool // not saved yet
}

type pending struct {
	Take   uint32           `json:"take"`
	Mode   Mode             `json:"mode"`
	At     time.Duration    `json:"at"`
	CaseID string           `json:"case_id"`
	Meta   record.Recording `json:"meta"` // to create the manifest if the first take never finished
}

// New starts a recording in a case. Nothing is written until its first take
// is placed (or recovered): a recording that never captured a sound does
// not exist.
func New(v *store.Vault, caseID string, meta record.Recording) (*Recording, error) {
	if meta.WorkType == "" {
		meta.WorkType = "visit note"
	}
	if meta.Priority == "" {
		meta.Priority = record.PriorityNormal
	}
	meta.Status = record.StatusDraft
	meta.Codec, meta.SampleRate = record.DefaultRecordCodec, audio.SampleRate
	if meta.Recorded == "" {
		meta.Recorded = time.Now().UTC().Format(time.RFC3339)
	}
	if meta.Author == "" {
		meta.Author = v.Profile().Name
	}
	if err := meta.Validate(); err != nil {
		return nil, err
	}
	return &Recording{v: v, CaseID: caseID, ID: record.NewID(), Meta: meta, TL: &audio.Timeline{}, isNew: true}, nil
}

// Open loads a recording's manifest (its winning version).
func Open(v *store.Vault, id string) (*Recording, error) {
	it, err := v.Recording(id)
	if err != nil {
		return nil, err
	}
	if it.Sealed {
		return nil, store.ErrNoKey
	}
	tl := &audio.Timeline{}
	if len(it.Value.Timeline) > 0 {
		if tl, err = audio.UnmarshalTimeline(it.Value.Timeline); err != nil {
			return nil, fmt.Errorf("recording %s: %w", id, err)
		}
	}
	return &Recording{v: v, CaseID: it.CaseID, ID: id, Meta: it.Value, TL: tl, parents: it.Parents()}, nil
}

// Save writes the manifest: metadata, timeline, and the chunks it uses.
func (r *Recording) Save() error {
	tlb, err := r.TL.MarshalBinary()
	if err != nil {
		return err
	}
	refs, err := r.v.ChunkRefs(r.CaseID, r.ID)
	if err != nil {
		return err
	}
	used := map[uint32]bool{}
	for _, t := range r.TL.Takes() {
		used[t.ID] = true
	}
	r.Meta.Timeline, r.Meta.Chunks = tlb, nil
	for _, ref := range refs {
		if used[ref.Take] {
			r.Meta.Chunks = append(r.Meta.Chunks, ref)
		}
	}
	r.Meta.DurationMS = r.TL.Duration().Milliseconds()
	if r.Meta.Draft != nil && !r.DraftMatches() && r.Meta.Status != record.StatusTranscribed {
		// The audio changed under the machine draft: its words no longer
		// sit where it says. It goes; the recording waits for typing.
		r.Meta.Draft = nil
		if r.Meta.Status == record.StatusCorrection {
			r.Meta.Status = record.StatusSubmitted
		}
	}
	id, err := r.v.PutRecording(r.CaseID, r.ID, r.parents, r.Meta, r.isNew)
	if err != nil {
		return err
	}
	r.ID, r.isNew = id, false
	it, err := r.v.Recording(id)
	if err != nil {
		return err
	}
	r.parents = []record.RevID{it.Rev}
	return nil
}

// StartTake prepares a take: it picks the take's id and seals what it is
// for into the vault (so a crash mid-take can be recovered), and returns the
// sink the recorder writes chunks to.
func (r *Recording) StartTake(mode Mode, at time.Duration) (uint32, audio.Sink, error) {
	if r.take != nil {
		return 0, nil, ErrBusy
	}
	p := &pending{Take: r.TL.NextTakeID(), Mode: mode, At: at, CaseID: r.CaseID, Meta: r.Meta}
	if err := r.savePending(p); err != nil {
		return 0, nil, err
	}
	r.take = p
	return p.Take, sink{r}, nil
}

// AppendPCM records pcm (mono, audio.SampleRate) at the end of the
// recording as one take, through the encoder the recorder uses but without
// a microphone: for audio that comes from elsewhere (the demo's dictations,
// tests).
func (r *Recording) AppendPCM(ctx context.Context, pcm []int16) error {
	take, sink, err := r.StartTake(Append, 0)
	if err != nil {
		return err
	}
	enc, err := audio.NewEncoder(take, sink)
	if err != nil {
		return err
	}
	if err := enc.Write(ctx, pcm); err != nil {
		return err
	}
	t, err := enc.Close(ctx)
	if err != nil {
		return err
	}
	return r.FinishTake(t)
}

// FinishTake places a finished take in the timeline and saves the manifest.
func (r *Recording) FinishTake(take audio.Take) error {
	if r.take == nil || r.take.Take != take.ID {
		return fmt.Errorf("finishing take %d that was not started", take.ID)
	}
	p := *r.take
	r.take = nil // placed or not, this take is over: the recording takes new ones
	if err := place(r.TL, p, take); err != nil {
		return err
	}
	if take.Packets() > 0 || !r.isNew {
		if err := r.Save(); err != nil {
			return err
		}
	}
	return r.v.DeleteLocal(pendingKey(r.ID))
}

func place(tl *audio.Timeline, p pending, take audio.Take) error {
	if take.Packets() == 0 {
		return nil // nothing was captured
	}
	switch p.Mode {
	case Insert:
		return tl.Insert(min(p.At, tl.Duration()), take)
	case Overwrite:
		return tl.Overwrite(min(p.At, tl.Duration()), take)
	}
	return tl.Append(take)
}

// Source is how playback and export read the recording's chunks.
func (r *Recording) Source() audio.ChunkSource { return source{r} }

// ExportOgg writes the recording as a standard Ogg Opus file.
func (r *Recording) ExportOgg(ctx context.Context, w interface{ Write([]byte) (int, error) }) error {
	return audio.WriteOgg(ctx, w, r.TL, r.Source())
}

// ExportWAV writes the recording as 16 kHz mono PCM WAV.
func (r *Recording) ExportWAV(ctx context.Context, w interface{ Write([]byte) (int, error) }) error {
	return audio.WriteWAV(ctx, w, r.TL, r.Source())
}

// SetStatus moves the recording along draft → submitted → transcribed.
func (r *Recording) SetStatus(status record.RecordingStatus) error {
	r.Meta.Status = status
	return r.Save()
}

// Transcribe attaches a typed transcript to a recording submitted for
// typing (or the typist's correction of its machine draft, which the
// manifest and the audit event then record): it adds the text as a note of the case (a court note for a court
// report, else a visit note), marks the recording transcribed, and writes an
// audit event. It returns the note's id.
func (r *Recording) Transcribe(text string) (string, error) {
	if !r.Meta.WaitsForTyping() {
		return "", fmt.Errorf("recording %s is %s, not submitted for typing", r.ID, record.StatusLabel(r.Meta.Status))
	}
	if text == "" {
		return "", errors.New("the transcript is empty")
	}
	kind := "visit"
	if r.Meta.WorkType == "court report" {
		kind = "court"
	}
	noteID, err := r.v.AddNote(r.CaseID, record.Note{Kind: kind, Text: text, Author: r.v.Profile().Name})
	if err != nil {
		return "", err
	}
	corrected := r.Meta.Status == record.StatusCorrection
	r.Meta.Transcript = noteID
	// Who typed or corrected it: the profile's name, or on a laptop
	// without one, its device id (signed into every revision it writes).
	by := r.v.Profile().Name
	if by == "" {
		by = "device " + r.v.DeviceID()
	}
	r.Meta.Transcribed, r.Meta.TranscribedBy = time.Now().UTC().Format(time.RFC3339), by
	r.Meta.CorrectedDraft = corrected
	if err := r.SetStatus(record.StatusTranscribed); err != nil {
		return "", err
	}
	what := "recording " + r.ID + " transcribed as note " + noteID
	if corrected {
		what += ", corrected by " + r.Meta.TranscribedBy + " from a machine draft (" + strings.TrimSpace(r.Meta.Draft.Engine+" "+r.Meta.Draft.Version) + ")"
	}
	if err := r.v.Audit(r.CaseID, record.AuditTranscribe, what); err != nil {
		return "", err
	}
	return noteID, nil
}

// sink seals and commits each chunk as the recorder hands it over.
type sink struct{ r *Recording }

func (s sink) WriteChunk(ctx context.Context, c audio.Chunk) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = s.r.v.PutChunk(s.r.CaseID, s.r.ID, c.Take, c.Index, c.Last, b)
	return err
}

type source struct{ r *Recording }

func (s source) ReadChunk(ctx context.Context, take, index uint32) (audio.Chunk, error) {
	b, err := s.r.v.Chunk(s.r.CaseID, s.r.ID, take, index)
	if err != nil {
		return audio.Chunk{}, err
	}
	return audio.UnmarshalChunk(b)
}

// The take in flight is noted in the vault's sealed device-local state under
// this key, and removed when the take is placed.
func pendingKey(recordingID string) string { return "take:" + recordingID }

func (r *Recording) savePending(p *pending) error {
	js, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return r.v.PutLocal(pendingKey(r.ID), js)
}
