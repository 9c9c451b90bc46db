package client

import (
	"context"
	"fmt"
	"slices"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// blobBatch bounds one upload or download request: a one-second chunk is
// ~3 KB, so a batch carries minutes of audio in one round trip.
var blobBatch = 128 // a variable only so that a test can have many batches of few chunks

// uploadBlobs sends every sealed chunk the server does not have yet, case by
// case, asking first which are missing: an upload broken halfway resumes at
// the first missing chunk. A chunk leaves the upload queue only once the
// server holds it.
func uploadBlobs(ctx context.Context, c *Client, bs blobStore, sum *Summary, progress func(Progress)) error {
	pending, err := bs.PendingBlobs(0)
	if err != nil || len(pending) == 0 {
		return err
	}
	byCase := map[string][]store.Blob{}
	for _, b := range pending {
		byCase[b.CaseID] = append(byCase[b.CaseID], b)
	}
	cases := make([]string, 0, len(byCase))
	for c := range byCase {
		cases = append(cases, c)
	}
	slices.Sort(cases)
	for _, caseID := range cases {
		for chunk := range slices.Chunk(byCase[caseID], blobBatch) {
			ids := make([]record.RevID, len(chunk))
			for i, b := range chunk {
				ids[i] = b.ID
			}
			missing, err := c.BlobsMissing(ctx, caseID, ids)
			if err != nil {
				return err
			}
			need := map[record.RevID]bool{}
			for _, id := range missing {
				need[id] = true
			}
			var send []protocol.Blob
			var done []record.RevID
			for _, b := range chunk {
				if need[b.ID] {
					send = append(send, protocol.Blob{ID: b.ID, Data: b.Data})
				} else {
					done = append(done, b.ID) // already there
				}
			}
			if len(send) > 0 {
				resp, err := c.UploadBlobs(ctx, caseID, send)
				if err != nil {
					return err
				}
				for _, r := range resp.Results {
					if r.Status == protocol.StatusStored || r.Status == protocol.StatusPresent {
						done = append(done, r.ID)
					} else {
						return fmt.Errorf("the server refused audio chunk %s: %s", r.ID.Short(), r.Reason)
					}
				}
			}
			if err := bs.BlobsUploaded(done); err != nil {
				return err
			}
			sum.BlobsUp += len(send)
			progress(Progress{Phase: "upload", Done: sum.BlobsUp, Total: len(pending)})
		}
	}
	return nil
}

// blobsFor declares, for the recording manifests in a push batch, the chunks
// each needs on the server first.
func blobsFor(bs blobStore, revs []*record.Revision) (map[record.RevID][]record.RevID, error) {
	var out map[record.RevID][]record.RevID
	for _, r := range revs {
		if r.Kind != record.KindRecording || r.Deleted {
			continue
		}
		ids, err := bs.RecordingBlobs(r.CaseID, r.RecordID)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			if out == nil {
				out = map[record.RevID][]record.RevID{}
			}
			out[r.Rev] = ids
		}
	}
	return out, nil
}

// downloadBlobs fetches the chunks of recordings this device can read but
// did not record, so they play back offline later. Each chunk is checked
// against the id its manifest names before it is stored.
func downloadBlobs(ctx context.Context, c *Client, bs blobStore, sum *Summary, progress func(Progress)) error {
	missing, err := bs.MissingChunks(0)
	if err != nil || len(missing) == 0 {
		return err
	}
	byCase := map[string][]store.MissingChunk{}
	for _, m := range missing {
		byCase[m.CaseID] = append(byCase[m.CaseID], m)
	}
	for caseID, ms := range byCase {
		for chunk := range slices.Chunk(ms, blobBatch) {
			ids := make([]record.RevID, len(chunk))
			where := map[record.RevID]store.MissingChunk{}
			for i, m := range chunk {
				ids[i] = m.Ref.ID
				where[m.Ref.ID] = m
			}
			blobs, err := c.FetchBlobs(ctx, caseID, ids)
			if err != nil {
				return err
			}
			for _, b := range blobs {
				m, ok := where[b.ID]
				if !ok {
					continue // not asked for: ignore
				}
				if err := bs.PutSealedChunk(m.CaseID, m.RecordingID, m.Ref, b.Data); err != nil {
					return err // a chunk that does not match its id is never stored
				}
				sum.BlobsDown++
			}
			progress(Progress{Phase: "download", Done: sum.BlobsDown, Total: len(missing)})
		}
	}
	return nil
}
