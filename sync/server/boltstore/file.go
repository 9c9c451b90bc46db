package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// A store file read and written record by record, for tools that copy
// whole stores to and from another backend (pgstore's import and backup).
// server.Tx cannot list everything (records, blobs, acknowledgements) nor
// set a store's identity, so those tools go through FileReader and
// FileWriter instead, and this file is the one place that knows how each
// bucket's keys and values are laid out.

// FileMeta is a store file's identity and settings.
type FileMeta struct {
	// Format is the file's format (1 … FormatVersion); FileWriter writes
	// FormatVersion whatever it is given.
	Format        uint64
	ServerID      string
	Epoch         string // FileWriter writes a new one
	Created       time.Time
	Recovery      string
	RosterVersion uint64
	Agency        []byte // as stored; nil when unset
	// LogSize, LogSKey and LogVKey are the transparency log's size and key
	// ("" in a file older than format 3). FileWriter counts the size.
	LogSize          int64
	LogSKey, LogVKey string
}

// FileReader reads a store file, as of one read-only transaction. Byte
// slices handed to callbacks are valid only during the call.
type FileReader struct {
	db  *bolt.DB
	btx *bolt.Tx
}

// OpenFile opens a store file (a data directory's, or a backup) for
// reading. It must be of format 1 … FormatVersion (format 1 lacks the
// statements, the device index and the rotations, formats 1 and 2 the
// transparency log: they read as empty). A store in use by a running
// server is refused with server.ErrLocked; anything else that is not a
// store with ErrNotStore.
func OpenFile(path string) (*FileReader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w", path, server.ErrLocked)
		}
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotStore, err)
	}
	btx, err := db.Begin(false)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := &FileReader{db: db, btx: btx}
	if err := r.check(); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func (r *FileReader) check() error {
	m := r.btx.Bucket(Layout.Meta)
	if m == nil {
		return ErrNotStore
	}
	if v := getU64(m, MetaKeys.Format); v < 1 || v > FormatVersion {
		return fmt.Errorf("%w: format %d", ErrNotStore, v)
	}
	for _, b := range Layout.Format1() {
		if r.btx.Bucket(b) == nil {
			return fmt.Errorf("%w: no %s bucket", ErrNotStore, b)
		}
	}
	return nil
}

// Close ends the reader's transaction and closes the file.
func (r *FileReader) Close() error {
	r.btx.Rollback()
	return r.db.Close()
}

// Meta reads the file's identity. A created time that does not parse is
// an error; the rest is returned as stored, for the caller to judge.
func (r *FileReader) Meta() (FileMeta, error) {
	m := r.btx.Bucket(Layout.Meta)
	fm := FileMeta{
		Format:        getU64(m, MetaKeys.Format),
		ServerID:      string(m.Get(MetaKeys.ServerID)),
		Epoch:         string(m.Get(MetaKeys.Epoch)),
		Recovery:      string(m.Get(MetaKeys.Recovery)),
		RosterVersion: getU64(m, MetaKeys.RosterVersion),
		LogSize:       int64(getU64(m, MetaKeys.LogSize)),
		LogSKey:       string(m.Get(MetaKeys.LogSKey)),
		LogVKey:       string(m.Get(MetaKeys.LogVKey)),
	}
	if v := m.Get(MetaKeys.Agency); v != nil {
		fm.Agency = bytes.Clone(v)
	}
	if err := fm.Created.UnmarshalText(m.Get(MetaKeys.Created)); err != nil {
		return fm, fmt.Errorf("meta: created: %w", err)
	}
	return fm, nil
}

// eachJSON decodes every value of a bucket as T (none for a bucket an
// older file lacks).
func eachJSON[T any](b *bolt.Bucket, fn func(T) error) error {
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		return fn(x)
	})
}

// Statements calls fn for each signed statement, in the order stored.
func (r *FileReader) Statements(fn func(trust.Signed) error) error {
	return eachJSON(r.btx.Bucket(Layout.Statements), fn)
}

// Teams calls fn for each team.
func (r *FileReader) Teams(fn func(server.Team) error) error {
	return eachJSON(r.btx.Bucket(Layout.Teams), fn)
}

// Users calls fn for each user.
func (r *FileReader) Users(fn func(server.User) error) error {
	return eachJSON(r.btx.Bucket(Layout.Users), fn)
}

