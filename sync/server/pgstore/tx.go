package pgstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// Change log sequence numbers are (xid + seq_offset) << seqShift | n, where
// xid is the appending transaction's top-level id and n counts its appends.
const (
	seqShift = 20
	maxPerTx = 1 << seqShift
	// maxXid keeps sequence numbers within a bigint.
	maxXid = 1<<(63-seqShift) - 1
)

// watermark is the SQL for the first sequence number a transaction may
// still be writing: every transaction of this database with a smaller id has
// ended (as of the snapshot), so no entry below it can appear any more.
//
// It is the oldest transaction the snapshot sees as in progress (or, with
// none, the snapshot's xmax), leaving out those that pg_stat_activity shows
// running in another database: those can never write here, and without
// this a long transaction in any database of the cluster would hold back
// every pull. A transaction of unknown database (ended since the snapshot,
// prepared, or of a role whose sessions this user may not see) still holds
// back: that is never wrong, only later. pg_stat_activity is read once per
// transaction, after the snapshot was taken.
const watermark = `((SELECT least(pg_snapshot_xmax(s)::text::bigint,
		coalesce((SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) x
			WHERE x::text::bigint % 4294967296 NOT IN (SELECT backend_xid::text::bigint FROM pg_stat_activity
				WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())),
			9223372036854775807))
	FROM pg_current_snapshot() s) + (SELECT seq_offset FROM meta)) << 20`

// tx implements server.Tx on one PostgreSQL transaction.
type tx struct {
	ctx   context.Context
	ptx   pgx.Tx
	write bool
	store *Store
	// base is this transaction's (xid + seq_offset) << seqShift once it
	// has appended to the change log, n how many entries it appended.
	base int64
	n    int64

	// Write-behind (enqueue, flush): statements whose outcome is already
	// known (inserts of what this snapshot lacks, the log's new rows),
	// queued and sent in one pipelined batch before any read that could
	// see them, and before commit.
	queue      *pgx.Batch
	absentRevs map[record.RevID]bool   // HasRevision said no
	newRevs    map[record.RevID][]byte // queued inserts: encodings
	absentRecs map[string]bool
	newRecs    map[string]server.RecordInfo
	// Push prefetch (PrefetchPush): revisions and records this snapshot
	// holds, read in one query each.
	knownRevs map[record.RevID]bool
	knownRecs map[string]server.RecordInfo
	acks      map[string]*ackState // devices whose ack row this tx locked
	devices   map[string]bool      // devices read in this tx (they exist)
	touched   bool                 // a TouchDevice is queued
	// Pull prefetch: the last Changes page, and revision data fetched for
	// it a case at a time.
	page     []server.Change
	fetched  map[string]bool
	revCache map[record.RevID][]byte
	cases    map[string]server.Case // read with the page (View only)

	// The transparency log (log.go), once this transaction appends: its
	// right edge and size, the hashes and revision entries it appended,
	// and what is still to be sent.
	logApp    *server.LogAppender
	logHashes map[int64]tlog.Hash
	logRevs   map[record.RevID]server.LogLeaf
	pendLog   pendingLog

	// What this transaction read of the logs' ends, for the fence's
	// high-water marks (timeline.go).
	seenLog int64
	seenSeq uint64
}

// ackState is a device's acknowledgement row and pending numbers, read once
// under the row's lock.
type ackState struct {
	acked   uint64
	pending map[uint64]bool
}

// enqueue adds a statement to the write-behind queue.
func (t *tx) enqueue(sql string, args ...any) {
	if t.queue == nil {
		t.queue = &pgx.Batch{}
	}
	t.queue.Queue(sql, args...)
}

// flush sends the queued statements in one round trip.
func (t *tx) flush() error {
	t.queueLog()
	if t.queue == nil || t.queue.Len() == 0 {
		return nil
	}
	b := t.queue
	t.queue, t.touched = nil, false
	return wrap(t.ptx.SendBatch(t.ctx, b).Close())
}

// zeroTime is how an unset time is stored (columns are NOT NULL).
var zeroTime = time.Time{}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return server.ErrNotFound
	}
	return fmt.Errorf("database: %w", err)
}

