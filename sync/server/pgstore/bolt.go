package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// This file moves whole stores between PostgreSQL and boltstore's file
// format (sync/server/boltstore/doc.go): ImportBolt copies a bbolt store or
// backup into an empty database, Backup writes the database as a bbolt
// backup. Both go through boltstore's FileReader and FileWriter, which own
// the file's layout; server.Tx has no way to list everything (cases,
// records, blobs, acks) or to set a store's identity. ImportBolt also reads
// format 1 (before signed statements: it has none, and its hashed
// enrolment codes are left behind) and format 2 (before the transparency
// log: it gets a log key and a log of what it holds), as boltstore's own
// upgrades do.

// ErrNotBoltStore means a file is not a bbolt store of a format this
// version reads. It is boltstore.ErrNotStore.
var ErrNotBoltStore = boltstore.ErrNotStore

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

// ImportBolt copies the bbolt store or backup file at path into dst, which
// must hold no data yet, in one transaction, and then verifies the copy:
// every table's count, every revision's bytes, every blob's SHA-256, every
// change log entry, and the transparency log's every leaf and stored hash.
// The copy gets a fresh epoch (cursors handed out by the old server are
// answered 410 Gone, so devices pull again and re-push anything the file
// lacked) and keeps the server id and the log with its key. A bbolt store in use by a running
// server is refused with server.ErrLocked.
func ImportBolt(ctx context.Context, path string, dst *Store) (Counts, error) {
	f, err := boltstore.OpenFile(path)
	if err != nil {
		return Counts{}, err
	}
	defer f.Close()
	meta, err := f.Meta()
	if err != nil {
		return Counts{}, fmt.Errorf("importing %s: %w: %v", path, ErrNotBoltStore, err)
	}
	var counts Counts
	err = pgx.BeginTxFunc(ctx, dst.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return err
		}
		c, err := importBolt(ctx, f, meta, ptx)
		counts = c
		return err
	})
	if err != nil {
		return counts, fmt.Errorf("importing %s: %w", path, err)
	}
	if err := verifyBolt(ctx, f, dst, counts); err != nil {
		return counts, fmt.Errorf("verifying the copy of %s: %w", path, err)
	}
	if err := verifyLog(ctx, f, meta, dst); err != nil {
		return counts, fmt.Errorf("verifying the copy of %s: transparency log: %w", path, err)
	}
	return counts, nil
}

// verifyLog checks the copied transparency log: a format 3 file's leaves
// (data and time), stored hashes and key are the database's; a log built
// for an older file is whole (server.VerifyLog: every stored hash
// recomputed from the leaves, every revision and statement logged).
func verifyLog(ctx context.Context, f *boltstore.FileReader, meta boltstore.FileMeta, st *Store) error {
	if meta.Format < 3 {
		var report server.LogReport
		err := st.View(ctx, func(tx server.Tx) (err error) {
			report, err = server.VerifyLog(tx)
			return err
		})
		if err == nil && len(report.Problems) > 0 {
			err = fmt.Errorf("%s", strings.Join(report.Problems, "; "))
		}
		return err
	}
	type leafDigest struct {
		at           int64
		leaf, hashes [32]byte
	}
	copied := map[int64]leafDigest{}
	err := pgx.BeginTxFunc(ctx, st.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ptx pgx.Tx) error {
		var skey, vkey string
		if err := ptx.QueryRow(ctx, `SELECT log_skey, log_vkey FROM meta`).Scan(&skey, &vkey); err != nil {
			return err
		}
		if skey != meta.LogSKey || vkey != meta.LogVKey {
			return errors.New("the log key differs")
		}
		var idx int64
		var leaf, hs []byte
		var at time.Time
		return each(ctx, ptx, `SELECT idx, leaf, at, hashes FROM log_entries`, []any{&idx, &leaf, &at, &hs}, func() error {
			copied[idx] = leafDigest{at.UnixMilli(), sha256.Sum256(leaf), sha256.Sum256(hs)}
			return nil
		})
	})
	if err != nil {
		return err
	}
	n := 0
	err = f.LogLeaves(func(l server.LogLeaf, _ transparency.Entry, hs []byte) error {
		d, ok := copied[l.Index]
		if !ok || d.leaf != sha256.Sum256(l.Data) || d.at != l.Time.UnixMilli() {
			return fmt.Errorf("leaf %d differs", l.Index)
		}
		if d.hashes != sha256.Sum256(hs) {
			return fmt.Errorf("the stored hashes of leaf %d differ", l.Index)
		}
		n++
		return nil
	})
	if err == nil && n != len(copied) {
		err = fmt.Errorf("%d leaves, copied %d", n, len(copied))
	}
	return err
}

