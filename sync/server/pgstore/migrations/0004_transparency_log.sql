-- 0004 (issue 12): the transparency log, an append-only Merkle tree of
-- every revision and statement stored and every audit head a device
-- reports (package transparency). Its leaves are numbered 0, 1, 2, …
-- without gaps in commit order: appends are serialised by an advisory lock
-- (log.go). The migration's Go step (schema.go) makes the log's key and logs
-- what the store already holds.

-- The log's signing key and its public half (sumdb/note formats).
ALTER TABLE meta ADD COLUMN log_skey text NOT NULL DEFAULT '';
ALTER TABLE meta ADD COLUMN log_vkey text NOT NULL DEFAULT '';

-- A leaf: its index, data (transparency.Entry's encoding) and time; rev is
-- the revision a revision entry logs (one entry each). hashes are tlog's
-- stored hashes written with the leaf (tlog.StoredHashes: the leaf's hash
-- and those of the subtrees it completes, 32 bytes each, from stored hash
-- index tlog.StoredHashIndex(0, idx) on): one row per entry, not three.
CREATE TABLE log_entries (
	idx    bigint      PRIMARY KEY,
	leaf   bytea       NOT NULL,
	rev    bytea       UNIQUE,
	at     timestamptz NOT NULL,
	hashes bytea       NOT NULL
);

-- Witnesses' cosignatures of the checkpoint of a tree size.
CREATE TABLE log_cosignatures (
	size  bigint      NOT NULL,
	name  text        NOT NULL,
	sig   text        NOT NULL,
	added timestamptz NOT NULL,
	PRIMARY KEY (size, name)
);
CREATE INDEX log_cosignatures_name ON log_cosignatures (name, size);
