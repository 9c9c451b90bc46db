package boltstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/scrub"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// FileName is the store's file name inside a server's data directory.
const FileName = "fieldcased.db"

// FormatVersion is the layout version written in meta; a newer one is
// refused, an older one upgraded when opened for writing (format 1, before
// signed statements: see upgrade; format 2, before the transparency log:
// see upgradeLog). Read-only, a format 1 file reads as having no
// statements, device index or rotations, and a format 1 or 2 file as
// having an empty log and no log key.
const FormatVersion = 3

// Layout names the buckets of a store file (format FormatVersion). Tools
// that copy whole stores (pgstore's import and backup) read and write the
// file with FileReader and FileWriter (file.go), never bucket by bucket;
// tests use these names to build old or damaged files.
var Layout = layout{
	Meta:       []byte("meta"),
	Teams:      []byte("teams"),
	TeamNames:  []byte("team_names"),
	Users:      []byte("users"),
	UserNames:  []byte("user_names"),
	Devices:    []byte("devices"),
	Tokens:     []byte("tokens"),
	Cases:      []byte("cases"),
	Records:    []byte("records"),
	Revs:       []byte("revs"),
	CaseRevs:   []byte("case_revs"),
	Changes:    []byte("changes"),
	Acks:       []byte("acks"),
	AckPending: []byte("ack_pending"),
	Blobs:      []byte("blobs"),

	Statements:   []byte("statements"),
	StatementIDs: []byte("statement_ids"),
	DevRevs:      []byte("dev_revs"),
	Rotations:    []byte("rotations"),

	LogLeaves:    []byte("log_leaves"),
	LogHashes:    []byte("log_hashes"),
	LogRevs:      []byte("log_revs"),
	LogCosigs:    []byte("log_cosigs"),
	LogWitnesses: []byte("log_witnesses"),
}

type layout struct {
	Meta       []byte
	Teams      []byte
	TeamNames  []byte
	Users      []byte
	UserNames  []byte
	Devices    []byte
	Tokens     []byte
	Cases      []byte
	Records    []byte
	Revs       []byte
	CaseRevs   []byte
	Changes    []byte
	Acks       []byte
	AckPending []byte
	Blobs      []byte

	// Format 2.
	Statements   []byte // statement counter (8 bytes) → trust.Signed (JSON)
	StatementIDs []byte // trust.Signed.ID() → statement counter
	DevRevs      []byte // device id ‖ 0 ‖ seq (8 bytes) ‖ rev → nothing
	Rotations    []byte // case id → epoch owed past (4 bytes)

	// Format 3: the transparency log.
	LogLeaves    []byte // index (8 bytes) → time (unix ms, 8 bytes) ‖ leaf (transparency.Entry)
	LogHashes    []byte // tlog stored hash index (8 bytes) → hash (32 bytes)
	LogRevs      []byte // rev → its entry's index (8 bytes)
	LogCosigs    []byte // tree size (8 bytes) ‖ witness name → time (unix ms, 8 bytes) ‖ signature (base64)
	LogWitnesses []byte // witness name → the largest tree size it cosigned (8 bytes)
}

// All lists every bucket of the layout.
func (l layout) All() [][]byte {
	return append(l.Format2(), l.Log()...)
}

// Format2 lists the buckets a format 2 file has.
func (l layout) Format2() [][]byte {
	return append(l.Format1(), l.Statements, l.StatementIDs, l.DevRevs, l.Rotations)
}

// Log lists the buckets of the transparency log (format 3).
func (l layout) Log() [][]byte {
	return [][]byte{l.LogLeaves, l.LogHashes, l.LogRevs, l.LogCosigs, l.LogWitnesses}
}

// Format1 lists the buckets a format 1 file has (it also has enroll_codes,
// dropped by the upgrade).
func (l layout) Format1() [][]byte {
	return [][]byte{l.Meta, l.Teams, l.TeamNames, l.Users, l.UserNames, l.Devices, l.Tokens, l.Cases, l.Records, l.Revs, l.CaseRevs, l.Changes, l.Acks, l.AckPending, l.Blobs}
}

// format1EnrollCodes is format 1's bucket of hashed enrolment codes, gone
// with signed enrolment.
var format1EnrollCodes = []byte("enroll_codes")

// MetaKeys name the values in the meta bucket.
var MetaKeys = metaKeys{
	Format:        []byte("format"),
	ServerID:      []byte("server_id"),
	Epoch:         []byte("epoch"),
	Created:       []byte("created"),
	Recovery:      []byte("recovery"),
	RosterVersion: []byte("roster_version"),
	ChangeSeq:     []byte("change_seq"),
	CaseRevSeq:    []byte("case_rev_seq"),
	Agency:        []byte("agency"),
	StatementSeq:  []byte("statement_seq"),
	LogSize:       []byte("log_size"),
	LogSKey:       []byte("log_skey"),
	LogVKey:       []byte("log_vkey"),
	Scrub:         []byte("scrub"),
}

