-- 0005 (issue 17): the PostgreSQL timeline the store was last written on,
-- and where each new timeline began (timeline.go). A failover to a standby
-- that lagged behind loses the old primary's last transactions, and the
-- promoted node reuses their transaction ids, so change numbers handed out
-- before would be given again. Recording each timeline's start lets every
-- fieldcased instance compare what it handed out with what the new
-- timeline holds.
ALTER TABLE meta ADD COLUMN system_id text NOT NULL DEFAULT '';
ALTER TABLE meta ADD COLUMN timeline bigint NOT NULL DEFAULT 0;

-- One row per timeline of a cluster (pg_control_system's system
-- identifier) the store was written on: when it was first written on, the
-- log's size and the highest change number it held then, and the epoch
-- given then when acknowledged changes were or may have been lost ('' when
-- none was).
CREATE TABLE timelines (
	system_id text        NOT NULL,
	timeline  bigint      NOT NULL,
	seen      timestamptz NOT NULL,
	log_size  bigint      NOT NULL,
	last_seq  bigint      NOT NULL,
	new_epoch text        NOT NULL DEFAULT '',
	PRIMARY KEY (system_id, timeline)
);
