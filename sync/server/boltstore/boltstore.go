package boltstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
)

// FileName is the store's file name inside a server's data directory.
const FileName = "fieldcased.db"

// formatVersion is the layout version written in meta; a newer one is refused.
const formatVersion = 1

var (
	bMeta        = []byte("meta")
	bTeams       = []byte("teams")
	bTeamNames   = []byte("team_names")
	bUsers       = []byte("users")
	bUserNames   = []byte("user_names")
	bDevices     = []byte("devices")
	bTokens      = []byte("tokens")
	bEnrollCodes = []byte("enroll_codes")
	bCases       = []byte("cases")
	bRecords     = []byte("records")
	bRevs        = []byte("revs")
	bCaseRevs    = []byte("case_revs")
	bChanges     = []byte("changes")
	bAcks        = []byte("acks")
	bAckPending  = []byte("ack_pending")
	bBlobs       = []byte("blobs")

	allBuckets = [][]byte{bMeta, bTeams, bTeamNames, bUsers, bUserNames, bDevices, bTokens, bEnrollCodes,
		bCases, bRecords, bRevs, bCaseRevs, bChanges, bAcks, bAckPending, bBlobs}

	kFormat    = []byte("format")
	kServerID  = []byte("server_id")
	kEpoch     = []byte("epoch")
	kCreated   = []byte("created")
	kRecovery  = []byte("recovery")
	kRosterVer = []byte("roster_version")
	kChangeSeq = []byte("change_seq")
	kCaseRevN  = []byte("case_rev_seq")
)

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
}

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
	s := &Store{db: db, path: path}
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
	m := tx.Bucket(bMeta)
	if m == nil {
		return ErrNotStore
	}
	v := m.Get(kFormat)
	if len(v) != 8 || binary.BigEndian.Uint64(v) > formatVersion {
		return fmt.Errorf("%w: format %x", ErrNotStore, v)
	}
	return nil
}

func initialise(tx *bolt.Tx) error {
	if m := tx.Bucket(bMeta); m != nil {
		if err := checkFormat(tx); err != nil {
			return err
		}
	} else if tx.Bucket(bRevs) == nil && len(bucketNames(tx)) > 0 {
		// A bbolt file of someone else's.
		return ErrNotStore
	}
	for _, b := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	m := tx.Bucket(bMeta)
	if m.Get(kFormat) != nil {
		return nil
	}
	now, _ := time.Now().UTC().MarshalText()
	for k, v := range map[string][]byte{
		string(kFormat):   u64(formatVersion),
		string(kServerID): []byte(newID()),
		string(kEpoch):    []byte(newID()),
		string(kCreated):  now,
	} {
		if err := m.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
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
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&tx{btx: btx}) })
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(server.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{btx: btx}) })
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
	err = s.db.View(func(btx *bolt.Tx) error {
		_, err := btx.WriteTo(tmp)
		return err
	})
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
		return btx.Bucket(bMeta).Put(kEpoch, []byte(newID()))
	})
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("new epoch: %w", err)
	}
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
type tx struct{ btx *bolt.Tx }

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
	m := t.b(bMeta)
	var created time.Time
	_ = created.UnmarshalText(m.Get(kCreated))
	return server.Meta{
		ServerID:      string(m.Get(kServerID)),
		Epoch:         string(m.Get(kEpoch)),
		Created:       created,
		Recovery:      string(m.Get(kRecovery)),
		RosterVersion: getU64(m, kRosterVer),
	}, nil
}

func (t *tx) SetRecovery(recipient string) error {
	return t.b(bMeta).Put(kRecovery, []byte(recipient))
}

func (t *tx) BumpRosterVersion() (uint64, error) {
	m := t.b(bMeta)
	v := getU64(m, kRosterVer) + 1
	return v, m.Put(kRosterVer, u64(v))
}

// Directory.

func (t *tx) InsertTeam(team server.Team) error {
	if t.b(bTeams).Get([]byte(team.ID)) != nil || t.b(bTeamNames).Get([]byte(team.Name)) != nil {
		return fmt.Errorf("team %q: %w", team.Name, server.ErrExists)
	}
	if err := putJSON(t.b(bTeams), []byte(team.ID), team); err != nil {
		return err
	}
	return t.b(bTeamNames).Put([]byte(team.Name), []byte(team.ID))
}

func (t *tx) Team(id string) (server.Team, error) {
	var team server.Team
	return team, getJSON(t.b(bTeams), []byte(id), &team)
}