type metaKeys struct {
	Format        []byte
	ServerID      []byte
	Epoch         []byte
	Created       []byte
	Recovery      []byte
	RosterVersion []byte
	ChangeSeq     []byte
	CaseRevSeq    []byte
	Agency        []byte // the agency's public key (32 bytes), absent until set
	StatementSeq  []byte // last statement counter
	LogSize       []byte // the transparency log's size (8 bytes)
	LogSKey       []byte // the log's signing key (note format)
	LogVKey       []byte // its public key (note format)
	// Scrub marks free pages that may hold what a destruction deleted:
	// set in its transaction, cleared once they are zeroed (Reclaim).
	Scrub []byte
}

// ErrNotStore means a file is not a fieldcased store (or is a newer one).
var ErrNotStore = errors.New("not a fieldcased store")

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process's lock before
	// returning server.ErrLocked (0: one second).
	Timeout time.Duration
	// NoSync skips fsync on commit. Only for tests that do not crash.
	NoSync bool
	// ReadOnly opens without writing (no initialisation).
	ReadOnly bool
}

// Store is the bbolt backend of server.Store.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	// mu is held for reading by every transaction and for writing only
	// while free pages are zeroed (Reclaim), which must see no reader
	// open; it is taken for writing with TryLock only, so a reader nested
	// in another never waits behind it.
	mu sync.RWMutex
}

var _ server.Reclaimer = (*Store)(nil)

var _ server.Store = (*Store)(nil)

// Open opens or creates the store at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("opening store: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: %w", path, server.ErrLocked)
		}
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrVersionMismatch) || errors.Is(err, bolt.ErrChecksum) {
			return nil, fmt.Errorf("opening %s: %w", path, ErrNotStore)
		}
		return nil, fmt.Errorf("opening store: %w", err)
	}
	s := &Store{db: db, path: path, opts: opts}
	if opts.ReadOnly {
		err = db.View(checkFormat)
	} else {
		err = db.Update(initialise)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return s, nil
}

func checkFormat(tx *bolt.Tx) error {
	m := tx.Bucket(Layout.Meta)
	if m == nil {
		return ErrNotStore
	}
	v := m.Get(MetaKeys.Format)
	if len(v) != 8 || binary.BigEndian.Uint64(v) > FormatVersion {
		return fmt.Errorf("%w: format %x", ErrNotStore, v)
	}
	return nil
}

