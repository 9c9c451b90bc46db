package pgstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/transparency"
)

// BenchmarkMoveStores is the cost of moving a store of 10,000 revisions
// (each logged, in 100 cases with a blob each) between the backends:
// `fieldcased migrate` (ImportBolt, verification included) and a
// PostgreSQL backup (Backup, to a bbolt file), each as a ratio to a bbolt
// store's own backup of the same store (a snapshot copy of the file) in the
// same process.
func BenchmarkMoveStores(b *testing.B) {
	ctx := context.Background()
	const cases, perCase = 100, 100
	dir := b.TempDir()
	src := filepath.Join(dir, "src", boltstore.FileName)
	bs, err := boltstore.Open(src, boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for c := range cases {
		err := bs.Update(ctx, func(tx server.Tx) error {
			caseID := fmt.Sprintf("C%03d", c)
			if err := tx.PutCase(server.Case{ID: caseID, TeamID: "T1", Members: []string{"U1"}, Created: ts}); err != nil {
				return err
			}
			for i := range perCase {
				recID := fmt.Sprintf("R%03d-%03d", c, i)
				if err := tx.InsertRecord(server.RecordInfo{ID: recID, CaseID: caseID, Kind: record.KindNote}); err != nil {
					return err
				}
				r := &record.Revision{RecordID: recID, Kind: record.KindNote, CaseID: caseID, Generation: 1, Device: "D1",
					Seq: uint64(c*perCase + i + 1), Body: make([]byte, 2048)}
				r.Seal()
				if err := tx.InsertRevision(r); err != nil {
					return err
				}
				if _, err := tx.AppendLog(transparency.RevisionEntry(r), ts); err != nil {
					return err
				}
				if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: caseID}); err != nil {
					return err
				}
			}
			data := []byte("chunk of " + caseID)
			return tx.InsertBlob(caseID, sha256.Sum256(data), data)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	bs.Close()
	// Read-only, as the import opens it: both share the file's lock.
	if bs, err = boltstore.Open(src, boltstore.Options{ReadOnly: true}); err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := bs.Backup(ctx, filepath.Join(dir, fmt.Sprintf("bolt-%d.db", i))); err != nil {
			b.Fatal(err)
		}
		base := time.Since(start)
		pg, err := pgstore.Open(ctx, pgtest.URL(b), pgstore.Options{MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if _, err := pgstore.ImportBolt(ctx, src, pg); err != nil {
			b.Fatal(err)
		}
		imp := time.Since(start)
		start = time.Now()
		if err := pg.Backup(ctx, filepath.Join(dir, fmt.Sprintf("pg-%d.db", i))); err != nil {
			b.Fatal(err)
		}
		bk := time.Since(start)
		pg.Close()
		b.ReportMetric(float64(imp)/float64(base), "ratio-import")
		b.ReportMetric(float64(bk)/float64(base), "ratio-backup")
		b.ReportMetric(float64(imp.Microseconds())/(cases*perCase), "µs-import/rev")
		b.ReportMetric(float64(bk.Microseconds())/(cases*perCase), "µs-backup/rev")
	}
}
