// Package pgstore is the PostgreSQL backend of the case server's storage
// (server.Store), through pgx. With it fieldcased keeps no state of its own
// but TLS files and its admin socket, and several instances can serve the
// same devices behind a load balancer.
//
//	st, err := pgstore.Open(ctx, "postgres://fieldcased@db/fieldcase", pgstore.Options{MaxConns: 20})
//
// # Schema and migrations
//
// The schema is versioned SQL embedded in the binary (migrations/NNNN_*.sql)
// and a schema_version table. Open applies the missing versions in order, in
// one transaction, under an advisory lock (so instances starting together
// migrate once), and refuses a database whose schema is newer than it knows
// (ErrSchemaNewer): an old binary never writes to a newer layout.
//
// # Transactions
//
// Update runs in REPEATABLE READ: the transaction sees one snapshot, and a
// write that meets a concurrent transaction's write fails to serialise
// (SQLSTATE 40001) instead of overwriting it. Update then rolls back and
// runs fn again (the Store contract allows it), up to 20 times with jittered
// backoff, and from the second attempt on first takes an EXCLUSIVE lock on
// the meta table, before its snapshot: transactions that conflicted once
// then run one at a time rather than failing each other again (a hot row
// such as the roster version, bumped by every enrolment, costs waiting, not
// a retry storm). Unique violations and deadlocks are retried the same way, so two
// devices pushing the same revision to two instances at once end with one
// "stored" and one "present". Inserts are INSERT … ON CONFLICT DO NOTHING, so
// a key that exists is server.ErrExists without aborting the transaction.
// A device's acknowledgement row is locked by AckedSeq in a write
// transaction, so that two pushes of one device are serialised (without it,
// one push could park a pending number while the other advanced past it).
// View runs in REPEATABLE READ READ ONLY: one snapshot for a whole pull.
//
// # Commit order and sequence numbers
//
// A pull cursor is a change log sequence number, and the Store contract
// says no entry may ever appear below one a reader has seen. A PostgreSQL
// sequence alone breaks that: transaction A takes 10, B takes 11, B commits,
// a puller reads 11 and moves its cursor past 10, A commits — and 10 is
// never pulled. Serialising appends (a counter row or an advisory lock held
// to commit) fixes it but makes every push wait for the previous one's
// commit.
//
// Instead a change's number is derived from its transaction:
//
//	seq = (xid + seq_offset) << 20 | n
//
// where xid is the appending transaction's top-level id
// (pg_current_xact_id()), n counts that transaction's appends (at most
// 2^20), and seq_offset lives in meta (see below). Readers return only
// entries below the watermark
//
//	(oldest transaction in progress in the reader's snapshot + seq_offset) << 20
//
// (the least of pg_snapshot_xip(pg_current_snapshot()), or its xmax when
// none runs). Every transaction below it has committed or aborted as far as
// the reader's snapshot goes, so the set of entries below the watermark is
// final, and the watermark only rises. A cursor can therefore never pass an
// entry that later appears. Transactions that pg_stat_activity shows running
// in another database are left out (they cannot write here); one whose
// database is unknown (ended since the snapshot, prepared, or of a role this
// user may not see: grant pg_read_all_stats) still counts, which delays but
// never skips. Writers never wait for each other; the cost moves to
// visibility: an entry is pulled once every transaction that started writing
// before its own has ended. A push takes milliseconds, so pulls lag by about
// that; a long-running writing transaction in this database (an
// idle-in-transaction session, a prepared transaction left behind) holds back
// every pull until it ends. Set idle_in_transaction_session_timeout, and keep
// max_prepared_transactions at 0. LastChangeSeq uses the same watermark, so
// has_more never promises entries a pull cannot yet return.
//
// Transaction ids are only comparable within one cluster. A database
// restored into another cluster (pg_restore, logical replication) brings
// numbers from the old one; Open compares the log's highest number with the
// current transaction id and, when the log is ahead, raises seq_offset so
// that new numbers continue above it. ImportBolt keeps the bbolt log's
// numbers (1, 2, 3, …) and raises the offset the same way if it must.
//
// # The transparency log
//
// The log's leaves (log_entries) must be numbered 0, 1, 2, … in commit
// order with no gaps, which the change log's scheme above does not give.
// So appends are serialised: a transaction's first append takes an advisory
// lock held until it ends, and reads the log's size (the largest index plus
// one) and right edge on a connection of its own, outside its snapshot,
// which may predate the last append. Nothing of the log is updated in
// place, so appenders never fail to serialise against each other; they
// wait for the lock from their first append to their commit, and the
// server appends at the end of a push. A reader's snapshot always holds a
// whole tree. Within a transaction the tree's right edge is read once and
// the new leaves go in one statement at commit, each row with the stored
// hashes it wrote (log_entries.hashes: one row per entry, where a table of
// hashes would take three); a revision entry's row names its revision
// (log_entries.rev), so a revision's index is one indexed lookup.
// Witnesses' cosignatures are kept in log_cosignatures. Measured on a
// loaded 2-core machine with fsync off (BenchmarkPushLogConcurrent, 8
// devices pushing 10 revisions at a time): the appends leave about 0.7 of
// the push throughput. With fsync on, the commit, inside the lock, weighs
// more.
//
// # Failover
//
// A promoted standby starts a new PostgreSQL timeline, and when it lagged
// (asynchronous replication) it has lost the old primary's last
// transactions and reuses their ids, so change numbers would be handed out
// twice. Every connection reads its server's timeline
// (pg_walfile_name(pg_current_wal_lsn()): pg_control_checkpoint lags until
// the first checkpoint), and a watcher reads every host's each second. A
// connection to an older timeline than one seen is never used, before,
// at the end of, or after a transaction (fencing). The first write on a
// new timeline records where it began (table timelines), in a transaction
// of its own, and moves seq_offset up by 2^30; an instance that handed out
// more on the old timeline (log size, change number) than the new one
// began with gives the store a new epoch, so devices repair as after a
// restore. timeline.go has the details.
//
// # Blobs
//
// Sealed audio chunks (at most 1 MiB each, protocol.MaxBlobSize) are bytea
// rows keyed by (case id, SHA-256), TOASTed out of line and stored
// uncompressed (they are ciphertext). bytea holds up to 1 GiB, far above
// the protocol's limits; a blob upload request carries at most 8 MiB.
//
// # Moving stores
//
// ImportBolt copies a bbolt store (or a bbolt backup) into an empty
// database in one transaction and verifies the copy (counts, every
// revision's bytes, every blob's hash, every change log entry, every log
// leaf and stored hash, the log's key); Backup writes a snapshot of the
// database as a bbolt backup file, restorable into either backend. Both
// read and write the file through boltstore's FileReader and FileWriter, so
// its layout is written down once, in boltstore. The
// transparency log, its key and its cosignatures travel as they are. Both give the copy a fresh epoch, so devices re-pull and
// push back anything the copy lacks (410 Gone). NewEpoch does the same for a
// database restored by PostgreSQL's own tools.
//
// # Connections
//
// A database host that fails, freezes or is demoted must cost requests
// seconds (docs/OPERATIONS.md, "Connections, timeouts and failover"). Each
// connection has TCP keepalive and TCP_USER_TIMEOUT (conn.go, read from
// libpq's URL parameters too) and a connect timeout per host; each Update
// and View has a deadline (Options.TxTimeout), which pgx enforces by
// closing the connection, never by a cancel request (a cancelled commit
// waiting for a synchronous standby would become visible unreplicated). A
// transaction that failed because its connection is lost resets both
// pools (dropStale): the other pooled connections lead to the same host.
// Open refuses a pooler that loses prepared statements between
// transactions while pgx caches them (checkStatements).
package pgstore