func initialise(tx *bolt.Tx) error {
	if m := tx.Bucket(Layout.Meta); m != nil {
		if err := checkFormat(tx); err != nil {
			return err
		}
	} else if tx.Bucket(Layout.Revs) == nil && len(bucketNames(tx)) > 0 {
		// A bbolt file of someone else's.
		return ErrNotStore
	}
	for _, b := range Layout.All() {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	m := tx.Bucket(Layout.Meta)
	if v := m.Get(MetaKeys.Format); v != nil {
		format := binary.BigEndian.Uint64(v)
		if format < 2 {
			if err := upgrade(tx); err != nil {
				return err
			}
		}
		if format < 3 {
			return upgradeLog(tx, time.Now())
		}
		return nil
	}
	now, _ := time.Now().UTC().MarshalText()
	id := newID()
	skey, vkey, err := transparency.GenerateLogKey(server.LogKeyName(id))
	if err != nil {
		return fmt.Errorf("making the log key: %w", err)
	}
	for k, v := range map[string][]byte{
		string(MetaKeys.Format):   u64(FormatVersion),
		string(MetaKeys.ServerID): []byte(id),
		string(MetaKeys.Epoch):    []byte(newID()),
		string(MetaKeys.Created):  now,
		string(MetaKeys.LogSize):  u64(0),
		string(MetaKeys.LogSKey):  []byte(skey),
		string(MetaKeys.LogVKey):  []byte(vkey),
	} {
		if err := m.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// upgradeLog brings a format 2 store to format 3: it makes the log's key
// and logs what the store holds, so that every revision and statement has
// its entry as if logged from the start: the statements in the order
// stored, then the revisions in the order of the change log (each at its
// first entry), then any revision the change log does not name, case by
// case in the order stored (and any a damaged case index misses, by id).
// The leaves' time is the upgrade's: they were logged then.
func upgradeLog(btx *bolt.Tx, now time.Time) error {
	m := btx.Bucket(Layout.Meta)
	skey, vkey, err := transparency.GenerateLogKey(server.LogKeyName(string(m.Get(MetaKeys.ServerID))))
	if err != nil {
		return fmt.Errorf("upgrading to format 3: making the log key: %w", err)
	}
	for k, v := range map[string][]byte{string(MetaKeys.LogSKey): []byte(skey), string(MetaKeys.LogVKey): []byte(vkey), string(MetaKeys.LogSize): u64(0)} {
		if err := m.Put([]byte(k), v); err != nil {
			return err
		}
	}
	t := &tx{btx: btx, revIndex: [][2][]byte{}}
	err = btx.Bucket(Layout.Statements).ForEach(func(k, v []byte) error {
		var s trust.Signed
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("statement %x: %w", k, err)
		}
		_, err := t.AppendLog(transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()}, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrading to format 3: %w", err)
	}
	logged := map[record.RevID]bool{}
	logRev := func(id []byte) error {
		if len(id) != len(record.RevID{}) || logged[record.RevID(id)] {
			return nil
		}
		logged[record.RevID(id)] = true
		var rev record.RevID
		copy(rev[:], id)
		r, err := t.Revision(rev)
		if errors.Is(err, server.ErrNotFound) {
			return nil // named by the change log but not stored: nothing to log
		} else if err != nil {
			return err
		}
		_, err = t.AppendLog(transparency.RevisionEntry(r), now)
		return err
	}
	err = btx.Bucket(Layout.Changes).ForEach(func(k, v []byte) error {
		if len(v) < 32 {
			return fmt.Errorf("change %x: %w", k, errBadChange)
		}
		return logRev(v[:32])
	})
	if err == nil {
		err = btx.Bucket(Layout.CaseRevs).ForEach(func(_, v []byte) error { return logRev(v) })
	}
	if err == nil {
		err = btx.Bucket(Layout.Revs).ForEach(func(k, _ []byte) error { return logRev(k) })
	}
	if err != nil {
		return fmt.Errorf("upgrading to format 3: %w", err)
	}
	slices.SortFunc(t.revIndex, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
	revs := t.b(Layout.LogRevs)
	for _, kv := range t.revIndex {
		if err := revs.Put(kv[0], kv[1]); err != nil {
			return fmt.Errorf("upgrading to format 3: %w", err)
		}
	}
	return m.Put(MetaKeys.Format, u64(3))
}

// upgrade brings a format 1 store to format 2: hashed enrolment codes go
// (enrolment is by signed grant now), and so does the unsigned recovery
// recipient (it is signed again); every stored revision is indexed by
// device and sequence number; each case learns its highest key epoch from
// its keyring records. Teams, users and devices stay; devices enrolled by
// protocol 1 have no grant and must enrol again (docs/OPERATIONS.md).
func upgrade(btx *bolt.Tx) error {
	if btx.Bucket(format1EnrollCodes) != nil {
		if err := btx.DeleteBucket(format1EnrollCodes); err != nil {
			return err
		}
	}
	if err := btx.Bucket(Layout.Meta).Delete(MetaKeys.Recovery); err != nil {
		return err
	}
	t := &tx{btx: btx}
	err := btx.Bucket(Layout.Revs).ForEach(func(k, v []byte) error {
		r, _, err := record.UnmarshalRevision(v)
		if err != nil {
			return fmt.Errorf("revision %x: %w", k, err)
		}
		return t.b(Layout.DevRevs).Put(devRevKey(r.Device, r.Seq, r.Rev), nil)
	})
	if err != nil {
		return fmt.Errorf("upgrading to format 2: %w", err)
	}
	epochs := map[string]uint32{}
	err = btx.Bucket(Layout.Records).ForEach(func(k, v []byte) error {
		kind, caseID, ok := cutByte(v, 0)
		if !ok || record.Kind(kind) != record.KindKeyring {
			return nil
		}
		if e, ok := keyringIDEpoch(string(caseID), string(k)); ok && e > epochs[string(caseID)] {
			epochs[string(caseID)] = e
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upgrading to format 2: %w", err)
	}
	for id, e := range epochs {
		c, err := t.Case(id)
		if errors.Is(err, server.ErrNotFound) {
			continue
		} else if err != nil {
			return fmt.Errorf("upgrading to format 2: %w", err)
		}
		c.KeyEpoch = e
		if err := t.PutCase(c); err != nil {
			return err
		}
	}
	return btx.Bucket(Layout.Meta).Put(MetaKeys.Format, u64(2))
}

// keyringIDEpoch reads the epoch from a keyring record id
// (record.KeyringID).
func keyringIDEpoch(caseID, recordID string) (uint32, bool) {
	var e uint32
	if _, err := fmt.Sscanf(strings.TrimPrefix(recordID, caseID), ".k%d", &e); err != nil || record.KeyringID(caseID, e) != recordID {
		return 0, false
	}
	return e, true
}

func bucketNames(tx *bolt.Tx) []string {
	var names []string
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, string(name))
		return nil
	})
	return names
}

// newID is a fresh server id or epoch: a ULID (no '.', as cursors need).
func newID() string { return ulid.MustNew(ulid.Now(), rand.Reader).String() }

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in a read-write transaction.
func (s *Store) Update(ctx context.Context, fn func(server.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&tx{btx: btx}) })
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(server.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{btx: btx}) })
}