// Devices calls fn for each device.
func (r *FileReader) Devices(fn func(server.Device) error) error {
	return eachJSON(r.btx.Bucket(Layout.Devices), fn)
}

// Cases calls fn for each case.
func (r *FileReader) Cases(fn func(server.Case) error) error {
	return eachJSON(r.btx.Bucket(Layout.Cases), fn)
}

// Records calls fn for each record.
func (r *FileReader) Records(fn func(server.RecordInfo) error) error {
	return r.btx.Bucket(Layout.Records).ForEach(func(k, v []byte) error {
		kind, caseID, ok := bytes.Cut(v, []byte{0})
		if !ok {
			return fmt.Errorf("record %q: damaged index entry", k)
		}
		return fn(server.RecordInfo{ID: string(k), CaseID: string(caseID), Kind: record.Kind(kind)})
	})
}

// Revisions calls fn for each revision, case by case in the order each
// case lists them, with its encoding; each must decode to the id it is
// stored under, and every stored revision must be listed by its case.
func (r *FileReader) Revisions(fn func(rev *record.Revision, data []byte) error) error {
	revs := r.btx.Bucket(Layout.Revs)
	n := 0
	err := r.btx.Bucket(Layout.CaseRevs).ForEach(func(_, id []byte) error {
		data := revs.Get(id)
		if data == nil {
			return fmt.Errorf("case_revs names revision %x, which is missing", id)
		}
		rev, rest, err := record.UnmarshalRevision(data)
		if err != nil || len(rest) != 0 || !bytes.Equal(rev.Rev[:], id) {
			return fmt.Errorf("revision %x: damaged: %v", id, err)
		}
		n++
		return fn(rev, data)
	})
	if err != nil {
		return err
	}
	if stored := revs.Stats().KeyN; stored != n {
		return fmt.Errorf("%d revisions stored but %d listed by case", stored, n)
	}
	return nil
}

// Changes calls fn for each change log entry, in order, with its number.
func (r *FileReader) Changes(fn func(server.Change) error) error {
	return r.btx.Bucket(Layout.Changes).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("change key %x: damaged", k)
		}
		ch, err := decodeChange(binary.BigEndian.Uint64(k), v)
		if err != nil {
			return fmt.Errorf("change %x: %w", k, err)
		}
		return fn(ch)
	})
}

// Acks calls fn for each device's contiguous acknowledged sequence.
func (r *FileReader) Acks(fn func(deviceID string, acked uint64) error) error {
	return r.btx.Bucket(Layout.Acks).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("ack of %q: damaged", k)
		}
		return fn(string(k), binary.BigEndian.Uint64(v))
	})
}

// PendingAcks calls fn for each sequence acknowledged above a device's
// contiguous one.
func (r *FileReader) PendingAcks(fn func(deviceID string, seq uint64) error) error {
	return r.btx.Bucket(Layout.AckPending).ForEach(func(k, _ []byte) error {
		if len(k) < 9 || k[len(k)-9] != 0 {
			return fmt.Errorf("pending ack %x: damaged", k)
		}
		return fn(string(k[:len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]))
	})
}

// Rotations calls fn for each rotation owed.
func (r *FileReader) Rotations(fn func(server.Rotation) error) error {
	b := r.btx.Bucket(Layout.Rotations)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if len(v) != 4 {
			return fmt.Errorf("rotation of %q: damaged", k)
		}
		return fn(server.Rotation{CaseID: string(k), Epoch: binary.BigEndian.Uint32(v)})
	})
}

// Blobs calls fn for each blob, with the id it is stored under (which the
// caller may check against the data's SHA-256).
func (r *FileReader) Blobs(fn func(caseID string, id record.RevID, data []byte) error) error {
	return r.btx.Bucket(Layout.Blobs).ForEach(func(k, v []byte) error {
		if len(k) < 33 || k[len(k)-33] != 0 {
			return fmt.Errorf("blob key %x: damaged", k)
		}
		return fn(string(k[:len(k)-33]), record.RevID(k[len(k)-32:]), v)
	})
}

