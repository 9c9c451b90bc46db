package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// This file moves whole stores between PostgreSQL and boltstore's file
// format (sync/server/boltstore/doc.go, format 3): ImportBolt copies a
// bbolt store or backup into an empty database, Backup writes the database
// as a bbolt backup. Both read and write the bbolt layout directly, because
// server.Tx has no way to list everything (cases, records, blobs, acks) or
// to set a store's identity; a change of that layout bumps its format
// number. ImportBolt also reads format 1 (before signed statements: it has
// none, and its hashed enrolment codes are left behind) and format 2
// (before the transparency log: it gets a log key and a log of what it
// holds), as boltstore's own upgrades do.

// ErrNotBoltStore means a file is not a bbolt store of a format this
// version reads.
var ErrNotBoltStore = errors.New("not a fieldcased bbolt store of a known format")

// Counts is what a whole-store copy moved, and what was checked.
type Counts struct {
	Statements int   `json:"statements"`
	Teams      int   `json:"teams"`
	Users      int   `json:"users"`
	Devices    int   `json:"devices"`
	Cases      int   `json:"cases"`
	Records    int   `json:"records"`
	Revisions  int   `json:"revisions"`
	Changes    int   `json:"changes"`
	Acks       int   `json:"acks"`
	Pending    int   `json:"ack_pending"`
	Rotations  int   `json:"rotations"`
	Blobs      int   `json:"blobs"`
	BlobBytes  int64 `json:"blob_bytes"`
	// The transparency log: its leaves, and witnesses' cosignatures.
	LogEntries   int `json:"log_entries"`
	Cosignatures int `json:"cosignatures"`
}

