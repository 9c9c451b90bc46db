//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// dropMapped is a no-op where the resident pages of bbolt's mapping are not
// dropped (see mapped_linux.go).
func (v *Vault) dropMapped() {}

func dropPages(*bolt.DB, *bolt.Tx) {}
