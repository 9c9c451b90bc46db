package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

// BenchmarkFencing is the cost of the failover fence (timeline.go) on a
// small write transaction and a small read: its checks before, at the
// end of and after each transaction, against the same transactions with
// the checks off, interleaved in one process. Reported as ratios.
func BenchmarkFencing(b *testing.B) {
	st, err := pgstore.Open(context.Background(), pgtest.URL(b), pgstore.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	n := 0
	write := func() {
		n++
		if err := st.Update(ctx, func(tx server.Tx) error {
			return tx.InsertTeam(server.Team{ID: fmt.Sprintf("T%d", n), Name: fmt.Sprintf("team %d", n), Created: time.Now()})
		}); err != nil {
			b.Fatal(err)
		}
	}
	read := func() {
		if err := st.View(ctx, func(tx server.Tx) error { _, err := tx.LastChangeSeq(); return err }); err != nil {
			b.Fatal(err)
		}
	}
	const rounds, per = 10, 50
	for i := 0; i < b.N; i++ {
		var on, off [2]time.Duration
		for r := 0; r < rounds; r++ {
			for k, fn := range []func(){write, read} {
				for _, fenced := range []bool{r%2 == 0, r%2 != 0} {
					pgstore.SetFencing(st, fenced)
					start := time.Now()
					for j := 0; j < per; j++ {
						fn()
					}
					if fenced {
						on[k] += time.Since(start)
					} else {
						off[k] += time.Since(start)
					}
				}
			}
		}
		pgstore.SetFencing(st, true)
		b.ReportMetric(float64(on[0])/float64(off[0]), "ratio-write")
		b.ReportMetric(float64(on[1])/float64(off[1]), "ratio-read")
		b.ReportMetric(float64(on[0].Nanoseconds())/(rounds*per), "ns/write")
	}
}