func (c Counts) String() string {
	return fmt.Sprintf("%d signed statements, %d teams, %d users, %d devices, %d cases, %d records, %d revisions, %d change log entries, %d device acknowledgements (+%d pending), %d rotations owed, %d blobs (%d bytes), %d transparency log entries, %d witness cosignatures",
		c.Statements, c.Teams, c.Users, c.Devices, c.Cases, c.Records, c.Revisions, c.Changes, c.Acks, c.Pending, c.Rotations, c.Blobs, c.BlobBytes, c.LogEntries, c.Cosignatures)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// openBolt opens a bbolt store read-only and checks its format (1, 2 or 3;
// format 1 lacks the buckets of statements, the device index and rotations,
// formats 1 and 2 those of the transparency log).
func openBolt(path string) (*bolt.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w", path, server.ErrLocked)
		}
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotBoltStore, err)
	}
	err = db.View(func(btx *bolt.Tx) error {
		m := btx.Bucket(boltstore.Layout.Meta)
		if m == nil {
			return ErrNotBoltStore
		}
		if v := getU64(m, boltstore.MetaKeys.Format); v < 1 || v > boltstore.FormatVersion {
			return fmt.Errorf("%w: format %d", ErrNotBoltStore, v)
		}
		for _, b := range boltstore.Layout.Format1() {
			if btx.Bucket(b) == nil {
				return fmt.Errorf("%w: no %s bucket", ErrNotBoltStore, b)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// decodeChange reads a changes value: rev(32) ‖ uvarint len ‖ case id ‖
// uvarint len ‖ target.
func decodeChange(v []byte) (server.Change, error) {
	var ch server.Change
	if len(v) < 32 {
		return ch, errors.New("damaged change log entry")
	}
	copy(ch.Rev[:], v)
	v = v[32:]
	var strs [2]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || n > uint64(len(v)-w) {
			return ch, errors.New("damaged change log entry")
		}
		strs[i] = string(v[w : w+int(n)])
		v = v[w+int(n):]
	}
	if len(v) != 0 {
		return ch, errors.New("damaged change log entry")
	}
	ch.CaseID, ch.Target = strs[0], strs[1]
	return ch, nil
}

func encodeChange(ch server.Change) []byte {
	v := make([]byte, 0, 32+2+len(ch.CaseID)+len(ch.Target))
	v = append(v, ch.Rev[:]...)
	v = binary.AppendUvarint(v, uint64(len(ch.CaseID)))
	v = append(v, ch.CaseID...)
	v = binary.AppendUvarint(v, uint64(len(ch.Target)))
	return append(v, ch.Target...)
}

// copyBatch is how many rows go to one COPY.
const copyBatch = 2000

// copier buffers rows for one table and sends them with COPY.
type copier struct {
	ctx   context.Context
	tx    pgx.Tx
	table string
	cols  []string
	rows  [][]any
	size  int
	n     int
}

func (c *copier) add(size int, row ...any) error {
	c.rows = append(c.rows, row)
	c.size += size
	c.n++
	if len(c.rows) >= copyBatch || c.size >= 16<<20 {
		return c.flush()
	}
	return nil
}

func (c *copier) flush() error {
	if len(c.rows) == 0 {
		return nil
	}
	if _, err := c.tx.CopyFrom(c.ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
		return fmt.Errorf("copying %s: %w", c.table, err)
	}
	c.rows, c.size = c.rows[:0], 0
	return nil
}

// eachJSON decodes every value of a bucket as T (none for a bucket a
// format 1 file lacks).
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

// ImportBolt copies the bbolt store or backup file at path into dst, which
// must hold no data yet, in one transaction, and then verifies the copy:
// every table's count, every revision's bytes, every blob's SHA-256, every
// change log entry, and the transparency log's every leaf and stored hash.
// The copy gets a fresh epoch (cursors handed out by the old server are
// answered 410 Gone, so devices pull again and re-push anything the file
// lacked) and keeps the server id and the log with its key. A bbolt store in use by a running
// server is refused with server.ErrLocked.
func ImportBolt(ctx context.Context, path string, dst *Store) (Counts, error) {
	db, err := openBolt(path)
	if err != nil {
		return Counts{}, err
	}
	defer db.Close()
	var counts Counts
	err = db.View(func(btx *bolt.Tx) error {
		return pgx.BeginTxFunc(ctx, dst.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(ptx pgx.Tx) error {
			if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
				return err
			}
			c, err := importBolt(ctx, btx, ptx)
			counts = c
			return err
		})
	})
	if err != nil {
		return counts, fmt.Errorf("importing %s: %w", path, err)
	}
	if err := verifyBolt(ctx, db, dst, counts); err != nil {
		return counts, fmt.Errorf("verifying the copy of %s: %w", path, err)
	}
	if err := verifyLog(ctx, db, dst); err != nil {
		return counts, fmt.Errorf("verifying the copy of %s: transparency log: %w", path, err)
	}
	return counts, nil
}

// verifyLog checks the copied transparency log: a format 3 file's leaves
// (data and time), stored hashes and key are the database's; a log built
// for an older file is whole (server.VerifyLog: every stored hash
// recomputed from the leaves, every revision and statement logged).
func verifyLog(ctx context.Context, db *bolt.DB, st *Store) error {
	built := false
	err := db.View(func(btx *bolt.Tx) error {
		leaves := btx.Bucket(boltstore.Layout.LogLeaves)
		if leaves == nil {
			built = true
			return nil
		}
		m := btx.Bucket(boltstore.Layout.Meta)
		return pgx.BeginTxFunc(ctx, st.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ptx pgx.Tx) error {
			var skey, vkey string
			if err := ptx.QueryRow(ctx, `SELECT log_skey, log_vkey FROM meta`).Scan(&skey, &vkey); err != nil {
				return err
			}
			if skey != string(m.Get(boltstore.MetaKeys.LogSKey)) || vkey != string(m.Get(boltstore.MetaKeys.LogVKey)) {
				return errors.New("the log key differs")
			}
			var idx int64
			var leaf, hs []byte
			var at time.Time
			n, nh := 0, 0
			stored := btx.Bucket(boltstore.Layout.LogHashes)
			err := each(ctx, ptx, `SELECT idx, leaf, at, hashes FROM log_entries ORDER BY idx`, []any{&idx, &leaf, &at, &hs}, func() error {
				v := leaves.Get(u64(uint64(idx)))
				if len(v) < 8 || !bytes.Equal(v[8:], leaf) || int64(binary.BigEndian.Uint64(v)) != at.UnixMilli() {
					return fmt.Errorf("leaf %d differs", idx)
				}
				if !bytes.Equal(leafHashes(stored, idx), hs) {
					return fmt.Errorf("the stored hashes of leaf %d differ", idx)
				}
				n, nh = n+1, nh+len(hs)/tlog.HashSize
				return nil
			})
			switch {
			case err != nil:
				return err
			case n != leaves.Stats().KeyN:
				return fmt.Errorf("%d leaves, copied %d", n, leaves.Stats().KeyN)
			case nh != stored.Stats().KeyN:
				return fmt.Errorf("%d stored hashes, copied %d", nh, stored.Stats().KeyN)
			}
			return nil
		})
	})
	if err != nil || !built {
		return err
	}
	var report server.LogReport
	err = st.View(ctx, func(tx server.Tx) (err error) {
		report, err = server.VerifyLog(tx)
		return err
	})
	if err == nil && len(report.Problems) > 0 {
		err = fmt.Errorf("%s", strings.Join(report.Problems, "; "))
	}
	return err
}

func importBolt(ctx context.Context, btx *bolt.Tx, ptx pgx.Tx) (Counts, error) {
	var c Counts
	var used bool
	err := ptx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams) OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM devices)
		OR EXISTS (SELECT 1 FROM cases) OR EXISTS (SELECT 1 FROM revisions) OR EXISTS (SELECT 1 FROM changes) OR EXISTS (SELECT 1 FROM blobs)
		OR EXISTS (SELECT 1 FROM log_entries)`).Scan(&used)
	if err != nil {
		return c, err
	}
	if used {
		return c, ErrNotEmpty
	}
	m := btx.Bucket(boltstore.Layout.Meta)
	var created time.Time
	if err := created.UnmarshalText(m.Get(boltstore.MetaKeys.Created)); err != nil {
		return c, fmt.Errorf("meta: created: %w", err)
	}
	serverID := string(m.Get(boltstore.MetaKeys.ServerID))
	if record.ValidID(serverID) != nil {
		return c, fmt.Errorf("%w: meta: server id %q", ErrNotBoltStore, serverID)
	}
	var agency []byte
	if v := m.Get(boltstore.MetaKeys.Agency); v != nil {
		agency = bytes.Clone(v)
	}
	format := getU64(m, boltstore.MetaKeys.Format)
	recovery := string(m.Get(boltstore.MetaKeys.Recovery))
	if format < 2 {
		recovery = "" // format 1's was not signed: it is signed again
	}
	// The log's key goes with the server id: a format 3 store's is kept,
	// an older store gets one as boltstore's upgrade would make it.
	skey, vkey := string(m.Get(boltstore.MetaKeys.LogSKey)), string(m.Get(boltstore.MetaKeys.LogVKey))
	if format < 3 {
		if skey, vkey, err = transparency.GenerateLogKey(server.LogKeyName(serverID)); err != nil {
			return c, fmt.Errorf("making the log key: %w", err)
		}
	} else if _, err := transparency.NewLogKey(skey, vkey); err != nil {
		return c, fmt.Errorf("%w: meta: %v", ErrNotBoltStore, err)
	}
	_, err = ptx.Exec(ctx, `UPDATE meta SET server_id = $1, epoch = $2, created = $3, recovery = $4, roster_version = $5, agency = $6,
		log_skey = $7, log_vkey = $8`,
		serverID, newID(), created.UTC(), recovery, int64(getU64(m, boltstore.MetaKeys.RosterVersion)), agency, skey, vkey)
	if err != nil {
		return c, err
	}
	cp := func(table string, cols ...string) *copier {
		return &copier{ctx: ctx, tx: ptx, table: table, cols: cols}
	}

	// Statements in the order stored (by counter), so ord keeps it.
	statements := cp("statements", "id", "body", "signer", "sig")
	if err := eachJSON(btx.Bucket(boltstore.Layout.Statements), func(s trust.Signed) error {
		return statements.add(len(s.Body), s.ID(), nonNil(s.Body), s.Signer, nonNil(s.Sig))
	}); err != nil {
		return c, fmt.Errorf("statements: %w", err)
	}
	teams := cp("teams", "id", "name", "created", "policy", "policy_version")
	if err := eachJSON(btx.Bucket(boltstore.Layout.Teams), func(t server.Team) error {
		return teams.add(0, t.ID, t.Name, utc(t.Created), t.Policy, t.PolicyVersion)
	}); err != nil {
		return c, fmt.Errorf("teams: %w", err)
	}
	users := cp("users", "id", "name", "role", "team_id", "created")
	if err := eachJSON(btx.Bucket(boltstore.Layout.Users), func(u server.User) error {
		return users.add(0, u.ID, u.Name, u.Role, u.TeamID, utc(u.Created))
	}); err != nil {
		return c, fmt.Errorf("users: %w", err)
	}
	devices := cp("devices", "id", "user_id", "name", "recipient", "signing_key", "token_hash", "enrolled", "last_seen", "last_sync", "revoked", "grant_id")
	if err := eachJSON(btx.Bucket(boltstore.Layout.Devices), func(d server.Device) error {
		return devices.add(0, d.ID, d.UserID, d.Name, d.Recipient, nonNil(d.SigningKey), d.TokenHash[:],
			utc(d.Enrolled), utc(d.LastSeen), utc(d.LastSync), utc(d.Revoked), d.Grant)
	}); err != nil {
		return c, fmt.Errorf("devices: %w", err)
	}
	cases := cp("cases", "id", "team_id", "members", "created", "transcription", "key_epoch")
	if err := eachJSON(btx.Bucket(boltstore.Layout.Cases), func(cs server.Case) error {
		if cs.Members == nil {
			cs.Members = []string{}
		}
		return cases.add(0, cs.ID, cs.TeamID, cs.Members, utc(cs.Created), cs.Transcription, int64(cs.KeyEpoch))
	}); err != nil {
		return c, fmt.Errorf("cases: %w", err)
	}
	records := cp("records", "id", "case_id", "kind")
	if err := btx.Bucket(boltstore.Layout.Records).ForEach(func(k, v []byte) error {
		kind, caseID, ok := bytes.Cut(v, []byte{0})
		if !ok {
			return fmt.Errorf("record %q: damaged index entry", k)
		}
		return records.add(0, string(k), string(caseID), string(kind))
	}); err != nil {
		return c, fmt.Errorf("records: %w", err)
	}
	// Revisions in case_revs order, so each case lists them as stored.
	revs := cp("revisions", "rev", "case_id", "data", "device", "seq")
	revBucket := btx.Bucket(boltstore.Layout.Revs)
	if err := btx.Bucket(boltstore.Layout.CaseRevs).ForEach(func(k, v []byte) error {
		data := revBucket.Get(v)
		if data == nil {
			return fmt.Errorf("case_revs names revision %x, which is missing", v)
		}
		r, rest, err := record.UnmarshalRevision(data)
		if err != nil || len(rest) != 0 || !bytes.Equal(r.Rev[:], v) {
			return fmt.Errorf("revision %x: damaged: %v", v, err)
		}
		return revs.add(len(data), bytes.Clone(v), r.CaseID, bytes.Clone(data), r.Device, int64(r.Seq))
	}); err != nil {
		return c, fmt.Errorf("revisions: %w", err)
	}
	if n := revBucket.Stats().KeyN; n != revs.n {
		return c, fmt.Errorf("revisions: %d stored but %d listed by case", n, revs.n)
	}
	// The change log keeps its numbers, which lie far below any that
	// PostgreSQL transactions will be given (checked below).
	changes := cp("changes", "seq", "rev", "case_id", "target")
	var maxSeq uint64
	if err := btx.Bucket(boltstore.Layout.Changes).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("change key %x: damaged", k)
		}
		ch, err := decodeChange(v)
		if err != nil {
			return fmt.Errorf("change %x: %w", k, err)
		}
		maxSeq = binary.BigEndian.Uint64(k)
		return changes.add(0, int64(maxSeq), ch.Rev[:], ch.CaseID, ch.Target)
	}); err != nil {
		return c, fmt.Errorf("change log: %w", err)
	}
	var base int64
	if err := ptx.QueryRow(ctx, `SELECT (pg_current_xact_id()::text::bigint + seq_offset) << 20 FROM meta`).Scan(&base); err != nil {
		return c, err
	}
	if maxSeq >= uint64(base) {
		// A log this long (or a renumbered one) would collide with new
		// numbers: raise the offset so that new numbers start above it.
		if _, err := ptx.Exec(ctx, `UPDATE meta SET seq_offset = seq_offset + $1`, int64(maxSeq>>seqShift)+1); err != nil {
			return c, err
		}
	}
	acks := cp("acks", "device_id", "acked")
	if err := btx.Bucket(boltstore.Layout.Acks).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("ack of %q: damaged", k)
		}
		return acks.add(0, string(k), int64(binary.BigEndian.Uint64(v)))
	}); err != nil {
		return c, fmt.Errorf("acks: %w", err)
	}
	pending := cp("ack_pending", "device_id", "seq")
	if err := btx.Bucket(boltstore.Layout.AckPending).ForEach(func(k, _ []byte) error {
		if len(k) < 9 || k[len(k)-9] != 0 {
			return fmt.Errorf("pending ack %x: damaged", k)
		}
		return pending.add(0, string(k[:len(k)-9]), int64(binary.BigEndian.Uint64(k[len(k)-8:])))
	}); err != nil {
		return c, fmt.Errorf("pending acks: %w", err)
	}
	rotations := cp("rotations", "case_id", "epoch")
	if b := btx.Bucket(boltstore.Layout.Rotations); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("rotation of %q: damaged", k)
			}
			return rotations.add(0, string(k), int64(binary.BigEndian.Uint32(v)))
		}); err != nil {
			return c, fmt.Errorf("rotations: %w", err)
		}
	}
	blobs := cp("blobs", "case_id", "id", "data")
	if err := btx.Bucket(boltstore.Layout.Blobs).ForEach(func(k, v []byte) error {
		if len(k) < 33 || k[len(k)-33] != 0 {
			return fmt.Errorf("blob key %x: damaged", k)
		}
		c.BlobBytes += int64(len(v))
		return blobs.add(len(v), string(k[:len(k)-33]), bytes.Clone(k[len(k)-32:]), bytes.Clone(v))
	}); err != nil {
		return c, fmt.Errorf("blobs: %w", err)
	}
	logEntries, cosigs, err := importLog(ctx, btx, ptx)
	if err != nil {
		return c, fmt.Errorf("transparency log: %w", err)
	}
	for _, cpr := range []*copier{statements, teams, users, devices, cases, records, revs, changes, acks, pending, rotations, blobs, logEntries, cosigs} {
		if err := cpr.flush(); err != nil {
			return c, err
		}
	}
	if format < 3 {
		if err := buildLog(ctx, ptx, time.Now()); err != nil {
			return c, fmt.Errorf("transparency log: %w", err)
		}
		var n int64
		if err := ptx.QueryRow(ctx, logSizeSQL).Scan(&n); err != nil {
			return c, err
		}
		logEntries.n = int(n)
	}
	if format < 2 {
		// Format 1 cases know no key epoch: learn it from their keyrings,
		// as migration 0003 does.
		if _, err := ptx.Exec(ctx, `UPDATE cases c SET key_epoch = k.epoch
			FROM (SELECT case_id, max(substring(id FROM '\.k([0-9]+)$')::bigint) AS epoch
				FROM records WHERE kind = 'keyring' GROUP BY case_id) k
			WHERE k.case_id = c.id AND k.epoch IS NOT NULL`); err != nil {
			return c, fmt.Errorf("key epochs: %w", err)
		}
	}
	c.Statements, c.Teams, c.Users, c.Devices, c.Cases, c.Records = statements.n, teams.n, users.n, devices.n, cases.n, records.n
	c.Revisions, c.Changes, c.Acks, c.Pending, c.Rotations, c.Blobs = revs.n, changes.n, acks.n, pending.n, rotations.n, blobs.n
	c.LogEntries, c.Cosignatures = logEntries.n, cosigs.n
	return c, nil
}

// leafHashes is the stored hashes leaf n wrote (tlog.StoredHashes), read
// from a bbolt store's log_hashes: its own, and one for each subtree it
// completes. A missing one shortens the answer.
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

// importLog copies a format 3 store's transparency log: its leaves, which
// must be numbered 0 … log_size-1, each with the stored hashes it wrote,
// and the witnesses' cosignatures. A store of an older format has none.
func importLog(ctx context.Context, btx *bolt.Tx, ptx pgx.Tx) (entries, cosigs *copier, err error) {
	entries = &copier{ctx: ctx, tx: ptx, table: "log_entries", cols: []string{"idx", "leaf", "rev", "at", "hashes"}}
	cosigs = &copier{ctx: ctx, tx: ptx, table: "log_cosignatures", cols: []string{"size", "name", "sig", "added"}}
	b := btx.Bucket(boltstore.Layout.LogLeaves)
	if b == nil {
		return entries, cosigs, nil
	}
	size := int64(getU64(btx.Bucket(boltstore.Layout.Meta), boltstore.MetaKeys.LogSize))
	stored := btx.Bucket(boltstore.Layout.LogHashes)
	nh := 0
	err = b.ForEach(func(k, v []byte) error {
		if len(k) != 8 || int64(binary.BigEndian.Uint64(k)) != int64(entries.n) || len(v) < 8 {
			return fmt.Errorf("leaf %x: damaged, or not the next one (%d)", k, entries.n)
		}
		e, err := transparency.UnmarshalEntry(v[8:])
		if err != nil {
			return fmt.Errorf("leaf %d: %w", entries.n, err)
		}
		var rev []byte
		if e.Kind == transparency.KindRevision {
			rev = bytes.Clone(e.Rev[:])
		}
		n := int64(entries.n)
		hs := leafHashes(stored, n)
		if len(hs) != (1+bits.TrailingZeros64(uint64(n+1)))*tlog.HashSize {
			return fmt.Errorf("leaf %d: stored hashes missing", n)
		}
		nh += len(hs) / tlog.HashSize
		at := time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()
		return entries.add(len(v)+len(hs), n, bytes.Clone(v[8:]), rev, at, hs)
	})
	if err != nil {
		return nil, nil, err
	}
	if int64(entries.n) != size {
		return nil, nil, fmt.Errorf("%d leaves for a log of %d", entries.n, size)
	}
	if keys := stored.Stats().KeyN; nh != keys || int64(nh) != tlog.StoredHashCount(size) {
		return nil, nil, fmt.Errorf("%d stored hashes for a log of %d (want %d)", keys, size, tlog.StoredHashCount(size))
	}
	err = btx.Bucket(boltstore.Layout.LogCosigs).ForEach(func(k, v []byte) error {
		if len(k) < 9 || len(v) < 8 {
			return fmt.Errorf("cosignature %x: damaged", k)
		}
		at := time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()
		return cosigs.add(len(v), int64(binary.BigEndian.Uint64(k)), string(k[8:]), string(v[8:]), at)
	})
	return entries, cosigs, err
}

// verifyBolt compares the database with the bbolt file it was copied from:
// the counts of every table, each revision's encoding (by SHA-256), each
// change log entry, and each blob's content against its SHA-256 id.
func verifyBolt(ctx context.Context, db *bolt.DB, st *Store, want Counts) error {
	got, revHashes, blobHashes, changes, err := st.digest(ctx)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the database holds %v; copied %v", got, want)
	}
	return db.View(func(btx *bolt.Tx) error {
		err := btx.Bucket(boltstore.Layout.Revs).ForEach(func(k, v []byte) error {
			var id record.RevID
			copy(id[:], k)
			if h, ok := revHashes[id]; !ok || h != sha256.Sum256(v) {
				return fmt.Errorf("revision %s differs", id.Short())
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = btx.Bucket(boltstore.Layout.Blobs).ForEach(func(k, v []byte) error {
			var id record.RevID
			copy(id[:], k[len(k)-32:])
			key := blobKey{string(k[:len(k)-33]), id}
			if h, ok := blobHashes[key]; !ok || h != id || sha256.Sum256(v) != id {
				return fmt.Errorf("blob %s of case %s differs", id.Short(), key.caseID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return btx.Bucket(boltstore.Layout.Changes).ForEach(func(k, v []byte) error {
			ch, _ := decodeChange(v)
			ch.Seq = binary.BigEndian.Uint64(k)
			if got, ok := changes[ch.Seq]; !ok || got != ch {
				return fmt.Errorf("change log entry %d differs", ch.Seq)
			}
			return nil
		})
	})
}

type blobKey struct {
	caseID string
	id     record.RevID
}

// digest reads the whole database in one snapshot: the counts of every
// table, the SHA-256 of each revision's encoding and of each blob, and the
// change log.
func (s *Store) digest(ctx context.Context) (c Counts, revs map[record.RevID][32]byte, blobs map[blobKey][32]byte, changes map[uint64]server.Change, err error) {
	revs, blobs, changes = map[record.RevID][32]byte{}, map[blobKey][32]byte{}, map[uint64]server.Change{}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ptx pgx.Tx) error {
		err := ptx.QueryRow(ctx, `SELECT (SELECT count(*) FROM statements), (SELECT count(*) FROM teams), (SELECT count(*) FROM users),
			(SELECT count(*) FROM devices), (SELECT count(*) FROM cases), (SELECT count(*) FROM records),
			(SELECT count(*) FROM acks), (SELECT count(*) FROM ack_pending), (SELECT count(*) FROM rotations),
			(SELECT count(*) FROM log_entries), (SELECT count(*) FROM log_cosignatures)`).
			Scan(&c.Statements, &c.Teams, &c.Users, &c.Devices, &c.Cases, &c.Records, &c.Acks, &c.Pending, &c.Rotations,
				&c.LogEntries, &c.Cosignatures)
		if err != nil {
			return err
		}
		rows, _ := ptx.Query(ctx, `SELECT rev, data FROM revisions`)
		var rev, data []byte
		_, err = pgx.ForEachRow(rows, []any{&rev, &data}, func() error {
			var id record.RevID
			copy(id[:], rev)
			revs[id] = sha256.Sum256(data)
			c.Revisions++
			return nil
		})
		if err != nil {
			return err
		}
		rows, _ = ptx.Query(ctx, `SELECT case_id, id, data FROM blobs`)
		var caseID string
		_, err = pgx.ForEachRow(rows, []any{&caseID, &rev, &data}, func() error {
			k := blobKey{caseID: caseID}
			copy(k.id[:], rev)
			blobs[k] = sha256.Sum256(data)
			c.Blobs++
			c.BlobBytes += int64(len(data))
			return nil
		})
		if err != nil {
			return err
		}
		rows, _ = ptx.Query(ctx, `SELECT seq, rev, case_id, target FROM changes`)
		defer rows.Close()
		for rows.Next() {
			ch, err := scanChange(rows)
			if err != nil {
				return err
			}
			changes[ch.Seq] = ch
			c.Changes++
		}
		return rows.Err()
	})
	return c, revs, blobs, changes, err
}

// Backup writes the database, as of one snapshot, to a new bbolt backup
// file at path (never overwriting one) with a fresh epoch: `fieldcased
// restore` puts it back into PostgreSQL (ImportBolt) or into a bbolt data
// directory. Change log entries are renumbered 1, 2, 3, … in order, which
// the new epoch makes safe. The file is written beside path and renamed
// into place once complete and synced.
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
	tmp.Close()
	os.Remove(tmpName) // bbolt makes it anew; the name is ours
	defer os.Remove(tmpName)
	db, err := bolt.Open(tmpName, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ptx pgx.Tx) error {
		return exportBolt(ctx, ptx, db)
	})
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup: %s: %w", path, server.ErrExists)
		}
		return fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// boltWriter writes into a bbolt file in transactions of bounded size, so a