func (t *tx) TeamByName(name string) (server.Team, error) {
	id := t.b(bTeamNames).Get([]byte(name))
	if id == nil {
		return server.Team{}, server.ErrNotFound
	}
	return t.Team(string(id))
}

func (t *tx) Teams() ([]server.Team, error) { return listJSON[server.Team](t.b(bTeams)) }

func (t *tx) InsertUser(u server.User) error {
	if t.b(bUsers).Get([]byte(u.ID)) != nil || t.b(bUserNames).Get([]byte(u.Name)) != nil {
		return fmt.Errorf("user %q: %w", u.Name, server.ErrExists)
	}
	if err := putJSON(t.b(bUsers), []byte(u.ID), u); err != nil {
		return err
	}
	return t.b(bUserNames).Put([]byte(u.Name), []byte(u.ID))
}

func (t *tx) User(id string) (server.User, error) {
	var u server.User
	return u, getJSON(t.b(bUsers), []byte(id), &u)
}

func (t *tx) UserByName(name string) (server.User, error) {
	id := t.b(bUserNames).Get([]byte(name))
	if id == nil {
		return server.User{}, server.ErrNotFound
	}
	return t.User(string(id))
}

func (t *tx) Users() ([]server.User, error) { return listJSON[server.User](t.b(bUsers)) }

func (t *tx) SetTeamPolicy(teamID string, policy []byte, version int) error {
	tm, err := t.Team(teamID)
	if err != nil {
		return err
	}
	tm.Policy, tm.PolicyVersion = policy, version
	return putJSON(t.b(bTeams), []byte(teamID), tm)
}

func (t *tx) InsertDevice(d server.Device) error {
	if t.b(bDevices).Get([]byte(d.ID)) != nil || t.b(bTokens).Get(d.TokenHash[:]) != nil {
		return fmt.Errorf("device %q: %w", d.ID, server.ErrExists)
	}
	if err := putJSON(t.b(bDevices), []byte(d.ID), d); err != nil {
		return err
	}
	return t.b(bTokens).Put(d.TokenHash[:], []byte(d.ID))
}

func (t *tx) Device(id string) (server.Device, error) {
	var d server.Device
	return d, getJSON(t.b(bDevices), []byte(id), &d)
}

func (t *tx) DeviceByToken(hash [32]byte) (server.Device, error) {
	id := t.b(bTokens).Get(hash[:])
	if id == nil {
		return server.Device{}, server.ErrNotFound
	}
	return t.Device(string(id))
}

func (t *tx) Devices() ([]server.Device, error) { return listJSON[server.Device](t.b(bDevices)) }

func (t *tx) RevokeDevice(id string, at time.Time) error {
	d, err := t.Device(id)
	if err != nil {
		return err
	}
	if !d.Revoked.IsZero() {
		return nil
	}
	d.Revoked = at.UTC()
	return putJSON(t.b(bDevices), []byte(id), d)
}

func (t *tx) ReplaceDeviceToken(id string, hash [32]byte) error {
	d, err := t.Device(id)
	if err != nil {
		return err
	}
	if t.b(bTokens).Get(hash[:]) != nil {
		return fmt.Errorf("token: %w", server.ErrExists)
	}
	if err := t.b(bTokens).Delete(d.TokenHash[:]); err != nil {
		return err
	}
	d.TokenHash = hash
	if err := putJSON(t.b(bDevices), []byte(id), d); err != nil {
		return err
	}
	return t.b(bTokens).Put(hash[:], []byte(id))
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
	return putJSON(t.b(bDevices), []byte(id), d)
}

func (t *tx) InsertEnrollCode(c server.EnrollCode) error {
	if t.b(bEnrollCodes).Get(c.Hash[:]) != nil {
		return server.ErrExists
	}
	return putJSON(t.b(bEnrollCodes), c.Hash[:], c)
}

func (t *tx) EnrollCode(hash [32]byte) (server.EnrollCode, error) {
	var c server.EnrollCode
	return c, getJSON(t.b(bEnrollCodes), hash[:], &c)
}

func (t *tx) DeleteEnrollCode(hash [32]byte) error {
	if t.b(bEnrollCodes).Get(hash[:]) == nil {
		return server.ErrNotFound
	}
	return t.b(bEnrollCodes).Delete(hash[:])
}

