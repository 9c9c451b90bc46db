package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// MACSize is the size of a tag made with NewMAC.
const MACSize = sha256.Size

// NewMAC returns HMAC-SHA256 under a subkey of k derived for label alone
// (HKDF, apart from the sealing subkeys), for values a device keeps in the
// clear but must not find altered: the vault's index of heads, its counters.
// Different labels give independent keys. The hash is not safe for
// concurrent use; Reset it between messages and compare tags with
// hmac.Equal.
func (k *CaseKey) NewMAC(label string) hash.Hash {
	if k.aeads[PurposeRecord] == nil {
		panic("crypto: use of a wiped case key")
	}
	sub, err := hkdf.Key(sha256.New, k.raw[:], nil, "fieldcase mac v1 "+label, sha256.Size)
	if err != nil {
		panic(err) // only for invalid lengths, which are constants here
	}
	return hmac.New(sha256.New, sub)
}
