-- 0004 (issue 12): the transparency log, an append-only Merkle tree of
-- every revision and statement stored and every audit head a device
-- reports (package transparency). Its leaves are numbered 0, 1, 2, …
-- without gaps in commit order: appends take the meta row's lock (doc.go).
-- The migration's Go step (schema.go) makes the log's key and logs what the
-- store already holds.

ALTER TABLE meta ADD COLUMN log_size bigint NOT NULL DEFAULT 0;
-- The log's signing key and its public half (sumdb/note formats).
ALTER TABLE meta ADD COLUMN log_skey text NOT NULL DEFAULT '';
ALTER TABLE meta ADD COLUMN log_vkey text NOT NULL DEFAULT '';

-- A leaf: its index, data (transparency.Entry's encoding) and time; rev is
-- the revision a revision entry logs (one entry each).
CREATE TABLE log_entries (
	idx  bigint      PRIMARY KEY,
	leaf bytea       NOT NULL,
	rev  bytea       UNIQUE,
	at   timestamptz NOT NULL
);

-- tlog's stored hashes, by their stored hash index.
CREATE TABLE log_hashes (
	idx  bigint PRIMARY KEY,
	hash bytea  NOT NULL
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
