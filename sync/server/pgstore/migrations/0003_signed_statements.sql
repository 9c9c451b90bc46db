-- 0003 (issue 11): the server cannot read, forge, reorder or hide case
-- records. It keeps the agency's public key and the signed statements that
-- make devices key holders (it serves them all; devices check them), no
-- longer hashed enrolment codes; indexes each device's revisions by
-- sequence number (a vault restored from a backup takes its own back); and
-- remembers which cases owe a key rotation after a signed revocation.

ALTER TABLE meta ADD COLUMN agency bytea; -- NULL until installed
-- The recovery recipient was not signed: it is signed again (recovery set).
UPDATE meta SET recovery = '';

CREATE TABLE statements (
	id     text   PRIMARY KEY, -- trust.Signed.ID()
	ord    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	body   bytea  NOT NULL,
	signer text   NOT NULL,
	sig    bytea  NOT NULL
);

DROP TABLE enroll_codes;
-- '' for a device enrolled by protocol 1: it must enrol again.
ALTER TABLE devices ADD COLUMN grant_id text NOT NULL DEFAULT '';

-- Filled from each revision's encoding by the migration's Go step, which
-- then makes them NOT NULL (see schema.go).
ALTER TABLE revisions ADD COLUMN device text;
ALTER TABLE revisions ADD COLUMN seq bigint;
CREATE INDEX revisions_device_seq ON revisions (device, seq);

-- The highest key epoch of the case's keyrings (record ids <case>.k<epoch>).
ALTER TABLE cases ADD COLUMN key_epoch bigint NOT NULL DEFAULT 0;
UPDATE cases c SET key_epoch = k.epoch
	FROM (SELECT case_id, max(substring(id FROM '\.k([0-9]+)$')::bigint) AS epoch
		FROM records WHERE kind = 'keyring' GROUP BY case_id) k
	WHERE k.case_id = c.id AND k.epoch IS NOT NULL;

CREATE TABLE rotations (
	case_id text   PRIMARY KEY,
	epoch   bigint NOT NULL -- the key epoch owed a rotation past
);
