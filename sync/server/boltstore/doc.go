// Package boltstore is the embedded bbolt backend of the case server's
// storage (server.Store): one file, fieldcased.db, in the data directory.
// `fieldcased serve` uses it unless told otherwise.
//
// Layout (bucket: key → value):
//
//	meta          format, server_id, epoch, created, recovery, roster_version,
//	              change_seq (last change log number), case_rev_seq,
//	              agency (the agency's public key), statement_seq,
//	              log_size, log_skey, log_vkey (the transparency log's key)
//	statements    counter (8 bytes) → trust.Signed (JSON), in the order stored
//	statement_ids trust.Signed.ID() → counter
//	teams         team id → Team (JSON);  team_names: name → team id
//	users         user id → User (JSON);  user_names: name → user id
//	devices       device id → Device (JSON, token hash only)
//	tokens        SHA-256(token) → device id
//	cases         case id → Case (JSON: team, members, created, key epoch)
//	records       record id → kind ‖ 0 ‖ case id
//	revs          rev (32 bytes) → the revision's canonical binary encoding
//	case_revs     case id ‖ 0 ‖ counter (8 bytes) → rev
//	dev_revs      device id ‖ 0 ‖ seq (8 bytes) ‖ rev → nothing
//	changes       seq (8 bytes, big-endian) → rev ‖ case id ‖ target user
//	acks          device id → contiguous acknowledged sequence (8 bytes)
//	ack_pending   device id ‖ 0 ‖ seq (8 bytes) → acknowledged above it
//	rotations     case id → key epoch owed a rotation past (4 bytes)
//	blobs         case id ‖ 0 ‖ SHA-256 → sealed bytes
//	log_leaves    index (8 bytes) → time (unix ms, 8 bytes) ‖ transparency.Entry
//	log_hashes    tlog stored hash index (8 bytes) → SHA-256
//	log_revs      rev → its log index (8 bytes)
//	log_cosigs    tree size (8 bytes) ‖ witness name → time (unix ms) ‖ signature
//	log_witnesses witness name → the largest tree size it cosigned (8 bytes)
//
// Format 1 (protocol 1) had no statements, dev_revs or rotations, and kept
// hashed enrolment codes in enroll_codes; format 2 had no transparency log.
// Opened for writing an older file is upgraded in one transaction (upgrade,
// upgradeLog: the log gets its key, and an entry for every statement and
// revision the file holds); opened read-only (an old backup, for an export)
// it reads as having none of them.
//
// FileReader and FileWriter (file.go) read and write a whole file record by
// record for tools that copy stores to and from another backend (pgstore's
// import and backup): this package is the only one that knows the layout.
//
// bbolt has one writer at a time, so change log numbers and log indexes
// are assigned and committed in the same order: a cursor can never skip a
// change, and the log never has a hole. Every commit is fsynced before
// Update returns.
package boltstore