// large store never sits whole in memory.
type boltWriter struct {
	db   *bolt.DB
	tx   *bolt.Tx
	size int
}

func (w *boltWriter) put(bucket, k, v []byte) error {
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

func (w *boltWriter) commit() error {
	if w.tx == nil {
		return nil
	}
	err := w.tx.Commit()
	w.tx, w.size = nil, 0
	return err
}

func (w *boltWriter) putJSON(bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.put(bucket, k, raw)
}

// each runs a query and calls fn for each row, with dest scanned.
func each(ctx context.Context, ptx pgx.Tx, sql string, dest []any, fn func() error) error {
	rows, err := ptx.Query(ctx, sql)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, fn)
	return err
}

func exportBolt(ctx context.Context, ptx pgx.Tx, db *bolt.DB) error {
	err := db.Update(func(btx *bolt.Tx) error {
		for _, b := range boltstore.Layout.All() {
			if _, err := btx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w := &boltWriter{db: db}
	defer func() {
		if w.tx != nil {
			w.tx.Rollback()
		}
	}()
	wrapTx := &tx{ctx: ctx, ptx: ptx}
	m, err := wrapTx.Meta()
	if err != nil {
		return err
	}
	created, _ := m.Created.MarshalText()
	for k, v := range map[string][]byte{
		string(boltstore.MetaKeys.Format): u64(boltstore.FormatVersion), string(boltstore.MetaKeys.ServerID): []byte(m.ServerID), string(boltstore.MetaKeys.Epoch): []byte(newID()), string(boltstore.MetaKeys.Created): created,
		string(boltstore.MetaKeys.Recovery): []byte(m.Recovery), string(boltstore.MetaKeys.RosterVersion): u64(m.RosterVersion),
	} {
		if err := w.put(boltstore.Layout.Meta, []byte(k), v); err != nil {
			return err
		}
	}
	if m.Agency != nil {
		if err := w.put(boltstore.Layout.Meta, boltstore.MetaKeys.Agency, []byte(m.Agency)); err != nil {
			return err
		}
	}
	statements, err := wrapTx.Statements()
	if err != nil {
		return err
	}
	for i, s := range statements {
		if err := w.putJSON(boltstore.Layout.Statements, u64(uint64(i+1)), s); err != nil {
			return err
		}
		if err := w.put(boltstore.Layout.StatementIDs, []byte(s.ID()), u64(uint64(i+1))); err != nil {
			return err
		}
	}
	if err := w.put(boltstore.Layout.Meta, boltstore.MetaKeys.StatementSeq, u64(uint64(len(statements)))); err != nil {
		return err
	}
	teams, err := wrapTx.Teams()
	if err != nil {
		return err
	}
	for _, t := range teams {
		if err := w.putJSON(boltstore.Layout.Teams, []byte(t.ID), t); err != nil {
			return err
		}
		if err := w.put(boltstore.Layout.TeamNames, []byte(t.Name), []byte(t.ID)); err != nil {
			return err
		}
	}
	users, err := wrapTx.Users()
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := w.putJSON(boltstore.Layout.Users, []byte(u.ID), u); err != nil {
			return err
		}
		if err := w.put(boltstore.Layout.UserNames, []byte(u.Name), []byte(u.ID)); err != nil {
			return err
		}
	}
	devices, err := wrapTx.Devices()
	if err != nil {
		return err
	}
	for _, d := range devices {
		if err := w.putJSON(boltstore.Layout.Devices, []byte(d.ID), d); err != nil {
			return err
		}
		if err := w.put(boltstore.Layout.Tokens, d.TokenHash[:], []byte(d.ID)); err != nil {
			return err
		}
	}
	cases, err := wrapTx.TeamCases("")
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	for _, c := range cases {
		if err := w.putJSON(boltstore.Layout.Cases, []byte(c.ID), c); err != nil {
			return err
		}
	}
	var id, caseID, kind string
	err = each(ctx, ptx, `SELECT id, case_id, kind FROM records`, []any{&id, &caseID, &kind}, func() error {
		return w.put(boltstore.Layout.Records, []byte(id), append(append([]byte(kind), 0), caseID...))
	})
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	var n uint64
	var rev, data []byte
	var device string
	var devSeq int64
	err = each(ctx, ptx, `SELECT rev, case_id, data, device, seq FROM revisions ORDER BY case_id, ord`, []any{&rev, &caseID, &data, &device, &devSeq}, func() error {
		n++
		if err := w.put(boltstore.Layout.Revs, bytes.Clone(rev), bytes.Clone(data)); err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(append([]byte(device), 0), uint64(devSeq))
		if err := w.put(boltstore.Layout.DevRevs, append(k, rev...), nil); err != nil {
			return err
		}
		return w.put(boltstore.Layout.CaseRevs, binary.BigEndian.AppendUint64(append([]byte(caseID), 0), n), bytes.Clone(rev))
	})
	if err != nil {
		return fmt.Errorf("revisions: %w", err)
	}
	if err := w.put(boltstore.Layout.Meta, boltstore.MetaKeys.CaseRevSeq, u64(n)); err != nil {
		return err
	}
	var seq uint64
	var target string
	var pgSeq int64
	err = each(ctx, ptx, `SELECT seq, rev, case_id, target FROM changes ORDER BY seq`, []any{&pgSeq, &rev, &caseID, &target}, func() error {
		seq++
		ch := server.Change{CaseID: caseID, Target: target}
		copy(ch.Rev[:], rev)
		return w.put(boltstore.Layout.Changes, u64(seq), encodeChange(ch))
	})
	if err != nil {
		return fmt.Errorf("change log: %w", err)
	}
	if err := w.put(boltstore.Layout.Meta, boltstore.MetaKeys.ChangeSeq, u64(seq)); err != nil {
		return err
	}
	var acked int64
	err = each(ctx, ptx, `SELECT device_id, acked FROM acks`, []any{&id, &acked}, func() error {
		return w.put(boltstore.Layout.Acks, []byte(id), u64(uint64(acked)))
	})
	if err != nil {
		return fmt.Errorf("acks: %w", err)
	}
	err = each(ctx, ptx, `SELECT device_id, seq FROM ack_pending`, []any{&id, &acked}, func() error {
		return w.put(boltstore.Layout.AckPending, binary.BigEndian.AppendUint64(append([]byte(id), 0), uint64(acked)), []byte{1})
	})
	if err != nil {
		return fmt.Errorf("pending acks: %w", err)
	}
	var epoch int64
	err = each(ctx, ptx, `SELECT case_id, epoch FROM rotations`, []any{&caseID, &epoch}, func() error {
		return w.put(boltstore.Layout.Rotations, []byte(caseID), binary.BigEndian.AppendUint32(nil, uint32(epoch)))
	})
	if err != nil {
		return fmt.Errorf("rotations: %w", err)
	}
	err = each(ctx, ptx, `SELECT case_id, id, data FROM blobs`, []any{&caseID, &rev, &data}, func() error {
		return w.put(boltstore.Layout.Blobs, append(append([]byte(caseID), 0), rev...), bytes.Clone(data))
	})
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	if err := exportLog(ctx, ptx, w, m); err != nil {
		return fmt.Errorf("transparency log: %w", err)
	}
	return w.commit()
}

// exportLog writes the transparency log as it is, its key and size, and
// the witnesses' cosignatures.
func exportLog(ctx context.Context, ptx pgx.Tx, w *boltWriter, m server.Meta) error {
	var size int64
	if err := ptx.QueryRow(ctx, logSizeSQL).Scan(&size); err != nil {
		return err
	}
	for k, v := range map[string][]byte{string(boltstore.MetaKeys.LogSize): u64(uint64(size)),
		string(boltstore.MetaKeys.LogSKey): []byte(m.LogSKey), string(boltstore.MetaKeys.LogVKey): []byte(m.LogVKey)} {
		if err := w.put(boltstore.Layout.Meta, []byte(k), v); err != nil {
			return err
		}
	}
	var idx int64
	var leaf, rev, hs []byte
	var at time.Time
	err := each(ctx, ptx, `SELECT idx, leaf, at, hashes FROM log_entries ORDER BY idx`, []any{&idx, &leaf, &at, &hs}, func() error {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(leaf)), uint64(at.UnixMilli()))
		if err := w.put(boltstore.Layout.LogLeaves, u64(uint64(idx)), append(v, leaf...)); err != nil {
			return err
		}
		first := tlog.StoredHashIndex(0, idx)
		for i := 0; i+tlog.HashSize <= len(hs); i += tlog.HashSize {
			if err := w.put(boltstore.Layout.LogHashes, u64(uint64(first+int64(i/tlog.HashSize))), bytes.Clone(hs[i:i+tlog.HashSize])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// In key order: bbolt splits nodes only at commit, and random keys
	// put one by one into a large transaction take quadratic time.
	err = each(ctx, ptx, `SELECT rev, idx FROM log_entries WHERE rev IS NOT NULL ORDER BY rev`, []any{&rev, &idx}, func() error {
		return w.put(boltstore.Layout.LogRevs, bytes.Clone(rev), u64(uint64(idx)))
	})
	if err != nil {
		return err
	}
	var name, sig string
	last := map[string]int64{}
	err = each(ctx, ptx, `SELECT size, name, sig, added FROM log_cosignatures ORDER BY size, name`, []any{&idx, &name, &sig, &at}, func() error {
		last[name] = idx
		v := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMilli()))
		return w.put(boltstore.Layout.LogCosigs, append(u64(uint64(idx)), name...), append(v, sig...))
	})
	if err != nil {
		return err
	}
	for name, size := range last {
		if err := w.put(boltstore.Layout.LogWitnesses, []byte(name), u64(uint64(size))); err != nil {
			return err
		}
	}
	return nil
}