// leafHashes is the stored hashes leaf n wrote (tlog.StoredHashes): its
// own, and one for each subtree it completes. A missing one shortens the
// answer.
func leafHashes(b *bolt.Bucket, n int64) []byte {
	first := tlog.StoredHashIndex(0, n)
	var out []byte
	for i := range 1 + bits.TrailingZeros64(uint64(n+1)) {
		h := b.Get(u64(uint64(first + int64(i))))
		if len(h) != tlog.HashSize {
			break
		}
		out = append(out, h...)
	}
	return out
}

// LogLeaves calls fn for each leaf of the transparency log in order, with
// its decoded entry and the stored hashes it wrote (tlog.StoredHashes,
// concatenated). The leaves must be numbered 0 … log_size-1, each with
// all its stored hashes, and no stored hash may be left over. A file older
// than format 3 has none.
func (r *FileReader) LogLeaves(fn func(l server.LogLeaf, e transparency.Entry, hashes []byte) error) error {
	b := r.btx.Bucket(Layout.LogLeaves)
	if b == nil {
		return nil
	}
	size := int64(getU64(r.btx.Bucket(Layout.Meta), MetaKeys.LogSize))
	stored := r.btx.Bucket(Layout.LogHashes)
	var n int64
	nh := 0
	err := b.ForEach(func(k, v []byte) error {
		if len(k) != 8 || int64(binary.BigEndian.Uint64(k)) != n {
			return fmt.Errorf("leaf %x: damaged, or not the next one (%d)", k, n)
		}
		l, err := leaf(n, v)
		if err != nil {
			return err
		}
		e, err := transparency.UnmarshalEntry(l.Data)
		if err != nil {
			return fmt.Errorf("leaf %d: %w", n, err)
		}
		hs := leafHashes(stored, n)
		if len(hs) != (1+bits.TrailingZeros64(uint64(n+1)))*tlog.HashSize {
			return fmt.Errorf("leaf %d: stored hashes missing", n)
		}
		nh += len(hs) / tlog.HashSize
		n++
		return fn(l, e, hs)
	})
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%d leaves for a log of %d", n, size)
	}
	if keys := stored.Stats().KeyN; nh != keys || int64(nh) != tlog.StoredHashCount(size) {
		return fmt.Errorf("%d stored hashes for a log of %d (want %d)", keys, size, tlog.StoredHashCount(size))
	}
	return nil
}

