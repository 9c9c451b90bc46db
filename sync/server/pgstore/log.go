package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
)

// The transparency log. Unlike the change log (doc.go), whose numbers may
// have gaps, a tree has no holes: leaf n+1 must never commit before leaf n.
// So appends are serialised: a transaction's first append takes an
// advisory lock (logLock) that it holds until it has committed (or rolled
// back), so indexes are taken and committed in one order, and a reader's
// snapshot always holds a whole tree, leaves 0 … max(idx).
//
// The appender must know the log as the last appender left it, which its
// own REPEATABLE READ snapshot, taken when the transaction began, may not
// show. So, holding the lock, it reads the log's size and right edge on a
// connection of its own (logPool, one connection, READ COMMITTED): every
// append committed before is visible there, and none can be under way.
// Nothing of the log is updated in place (the size is the largest index
// plus one), so appenders never conflict in their snapshots: they wait for
// the lock only from their first append to their commit, which the server
// makes the end of its transaction.
//
// Within a transaction the log's right edge is read once (LogAppender), and
// the new leaves, each with the stored hashes it adds, are written at
// commit in one statement.
//
// A stored hash is found by the leaf that wrote it: tlog's hash (level L,
// node k) is written with leaf ((k+1) << L) - 1, at place L of that leaf's
// hashes (tlog.StoredHashesForRecordHash).

// pendingLog is what a transaction appended and has not yet sent.
type pendingLog struct {
	idx    []int64
	leaf   [][]byte
	rev    [][]byte // nil for an entry that logs no revision
	at     []time.Time
	hashes [][]byte
}

// hashPlace is where stored hash x is kept: its leaf and its place among
// that leaf's hashes (ok is false for a negative index).
func hashPlace(x int64) (leaf int64, at int, ok bool) {
	if x < 0 {
		return 0, 0, false
	}
	level, n := tlog.SplitStoredHashIndex(x)
	return (n+1)<<level - 1, level, true
}

// joinHashes is a leaf's stored hashes as one value.
func joinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// logLock is the advisory lock key that serialises appends to the
// transparency log ("fclogapp" in ASCII).
const logLock = 0x66636c6f67617070

// logSizeSQL is the log's size: its leaves are 0 … max(idx).
const logSizeSQL = `SELECT coalesce(max(idx) + 1, 0) FROM log_entries`

func (t *tx) LogSize() (int64, error) {
	if t.logApp != nil {
		return t.logApp.Size(), nil
	}
	var n int64
	err := t.row(logSizeSQL, nil, &n)
	t.seenLog = max(t.seenLog, n)
	return n, err
}

