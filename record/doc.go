// Package record is fieldcase's data model, shared by the device vault and
// the case server: record ids and kinds, revisions (content-addressed,
// immutable), their binary encoding, the hybrid logical clock, and the
// plaintext schemas of record bodies.
//
// A revision's id is a hash over everything in it, the sealed body included,
// so the same revision sent twice is the same revision, and a server can
// verify ids without decrypting anything. Bodies are opaque here: sealing is
// the crypto package's job, and a server never sees a body schema filled in.
package record