func (t *tx) MarkEnrollCodeUsed(hash [32]byte, deviceID string) error {
	c, err := t.EnrollCode(hash)
	if err != nil {
		return err
	}
	c.UsedBy = deviceID
	return putJSON(t.b(bEnrollCodes), hash[:], c)
}

func (t *tx) DeleteEnrollCodes(before time.Time) (int, error) {
	codes, err := listJSON[server.EnrollCode](t.b(bEnrollCodes))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range codes {
		if c.Expires.Before(before) {
			if err := t.b(bEnrollCodes).Delete(c.Hash[:]); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Cases, records and revisions.

func (t *tx) Case(id string) (server.Case, error) {
	var c server.Case
	return c, getJSON(t.b(bCases), []byte(id), &c)
}

func (t *tx) PutCase(c server.Case) error { return putJSON(t.b(bCases), []byte(c.ID), c) }

func (t *tx) TeamCases(teamID string) ([]server.Case, error) {
	all, err := listJSON[server.Case](t.b(bCases))
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
	v := t.b(bRecords).Get([]byte(id))
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
	if t.b(bRecords).Get([]byte(r.ID)) != nil {
		return fmt.Errorf("record %q: %w", r.ID, server.ErrExists)
	}
	v := append(append([]byte(r.Kind), 0), r.CaseID...)
	return t.b(bRecords).Put([]byte(r.ID), v)
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
	return t.b(bRevs).Get(rev[:]) != nil, nil
}

func (t *tx) Revision(rev record.RevID) (*record.Revision, error) {
	v := t.b(bRevs).Get(rev[:])
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
	revs := t.b(bRevs)
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
	m := t.b(bMeta)
	n := getU64(m, kCaseRevN) + 1
	if err := m.Put(kCaseRevN, u64(n)); err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(append([]byte(r.CaseID), 0), n)
	return t.b(bCaseRevs).Put(k, r.Rev[:])
}

func (t *tx) CaseRevisions(caseID string) ([]record.RevID, error) {
	prefix := append([]byte(caseID), 0)
	var out []record.RevID
	c := t.b(bCaseRevs).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var id record.RevID
		copy(id[:], v)
		out = append(out, id)
	}
	return out, nil
}

// The change log: seq (big-endian) → rev(32) ‖ uvarint len ‖ case id ‖ uvarint len ‖ target.

func (t *tx) AppendChange(ch server.Change) (uint64, error) {
	m := t.b(bMeta)
	seq := getU64(m, kChangeSeq) + 1
	if err := m.Put(kChangeSeq, u64(seq)); err != nil {
		return 0, err
	}
	return seq, t.b(bChanges).Put(u64(seq), encodeChange(ch))
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
	c := t.b(bChanges).Cursor()
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

func (t *tx) LastChangeSeq() (uint64, error) { return getU64(t.b(bMeta), kChangeSeq), nil }

func (t *tx) AckedSeq(deviceID string) (uint64, error) {
	return getU64(t.b(bAcks), []byte(deviceID)), nil
}

func (t *tx) SetAckedSeq(deviceID string, seq uint64) error {
	return t.b(bAcks).Put([]byte(deviceID), u64(seq))
}

func pendingKey(deviceID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(deviceID), 0), seq)
}

func (t *tx) AddPendingSeq(deviceID string, seq uint64) error {
	return t.b(bAckPending).Put(pendingKey(deviceID, seq), []byte{1})
}

func (t *tx) TakePendingSeq(deviceID string, seq uint64) (bool, error) {
	k := pendingKey(deviceID, seq)
	b := t.b(bAckPending)
	if b.Get(k) == nil {
		return false, nil
	}
	return true, b.Delete(k)
}

// Blobs: case id ‖ 0 ‖ id → data.

func blobKey(caseID string, id record.RevID) []byte {
	return append(append([]byte(caseID), 0), id[:]...)
}

func (t *tx) HasBlob(caseID string, id record.RevID) (bool, error) {
	return t.b(bBlobs).Get(blobKey(caseID, id)) != nil, nil
}

func (t *tx) Blob(caseID string, id record.RevID) ([]byte, error) {
	v := t.b(bBlobs).Get(blobKey(caseID, id))
	if v == nil {
		return nil, server.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *tx) InsertBlob(caseID string, id record.RevID, data []byte) error {
	k := blobKey(caseID, id)
	if t.b(bBlobs).Get(k) != nil {
		return server.ErrExists
	}
	return t.b(bBlobs).Put(k, append([]byte{}, data...))
}