// Cosignatures calls fn for each witness cosignature, by tree size.
func (r *FileReader) Cosignatures(fn func(server.Cosignature) error) error {
	b := r.btx.Bucket(Layout.LogCosigs)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if len(k) < 9 {
			return fmt.Errorf("cosignature %x: damaged", k)
		}
		c, err := cosig(k, v)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// FileWriter writes a new store file of format FormatVersion, in
// transactions of bounded size so that a large store never sits whole in
// memory. Counters (statements, case_revs, the change log, the log's size)
// are numbered in the order things are put; the change log is renumbered
// 1, 2, 3, …, which the new epoch makes safe. Use WriteFile.
type FileWriter struct {
	db   *bolt.DB
	tx   *bolt.Tx
	size int

	statements, caseRevs, changes uint64
	logSize                       int64
	// logRevs collects log_revs entries to put in key order at the end
	// (bbolt splits nodes only at commit, and random keys put one by one
	// into a large transaction take quadratic time).
	logRevs []logRev
	// witnesses is each witness's largest cosigned size, for log_witnesses.
	witnesses map[string]int64
}

type logRev struct {
	rev record.RevID
	idx int64
}

// WriteFile writes a new store file at path through fn, never replacing
// a file that is there (server.ErrExists). The file is written beside
// path, synced, and linked into place only once fn and every write have
// succeeded, so path is either absent or complete.
func WriteFile(path string, fn func(*FileWriter) error) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, server.ErrExists)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fieldcased-copy-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	tmp.Close()
	os.Remove(tmpName) // bbolt makes it anew; the name is ours
	defer os.Remove(tmpName)
	db, err := bolt.Open(tmpName, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return err
	}
	w := &FileWriter{db: db}
	err = db.Update(func(btx *bolt.Tx) error {
		for _, b := range Layout.All() {
			if _, err := btx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = fn(w)
	}
	if err == nil {
		err = w.finish()
	}
	if w.tx != nil {
		w.tx.Rollback()
	}
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return linkInPlace(tmpName, path)
}

func (w *FileWriter) put(bucket, k, v []byte) error {
	if w.tx == nil {
		tx, err := w.db.Begin(true)
		if err != nil {
			return err
		}
		w.tx = tx
	}
	if err := w.tx.Bucket(bucket).Put(k, v); err != nil {
		return err
	}
	w.size += len(k) + len(v)
	if w.size >= 64<<20 {
		return w.commit()
	}
	return nil
}

func (w *FileWriter) commit() error {
	if w.tx == nil {
		return nil
	}
	err := w.tx.Commit()
	w.tx, w.size = nil, 0
	return err
}

func (w *FileWriter) putJSON(bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.put(bucket, k, raw)
}

// finish writes the counters and the log's revision index, and commits.
func (w *FileWriter) finish() error {
	for k, v := range map[string][]byte{
		string(MetaKeys.Format):       u64(FormatVersion),
		string(MetaKeys.StatementSeq): u64(w.statements),
		string(MetaKeys.CaseRevSeq):   u64(w.caseRevs),
		string(MetaKeys.ChangeSeq):    u64(w.changes),
		string(MetaKeys.LogSize):      u64(uint64(w.logSize)),
	} {
		if err := w.put(Layout.Meta, []byte(k), v); err != nil {
			return err
		}
	}
	for name, size := range w.witnesses {
		if err := w.put(Layout.LogWitnesses, []byte(name), u64(uint64(size))); err != nil {
			return err
		}
	}
	slices.SortFunc(w.logRevs, func(a, b logRev) int { return bytes.Compare(a.rev[:], b.rev[:]) })
	for _, lr := range w.logRevs {
		if err := w.put(Layout.LogRevs, bytes.Clone(lr.rev[:]), u64(uint64(lr.idx))); err != nil {
			return err
		}
	}
	return w.commit()
}

// PutMeta writes the file's identity, with a new epoch. The format and
// the log's size are written at the end.
func (w *FileWriter) PutMeta(m FileMeta) error {
	created, err := m.Created.MarshalText()
	if err != nil {
		return fmt.Errorf("meta: created: %w", err)
	}
	for k, v := range map[string][]byte{
		string(MetaKeys.ServerID): []byte(m.ServerID), string(MetaKeys.Epoch): []byte(newID()), string(MetaKeys.Created): created,
		string(MetaKeys.Recovery): []byte(m.Recovery), string(MetaKeys.RosterVersion): u64(m.RosterVersion),
		string(MetaKeys.LogSKey): []byte(m.LogSKey), string(MetaKeys.LogVKey): []byte(m.LogVKey),
	} {
		if err := w.put(Layout.Meta, []byte(k), v); err != nil {
			return err
		}
	}
	if m.Agency != nil {
		return w.put(Layout.Meta, MetaKeys.Agency, bytes.Clone(m.Agency))
	}
	return nil
}

// PutStatement adds a signed statement after those put before.
func (w *FileWriter) PutStatement(s trust.Signed) error {
	w.statements++
	if err := w.putJSON(Layout.Statements, u64(w.statements), s); err != nil {
		return err
	}
	return w.put(Layout.StatementIDs, []byte(s.ID()), u64(w.statements))
}

// PutTeam adds a team and its name.
func (w *FileWriter) PutTeam(t server.Team) error {
	if err := w.putJSON(Layout.Teams, []byte(t.ID), t); err != nil {
		return err
	}
	return w.put(Layout.TeamNames, []byte(t.Name), []byte(t.ID))
}

// PutUser adds a user and its name.
func (w *FileWriter) PutUser(u server.User) error {
	if err := w.putJSON(Layout.Users, []byte(u.ID), u); err != nil {
		return err
	}
	return w.put(Layout.UserNames, []byte(u.Name), []byte(u.ID))
}

// PutDevice adds a device and its token hash.
func (w *FileWriter) PutDevice(d server.Device) error {
	if err := w.putJSON(Layout.Devices, []byte(d.ID), d); err != nil {
		return err
	}
	return w.put(Layout.Tokens, d.TokenHash[:], []byte(d.ID))
}

// PutCase adds a case.
func (w *FileWriter) PutCase(c server.Case) error {
	return w.putJSON(Layout.Cases, []byte(c.ID), c)
}

// PutRecord adds a record.
func (w *FileWriter) PutRecord(r server.RecordInfo) error {
	return w.put(Layout.Records, []byte(r.ID), append(append([]byte(r.Kind), 0), r.CaseID...))
}

// PutRevision adds a revision's encoding, indexed by its device and
// sequence number and listed by its case after those put before. The
// encoding must decode (its id, case, device and sequence number are read
// from it).
func (w *FileWriter) PutRevision(data []byte) error {
	r, rest, err := record.UnmarshalRevision(data)
	if err != nil || len(rest) != 0 {
		return fmt.Errorf("revision: damaged: %v", err)
	}
	if err := w.put(Layout.Revs, bytes.Clone(r.Rev[:]), bytes.Clone(data)); err != nil {
		return err
	}
	if err := w.put(Layout.DevRevs, devRevKey(r.Device, r.Seq, r.Rev), nil); err != nil {
		return err
	}
	w.caseRevs++
	return w.put(Layout.CaseRevs, binary.BigEndian.AppendUint64(append([]byte(r.CaseID), 0), w.caseRevs), bytes.Clone(r.Rev[:]))
}

// PutChange adds a change log entry after those put before, numbered
// from 1 (ch.Seq is ignored).
func (w *FileWriter) PutChange(ch server.Change) error {
	w.changes++
	return w.put(Layout.Changes, u64(w.changes), encodeChange(ch))
}

// PutAck sets a device's contiguous acknowledged sequence.
func (w *FileWriter) PutAck(deviceID string, acked uint64) error {
	return w.put(Layout.Acks, []byte(deviceID), u64(acked))
}

// PutPendingAck adds a sequence acknowledged above a device's contiguous
// one.
func (w *FileWriter) PutPendingAck(deviceID string, seq uint64) error {
	return w.put(Layout.AckPending, pendingKey(deviceID, seq), []byte{1})
}

// PutRotation adds a rotation owed.
func (w *FileWriter) PutRotation(r server.Rotation) error {
	return w.put(Layout.Rotations, []byte(r.CaseID), binary.BigEndian.AppendUint32(nil, r.Epoch))
}

// PutBlob adds a blob.
func (w *FileWriter) PutBlob(caseID string, id record.RevID, data []byte) error {
	return w.put(Layout.Blobs, blobKey(caseID, id), bytes.Clone(data))
}

// PutLogLeaf adds the transparency log's next leaf, with the stored hashes
// it wrote (tlog.StoredHashes, concatenated). Leaves must come in order
// from 0.
func (w *FileWriter) PutLogLeaf(l server.LogLeaf, hashes []byte) error {
	if l.Index != w.logSize {
		return fmt.Errorf("log leaf %d: want leaf %d next", l.Index, w.logSize)
	}
	e, err := transparency.UnmarshalEntry(l.Data)
	if err != nil {
		return fmt.Errorf("log leaf %d: %w", l.Index, err)
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(l.Data)), uint64(l.Time.UnixMilli()))
	if err := w.put(Layout.LogLeaves, u64(uint64(l.Index)), append(v, l.Data...)); err != nil {
		return err
	}
	first := tlog.StoredHashIndex(0, l.Index)
	for i := 0; i+tlog.HashSize <= len(hashes); i += tlog.HashSize {
		if err := w.put(Layout.LogHashes, u64(uint64(first+int64(i/tlog.HashSize))), bytes.Clone(hashes[i:i+tlog.HashSize])); err != nil {
			return err
		}
	}
	if e.Kind == transparency.KindRevision {
		w.logRevs = append(w.logRevs, logRev{e.Rev, l.Index})
	}
	w.logSize++
	return nil
}

// PutCosignature adds a witness's cosignature; the witness's last one is
// the one of the largest size put.
func (w *FileWriter) PutCosignature(c server.Cosignature) error {
	if last, ok := w.witnesses[c.Name]; !ok || c.Size > last {
		if w.witnesses == nil {
			w.witnesses = map[string]int64{}
		}
		w.witnesses[c.Name] = c.Size
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(c.Time.UnixMilli()))
	return w.put(Layout.LogCosigs, cosigKey(c.Size, c.Name), append(v, c.Sig...))
}
