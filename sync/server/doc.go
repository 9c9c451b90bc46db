// Package server is fieldcased, the central case server: the sync
// protocol's HTTP handlers (sync/protocol), who may see and write which case,
// agency administration (Admin, served on a local admin socket), and the
// storage interface its backends implement (Store; bbolt in boltstore,
// PostgreSQL in pgstore, conformance tests in storetest).
//
// The server holds ciphertext and metadata only: revision ids, record and
// case ids, kinds, device sequence numbers, sizes, timestamps and
// membership. It checks every revision's id against its content
// (record.Revision.Validate) and its signature against the pushing
// device's enrolled key, but never decrypts a body. Every revision and
// statement it stores goes into an append-only transparency log in the
// same transaction (package transparency, translog.go), so devices can
// catch a server that forks, rolls back or drops entries.
//
// # Trust
//
// The server cannot make a device trust anyone (package trust, roster.go):
// it stores the agency's public key and the signed statements the agency
// and devices make, checks each with trust.Evaluate before storing it, and
// serves them all; devices evaluate them again under the agency key they
// pinned. The agency's private key never reaches it: the fieldcased command
// signs with it in its own process. Access control reads teams, users and
// devices the statements prove; writes are judged by trust.MayWrite, the
// rule devices apply.
//
// # Endpoints
//
// Every /v1 request carries the Fieldcase-Protocol header (426
// protocol_version otherwise); every answer other than success is a
// protocol.Error with a code and a reason.
//
//   - POST /v1/enroll: a grant id (derived from the code) and a device
//     statement signed with the code's key → a bearer token, who the
//     device is enrolled for (user, role, team: the laptop checks them
//     against the roster's signed grant), the roster and the log's key.
//     403 bad_enroll_code for an unknown, used, expired or withdrawn grant,
//     409 device_exists, 426 protocol_version, 429 rate_limited (with
//     Retry-After), 400 bad_request, 503 unavailable while the server has
//     no agency key.
//   - POST /v1/sync/push: a batch of signed revisions, processed in order
//     in one transaction and durable before the answer; per revision
//     stored, present, missing_parent, missing_blob or rejected
//     (permanent), with a receipt signed by the log key for each the
//     server holds, and the device's contiguous AckedSeq. The header's
//     audit heads are logged and their indexes answered: one not signed
//     by the device refuses the push (400); one of a case its user may
//     not read, or not on the server, is not logged (index -1). At most
//     two uploads of a device at once (429), each at a minimum rate (408).
//   - GET /v1/sync/pull?cursor=&limit=: the revisions this user may read,
//     from the commit-ordered change log after the cursor; 410 gone for a
//     cursor of another epoch (a restored server). The header carries the
//     roster version, the device's highest sequence number held, the
//     cases owing a key rotation that the user may write keyrings in, and
//     each revision's log index.
//   - GET /v1/log/checkpoint?from=N: the transparency log's newest
//     checkpoint, signed and cosigned by witnesses, with the proof that it
//     extends the tree of N entries (translog.go).
//   - GET /v1/log/entries?start=&end=: the log's entries, at most
//     protocol.MaxEntries: in full those the device may see, the others as
//     their leaves (the case by tag only), so devices hash the whole tree.
//   - POST /v1/log/proofs: inclusion proofs of entries the device could
//     have seen (403 for another case's), in a tree the log had.
//   - POST /v1/log/witness: a supervisor's device's cosignature of a
//     checkpoint; 403 for anyone else, 400 for a cosignature that does not
//     verify, 409 for a checkpoint of another tree.
//   - POST /v1/sync/own: the device's own revisions above a sequence number.
//   - POST /v1/sync/revs-diff: which of some revisions the server lacks.
//   - GET /v1/roster: the agency key and every signed statement.
//   - POST /v1/grants, /v1/revocations: a pairing grant or a revocation the
//     device signed (403 when the roster would not accept it).
//   - POST /v1/blobs/missing, POST /v1/blobs (Fieldcase-Case header), GET
//     /v1/blobs/{case}/{id}, POST /v1/blobs/fetch (many of a case at once):
//     sealed audio chunks, checked against their SHA-256 ids.
//   - GET /v1/team: a supervisor's team view (people, devices and their
//     last sync, case membership, the weighting policy; no case content).
//     PUT /v1/team/policy: a new weighting policy (409 when another
//     supervisor changed it since).
//   - POST /v1/cases/{case}/members: a supervisor adds and removes case
//     members; POST /v1/cases/{case}/transcription: a member or supervisor
//     opens a case to the team's typists, or closes it (team.go).
//   - GET /healthz, /readyz, /metrics.
//
// Authentication failures are 401 unauthorized or 401 device_revoked; a
// role or case the user may not use is 403 forbidden (an admin account on
// any sync endpoint) or, inside a push, a permanent per-revision rejection.
// See access.go for the rules.
package server