func (t *tx) AppendLog(e transparency.Entry, at time.Time) (int64, error) {
	if !t.write {
		return 0, ErrReadOnly
	}
	if t.logApp == nil {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock($1)`, int64(logLock)); err != nil {
			return 0, err
		}
		a, err := t.store.logHead(t.ctx)
		if err != nil {
			return 0, fmt.Errorf("appending to the log: %w", err)
		}
		t.logApp, t.logHashes, t.logRevs = a, map[int64]tlog.Hash{}, map[record.RevID]server.LogLeaf{}
	}
	leaf := e.Marshal()
	n, hashes, err := t.logApp.Append(e.Hash())
	if err != nil {
		return 0, fmt.Errorf("appending to the log: %w", err)
	}
	at = at.UTC().Truncate(time.Millisecond)
	p := &t.pendLog
	p.idx, p.leaf, p.at = append(p.idx, n), append(p.leaf, leaf), append(p.at, at)
	var rev []byte
	if e.Kind == transparency.KindRevision {
		rev = bytes.Clone(e.Rev[:])
		t.logRevs[e.Rev] = server.LogLeaf{Index: n, Time: at}
	}
	p.rev, p.hashes = append(p.rev, rev), append(p.hashes, joinHashes(hashes))
	first := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		t.logHashes[first+int64(i)] = h
	}
	return n, nil
}

// queueLog adds the pending leaves and hashes, and the new size, to the
// write-behind queue.
func (t *tx) queueLog() {
	p := &t.pendLog
	if len(p.idx) == 0 {
		return
	}
	t.enqueue(`INSERT INTO log_entries (idx, leaf, rev, at, hashes)
		SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::timestamptz[], $5::bytea[])`,
		p.idx, p.leaf, p.rev, p.at, p.hashes)
	*p = pendingLog{}
}

// logHead reads the log as the last appender committed it, on the log's own
// connection (the caller holds logLock): its size and right edge.
func (s *Store) logHead(ctx context.Context) (*server.LogAppender, error) {
	var size int64
	if err := s.logPool.QueryRow(ctx, logSizeSQL).Scan(&size); err != nil {
		return nil, wrap(err)
	}
	return server.NewLogAppender(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return readStoredHashes(ctx, s.logPool, idx)
	}))
}

// querier is what reads stored hashes: a transaction, or the log's pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readStoredHashes reads stored hashes from the database, in one query.
func (t *tx) readStoredHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	if err := t.flush(); err != nil {
		return nil, err
	}
	return readStoredHashes(t.ctx, t.ptx, indexes)
}

func readStoredHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	leaves := make([]int64, 0, len(indexes))
	for _, x := range indexes {
		if leaf, _, ok := hashPlace(x); ok {
			leaves = append(leaves, leaf)
		}
	}
	rows, err := q.Query(ctx, `SELECT idx, hashes FROM log_entries WHERE idx = ANY($1)`, leaves)
	if err != nil {
		return nil, wrap(err)
	}
	got := make(map[int64][]byte, len(leaves))
	var idx int64
	var hs []byte
	if _, err := pgx.ForEachRow(rows, []any{&idx, &hs}, func() error {
		got[idx] = bytes.Clone(hs)
		return nil
	}); err != nil {
		return nil, wrap(err)
	}
	for i, x := range indexes {
		leaf, at, ok := hashPlace(x)
		hs := got[leaf]
		if !ok || len(hs) < (at+1)*tlog.HashSize {
			return nil, fmt.Errorf("stored hash %d: %w", x, server.ErrNotFound)
		}
		copy(out[i][:], hs[at*tlog.HashSize:])
	}
	return out, nil
}

func (t *tx) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var missing []int64
	for _, x := range indexes {
		if _, ok := t.logHashes[x]; !ok {
			missing = append(missing, x)
		}
	}
	if len(missing) == len(indexes) {
		return t.readStoredHashes(indexes)
	}
	read, err := t.readStoredHashes(missing)
	if err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if h, ok := t.logHashes[x]; ok {
			out[i] = h
		} else {
			out[i], read = read[0], read[1:]
		}
	}
	return out, nil
}

func scanLeaf(r pgx.Row) (server.LogLeaf, error) {
	var l server.LogLeaf
	err := r.Scan(&l.Index, &l.Data, &l.Time)
	l.Time = l.Time.UTC()
	return l, wrap(err)
}

func (t *tx) LogEntries(from int64, n int) ([]server.LogLeaf, error) {
	if from < 0 || n <= 0 {
		return nil, nil
	}
	return list(t, `SELECT idx, leaf, at FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2`, []any{from, n}, scanLeaf)
}

func (t *tx) LogEntriesAt(indexes []int64) ([]server.LogLeaf, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	all, err := list(t, `SELECT idx, leaf, at FROM log_entries WHERE idx = ANY($1)`, []any{indexes}, scanLeaf)
	if err != nil {
		return nil, err
	}
	got := make(map[int64]server.LogLeaf, len(all))
	for _, l := range all {
		got[l.Index] = l
	}
	out := make([]server.LogLeaf, len(indexes))
	for i, x := range indexes {
		l, ok := got[x]
		if !ok {
			return nil, fmt.Errorf("log entry %d: %w", x, server.ErrNotFound)
		}
		out[i] = l
	}
	return out, nil
}

func (t *tx) RevisionLog(revs []record.RevID) ([]server.LogLeaf, error) {
	out := make([]server.LogLeaf, len(revs))
	var ask [][]byte
	for _, r := range revs {
		if _, ok := t.logRevs[r]; !ok {
			ask = append(ask, r[:])
		}
	}
	got := map[record.RevID]server.LogLeaf{}
	if len(ask) > 0 {
		all, err := list(t, `SELECT rev, idx, at FROM log_entries WHERE rev = ANY($1)`, []any{ask}, func(r pgx.Row) (server.LogLeaf, error) {
			var l server.LogLeaf
			var rev []byte
			err := r.Scan(&rev, &l.Index, &l.Time)
			l.Time, l.Data = l.Time.UTC(), rev
			return l, wrap(err)
		})
		if err != nil {
			return nil, err
		}
		for _, l := range all {
			var id record.RevID
			copy(id[:], l.Data)
			l.Data = nil
			got[id] = l
		}
	}
	for i, r := range revs {
		l, ok := t.logRevs[r]
		if !ok {
			l, ok = got[r]
		}
		if !ok {
			l = server.LogLeaf{Index: -1}
		}
		out[i] = l
	}
	return out, nil
}

func (t *tx) AddCosignature(c server.Cosignature) error {
	_, err := t.exec(`INSERT INTO log_cosignatures (size, name, sig, added) VALUES ($1, $2, $3, $4)
		ON CONFLICT (size, name) DO UPDATE SET sig = excluded.sig, added = excluded.added`,
		c.Size, c.Name, c.Sig, c.Time.UTC().Truncate(time.Millisecond))
	return err
}

func scanCosig(r pgx.Row) (server.Cosignature, error) {
	var c server.Cosignature
	err := r.Scan(&c.Size, &c.Name, &c.Sig, &c.Time)
	c.Time = c.Time.UTC()
	return c, wrap(err)
}

func (t *tx) Cosignatures(size int64) ([]server.Cosignature, error) {
	return list(t, `SELECT size, name, sig, added FROM log_cosignatures WHERE size = $1 ORDER BY name`, []any{size}, scanCosig)
}

func (t *tx) LastCosignatures() ([]server.Cosignature, error) {
	return list(t, `SELECT DISTINCT ON (name) size, name, sig, added FROM log_cosignatures ORDER BY name, size DESC`, nil, scanCosig)
}

func (t *tx) RevisionCount() (int64, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	var n int64
	err := t.row(`SELECT count(*) FROM revisions`, nil, &n)
	return n, err
}

// buildLog logs what a store held before it had a log (migration 4, and
// ImportBolt of a bbolt store of format 1 or 2), as boltstore's upgrade
// does: the statements in the order stored, then the revisions in the
// order of the change log (each at its first entry), then any the change
// log does not name, in the order stored. The leaves' time is now: they
// were logged then. A log that has entries already is left alone.
func buildLog(ctx context.Context, ptx pgx.Tx, now time.Time) error {
	var size int64
	if err := ptx.QueryRow(ctx, logSizeSQL).Scan(&size); err != nil {
		return err
	}
	if size > 0 {
		return nil
	}
	now = now.UTC().Truncate(time.Millisecond)
	a, err := server.NewLogAppender(0, nil)
	if err != nil {
		return err
	}
	entries := &copier{ctx: ctx, tx: ptx, table: "log_entries", cols: []string{"idx", "leaf", "rev", "at", "hashes"}}
	add := func(e transparency.Entry) error {
		leaf := e.Marshal()
		n, hs, err := a.Append(e.Hash())
		if err != nil {
			return err
		}
		var rev []byte
		if e.Kind == transparency.KindRevision {
			rev = bytes.Clone(e.Rev[:])
		}
		return entries.add(len(leaf)+len(hs)*tlog.HashSize, n, leaf, rev, now, joinHashes(hs))
	}
	// Collected first: a connection reads one result at a time, and the
	// copies write on it.
	var ids []string
	rows, err := ptx.Query(ctx, `SELECT id FROM statements ORDER BY ord`)
	if err != nil {
		return err
	}
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { ids = append(ids, id); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		if err := add(transparency.Entry{Kind: transparency.KindStatement, Statement: id}); err != nil {
			return err
		}
	}
	var revs []transparency.Entry
	// The entry names the record, its kind and its key epoch (in the
	// body): read from the revision itself.
	rows, err = ptx.Query(ctx, `SELECT r.data FROM revisions r
		LEFT JOIN (SELECT rev, min(seq) AS first FROM changes GROUP BY rev) c ON c.rev = r.rev
		ORDER BY c.first NULLS LAST, r.ord`)
	if err != nil {
		return err
	}
	var data []byte
	if _, err := pgx.ForEachRow(rows, []any{&data}, func() error {
		r, _, err := record.UnmarshalRevision(data)
		if err != nil {
			return fmt.Errorf("damaged revision: %w", err)
		}
		revs = append(revs, transparency.RevisionEntry(r))
		return nil
	}); err != nil {
		return err
	}
	for _, e := range revs {
		if err := add(e); err != nil {
			return err
		}
	}
	return entries.flush()
}

// ensureLogKey makes the log's key when the store has none: a new store,
// or one made before the log (migration 4).
func ensureLogKey(ctx context.Context, ptx pgx.Tx) error {
	var id, skey string
	if err := ptx.QueryRow(ctx, `SELECT server_id, log_skey FROM meta`).Scan(&id, &skey); err != nil {
		return err
	}
	if skey != "" {
		return nil
	}
	skey, vkey, err := transparency.GenerateLogKey(server.LogKeyName(id))
	if err != nil {
		return fmt.Errorf("making the log key: %w", err)
	}
	_, err = ptx.Exec(ctx, `UPDATE meta SET log_skey = $1, log_vkey = $2`, skey, vkey)
	return err
}