// Reclaim zeroes the file's free pages when a destruction left some that
// may hold what it deleted (MetaKeys.Scrub), and clears the mark in the
// same transaction, so that neither the file nor a backup taken from it
// (Tx.WriteTo copies free pages too) holds the destroyed ciphertext. It
// needs the store to itself (scrub.FreePages): it waits for the
// transactions in flight, taking mu only when none holds it, until ctx
// ends; then the mark stays for the next Reclaim.
func (s *Store) Reclaim(ctx context.Context) error {
	if s.opts.ReadOnly {
		return nil
	}
	owed := false
	if err := s.View(ctx, func(t server.Tx) error {
		owed = t.(*tx).b(Layout.Meta).Get(MetaKeys.Scrub) != nil
		return nil
	}); err != nil || !owed {
		return err
	}
	for pause := time.Millisecond; !s.mu.TryLock(); pause = min(2*pause, 50*time.Millisecond) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("clearing freed pages: the store stayed busy: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
	defer s.mu.Unlock()
	if _, err := scrub.FreePages(s.db, s.opts.NoSync, func(btx *bolt.Tx) error {
		return btx.Bucket(Layout.Meta).Delete(MetaKeys.Scrub)
	}); err != nil {
		return fmt.Errorf("clearing freed pages: %w", err)
	}
	return nil
}

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.View(ctx, func(t server.Tx) error {
		_, err := t.Meta()
		return err
	})
}

// Backup writes a snapshot to path with a fresh epoch: the snapshot goes to
// a temporary file beside path, gets its new epoch there, is synced and then
// renamed into place, so path is either absent or complete.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup: %s: %w", path, server.ErrExists)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fieldcased-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed
	s.mu.RLock()
	err = s.db.View(func(btx *bolt.Tx) error {
		_, err := btx.WriteTo(tmp)
		return err
	})
	s.mu.RUnlock()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: writing snapshot: %w", err)
	}
	if err := placeCopy(tmpName, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// placeCopy gives the store copy at tmp a fresh epoch and links it to path
// (failing rather than replacing a file that is there), then syncs path's
// directory.
func placeCopy(tmp, path string) error {
	cp, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("reopening copy: %w", err)
	}
	err = cp.Update(func(btx *bolt.Tx) error {
		if err := checkFormat(btx); err != nil {
			return err
		}
		return btx.Bucket(Layout.Meta).Put(MetaKeys.Epoch, []byte(newID()))
	})
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("new epoch: %w", err)
	}
	return linkInPlace(tmp, path)
}