func (t *tx) exec(sql string, args ...any) (int64, error) {
	if !t.write {
		return 0, ErrReadOnly
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	tag, err := t.ptx.Exec(t.ctx, sql, args...)
	if err != nil {
		return 0, wrap(err)
	}
	return tag.RowsAffected(), nil
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and reports ErrExists
// when it inserted nothing.
func (t *tx) insert(what string, sql string, args ...any) error {
	n, err := t.exec(sql, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, server.ErrExists)
	}
	return nil
}

// changed runs an UPDATE or DELETE and reports ErrNotFound when it touched
// no row.
func (t *tx) changed(sql string, args ...any) error {
	n, err := t.exec(sql, args...)
	if err == nil && n == 0 {
		err = server.ErrNotFound
	}
	return err
}

func (t *tx) row(sql string, args []any, dest ...any) error {
	return wrap(t.ptx.QueryRow(t.ctx, sql, args...).Scan(dest...))
}

func (t *tx) exists(sql string, args ...any) (bool, error) {
	var ok bool
	err := t.row(sql, args, &ok)
	return ok, err
}

// Meta.

func (t *tx) Meta() (server.Meta, error) {
	var m server.Meta
	var rv int64
	var agency []byte
	err := t.row(`SELECT server_id, epoch, created, recovery, roster_version, agency, log_skey, log_vkey FROM meta`, nil,
		&m.ServerID, &m.Epoch, &m.Created, &m.Recovery, &rv, &agency, &m.LogSKey, &m.LogVKey)
	m.Created, m.RosterVersion = utc(m.Created), uint64(rv)
	if len(agency) == ed25519.PublicKeySize {
		m.Agency = ed25519.PublicKey(agency)
	}
	return m, err
}

func (t *tx) SetRecovery(recipient string) error {
	_, err := t.exec(`UPDATE meta SET recovery = $1`, recipient)
	return err
}

func (t *tx) SetAgency(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("agency key of %d bytes", len(pub))
	}
	_, err := t.exec(`UPDATE meta SET agency = $1`, []byte(pub))
	return err
}

// Statements.

func (t *tx) InsertStatement(s trust.Signed) (bool, error) {
	n, err := t.exec(`INSERT INTO statements (id, body, signer, sig) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		s.ID(), nonNil(s.Body), s.Signer, nonNil(s.Sig))
	return n == 1, err
}

func scanStatement(r pgx.Row) (trust.Signed, error) {
	var s trust.Signed
	err := r.Scan(&s.Body, &s.Signer, &s.Sig)
	return s, wrap(err)
}

func (t *tx) Statements() ([]trust.Signed, error) {
	return list(t, `SELECT body, signer, sig FROM statements ORDER BY ord`, nil, scanStatement)
}

func (t *tx) BumpRosterVersion() (uint64, error) {
	if !t.write {
		return 0, ErrReadOnly
	}
	var v int64
	err := t.row(`UPDATE meta SET roster_version = roster_version + 1 RETURNING roster_version`, nil, &v)
	return uint64(v), err
}

// Directory.

func (t *tx) InsertTeam(team server.Team) error {
	return t.insert(fmt.Sprintf("team %q", team.Name),
		`INSERT INTO teams (id, name, created, policy, policy_version) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		team.ID, team.Name, utc(team.Created), team.Policy, team.PolicyVersion)
}

const teamColumns = `id, name, created, policy, policy_version`

func scanTeam(r pgx.Row) (server.Team, error) {
	var tm server.Team
	err := r.Scan(&tm.ID, &tm.Name, &tm.Created, &tm.Policy, &tm.PolicyVersion)
	tm.Created = utc(tm.Created)
	if len(tm.Policy) == 0 {
		tm.Policy = nil
	}
	return tm, wrap(err)
}

