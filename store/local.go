package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
)

// Device-local state that is not case data and never syncs (a take in
// flight, settings): small values sealed under the vault key.
var bucketLocal = []byte("local")

func localPlace(vaultID, key string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "local:" + key, Purpose: crypto.PurposeMeta}
}

// PutLocal seals value under key.
func (v *Vault) PutLocal(key string, value []byte) error {
	return v.Update(func(tx *Tx) error {
		b, err := tx.btx.CreateBucketIfNotExists(bucketLocal)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), crypto.Seal(tx.vaultKey, localPlace(tx.v.vaultID, key), value))
	})
}

// DeleteLocal removes key.
func (v *Vault) DeleteLocal(key string) error {
	return v.Update(func(tx *Tx) error {
		if b := tx.btx.Bucket(bucketLocal); b != nil {
			return b.Delete([]byte(key))
		}
		return nil
	})
}

// Locals returns every value whose key starts with prefix, opened.
func (v *Vault) Locals(prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLocal)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, sealed := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, sealed = c.Next() {
				plain, err := crypto.Open(vk, localPlace(v.vaultID, string(k)), sealed)
				if err != nil {
					return ErrCorrupt
				}
				out[string(k)] = plain
			}
			return nil
		})
	})
	return out, err
}
