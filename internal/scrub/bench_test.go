package scrub_test

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/scrub"
)

// BenchmarkFreePages: zeroing the free pages a destruction leaves, against
// the alternative it replaces, bbolt.Compact into a new file (synced), on
// the same database: 48 MiB live, 8 MiB freed (a destroyed case's share).
// Reported as ratios against Compact in the same run; both are run once
// per iteration on a fresh copy of the freed state.
func BenchmarkFreePages(b *testing.B) {
	const live, freed, size = 12000, 2000, 4000 // values of 4 KB: 48 MiB live, 8 MiB freed
	var scrubT, compactT time.Duration
	for i := 0; i < b.N; i++ {
		for _, compact := range []bool{false, true} {
			b.StopTimer()
			dir := b.TempDir()
			db, err := bolt.Open(filepath.Join(dir, "x.db"), 0o600, &bolt.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			v := make([]byte, size)
			if err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucket([]byte("b"))
				if err != nil {
					return err
				}
				for j := range live + freed {
					rand.Read(v)
					if err := bk.Put(fmt.Appendf(nil, "%06d", j), v); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error {
				for j := live; j < live+freed; j++ {
					if err := tx.Bucket([]byte("b")).Delete(fmt.Appendf(nil, "%06d", j)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			db.NoSync = false
			b.StartTimer()
			t0 := time.Now()
			if compact {
				dst, err := bolt.Open(filepath.Join(dir, "y.db"), 0o600, nil)
				if err == nil {
					err = bolt.Compact(dst, db, 64<<20)
				}
				if err == nil {
					err = dst.Sync()
				}
				if err == nil {
					err = dst.Close()
				}
				if err != nil {
					b.Fatal(err)
				}
				compactT += time.Since(t0)
			} else {
				if _, err := scrub.FreePages(db, false, nil); err != nil {
					b.Fatal(err)
				}
				scrubT += time.Since(t0)
			}
			b.StopTimer()
			db.Close()
		}
	}
	b.ReportMetric(float64(scrubT)/float64(compactT), "of-compact")
	b.ReportMetric(float64(scrubT.Milliseconds())/float64(b.N), "scrub-ms")
	b.ReportMetric(float64(compactT.Milliseconds())/float64(b.N), "compact-ms")
}