func (t *tx) Team(id string) (server.Team, error) {
	if err := t.flush(); err != nil {
		return server.Team{}, err
	}
	return scanTeam(t.ptx.QueryRow(t.ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`, id))
}

func (t *tx) TeamByName(name string) (server.Team, error) {
	if err := t.flush(); err != nil {
		return server.Team{}, err
	}
	return scanTeam(t.ptx.QueryRow(t.ctx, `SELECT `+teamColumns+` FROM teams WHERE name = $1`, name))
}

func (t *tx) Teams() ([]server.Team, error) {
	return list(t, `SELECT `+teamColumns+` FROM teams ORDER BY id`, nil, scanTeam)
}

func (t *tx) SetTeamPolicy(teamID string, policy []byte, version int) error {
	n, err := t.exec(`UPDATE teams SET policy = $2, policy_version = $3 WHERE id = $1`, teamID, policy, version)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("team %q: %w", teamID, server.ErrNotFound)
	}
	return nil
}

// list collects the rows of a query.
func list[T any](t *tx, sql string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.ptx.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, wrap(rows.Err())
}

func (t *tx) InsertUser(u server.User) error {
	return t.insert(fmt.Sprintf("user %q", u.Name),
		`INSERT INTO users (id, name, role, team_id, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		u.ID, u.Name, u.Role, u.TeamID, utc(u.Created))
}

const userCols = `id, name, role, team_id, created`

func scanUser(r pgx.Row) (server.User, error) {
	var u server.User
	err := r.Scan(&u.ID, &u.Name, &u.Role, &u.TeamID, &u.Created)
	u.Created = utc(u.Created)
	return u, wrap(err)
}

func (t *tx) ReplaceUser(u server.User) error {
	if !t.write {
		return ErrReadOnly
	}
	taken, err := t.exists(`SELECT EXISTS (SELECT 1 FROM users WHERE name = $1 AND id <> $2)`, u.Name, u.ID)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("user %q: %w", u.Name, server.ErrExists)
	}
	return t.changed(`UPDATE users SET name = $2, role = $3, team_id = $4, created = $5 WHERE id = $1`,
		u.ID, u.Name, u.Role, u.TeamID, utc(u.Created))
}

func (t *tx) User(id string) (server.User, error) {
	return scanUser(t.ptx.QueryRow(t.ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

func (t *tx) UserByName(name string) (server.User, error) {
	return scanUser(t.ptx.QueryRow(t.ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
}

func (t *tx) Users() ([]server.User, error) {
	return list(t, `SELECT `+userCols+` FROM users ORDER BY id`, nil, scanUser)
}

const deviceCols = `id, user_id, name, recipient, signing_key, token_hash, enrolled, last_seen, last_sync, revoked, grant_id`

func scanDevice(r pgx.Row) (server.Device, error) {
	var d server.Device
	var hash []byte
	err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.Recipient, &d.SigningKey, &hash, &d.Enrolled, &d.LastSeen, &d.LastSync, &d.Revoked, &d.Grant)
	if err != nil {
		return d, wrap(err)
	}
	if len(hash) != 32 {
		return d, fmt.Errorf("device %q: damaged token hash", d.ID)
	}
	copy(d.TokenHash[:], hash)
	d.Enrolled, d.LastSeen, d.LastSync, d.Revoked = utc(d.Enrolled), utc(d.LastSeen), utc(d.LastSync), utc(d.Revoked)
	return d, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (t *tx) InsertDevice(d server.Device) error {
	return t.insert(fmt.Sprintf("device %q", d.ID),
		`INSERT INTO devices (`+deviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		d.ID, d.UserID, d.Name, d.Recipient, nonNil(d.SigningKey), d.TokenHash[:],
		utc(d.Enrolled), utc(d.LastSeen), utc(d.LastSync), utc(d.Revoked), d.Grant)
}

func (t *tx) ReplaceDevice(d server.Device) error {
	if !t.write {
		return ErrReadOnly
	}
	if _, err := t.Device(d.ID); err != nil {
		return err
	}
	taken, err := t.exists(`SELECT EXISTS (SELECT 1 FROM devices WHERE token_hash = $1 AND id <> $2)`, d.TokenHash[:], d.ID)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("token: %w", server.ErrExists)
	}
	return t.changed(`UPDATE devices SET user_id = $2, name = $3, recipient = $4, signing_key = $5, token_hash = $6,
		enrolled = $7, last_seen = $8, last_sync = $9, revoked = $10, grant_id = $11 WHERE id = $1`,
		d.ID, d.UserID, d.Name, d.Recipient, nonNil(d.SigningKey), d.TokenHash[:],
		utc(d.Enrolled), utc(d.LastSeen), utc(d.LastSync), utc(d.Revoked), d.Grant)
}

func (t *tx) Device(id string) (server.Device, error) {
	return t.device(`SELECT `+deviceCols+` FROM devices WHERE id = $1`, id)
}

func (t *tx) DeviceByToken(hash [32]byte) (server.Device, error) {
	return t.device(`SELECT `+deviceCols+` FROM devices WHERE token_hash = $1`, hash[:])
}

func (t *tx) device(sql string, arg any) (server.Device, error) {
	if t.touched {
		if err := t.flush(); err != nil {
			return server.Device{}, err
		}
	}
	d, err := scanDevice(t.ptx.QueryRow(t.ctx, sql, arg))
	if err == nil && t.write {
		if t.devices == nil {
			t.devices = map[string]bool{}
		}
		t.devices[d.ID] = true
	}
	return d, err
}

func (t *tx) Devices() ([]server.Device, error) {
	return list(t, `SELECT `+deviceCols+` FROM devices ORDER BY id`, nil, scanDevice)
}

func (t *tx) RevokeDevice(id string, at time.Time) error {
	if _, err := t.Device(id); err != nil {
		return err
	}
	return t.changed(`UPDATE devices SET revoked = CASE WHEN revoked = $3 THEN $2 ELSE revoked END WHERE id = $1`,
		id, at.UTC(), zeroTime)
}

func (t *tx) ReplaceDeviceToken(id string, hash [32]byte) error {
	if !t.write {
		return ErrReadOnly
	}
	if _, err := t.Device(id); err != nil {
		return err
	}
	taken, err := t.exists(`SELECT EXISTS (SELECT 1 FROM devices WHERE token_hash = $1)`, hash[:])
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("token: %w", server.ErrExists)
	}
	return t.changed(`UPDATE devices SET token_hash = $2 WHERE id = $1`, id, hash[:])
}

func (t *tx) TouchDevice(id string, seen, synced time.Time) error {
	if t.write && t.devices[id] {
		t.enqueue(`UPDATE devices SET last_seen = greatest(last_seen, $2), last_sync = greatest(last_sync, $3) WHERE id = $1`,
			id, utc(seen), utc(synced))
		t.touched = true
		return nil
	}
	return t.changed(`UPDATE devices SET last_seen = greatest(last_seen, $2), last_sync = greatest(last_sync, $3) WHERE id = $1`,
		id, utc(seen), utc(synced))
}

// Cases, records and revisions.

const caseCols = `id, team_id, members, created, transcription, key_epoch`

func scanCase(r pgx.Row) (server.Case, error) {
	var c server.Case
	var epoch int64
	err := r.Scan(&c.ID, &c.TeamID, &c.Members, &c.Created, &c.Transcription, &epoch)
	if len(c.Members) == 0 {
		c.Members = nil
	}
	c.Created, c.KeyEpoch = utc(c.Created), uint32(epoch)
	return c, wrap(err)
}

func (t *tx) Case(id string) (server.Case, error) {
	if c, ok := t.cases[id]; ok {
		return c, nil
	}
	return scanCase(t.ptx.QueryRow(t.ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1`, id))
}

func (t *tx) TeamCases(teamID string) ([]server.Case, error) {
	if teamID == "" {
		return list(t, `SELECT `+caseCols+` FROM cases ORDER BY id`, nil, scanCase)
	}
	return list(t, `SELECT `+caseCols+` FROM cases WHERE team_id = $1 ORDER BY id`, []any{teamID}, scanCase)
}

func (t *tx) PutCase(c server.Case) error {
	members := c.Members
	if members == nil {
		members = []string{}
	}
	_, err := t.exec(`INSERT INTO cases (`+caseCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, members = excluded.members, created = excluded.created,
		transcription = excluded.transcription, key_epoch = excluded.key_epoch`,
		c.ID, c.TeamID, members, utc(c.Created), c.Transcription, int64(c.KeyEpoch))
	return err
}

func (t *tx) Record(id string) (server.RecordInfo, error) {
	if r, ok := t.newRecs[id]; ok {
		return r, nil
	}
	if r, ok := t.knownRecs[id]; ok {
		return r, nil
	}
	if t.absentRecs[id] {
		return server.RecordInfo{ID: id}, server.ErrNotFound
	}
	r := server.RecordInfo{ID: id}
	var kind string
	err := t.row(`SELECT case_id, kind FROM records WHERE id = $1`, []any{id}, &r.CaseID, &kind)
	r.Kind = record.Kind(kind)
	if errors.Is(err, server.ErrNotFound) && t.write {
		if t.absentRecs == nil {
			t.absentRecs = map[string]bool{}
		}
		t.absentRecs[id] = true
	}
	return r, err
}

func (t *tx) InsertRecord(r server.RecordInfo) error {
	if !t.write {
		return ErrReadOnly
	}
	if _, ok := t.newRecs[r.ID]; ok {
		return fmt.Errorf("record %q: %w", r.ID, server.ErrExists)
	}
	if t.absentRecs[r.ID] {
		// Absent from this snapshot: the insert can only meet a
		// concurrent one, which fails the transaction (and Update
		// retries it) whenever the statement runs.
		t.enqueue(`INSERT INTO records (id, case_id, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, r.ID, r.CaseID, string(r.Kind))
		if t.newRecs == nil {
			t.newRecs = map[string]server.RecordInfo{}
		}
		t.newRecs[r.ID] = r
		return nil
	}
	return t.insert(fmt.Sprintf("record %q", r.ID),
		`INSERT INTO records (id, case_id, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, r.ID, r.CaseID, string(r.Kind))
}

func (t *tx) HasRevision(rev record.RevID) (bool, error) {
	if _, ok := t.newRevs[rev]; ok {
		return true, nil
	}
	if t.knownRevs[rev] {
		return true, nil
	}
	if t.absentRevs[rev] {
		return false, nil
	}
	has, err := t.exists(`SELECT EXISTS (SELECT 1 FROM revisions WHERE rev = $1)`, rev[:])
	if err == nil && !has && t.write {
		if t.absentRevs == nil {
			t.absentRevs = map[record.RevID]bool{}
		}
		t.absentRevs[rev] = true
	}
	return has, err
}

func (t *tx) Revision(rev record.RevID) (*record.Revision, error) {
	data, ok := t.newRevs[rev]
	if !ok {
		if err := t.prefetch(rev); err != nil {
			return nil, err
		}
		if data, ok = t.revCache[rev]; ok {
			delete(t.revCache, rev)
		}
	}
	if !ok {
		if err := t.row(`SELECT data FROM revisions WHERE rev = $1`, []any{rev[:]}, &data); err != nil {
			return nil, err
		}
	}
	r, rest, err := record.UnmarshalRevision(data)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("revision %s: damaged: %v", rev.Short(), err)
	}
	r.Body = bytes.Clone(r.Body)
	return r, nil
}

// PrefetchPush reads which of revs and records this transaction's snapshot
// holds, in one query each; HasRevision and Record answer from that after.
// What is absent is noted as absent, as HasRevision and Record note it, so
// the inserts that follow are queued rather than sent one by one.
func (t *tx) PrefetchPush(revs []record.RevID, records []string) error {
	if !t.write {
		return ErrReadOnly
	}
	if err := t.flush(); err != nil {
		return err
	}
	if t.knownRevs == nil {
		t.knownRevs, t.knownRecs = map[record.RevID]bool{}, map[string]server.RecordInfo{}
	}
	if t.absentRevs == nil {
		t.absentRevs = map[record.RevID]bool{}
	}
	if t.absentRecs == nil {
		t.absentRecs = map[string]bool{}
	}
	if len(revs) > 0 {
		ids := make([][]byte, len(revs))
		for i := range revs {
			ids[i] = revs[i][:]
		}
		rows, err := t.ptx.Query(t.ctx, `SELECT rev FROM revisions WHERE rev = ANY($1)`, ids)
		if err != nil {
			return wrap(err)
		}
		var id []byte
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			var r record.RevID
			copy(r[:], id)
			t.knownRevs[r] = true
			return nil
		}); err != nil {
			return wrap(err)
		}
		for _, r := range revs {
			if !t.knownRevs[r] {
				t.absentRevs[r] = true
			}
		}
	}
	if len(records) > 0 {
		rows, err := t.ptx.Query(t.ctx, `SELECT id, case_id, kind FROM records WHERE id = ANY($1)`, records)
		if err != nil {
			return wrap(err)
		}
		var id, caseID, kind string
		if _, err := pgx.ForEachRow(rows, []any{&id, &caseID, &kind}, func() error {
			t.knownRecs[id] = server.RecordInfo{ID: id, CaseID: caseID, Kind: record.Kind(kind)}
			return nil
		}); err != nil {
			return wrap(err)
		}
		for _, id := range records {
			if _, ok := t.knownRecs[id]; !ok {
				t.absentRecs[id] = true
			}
		}
	}
	return nil
}

// prefetch: when rev is in the last Changes page, fetch the data of every
// revision of that page in rev's case in one query. A pull reads the
// revisions of each case it may see, so one query a case replaces one a
// revision.
func (t *tx) prefetch(rev record.RevID) error {
	caseID := ""
	for _, ch := range t.page {
		if ch.Rev == rev {
			caseID = ch.CaseID
			break
		}
	}
	if caseID == "" || t.fetched[caseID] {
		return nil
	}
	if t.fetched == nil {
		t.fetched, t.revCache = map[string]bool{}, map[record.RevID][]byte{}
	}
	t.fetched[caseID] = true
	var ids [][]byte
	for _, ch := range t.page {
		if ch.CaseID == caseID {
			ids = append(ids, ch.Rev[:])
		}
	}
	rows, err := t.ptx.Query(t.ctx, `SELECT rev, data FROM revisions WHERE rev = ANY($1)`, ids)
	if err != nil {
		return wrap(err)
	}
	var id, data []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &data}, func() error {
		var r record.RevID
		copy(r[:], id)
		t.revCache[r] = data
		return nil
	})
	return wrap(err)
}

func (t *tx) InsertRevision(r *record.Revision) error {
	if !t.write {
		return ErrReadOnly
	}
	if _, ok := t.newRevs[r.Rev]; ok {
		return fmt.Errorf("revision %s: %w", r.Rev.Short(), server.ErrExists)
	}
	enc, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	const insert = `INSERT INTO revisions (rev, case_id, data, device, seq) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	if t.absentRevs[r.Rev] {
		t.enqueue(insert, r.Rev[:], r.CaseID, enc, r.Device, int64(r.Seq))
		if t.newRevs == nil {
			t.newRevs = map[record.RevID][]byte{}
		}
		t.newRevs[r.Rev] = enc
	} else if err := t.insert("revision "+r.Rev.Short(), insert, r.Rev[:], r.CaseID, enc, r.Device, int64(r.Seq)); err != nil {
		return err
	}
	if e, ok := server.KeyringEpoch(r); ok {
		t.enqueue(`DELETE FROM rotations WHERE case_id = $1 AND epoch < $2`, r.CaseID, int64(e))
	}
	return nil
}

func (t *tx) DeviceRevisions(deviceID string, afterSeq uint64, limit int) ([]*record.Revision, error) {
	if afterSeq >= math.MaxInt64 || limit <= 0 {
		return nil, nil
	}
	return list(t, `SELECT data FROM revisions WHERE device = $1 AND seq > $2 ORDER BY seq, rev LIMIT $3`,
		[]any{deviceID, int64(afterSeq), limit}, func(r pgx.Row) (*record.Revision, error) {
			var data []byte
			if err := r.Scan(&data); err != nil {
				return nil, wrap(err)
			}
			rev, rest, err := record.UnmarshalRevision(data)
			if err != nil || len(rest) != 0 {
				return nil, fmt.Errorf("revision of %s: damaged: %v", deviceID, err)
			}
			rev.Body = bytes.Clone(rev.Body)
			return rev, nil
		})
}

func (t *tx) CaseRevisions(caseID string) ([]record.RevID, error) {
	return list(t, `SELECT rev FROM revisions WHERE case_id = $1 ORDER BY ord`, []any{caseID}, scanRevID)
}

func scanRevID(r pgx.Row) (record.RevID, error) {
	var id record.RevID
	var b []byte
	if err := r.Scan(&b); err != nil {
		return id, wrap(err)
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("damaged revision id %x", b)
	}
	copy(id[:], b)
	return id, nil
}

// The change log.

// AppendChange numbers c (xid + offset) << 20 | n: see doc.go.
func (t *tx) AppendChange(c server.Change) (uint64, error) {
	if !t.write {
		return 0, ErrReadOnly
	}
	if t.base == 0 {
		var xid int64
		if err := t.row(`SELECT pg_current_xact_id()::text::bigint + seq_offset FROM meta`, nil, &xid); err != nil {
			return 0, err
		}
		if xid <= 0 || xid > maxXid {
			return 0, fmt.Errorf("database: transaction id %d out of the change log's range", xid)
		}
		t.base = xid << seqShift
	}
	if t.n >= maxPerTx {
		return 0, fmt.Errorf("%w (at most %d)", ErrTooManyChanges, maxPerTx)
	}
	seq := t.base | t.n
	t.enqueue(`INSERT INTO changes (seq, rev, case_id, target) VALUES ($1, $2, $3, $4)`, seq, c.Rev[:], c.CaseID, c.Target)
	t.n++
	return uint64(seq), nil
}

func scanChange(r pgx.Row) (server.Change, error) {
	var c server.Change
	var seq int64
	var rev []byte
	if err := r.Scan(&seq, &rev, &c.CaseID, &c.Target); err != nil {
		return c, wrap(err)
	}
	if len(rev) != len(c.Rev) {
		return c, fmt.Errorf("change %d: damaged revision id", seq)
	}
	c.Seq = uint64(seq)
	copy(c.Rev[:], rev)
	return c, nil
}

// Changes lists entries below the watermark (and this transaction's own).
func (t *tx) Changes(after uint64, limit int) ([]server.Change, error) {
	if after >= math.MaxInt64 || limit <= 0 {
		return nil, nil
	}
	var page []server.Change
	var err error
	switch {
	case !t.write:
		page, err = t.viewChanges(after, limit)
	case t.base == 0:
		page, err = list(t, `SELECT seq, rev, case_id, target FROM changes
			WHERE seq > $1 AND seq < `+watermark+` ORDER BY seq LIMIT $2`, []any{int64(after), limit}, scanChange)
	default:
		page, err = t.ownChanges(after, limit)
	}
	t.page, t.fetched, t.revCache = page, nil, nil
	return page, err
}

// viewChanges reads a page and, in the same round trip and snapshot, the
// cases it names: a pull looks each of them up next.
func (t *tx) viewChanges(after uint64, limit int) ([]server.Change, error) {
	const page = `SELECT seq, rev, case_id, target FROM changes WHERE seq > $1 AND seq < ` + watermark + ` ORDER BY seq LIMIT $2`
	b := &pgx.Batch{}
	b.Queue(page, int64(after), limit)
	b.Queue(`SELECT `+caseCols+` FROM cases WHERE id IN (SELECT case_id FROM (`+page+`) p)`, int64(after), limit)
	br := t.ptx.SendBatch(t.ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, wrap(err)
	}
	var out []server.Change
	for rows.Next() {
		ch, err := scanChange(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, wrap(err)
	}
	if t.cases == nil {
		t.cases = map[string]server.Case{}
	}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		t.cases[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, wrap(br.Close())
}

func (t *tx) ownChanges(after uint64, limit int) ([]server.Change, error) {
	return list(t, `SELECT seq, rev, case_id, target FROM changes
		WHERE seq > $1 AND (seq < `+watermark+` OR seq BETWEEN $3 AND $4) ORDER BY seq LIMIT $2`,
		[]any{int64(after), limit, t.base, t.base | (maxPerTx - 1)}, scanChange)
}

func (t *tx) LastChangeSeq() (uint64, error) {
	if t.n > 0 {
		return uint64(t.base | (t.n - 1)), nil
	}
	var seq int64
	err := t.row(`SELECT coalesce((SELECT seq FROM changes WHERE seq < `+watermark+` ORDER BY seq DESC LIMIT 1), 0)`, nil, &seq)
	t.seenSeq = max(t.seenSeq, uint64(seq))
	return uint64(seq), err
}

// AckedSeq in a write transaction locks the device's row (creating it), so
// that two pushes of one device run one after the other: in REPEATABLE
// READ the second fails to serialise and Update runs it again, seeing the
// first's acknowledgements. Without the lock, one push could add a pending
// number while the other advanced past it without seeing it. Under the lock
// the device's pending numbers are read too, so the rest of the push
// decides them without asking again (and queues its changes).
func (t *tx) AckedSeq(deviceID string) (uint64, error) {
	if a, ok := t.acks[deviceID]; ok {
		return a.acked, nil
	}
	var v int64
	if !t.write {
		err := t.row(`SELECT coalesce((SELECT acked FROM acks WHERE device_id = $1), 0)`, []any{deviceID}, &v)
		return uint64(v), err
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	var pending []int64
	err := t.row(`WITH a AS (INSERT INTO acks (device_id, acked) VALUES ($1, 0)
			ON CONFLICT (device_id) DO UPDATE SET acked = acks.acked RETURNING acked)
		SELECT (SELECT acked FROM a), array(SELECT seq FROM ack_pending WHERE device_id = $1)`, []any{deviceID}, &v, &pending)
	if err != nil {
		return 0, err
	}
	a := &ackState{acked: uint64(v), pending: map[uint64]bool{}}
	for _, p := range pending {
		a.pending[uint64(p)] = true
	}
	if t.acks == nil {
		t.acks = map[string]*ackState{}
	}
	t.acks[deviceID] = a
	return a.acked, nil
}

func (t *tx) SetAckedSeq(deviceID string, seq uint64) error {
	if !t.write {
		return ErrReadOnly
	}
	const upsert = `INSERT INTO acks (device_id, acked) VALUES ($1, $2) ON CONFLICT (device_id) DO UPDATE SET acked = excluded.acked`
	if a, ok := t.acks[deviceID]; ok {
		a.acked = seq
		t.enqueue(upsert, deviceID, int64(seq))
		return nil
	}
	_, err := t.exec(upsert, deviceID, int64(seq))
	return err
}

func (t *tx) AddPendingSeq(deviceID string, seq uint64) error {
	if !t.write {
		return ErrReadOnly
	}
	const insert = `INSERT INTO ack_pending (device_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	if a, ok := t.acks[deviceID]; ok {
		if !a.pending[seq] {
			a.pending[seq] = true
			t.enqueue(insert, deviceID, int64(seq))
		}
		return nil
	}
	_, err := t.exec(insert, deviceID, int64(seq))
	return err
}

func (t *tx) TakePendingSeq(deviceID string, seq uint64) (bool, error) {
	if !t.write {
		return false, ErrReadOnly
	}
	const del = `DELETE FROM ack_pending WHERE device_id = $1 AND seq = $2`
	if a, ok := t.acks[deviceID]; ok {
		if !a.pending[seq] {
			return false, nil
		}
		delete(a.pending, seq)
		t.enqueue(del, deviceID, int64(seq))
		return true, nil
	}
	n, err := t.exec(del, deviceID, int64(seq))
	return n > 0, err
}

func (t *tx) DeviceMaxSeq(deviceID string) (uint64, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	var n int64
	err := t.row(`SELECT greatest(
		coalesce((SELECT acked FROM acks WHERE device_id = $1), 0),
		coalesce((SELECT max(seq) FROM ack_pending WHERE device_id = $1), 0),
		coalesce((SELECT max(seq) FROM revisions WHERE device = $1), 0))`, []any{deviceID}, &n)
	if a, ok := t.acks[deviceID]; ok {
		n = max(n, int64(a.acked))
		for p := range a.pending {
			n = max(n, int64(p))
		}
	}
	return uint64(n), err
}

// Rotations.

func (t *tx) SetRotationOwed(caseID string, epoch uint32) error {
	_, err := t.exec(`INSERT INTO rotations (case_id, epoch) VALUES ($1, $2)
		ON CONFLICT (case_id) DO UPDATE SET epoch = greatest(rotations.epoch, excluded.epoch)`, caseID, int64(epoch))
	return err
}

func (t *tx) RotationsOwed() ([]server.Rotation, error) {
	return list(t, `SELECT case_id, epoch FROM rotations ORDER BY case_id`, nil, func(r pgx.Row) (server.Rotation, error) {
		var o server.Rotation
		var e int64
		err := r.Scan(&o.CaseID, &e)
		o.Epoch = uint32(e)
		return o, wrap(err)
	})
}

// Blobs.

func (t *tx) HasBlob(caseID string, id record.RevID) (bool, error) {
	return t.exists(`SELECT EXISTS (SELECT 1 FROM blobs WHERE case_id = $1 AND id = $2)`, caseID, id[:])
}

func (t *tx) Blob(caseID string, id record.RevID) ([]byte, error) {
	var data []byte
	err := t.row(`SELECT data FROM blobs WHERE case_id = $1 AND id = $2`, []any{caseID, id[:]}, &data)
	if err != nil {
		return nil, err
	}
	return nonNil(data), nil
}

func (t *tx) InsertBlob(caseID string, id record.RevID, data []byte) error {
	return t.insert("blob "+id.Short(),
		`INSERT INTO blobs (case_id, id, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, caseID, id[:], nonNil(data))
}