// linkInPlace links the complete file tmp to path, failing rather than
// replacing a file that is there, and syncs path's directory.
func linkInPlace(tmp, path string) error {
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, server.ErrExists)
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Restore copies the backup at from to a new store file at path, with a
// fresh epoch of its own (so restoring one backup twice still makes cursors
// of the first restore stale).
func Restore(from, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("restore: %s: %w", path, server.ErrExists)
	}
	src, err := Open(from, Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fieldcased-restore-*")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: copying: %w", err)
	}
	if err := placeCopy(tmp.Name(), path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// tx implements server.Tx on a bbolt transaction.
type tx struct {
	btx *bolt.Tx
	log *server.LogAppender // once this transaction appends to the log
	// revIndex, when not nil, collects log_revs entries to put at the end
	// in key order (upgradeLog: bbolt splits nodes only at commit, so a
	// hundred thousand random keys put one by one into one transaction
	// take quadratic time).
	revIndex [][2][]byte
}

func (t *tx) b(name []byte) *bolt.Bucket { return t.btx.Bucket(name) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func getJSON(b *bolt.Bucket, k []byte, v any) error {
	raw := b.Get(k)
	if raw == nil {
		return server.ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding %q: %w", k, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

func listJSON[T any](b *bolt.Bucket) ([]T, error) {
	var out []T
	err := b.ForEach(func(k, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decoding %s: %w", k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// Meta.

func (t *tx) Meta() (server.Meta, error) {
	m := t.b(Layout.Meta)
	var created time.Time
	_ = created.UnmarshalText(m.Get(MetaKeys.Created))
	return server.Meta{
		ServerID:      string(m.Get(MetaKeys.ServerID)),
		Epoch:         string(m.Get(MetaKeys.Epoch)),
		Created:       created,
		Recovery:      string(m.Get(MetaKeys.Recovery)),
		RosterVersion: getU64(m, MetaKeys.RosterVersion),
		Agency:        agencyKey(m.Get(MetaKeys.Agency)),
		LogSKey:       string(m.Get(MetaKeys.LogSKey)),
		LogVKey:       string(m.Get(MetaKeys.LogVKey)),
	}, nil
}

func agencyKey(v []byte) ed25519.PublicKey {
	if len(v) != ed25519.PublicKeySize {
		return nil
	}
	return ed25519.PublicKey(bytes.Clone(v))
}

func (t *tx) SetRecovery(recipient string) error {
	return t.b(Layout.Meta).Put(MetaKeys.Recovery, []byte(recipient))
}

func (t *tx) SetAgency(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("agency key of %d bytes", len(pub))
	}
	return t.b(Layout.Meta).Put(MetaKeys.Agency, bytes.Clone(pub))
}

// Statements: counter (8 bytes) → JSON, and their ids → counter.

func (t *tx) InsertStatement(s trust.Signed) (bool, error) {
	id := []byte(s.ID())
	ids := t.b(Layout.StatementIDs)
	if ids == nil {
		return false, errors.New("statements: store opened read-only in an old format")
	}
	if ids.Get(id) != nil {
		return false, nil
	}
	m := t.b(Layout.Meta)
	n := getU64(m, MetaKeys.StatementSeq) + 1
	if err := m.Put(MetaKeys.StatementSeq, u64(n)); err != nil {
		return false, err
	}
	if err := putJSON(t.b(Layout.Statements), u64(n), s); err != nil {
		return false, err
	}
	return true, ids.Put(id, u64(n))
}

func (t *tx) Statements() ([]trust.Signed, error) {
	b := t.b(Layout.Statements)
	if b == nil {
		return nil, nil
	}
	return listJSON[trust.Signed](b)
}

func (t *tx) BumpRosterVersion() (uint64, error) {
	m := t.b(Layout.Meta)
	v := getU64(m, MetaKeys.RosterVersion) + 1
	return v, m.Put(MetaKeys.RosterVersion, u64(v))
}

// Directory.

func (t *tx) InsertTeam(team server.Team) error {
	if t.b(Layout.Teams).Get([]byte(team.ID)) != nil || t.b(Layout.TeamNames).Get([]byte(team.Name)) != nil {
		return fmt.Errorf("team %q: %w", team.Name, server.ErrExists)
	}
	if err := putJSON(t.b(Layout.Teams), []byte(team.ID), team); err != nil {
		return err
	}
	return t.b(Layout.TeamNames).Put([]byte(team.Name), []byte(team.ID))
}

func (t *tx) Team(id string) (server.Team, error) {
	var team server.Team
	return team, getJSON(t.b(Layout.Teams), []byte(id), &team)
}

func (t *tx) TeamByName(name string) (server.Team, error) {
	id := t.b(Layout.TeamNames).Get([]byte(name))
	if id == nil {
		return server.Team{}, server.ErrNotFound
	}
	return t.Team(string(id))
}

func (t *tx) Teams() ([]server.Team, error) { return listJSON[server.Team](t.b(Layout.Teams)) }

func (t *tx) InsertUser(u server.User) error {
	if t.b(Layout.Users).Get([]byte(u.ID)) != nil || t.b(Layout.UserNames).Get([]byte(u.Name)) != nil {
		return fmt.Errorf("user %q: %w", u.Name, server.ErrExists)
	}
	if err := putJSON(t.b(Layout.Users), []byte(u.ID), u); err != nil {
		return err
	}
	return t.b(Layout.UserNames).Put([]byte(u.Name), []byte(u.ID))
}

func (t *tx) ReplaceUser(u server.User) error {
	old, err := t.User(u.ID)
	if err != nil {
		return err
	}
	names := t.b(Layout.UserNames)
	if old.Name != u.Name {
		if names.Get([]byte(u.Name)) != nil {
			return fmt.Errorf("user %q: %w", u.Name, server.ErrExists)
		}
		if err := names.Delete([]byte(old.Name)); err != nil {
			return err
		}
		if err := names.Put([]byte(u.Name), []byte(u.ID)); err != nil {
			return err
		}
	}
	return putJSON(t.b(Layout.Users), []byte(u.ID), u)
}

func (t *tx) User(id string) (server.User, error) {
	var u server.User
	return u, getJSON(t.b(Layout.Users), []byte(id), &u)
}

func (t *tx) UserByName(name string) (server.User, error) {
	id := t.b(Layout.UserNames).Get([]byte(name))
	if id == nil {
		return server.User{}, server.ErrNotFound
	}
	return t.User(string(id))
}

func (t *tx) Users() ([]server.User, error) { return listJSON[server.User](t.b(Layout.Users)) }

func (t *tx) SetTeamPolicy(teamID string, policy []byte, version int) error {
	tm, err := t.Team(teamID)
	if err != nil {
		return err
	}
	tm.Policy, tm.PolicyVersion = policy, version
	return putJSON(t.b(Layout.Teams), []byte(teamID), tm)
}

func (t *tx) InsertDevice(d server.Device) error {
	if t.b(Layout.Devices).Get([]byte(d.ID)) != nil || t.b(Layout.Tokens).Get(d.TokenHash[:]) != nil {
		return fmt.Errorf("device %q: %w", d.ID, server.ErrExists)
	}
	if err := putJSON(t.b(Layout.Devices), []byte(d.ID), d); err != nil {
		return err
	}
	return t.b(Layout.Tokens).Put(d.TokenHash[:], []byte(d.ID))
}

func (t *tx) ReplaceDevice(d server.Device) error {
	old, err := t.Device(d.ID)
	if err != nil {
		return err
	}
	tokens := t.b(Layout.Tokens)
	if old.TokenHash != d.TokenHash {
		if tokens.Get(d.TokenHash[:]) != nil {
			return fmt.Errorf("token: %w", server.ErrExists)
		}
		if err := tokens.Delete(old.TokenHash[:]); err != nil {
			return err
		}
		if err := tokens.Put(d.TokenHash[:], []byte(d.ID)); err != nil {
			return err
		}
	}
	return putJSON(t.b(Layout.Devices), []byte(d.ID), d)
}

func (t *tx) Device(id string) (server.Device, error) {
	var d server.Device
	return d, getJSON(t.b(Layout.Devices), []byte(id), &d)
}

func (t *tx) DeviceByToken(hash [32]byte) (server.Device, error) {
	id := t.b(Layout.Tokens).Get(hash[:])
	if id == nil {
		return server.Device{}, server.ErrNotFound
	}
	return t.Device(string(id))
}

func (t *tx) Devices() ([]server.Device, error) { return listJSON[server.Device](t.b(Layout.Devices)) }

func (t *tx) RevokeDevice(id string, at time.Time) error {
	d, err := t.Device(id)
	if err != nil {
		return err
	}
	if !d.Revoked.IsZero() {
		return nil
	}
	d.Revoked = at.UTC()
	return putJSON(t.b(Layout.Devices), []byte(id), d)
}

func (t *tx) ReplaceDeviceToken(id string, hash [32]byte) error {
	d, err := t.Device(id)
	if err != nil {
		return err
	}
	if t.b(Layout.Tokens).Get(hash[:]) != nil {
		return fmt.Errorf("token: %w", server.ErrExists)
	}
	if err := t.b(Layout.Tokens).Delete(d.TokenHash[:]); err != nil {
		return err
	}
	d.TokenHash = hash
	if err := putJSON(t.b(Layout.Devices), []byte(id), d); err != nil {
		return err
	}
	return t.b(Layout.Tokens).Put(hash[:], []byte(id))
}

func (t *tx) TouchDevice(id string, seen, synced time.Time) error {
	d, err := t.Device(id)
	if err != nil {
		return err
	}
	if seen.After(d.LastSeen) {
		d.LastSeen = seen.UTC()
	}
	if synced.After(d.LastSync) {
		d.LastSync = synced.UTC()
	}
	return putJSON(t.b(Layout.Devices), []byte(id), d)
}

// Cases, records and revisions.

func (t *tx) Case(id string) (server.Case, error) {
	var c server.Case
	return c, getJSON(t.b(Layout.Cases), []byte(id), &c)
}

func (t *tx) PutCase(c server.Case) error { return putJSON(t.b(Layout.Cases), []byte(c.ID), c) }

func (t *tx) TeamCases(teamID string) ([]server.Case, error) {
	all, err := listJSON[server.Case](t.b(Layout.Cases))
	if err != nil || teamID == "" {
		return all, err
	}
	out := all[:0]
	for _, c := range all {
		if c.TeamID == teamID {
			out = append(out, c)
		}
	}
	return out, nil
}

// A records value is kind ‖ 0 ‖ case id.
func (t *tx) Record(id string) (server.RecordInfo, error) {
	v := t.b(Layout.Records).Get([]byte(id))
	if v == nil {
		return server.RecordInfo{}, server.ErrNotFound
	}
	kind, caseID, ok := cutByte(v, 0)
	if !ok {
		return server.RecordInfo{}, fmt.Errorf("record %q: damaged index entry", id)
	}
	return server.RecordInfo{ID: id, CaseID: string(caseID), Kind: record.Kind(kind)}, nil
}

func (t *tx) InsertRecord(r server.RecordInfo) error {
	if t.b(Layout.Records).Get([]byte(r.ID)) != nil {
		return fmt.Errorf("record %q: %w", r.ID, server.ErrExists)
	}
	v := append(append([]byte(r.Kind), 0), r.CaseID...)
	return t.b(Layout.Records).Put([]byte(r.ID), v)
}

func cutByte(b []byte, sep byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

func (t *tx) HasRevision(rev record.RevID) (bool, error) {
	return t.b(Layout.Revs).Get(rev[:]) != nil, nil
}

func (t *tx) Revision(rev record.RevID) (*record.Revision, error) {
	v := t.b(Layout.Revs).Get(rev[:])
	if v == nil {
		return nil, server.ErrNotFound
	}
	r, rest, err := record.UnmarshalRevision(v)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("revision %s: damaged: %v", rev.Short(), err)
	}
	r.Body = append([]byte(nil), r.Body...) // off the mmap
	return r, nil
}

func (t *tx) InsertRevision(r *record.Revision) error {
	revs := t.b(Layout.Revs)
	if revs.Get(r.Rev[:]) != nil {
		return fmt.Errorf("revision %s: %w", r.Rev.Short(), server.ErrExists)
	}
	enc, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	if err := revs.Put(r.Rev[:], enc); err != nil {
		return err
	}
	// case_revs: case id ‖ 0 ‖ per-store counter (big-endian) → rev, so a
	// case's revisions list in the order stored.
	m := t.b(Layout.Meta)
	n := getU64(m, MetaKeys.CaseRevSeq) + 1
	if err := m.Put(MetaKeys.CaseRevSeq, u64(n)); err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(append([]byte(r.CaseID), 0), n)
	if err := t.b(Layout.CaseRevs).Put(k, r.Rev[:]); err != nil {
		return err
	}
	if err := t.b(Layout.DevRevs).Put(devRevKey(r.Device, r.Seq, r.Rev), nil); err != nil {
		return err
	}
	if e, ok := server.KeyringEpoch(r); ok {
		rot := t.b(Layout.Rotations)
		if v := rot.Get([]byte(r.CaseID)); len(v) == 4 && binary.BigEndian.Uint32(v) < e {
			return rot.Delete([]byte(r.CaseID))
		}
	}
	return nil
}

// devRevKey is a dev_revs key: device id ‖ 0 ‖ seq (8 bytes) ‖ rev.
func devRevKey(device string, seq uint64, rev record.RevID) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte(device), 0), seq)
	return append(k, rev[:]...)
}

func (t *tx) DeviceRevisions(deviceID string, afterSeq uint64, limit int) ([]*record.Revision, error) {
	b := t.b(Layout.DevRevs)
	if b == nil || limit <= 0 || afterSeq == ^uint64(0) {
		return nil, nil
	}
	prefix := append([]byte(deviceID), 0)
	var out []*record.Revision
	c := b.Cursor()
	for k, _ := c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), afterSeq+1)); k != nil && len(out) < limit; k, _ = c.Next() {
		if len(k) != len(prefix)+8+32 || !bytes.HasPrefix(k, prefix) {
			break
		}
		var id record.RevID
		copy(id[:], k[len(prefix)+8:])
		r, err := t.Revision(id)
		if err != nil {
			return nil, fmt.Errorf("device index names revision %s: %w", id.Short(), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *tx) RevisionCount() (int64, error) {
	// Counted key by key: bbolt's bucket statistics miss a write
	// transaction's own inserts. Used by administration only.
	var n int64
	c := t.b(Layout.Revs).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n, nil
}

func (t *tx) CaseRevisions(caseID string) ([]record.RevID, error) {
	prefix := append([]byte(caseID), 0)
	var out []record.RevID
	c := t.b(Layout.CaseRevs).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var id record.RevID
		copy(id[:], v)
		out = append(out, id)
	}
	return out, nil
}

// The change log: seq (big-endian) → rev(32) ‖ uvarint len ‖ case id ‖ uvarint len ‖ target.

func (t *tx) AppendChange(ch server.Change) (uint64, error) {
	m := t.b(Layout.Meta)
	seq := getU64(m, MetaKeys.ChangeSeq) + 1
	if err := m.Put(MetaKeys.ChangeSeq, u64(seq)); err != nil {
		return 0, err
	}
	return seq, t.b(Layout.Changes).Put(u64(seq), encodeChange(ch))
}

func encodeChange(ch server.Change) []byte {
	v := make([]byte, 0, 32+2+len(ch.CaseID)+len(ch.Target))
	v = append(v, ch.Rev[:]...)
	v = binary.AppendUvarint(v, uint64(len(ch.CaseID)))
	v = append(v, ch.CaseID...)
	v = binary.AppendUvarint(v, uint64(len(ch.Target)))
	return append(v, ch.Target...)
}

// errBadChange means a change log entry did not decode.
var errBadChange = errors.New("damaged change log entry")

func decodeChange(seq uint64, v []byte) (server.Change, error) {
	ch := server.Change{Seq: seq}
	if len(v) < 32 {
		return ch, errBadChange
	}
	copy(ch.Rev[:], v)
	v = v[32:]
	var strs [2]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || n > uint64(len(v)-w) {
			return ch, errBadChange
		}
		strs[i] = string(v[w : w+int(n)])
		v = v[w+int(n):]
	}
	if len(v) != 0 {
		return ch, errBadChange
	}
	ch.CaseID, ch.Target = strs[0], strs[1]
	return ch, nil
}

func (t *tx) Changes(after uint64, limit int) ([]server.Change, error) {
	var out []server.Change
	if after == ^uint64(0) {
		return nil, nil
	}
	c := t.b(Layout.Changes).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		ch, err := decodeChange(seq, v)
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", seq, err)
		}
		out = append(out, ch)
	}
	return out, nil
}

