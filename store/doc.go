// Package store is the device's vault: one bbolt file holding records as
// sealed revisions, the heads of every record, an outbox of changes waiting
// to be synced, drafts, and the device identity wrapped under the user's
// passphrase.
//
// Nothing in the file is plaintext but ids, kinds and revision metadata.
// Unlocking costs one scrypt (the identity) and one age decryption (the
// keyring of case keys); the decrypted working set then lives in memory only
// and is dropped by Lock.
//
// Every change is one bbolt transaction through Vault.Update: the revision,
// the record's new heads and the outbox entry commit together or not at all.
// Two offline edits of one record make two heads, a conflict, which is kept
// and shown, never resolved by dropping one.
//
// What the vault keeps in the clear and trusts (the heads, the counters)
// carries a MAC under the vault key, and revisions are checked against their
// ids, so an edit of the file by someone without the passphrase is noticed.
// A record that fails a check is damaged: left out of the working set and
// named by Vault.Damaged, while the rest of the vault works (auth.go).
package store
