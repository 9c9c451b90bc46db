-- 0001: the first schema of fieldcased's PostgreSQL store.
-- The server stores ciphertext and metadata only: no column holds a name of
-- a person or any case text (revision and blob data are sealed).

-- The server's own state: exactly one row.
CREATE TABLE meta (
	one            boolean     PRIMARY KEY DEFAULT true CHECK (one),
	server_id      text        NOT NULL,
	epoch          text        NOT NULL,
	created        timestamptz NOT NULL,
	recovery       text        NOT NULL DEFAULT '',
	roster_version bigint      NOT NULL DEFAULT 0,
	-- added to transaction ids in change log sequence numbers, so that
	-- numbers keep growing after a restore into a new cluster (doc.go)
	seq_offset     bigint      NOT NULL DEFAULT 0
);

CREATE TABLE teams (
	id      text        PRIMARY KEY,
	name    text        NOT NULL UNIQUE,
	created timestamptz NOT NULL
);

CREATE TABLE users (
	id      text        PRIMARY KEY,
	name    text        NOT NULL UNIQUE,
	role    text        NOT NULL,
	team_id text        NOT NULL,
	created timestamptz NOT NULL
);

-- Only the SHA-256 of a device's token is kept.
CREATE TABLE devices (
	id          text        PRIMARY KEY,
	user_id     text        NOT NULL,
	name        text        NOT NULL,
	recipient   text        NOT NULL,
	signing_key bytea       NOT NULL,
	token_hash  bytea       NOT NULL UNIQUE,
	enrolled    timestamptz NOT NULL,
	last_seen   timestamptz NOT NULL,
	last_sync   timestamptz NOT NULL,
	revoked     timestamptz NOT NULL
);

CREATE TABLE enroll_codes (
	hash    bytea       PRIMARY KEY,
	user_id text        NOT NULL,
	created timestamptz NOT NULL,
	expires timestamptz NOT NULL,
	used_by text        NOT NULL DEFAULT ''
);

CREATE TABLE cases (
	id      text        PRIMARY KEY,
	team_id text        NOT NULL,
	members text[]      NOT NULL,
	created timestamptz NOT NULL
);

CREATE TABLE records (
	id      text PRIMARY KEY,
	case_id text NOT NULL,
	kind    text NOT NULL
);

-- A revision's canonical binary encoding (record.Revision.MarshalBinary),
-- keyed by its id; ord keeps the order stored for CaseRevisions.
CREATE TABLE revisions (
	rev     bytea  PRIMARY KEY,
	case_id text   NOT NULL,
	ord     bigint GENERATED ALWAYS AS IDENTITY,
	data    bytea  NOT NULL
);
CREATE INDEX revisions_case_ord ON revisions (case_id, ord);
-- Sealed bodies do not compress: keep TOAST from trying.
ALTER TABLE revisions ALTER COLUMN data SET STORAGE EXTERNAL;

-- The change log. seq is (top-level transaction id << 20) | n: see doc.go
-- for why that makes sequence order commit order.
CREATE TABLE changes (
	seq     bigint PRIMARY KEY,
	rev     bytea  NOT NULL,
	case_id text   NOT NULL,
	target  text   NOT NULL DEFAULT ''
);

CREATE TABLE acks (
	device_id text   PRIMARY KEY,
	acked     bigint NOT NULL
);

CREATE TABLE ack_pending (
	device_id text   NOT NULL,
	seq       bigint NOT NULL,
	PRIMARY KEY (device_id, seq)
);

-- Sealed audio chunks (at most protocol.MaxBlobSize, 1 MiB, each).
CREATE TABLE blobs (
	case_id text  NOT NULL,
	id      bytea NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (case_id, id)
);
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
