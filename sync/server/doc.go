// Package server is fieldcased, the central case server: the sync
// protocol's HTTP handlers (sync/protocol), who may see and write which case,
// agency administration (Admin, served on a local admin socket), and the
// storage interface its backends implement (Store; bbolt in boltstore,
// conformance tests in storetest).
//
// The server holds ciphertext and metadata only: revision ids, record and
// case ids, kinds, device sequence numbers, sizes, timestamps and
// membership. It checks every revision's id against its content
// (record.Revision.Validate) but never decrypts a body.
//
// # Endpoints
//
// Every /v1 request carries the Fieldcase-Protocol header (426
// protocol_version otherwise); every answer other than success is a
// protocol.Error with a code and a reason.
//
//   - POST /v1/enroll: a one-time code, a new device id and the device's
//     keys → a bearer token and the team roster. 403 bad_enroll_code, 409
//     device_exists, 429 rate_limited (with Retry-After), 400 bad_request.
//   - POST /v1/sync/push: a batch of revisions, processed in order in one
//     transaction and durable before the answer; per revision stored,
//     present, missing_parent, missing_blob or rejected (permanent), and the
//     device's contiguous AckedSeq.
//   - GET /v1/sync/pull?cursor=&limit=: the revisions this user may read,
//     from the commit-ordered change log after the cursor; 410 gone for a
//     cursor of another epoch (a restored server).
//   - POST /v1/sync/revs-diff: which of some revisions the server lacks.
//   - GET /v1/roster: the user's team roster.
//   - POST /v1/blobs/missing, POST /v1/blobs (Fieldcase-Case header), GET
//     /v1/blobs/{case}/{id}: sealed audio chunks, checked against their
//     SHA-256 ids.
//   - GET /healthz, /readyz, /metrics.
//
// Authentication failures are 401 unauthorized or 401 device_revoked; a
// role or case the user may not use is 403 forbidden (an admin account on
// any sync endpoint) or, inside a push, a permanent per-revision rejection.
// See access.go for the rules.
//
// # A wire change this package wants
//
// The optional push batch header declaring a manifest's blobs is PushHeader
// here; it belongs in sync/protocol, which this package may not edit.
package server
