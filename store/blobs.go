package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
)

// Audio chunks are blobs: sealed under the case key (audio subkey; the
// place binds case, recording, take, chunk index and the last-chunk flag),
// kept apart from revisions, one transaction per chunk so a crash loses at
// most the chunk being written. A blob's id is the SHA-256 of its sealed
// bytes: how it travels and how a download is verified.
var (
	bucketBlobs      = []byte("blobs")   // case/recording/take(4)/index(4) → flags(1) ‖ id(32) ‖ sealed
	bucketBlobOutbox = []byte("blobout") // id → blobs key: written here, not yet on the server
)

func blobKey(caseID, recordingID string, take, index uint32) []byte {
	k := recordKey(caseID, recordingID)
	k = append(k, '/')
	k = binary.BigEndian.AppendUint32(k, take)
	return binary.BigEndian.AppendUint32(k, index)
}

func blobBuckets(tx *bolt.Tx) (blobs, out *bolt.Bucket, err error) {
	if blobs = tx.Bucket(bucketBlobs); blobs == nil {
		if blobs, err = tx.CreateBucket(bucketBlobs); err != nil {
			return nil, nil, err
		}
	}
	if out = tx.Bucket(bucketBlobOutbox); out == nil {
		if out, err = tx.CreateBucket(bucketBlobOutbox); err != nil {
			return nil, nil, err
		}
	}
	return blobs, out, nil
}

func encodeBlob(ref record.ChunkRef, sealed []byte) []byte {
	flags := byte(0)
	if ref.Last {
		flags = 1
	}
	b := make([]byte, 0, 33+len(sealed))
	b = append(b, flags)
	b = append(b, ref.ID[:]...)
	return append(b, sealed...)
}

func decodeBlob(k, v []byte) (record.ChunkRef, []byte, error) {
	if len(v) < 33 || len(k) < 8 {
		return record.ChunkRef{}, nil, fmt.Errorf("%w: blob entry", ErrCorrupt)
	}
	ref := record.ChunkRef{
		Take:  binary.BigEndian.Uint32(k[len(k)-8:]),
		Index: binary.BigEndian.Uint32(k[len(k)-4:]),
		Last:  v[0] == 1,
	}
	copy(ref.ID[:], v[1:33])
	return ref, v[33:], nil
}

// PutChunk seals one encoded audio chunk of a recording and commits it, in
// its own transaction, queued for upload.
func (v *Vault) PutChunk(caseID, recordingID string, take, index uint32, last bool, plain []byte) (record.ChunkRef, error) {
	var ref record.ChunkRef
	err := v.Update(func(tx *Tx) error {
		key := tx.keys.Latest(caseID)
		if key == nil {
			return fmt.Errorf("%w: case %s", ErrNoKey, caseID)
		}
		box := crypto.Seal(key, sealed.ChunkPlace(caseID, recordingID, take, index, last), plain)
		ref = record.ChunkRef{Take: take, Index: index, Last: last, ID: sha256.Sum256(box)}
		blobs, out, err := blobBuckets(tx.btx)
		if err != nil {
			return err
		}
		k := blobKey(caseID, recordingID, take, index)
		if err := blobs.Put(k, encodeBlob(ref, box)); err != nil {
			return err
		}
		return out.Put(ref.ID[:], k)
	})
	return ref, err
}

// Chunk opens a stored chunk.
func (v *Vault) Chunk(caseID, recordingID string, take, index uint32) ([]byte, error) {
	var plain []byte
	err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlobs)
			if b == nil {
				return ErrNotFound
			}
			k := blobKey(caseID, recordingID, take, index)
			val := b.Get(k)
			if val == nil {
				return ErrNotFound
			}
			ref, box, err := decodeBlob(k, val)
			if err != nil {
				return err
			}
			epoch, err := crypto.SealedEpoch(box)
			if err != nil {
				return fmt.Errorf("%w: chunk: %v", ErrCorrupt, err)
			}
			ks := keys.All(caseID, epoch)
			if len(ks) == 0 {
				return ErrNoKey
			}
			for _, key := range ks { // more than one only after a raced rotation
				if plain, err = crypto.Open(key, sealed.ChunkPlace(caseID, recordingID, take, index, ref.Last), box); err == nil {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("%w: chunk %d/%d: %v", ErrCorrupt, take, index, err)
			}
			return nil
		})
	})
	return plain, err
}

// ChunkRefs lists the chunks stored for a recording, in take and index
// order.
func (v *Vault) ChunkRefs(caseID, recordingID string) ([]record.ChunkRef, error) {
	var out []record.ChunkRef
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		if b == nil {
			return nil
		}
		prefix := append(recordKey(caseID, recordingID), '/')
		c := b.Cursor()
		for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, val = c.Next() {
			ref, _, err := decodeBlob(k, val)
			if err != nil {
				return err
			}
			out = append(out, ref)
		}
		return nil
	})
	return out, err
}

