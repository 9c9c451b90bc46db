package dictation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/store"
)

// Recover finds takes that were being recorded when the program died (their
// chunks are in the vault, the manifest does not place them yet), rebuilds
// each from the chunks committed, puts it where it was meant to go, marks
// the recording interrupted and saves it. It returns the recordings
// recovered. Run it after unlocking.
func Recover(ctx context.Context, v *store.Vault) ([]string, error) {
	takes, err := v.Locals("take:")
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for key, js := range takes {
		id := strings.TrimPrefix(key, "take:")
		var p pending
		if err := json.Unmarshal(js, &p); err != nil {
			continue
		}
		r, err := Open(v, id)
		if errors.Is(err, store.ErrNotFound) && p.CaseID != "" {
			// Died during the first take: the manifest was never written.
			r = &Recording{v: v, CaseID: p.CaseID, ID: id, Meta: p.Meta, TL: &audio.Timeline{}, isNew: true}
		} else if err != nil {
			continue // unreadable here: keep the note
		}
		if !r.isNew && p.Take < r.TL.NextTakeID() {
			// Placed and saved before the crash; only the note was left.
			if err := v.DeleteLocal(key); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		// One recording that cannot be recovered must not stop the others.
		if err := recoverTake(ctx, r, p); err != nil {
			errs = append(errs, fmt.Errorf("recording %s: %w", id, err))
			continue
		}
		if r.Meta.Interrupted {
			done = append(done, id)
		}
		if err := v.DeleteLocal(key); err != nil {
			errs = append(errs, err)
		}
	}
	return done, errors.Join(errs...)
}

func recoverTake(ctx context.Context, r *Recording, p pending) error {
	take, err := rebuild(ctx, r, p.Take)
	if err != nil || take.Packets() == 0 {
		return err
	}
	if err := place(r.TL, p, take); err != nil {
		return err
	}
	r.Meta.Interrupted = true
	return r.Save()
}

// rebuild reads a take's committed chunks, in order, up to the first gap.
func rebuild(ctx context.Context, r *Recording, id uint32) (audio.Take, error) {
	refs, err := r.v.ChunkRefs(r.CaseID, r.ID)
	if err != nil {
		return audio.Take{}, err
	}
	take := audio.Take{ID: id}
	src := r.Source()
	for _, ref := range refs {
		if ref.Take != id {
			continue
		}
		if int(ref.Index) != len(take.Chunks) {
			break
		}
		c, err := src.ReadChunk(ctx, id, ref.Index)
		if err != nil {
			return audio.Take{}, err
		}
		take.Chunks = append(take.Chunks, len(c.Packets))
	}
	return take, nil
}
