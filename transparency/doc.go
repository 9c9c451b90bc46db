// Package transparency is the case server's append-only log as both ends
// see it: what an entry says, how a checkpoint of the log is written and
// signed, and how inclusion and consistency proofs and signed receipts are
// checked. It holds no storage and does no I/O: the server appends and
// proves (sync/server), devices and the court bundle's verifier check.
//
// The tree is RFC 6962's Merkle tree as the Go checksum database builds it
// (golang.org/x/mod/sumdb/tlog: record and node hashes, stored hashes,
// inclusion and consistency proofs), and a checkpoint is a signed note
// (golang.org/x/mod/sumdb/note) whose text follows C2SP tlog-checkpoint:
//
//	<origin>
//	<tree size>
//	<root hash, base64>
//
// Both are maintained by the Go team, small, without dependencies, and
// used by every Go toolchain to audit its own checksum database: the same
// job, at a much larger scale.
//
// A device checks, every sync, that the checkpoint the server signs now is
// consistent with the last one it kept (a fork or a rollback of the log
// cannot pass), and that what it pushed and pulled is in the tree. A
// supervisor's device cosigns the checkpoints it has checked (a witness):
// two witnesses' signatures on different trees of the same size are proof
// that the server lied.
package transparency
