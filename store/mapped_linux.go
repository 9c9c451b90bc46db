package store

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// dropMapped lets go of the vault pages this process has read. bbolt reads
// through a shared read-only mapping of the file, and every page a load
// touched (all of a 150 MB vault, for LoadNotes) stays resident in this
// process until the kernel needs the memory: half the RSS of an unlocked
// 50,000-note vault. They are clean page cache: MADV_DONTNEED only unmaps
// them from this process (the kernel keeps them cached), and a later read
// maps them in again. Inside a read transaction bbolt cannot remap the
// file, so the range is the mapping's.
func (v *Vault) dropMapped() {
	_ = v.view(func(tx *bolt.Tx) error {
		dropPages(v.db, tx)
		return nil
	})
}

// dropPages is dropMapped inside a read transaction tx of db (LoadNotes
// calls it as it goes, so a load's pages never pile up).
func dropPages(db *bolt.DB, tx *bolt.Tx) {
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}