func (t *tx) LastChangeSeq() (uint64, error) {
	return getU64(t.b(Layout.Meta), MetaKeys.ChangeSeq), nil
}

func (t *tx) AckedSeq(deviceID string) (uint64, error) {
	return getU64(t.b(Layout.Acks), []byte(deviceID)), nil
}

func (t *tx) SetAckedSeq(deviceID string, seq uint64) error {
	return t.b(Layout.Acks).Put([]byte(deviceID), u64(seq))
}

func pendingKey(deviceID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(deviceID), 0), seq)
}

func (t *tx) AddPendingSeq(deviceID string, seq uint64) error {
	return t.b(Layout.AckPending).Put(pendingKey(deviceID, seq), []byte{1})
}

func (t *tx) TakePendingSeq(deviceID string, seq uint64) (bool, error) {
	k := pendingKey(deviceID, seq)
	b := t.b(Layout.AckPending)
	if b.Get(k) == nil {
		return false, nil
	}
	return true, b.Delete(k)
}

// lastSeq is the highest sequence number under device id ‖ 0 in bucket b
// (keys prefix ‖ seq, with extra bytes of length extra after it).
func lastSeq(b *bolt.Bucket, deviceID string, extra int) uint64 {
	if b == nil {
		return 0
	}
	prefix := append([]byte(deviceID), 0)
	c := b.Cursor()
	// The last key with the prefix is the one before the prefix's successor.
	next := append(bytes.Clone(prefix[:len(prefix)-1]), 1)
	k, _ := c.Seek(next)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != len(prefix)+8+extra || !bytes.HasPrefix(k, prefix) {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(prefix):])
}