func importBolt(ctx context.Context, f *boltstore.FileReader, m boltstore.FileMeta, ptx pgx.Tx) (Counts, error) {
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
	if record.ValidID(m.ServerID) != nil {
		return c, fmt.Errorf("%w: meta: server id %q", ErrNotBoltStore, m.ServerID)
	}
	recovery := m.Recovery
	if m.Format < 2 {
		recovery = "" // format 1's was not signed: it is signed again
	}
	// The log's key goes with the server id: a format 3 store's is kept,
	// an older store gets one as boltstore's upgrade would make it.
	skey, vkey := m.LogSKey, m.LogVKey
	if m.Format < 3 {
		if skey, vkey, err = transparency.GenerateLogKey(server.LogKeyName(m.ServerID)); err != nil {
			return c, fmt.Errorf("making the log key: %w", err)
		}
	} else if _, err := transparency.NewLogKey(skey, vkey); err != nil {
		return c, fmt.Errorf("%w: meta: %v", ErrNotBoltStore, err)
	}
	_, err = ptx.Exec(ctx, `UPDATE meta SET server_id = $1, epoch = $2, created = $3, recovery = $4, roster_version = $5, agency = $6,
		log_skey = $7, log_vkey = $8`,
		m.ServerID, newID(), m.Created.UTC(), recovery, int64(m.RosterVersion), m.Agency, skey, vkey)
	if err != nil {
		return c, err
	}
	cp := func(table string, cols ...string) *copier {
		return &copier{ctx: ctx, tx: ptx, table: table, cols: cols}
	}

	// Statements in the order stored (by counter), so ord keeps it.
	statements := cp("statements", "id", "body", "signer", "sig")
	if err := f.Statements(func(s trust.Signed) error {
		return statements.add(len(s.Body), s.ID(), nonNil(s.Body), s.Signer, nonNil(s.Sig))
	}); err != nil {
		return c, fmt.Errorf("statements: %w", err)
	}
	teams := cp("teams", "id", "name", "created", "policy", "policy_version")
	if err := f.Teams(func(t server.Team) error {
		return teams.add(0, t.ID, t.Name, utc(t.Created), t.Policy, t.PolicyVersion)
	}); err != nil {
		return c, fmt.Errorf("teams: %w", err)
	}
	users := cp("users", "id", "name", "role", "team_id", "created")
	if err := f.Users(func(u server.User) error {
		return users.add(0, u.ID, u.Name, u.Role, u.TeamID, utc(u.Created))
	}); err != nil {
		return c, fmt.Errorf("users: %w", err)
	}
	devices := cp("devices", "id", "user_id", "name", "recipient", "signing_key", "token_hash", "enrolled", "last_seen", "last_sync", "revoked", "grant_id")
	if err := f.Devices(func(d server.Device) error {
		return devices.add(0, d.ID, d.UserID, d.Name, d.Recipient, nonNil(d.SigningKey), d.TokenHash[:],
			utc(d.Enrolled), utc(d.LastSeen), utc(d.LastSync), utc(d.Revoked), d.Grant)
	}); err != nil {
		return c, fmt.Errorf("devices: %w", err)
	}
	cases := cp("cases", "id", "team_id", "members", "created", "transcription", "key_epoch")
	if err := f.Cases(func(cs server.Case) error {
		if cs.Members == nil {
			cs.Members = []string{}
		}
		return cases.add(0, cs.ID, cs.TeamID, cs.Members, utc(cs.Created), cs.Transcription, int64(cs.KeyEpoch))
	}); err != nil {
		return c, fmt.Errorf("cases: %w", err)
	}
	records := cp("records", "id", "case_id", "kind")
	if err := f.Records(func(r server.RecordInfo) error {
		return records.add(0, r.ID, r.CaseID, string(r.Kind))
	}); err != nil {
		return c, fmt.Errorf("records: %w", err)
	}
	// Revisions in the order each case lists them, so ord keeps it.
	revs := cp("revisions", "rev", "case_id", "data", "device", "seq")
	if err := f.Revisions(func(r *record.Revision, data []byte) error {
		return revs.add(len(data), r.Rev[:], r.CaseID, bytes.Clone(data), r.Device, int64(r.Seq))
	}); err != nil {
		return c, fmt.Errorf("revisions: %w", err)
	}
	// The change log keeps its numbers, which lie far below any that
	// PostgreSQL transactions will be given (checked below).
	changes := cp("changes", "seq", "rev", "case_id", "target")
	var maxSeq uint64
	if err := f.Changes(func(ch server.Change) error {
		maxSeq = ch.Seq
		return changes.add(0, int64(ch.Seq), ch.Rev[:], ch.CaseID, ch.Target)
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
	if err := f.Acks(func(device string, acked uint64) error {
		return acks.add(0, device, int64(acked))
	}); err != nil {
		return c, fmt.Errorf("acks: %w", err)
	}
	pending := cp("ack_pending", "device_id", "seq")
	if err := f.PendingAcks(func(device string, seq uint64) error {
		return pending.add(0, device, int64(seq))
	}); err != nil {
		return c, fmt.Errorf("pending acks: %w", err)
	}
	rotations := cp("rotations", "case_id", "epoch")
	if err := f.Rotations(func(r server.Rotation) error {
		return rotations.add(0, r.CaseID, int64(r.Epoch))
	}); err != nil {
		return c, fmt.Errorf("rotations: %w", err)
	}
	blobs := cp("blobs", "case_id", "id", "data")
	if err := f.Blobs(func(caseID string, id record.RevID, data []byte) error {
		c.BlobBytes += int64(len(data))
		return blobs.add(len(data), caseID, id[:], bytes.Clone(data))
	}); err != nil {
		return c, fmt.Errorf("blobs: %w", err)
	}
	logEntries := cp("log_entries", "idx", "leaf", "rev", "at", "hashes")
	if err := f.LogLeaves(func(l server.LogLeaf, e transparency.Entry, hs []byte) error {
		var rev []byte
		if e.Kind == transparency.KindRevision {
			rev = bytes.Clone(e.Rev[:])
		}
		return logEntries.add(len(l.Data)+len(hs), l.Index, bytes.Clone(l.Data), rev, l.Time, bytes.Clone(hs))
	}); err != nil {
		return c, fmt.Errorf("transparency log: %w", err)
	}
	cosigs := cp("log_cosignatures", "size", "name", "sig", "added")
	if err := f.Cosignatures(func(cs server.Cosignature) error {
		return cosigs.add(len(cs.Sig), cs.Size, cs.Name, cs.Sig, cs.Time)
	}); err != nil {
		return c, fmt.Errorf("transparency log: %w", err)
	}
	for _, cpr := range []*copier{statements, teams, users, devices, cases, records, revs, changes, acks, pending, rotations, blobs, logEntries, cosigs} {
		if err := cpr.flush(); err != nil {
			return c, err
		}
	}
	if m.Format < 3 {
		if err := buildLog(ctx, ptx, time.Now()); err != nil {
			return c, fmt.Errorf("transparency log: %w", err)
		}
		var n int64
		if err := ptx.QueryRow(ctx, logSizeSQL).Scan(&n); err != nil {
			return c, err
		}
		logEntries.n = int(n)
	}
	if m.Format < 2 {
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

// verifyBolt compares the database with the bbolt file it was copied from:
// the counts of every table, each revision's encoding (by SHA-256), each
// change log entry, and each blob's content against its SHA-256 id.
func verifyBolt(ctx context.Context, f *boltstore.FileReader, st *Store, want Counts) error {
	got, revHashes, blobHashes, changes, err := st.digest(ctx)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the database holds %v; copied %v", got, want)
	}
	err = f.Revisions(func(r *record.Revision, data []byte) error {
		if h, ok := revHashes[r.Rev]; !ok || h != sha256.Sum256(data) {
			return fmt.Errorf("revision %s differs", r.Rev.Short())
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = f.Blobs(func(caseID string, id record.RevID, data []byte) error {
		if h, ok := blobHashes[blobKey{caseID, id}]; !ok || h != id || sha256.Sum256(data) != id {
			return fmt.Errorf("blob %s of case %s differs", id.Short(), caseID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return f.Changes(func(ch server.Change) error {
		if got, ok := changes[ch.Seq]; !ok || got != ch {
			return fmt.Errorf("change log entry %d differs", ch.Seq)
		}
		return nil
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
// the new epoch makes safe. The file is written beside path and linked
// into place once complete and synced (boltstore.WriteFile).
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := boltstore.WriteFile(path, func(w *boltstore.FileWriter) error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ptx pgx.Tx) error {
			return exportBolt(ctx, ptx, w)
		})
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
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

func exportBolt(ctx context.Context, ptx pgx.Tx, w *boltstore.FileWriter) error {
	wrapTx := &tx{ctx: ctx, ptx: ptx}
	m, err := wrapTx.Meta()
	if err != nil {
		return err
	}
	err = w.PutMeta(boltstore.FileMeta{ServerID: m.ServerID, Created: m.Created, Recovery: m.Recovery, RosterVersion: m.RosterVersion,
		Agency: m.Agency, LogSKey: m.LogSKey, LogVKey: m.LogVKey})
	if err != nil {
		return err
	}
	statements, err := wrapTx.Statements()
	if err != nil {
		return err
	}
	for _, s := range statements {
		if err := w.PutStatement(s); err != nil {
			return err
		}
	}
	teams, err := wrapTx.Teams()
	if err != nil {
		return err
	}
	for _, t := range teams {
		if err := w.PutTeam(t); err != nil {
			return err
		}
	}
	users, err := wrapTx.Users()
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := w.PutUser(u); err != nil {
			return err
		}
	}
	devices, err := wrapTx.Devices()
	if err != nil {
		return err
	}
	for _, d := range devices {
		if err := w.PutDevice(d); err != nil {
			return err
		}
	}
	cases, err := wrapTx.TeamCases("")
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	for _, c := range cases {
		if err := w.PutCase(c); err != nil {
			return err
		}
	}
	var id, caseID, kind string
	err = each(ctx, ptx, `SELECT id, case_id, kind FROM records`, []any{&id, &caseID, &kind}, func() error {
		return w.PutRecord(server.RecordInfo{ID: id, CaseID: caseID, Kind: record.Kind(kind)})
	})
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	var rev, data []byte
	err = each(ctx, ptx, `SELECT data FROM revisions ORDER BY case_id, ord`, []any{&data}, func() error {
		return w.PutRevision(data)
	})
	if err != nil {
		return fmt.Errorf("revisions: %w", err)
	}
	var target string
	err = each(ctx, ptx, `SELECT rev, case_id, target FROM changes ORDER BY seq`, []any{&rev, &caseID, &target}, func() error {
		ch := server.Change{CaseID: caseID, Target: target}
		copy(ch.Rev[:], rev)
		return w.PutChange(ch)
	})
	if err != nil {
		return fmt.Errorf("change log: %w", err)
	}
	var acked int64
	err = each(ctx, ptx, `SELECT device_id, acked FROM acks`, []any{&id, &acked}, func() error {
		return w.PutAck(id, uint64(acked))
	})
	if err != nil {
		return fmt.Errorf("acks: %w", err)
	}
	err = each(ctx, ptx, `SELECT device_id, seq FROM ack_pending`, []any{&id, &acked}, func() error {
		return w.PutPendingAck(id, uint64(acked))
	})
	if err != nil {
		return fmt.Errorf("pending acks: %w", err)
	}
	var epoch int64
	err = each(ctx, ptx, `SELECT case_id, epoch FROM rotations`, []any{&caseID, &epoch}, func() error {
		return w.PutRotation(server.Rotation{CaseID: caseID, Epoch: uint32(epoch)})
	})
	if err != nil {
		return fmt.Errorf("rotations: %w", err)
	}
	err = each(ctx, ptx, `SELECT case_id, id, data FROM blobs`, []any{&caseID, &rev, &data}, func() error {
		var id record.RevID
		if len(rev) != len(id) {
			return fmt.Errorf("blob %x of case %s: damaged id", rev, caseID)
		}
		copy(id[:], rev)
		return w.PutBlob(caseID, id, data)
	})
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	if err := exportLog(ctx, ptx, w); err != nil {
		return fmt.Errorf("transparency log: %w", err)
	}
	return nil
}

// exportLog writes the transparency log as it is and the witnesses'
// cosignatures.
func exportLog(ctx context.Context, ptx pgx.Tx, w *boltstore.FileWriter) error {
	var idx int64
	var leaf, hs []byte
	var at time.Time
	err := each(ctx, ptx, `SELECT idx, leaf, at, hashes FROM log_entries ORDER BY idx`, []any{&idx, &leaf, &at, &hs}, func() error {
		return w.PutLogLeaf(server.LogLeaf{Index: idx, Data: leaf, Time: at}, hs)
	})
	if err != nil {
		return err
	}
	var name, sig string
	return each(ctx, ptx, `SELECT size, name, sig, added FROM log_cosignatures ORDER BY size, name`, []any{&idx, &name, &sig, &at}, func() error {
		return w.PutCosignature(server.Cosignature{Size: idx, Name: name, Sig: sig, Time: at})
	})
}
