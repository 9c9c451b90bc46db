-- Issue 5: a team's weighting policy (configuration, in the clear, versioned
-- against lost updates), and the transcription flag that lets a team's
-- typists read a case whose dictation waits for typing.
ALTER TABLE teams ADD COLUMN policy bytea;
ALTER TABLE teams ADD COLUMN policy_version integer NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN transcription boolean NOT NULL DEFAULT false;
CREATE INDEX cases_team ON cases (team_id);