func (t *tx) DeviceMaxSeq(deviceID string) (uint64, error) {
	acked, _ := t.AckedSeq(deviceID)
	return max(acked, lastSeq(t.b(Layout.AckPending), deviceID, 0), lastSeq(t.b(Layout.DevRevs), deviceID, 32)), nil
}

// Rotations: case id → epoch (4 bytes).

func (t *tx) SetRotationOwed(caseID string, epoch uint32) error {
	b := t.b(Layout.Rotations)
	if v := b.Get([]byte(caseID)); len(v) == 4 && binary.BigEndian.Uint32(v) >= epoch {
		return nil
	}
	return b.Put([]byte(caseID), binary.BigEndian.AppendUint32(nil, epoch))
}

func (t *tx) RotationsOwed() ([]server.Rotation, error) {
	b := t.b(Layout.Rotations)
	if b == nil {
		return nil, nil
	}
	var out []server.Rotation
	err := b.ForEach(func(k, v []byte) error {
		if len(v) != 4 {
			return fmt.Errorf("rotation of case %q: damaged", k)
		}
		out = append(out, server.Rotation{CaseID: string(k), Epoch: binary.BigEndian.Uint32(v)})
		return nil
	})
	return out, err
}

// Blobs: case id ‖ 0 ‖ id → data.

func blobKey(caseID string, id record.RevID) []byte {
	return append(append([]byte(caseID), 0), id[:]...)
}

func (t *tx) HasBlob(caseID string, id record.RevID) (bool, error) {
	return t.b(Layout.Blobs).Get(blobKey(caseID, id)) != nil, nil
}

func (t *tx) Blob(caseID string, id record.RevID) ([]byte, error) {
	v := t.b(Layout.Blobs).Get(blobKey(caseID, id))
	if v == nil {
		return nil, server.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *tx) InsertBlob(caseID string, id record.RevID, data []byte) error {
	k := blobKey(caseID, id)
	if t.b(Layout.Blobs).Get(k) != nil {
		return server.ErrExists
	}
	return t.b(Layout.Blobs).Put(k, append([]byte{}, data...))
}
