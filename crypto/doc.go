// Package crypto is fieldcase's key hierarchy (see docs/ARCHITECTURE.md).
//
// age protects keys; an AEAD protects records:
//
//   - An [Identity] is one device's secret: a post-quantum hybrid age identity
//     (ML-KEM-768 + X25519) and an Ed25519 signing key. [LockIdentity] wraps it
//     under the user's passphrase with age's scrypt recipient; [UnlockIdentity]
//     always caps the work factor it accepts.
//   - A [CaseKey] is 32 random bytes per (case, epoch). [WrapKey] wraps it in a
//     standard age file to every member's recipient; [UnwrapKey] opens it. The
//     wrapped plaintext names the case and epoch, so a key file moved to another
//     case or epoch does not unwrap.
//   - Record bodies are sealed with XChaCha20-Poly1305 ([Seal], [Open]) under
//     a subkey HKDF-derived from the case key for the body's [Purpose]; the
//     associated data binds the body to its [Place] (case, record, epoch, chunk),
//     so a ciphertext cannot be moved, truncated or replayed elsewhere.
//   - A [Keyring] holds every case key a device knows, sealed as one age file to
//     the device, so unlocking costs one scrypt and one age decryption.
//   - [CaseKey.NewMAC] authenticates what a device keeps in the clear (the
//     vault's index of heads, its counters) under another HKDF subkey.
package crypto
