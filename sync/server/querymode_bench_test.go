package server_test

import (
	"context"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

// BenchmarkPushQueryModes: push throughput over PostgreSQL in the query
// modes a database URL may choose (default_query_exec_mode), straight to
// PostgreSQL and through a pgbouncer in transaction pooling (where pgx's
// default mode cannot work: docs/OPERATIONS.md), as ratios against pgx's
// default mode (cache_statement) straight to PostgreSQL. 8 devices push 10
// revisions at a time for 1 s on a fresh database; the median of 3 rounds,
// the modes' order turning.
func BenchmarkPushQueryModes(b *testing.B) {
	if os.Getenv(pgtest.EnvURL) == "" {
		b.Skip(pgtest.EnvURL + " is not set (scripts/test-postgres.sh starts a PostgreSQL)")
	}
	const devices, per, dur, rounds = 8, 10, time.Second, 3
	type mode struct{ name, path, query string }
	modes := []mode{
		{"direct-cache_statement", "direct", "cache_statement"},
		{"direct-cache_describe", "direct", "cache_describe"},
		{"direct-simple_protocol", "direct", "simple_protocol"},
		{"pgbouncer-cache_describe", "pgbouncer", "cache_describe"},
		{"pgbouncer-simple_protocol", "pgbouncer", "simple_protocol"},
	}
	for range b.N {
		rates := map[string][]float64{}
		for r := range rounds * len(modes) {
			m := modes[(r+r/len(modes))%len(modes)]
			dbURL := pgtest.URL(b)
			if m.path == "pgbouncer" {
				dbURL = pgtest.Pgbouncer(b, dbURL, 20)
			}
			u, err := url.Parse(dbURL)
			if err != nil {
				b.Fatal(err)
			}
			q := u.Query()
			q.Set("default_query_exec_mode", m.query)
			u.RawQuery = q.Encode()
			st, err := pgstore.Open(context.Background(), u.String(), pgstore.Options{MaxConns: 16})
			if err != nil {
				b.Fatal(err)
			}
			ss := newBenchServer(b, st, devices)
			var wg sync.WaitGroup
			var mu sync.Mutex
			n := 0
			end := time.Now().Add(dur)
			for _, s := range ss {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(end) {
						s.pushNotes(b, per)
						mu.Lock()
						n += per
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			st.Close() // its connections, before the next round's
			rates[m.name] = append(rates[m.name], float64(n)/dur.Seconds())
		}
		rate := map[string]float64{}
		for name, rs := range rates {
			slices.Sort(rs)
			rate[name] = rs[len(rs)/2]
		}
		base := rate[modes[0].name]
		b.ReportMetric(base, "revs/s-"+modes[0].name)
		for _, m := range modes[1:] {
			b.ReportMetric(rate[m.name]/base, "ratio-"+m.name)
		}
	}
}