// PutSealedChunk stores a chunk downloaded from the server, after checking
// that its bytes hash to the id the manifest names. It is not queued for
// upload: the server has it.
func (v *Vault) PutSealedChunk(caseID, recordingID string, ref record.ChunkRef, sealed []byte) error {
	if sha256.Sum256(sealed) != ref.ID {
		return fmt.Errorf("%w: chunk %d/%d does not match its id", ErrCorrupt, ref.Take, ref.Index)
	}
	return v.Update(func(tx *Tx) error {
		blobs, _, err := blobBuckets(tx.btx)
		if err != nil {
			return err
		}
		return blobs.Put(blobKey(caseID, recordingID, ref.Take, ref.Index), encodeBlob(ref, sealed))
	})
}

// Blob is a sealed chunk waiting to be uploaded.
type Blob struct {
	CaseID string
	ID     record.RevID
	Data   []byte
}

// PendingBlobs lists sealed chunks not yet acknowledged by the server, at
// most limit (0: all).
func (v *Vault) PendingBlobs(limit int) ([]Blob, error) {
	var out []Blob
	err := v.view(func(tx *bolt.Tx) error {
		ob, blobs := tx.Bucket(bucketBlobOutbox), tx.Bucket(bucketBlobs)
		if ob == nil || blobs == nil {
			return nil
		}
		c := ob.Cursor()
		for id, k := c.First(); id != nil && (limit == 0 || len(out) < limit); id, k = c.Next() {
			val := blobs.Get(k)
			if val == nil {
				continue
			}
			_, sealed, err := decodeBlob(k, val)
			if err != nil {
				return err
			}
			caseID, _, _ := splitRecordKey(k)
			var b Blob
			copy(b.ID[:], id)
			b.CaseID, b.Data = caseID, bytes.Clone(sealed)
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// PendingBlobCount is the number of chunks waiting to be uploaded.
func (v *Vault) PendingBlobCount() int {
	n := 0
	v.view(func(tx *bolt.Tx) error {
		if ob := tx.Bucket(bucketBlobOutbox); ob != nil {
			n = ob.Stats().KeyN
		}
		return nil
	})
	return n
}

// BlobsUploaded clears chunks the server acknowledged from the upload queue.
func (v *Vault) BlobsUploaded(ids []record.RevID) error {
	return v.Update(func(tx *Tx) error {
		ob := tx.btx.Bucket(bucketBlobOutbox)
		if ob == nil {
			return nil
		}
		for _, id := range ids {
			if err := ob.Delete(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// MissingChunk is a chunk a recording's manifest names that this vault does
// not hold (recorded on another device).
type MissingChunk struct {
	CaseID, RecordingID string
	Ref                 record.ChunkRef
}

// MissingChunks lists chunks named by the recordings this vault can read
// but not stored here, at most limit (0: all).
func (v *Vault) MissingChunks(limit int) ([]MissingChunk, error) {
	var recs []Item[record.Recording]
	err := v.read(func(ws *workingSet) error {
		for _, e := range ws.records {
			if e.kind == record.KindRecording {
				it := itemOf[record.Recording](ws, e)
				if !it.Deleted && !it.Sealed {
					recs = append(recs, it)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []MissingChunk
	err = v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		for _, r := range recs {
			for _, ref := range r.Value.Chunks {
				if b != nil && b.Get(blobKey(r.CaseID, r.ID, ref.Take, ref.Index)) != nil {
					continue
				}
				out = append(out, MissingChunk{CaseID: r.CaseID, RecordingID: r.ID, Ref: ref})
				if limit > 0 && len(out) == limit {
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// RecordingBlobs lists the ids of every chunk stored for a recording: what
// its manifest needs on the server first.
func (v *Vault) RecordingBlobs(caseID, recordingID string) ([]record.RevID, error) {
	refs, err := v.ChunkRefs(caseID, recordingID)
	ids := make([]record.RevID, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ids, err
}

// RequeueRecordingBlobs puts every chunk of a recording back in the upload
// queue (a server restored from a backup may have lost them; asking it which
// are missing keeps the re-upload to what it lacks).
func (v *Vault) RequeueRecordingBlobs(caseID, recordingID string) error {
	refs, err := v.ChunkRefs(caseID, recordingID)
	if err != nil || len(refs) == 0 {
		return err
	}
	return v.Update(func(tx *Tx) error {
		_, out, err := blobBuckets(tx.btx)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if err := out.Put(r.ID[:], blobKey(caseID, recordingID, r.Take, r.Index)); err != nil {
				return err
			}
		}
		return nil
	})
}
