package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/sync/server/storetest"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// benchServer is a server on a fresh store with one enrolled caseworker
// device whose case exists, ready to push notes.
type benchServer struct {
	c *servertest.Client
	w *servertest.Writer
}

// backend opens a fresh store: bbolt (fsync on, as served) or, when the
// harness gives one, PostgreSQL.
type backend struct {
	name string
	open func(b *testing.B) server.Store
}

func backends() []backend {
	bs := []backend{{"bbolt", func(b *testing.B) server.Store {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), boltstore.FileName), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}}}
	return append(bs, backend{"postgres", func(b *testing.B) server.Store {
		if os.Getenv(pgtest.EnvURL) == "" {
			b.Skip(pgtest.EnvURL + " is not set (scripts/test-postgres.sh starts a PostgreSQL)")
		}
		st, err := pgstore.Open(context.Background(), pgtest.URL(b), pgstore.Options{MaxConns: 16})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}})
}

func newBenchServer(b *testing.B, st server.Store, users int) []benchServer {
	b.Helper()
	ctx := context.Background()
	srv, err := server.New(server.Config{Store: st, UploadMinRate: -1,
		EnrollPerAddr: server.Rate{Every: time.Nanosecond, Burst: 1 << 20}, EnrollGlobal: server.Rate{Every: time.Nanosecond, Burst: 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(func() { hs.Close(); st.Close() })
	agency, err := servertest.NewAgency()
	if err != nil {
		b.Fatal(err)
	}
	admin := server.NewAdmin(st)
	if _, err := admin.SetAgency(ctx, agency.Public(), false); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.AddStatements(ctx, []trust.Signed{agency.Team("T1", "north")}); err != nil {
		b.Fatal(err)
	}
	var out []benchServer
	for u := range users {
		id := fmt.Sprintf("U%d", u)
		code, grant := agency.Grant(id, time.Hour)
		if _, err := admin.AddStatements(ctx, []trust.Signed{agency.User(id, "user "+id, protocol.RoleCaseworker, "T1"), grant}); err != nil {
			b.Fatal(err)
		}
		c, _, err := servertest.Enroll(ctx, hs.URL, hs.Client(), code.String(), "dev-"+id)
		if err != nil {
			b.Fatal(err)
		}
		w := c.Writer()
		if _, err := c.Push(ctx, nil, w.NewCase("C"+id)...); err != nil {
			b.Fatal(err)
		}
		out = append(out, benchServer{c: c, w: w})
	}
	return out
}

// pushNotes pushes n new notes in one request and returns how long it took.
func (s benchServer) pushNotes(b *testing.B, n int) time.Duration {
	b.Helper()
	revs := make([]*record.Revision, n)
	for i := range revs {
		revs[i] = s.w.Rev(record.KindNote, "C"+s.c.DeviceID[len("dev-"):], record.NewID())
	}
	start := time.Now()
	resp, err := s.c.Push(context.Background(), nil, revs...)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range resp.Results {
		if r.Status != protocol.StatusStored {
			b.Fatalf("push: %+v", r)
		}
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkPushLog: what the transparency log costs a push of 1,000
// revisions, against the same push in the same process with the log's
// appends short-circuited (server.SkipLogAppends, test-only). Each push
// runs on a fresh store (fsync on) after a warm-up push; the median of
// several rounds, the modes alternating, is compared. Target: appends ≤
// 1.15× (ratio-append). ratio-all also counts the receipts the push
// signs, one per revision.
func BenchmarkPushLog(b *testing.B) {
	const revs, rounds = 1000, 11
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				times := map[string][]time.Duration{}
				for r := range rounds {
					modes := []string{"log", "no-append", "no-log"}
					if r%2 == 1 {
						slices.Reverse(modes)
					}
					for _, mode := range modes {
						undo := func() {}
						switch mode {
						case "no-append":
							undo = server.SkipLogAppends(0)
						case "no-log":
							undo = server.SkipLogAppends(-1)
						}
						s := newBenchServer(b, be.open(b), 1)[0]
						s.pushNotes(b, 100) // warm-up
						times[mode] = append(times[mode], s.pushNotes(b, revs))
						undo()
					}
				}
				with, noAppend, none := median(times["log"]), median(times["no-append"]), median(times["no-log"])
				b.ReportMetric(float64(with.Nanoseconds())/revs, "ns/rev")
				b.ReportMetric(float64(noAppend.Nanoseconds())/revs, "ns/rev-no-append")
				b.ReportMetric(float64(with)/float64(noAppend), "ratio-append")
				b.ReportMetric(float64(with)/float64(none), "ratio-all")
			}
		})
	}
}

// BenchmarkPushLogConcurrent: pushes of 10 revisions from 8 devices at
// once for 2 s, with the log, with its appends short-circuited (receipts
// still signed), and with no log at all: the throughput the log's
// serialised appends leave (ratio-append: with / without appends; ratio-all:
// with / no log). The median of 5 rounds, the modes' order turning.
func BenchmarkPushLogConcurrent(b *testing.B) {
	const devices, per, dur, rounds = 8, 10, 2 * time.Second, 5
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				rates := map[string][]float64{}
				modes := []string{"log", "no-append", "no-log"}
				for r := range rounds * len(modes) {
					mode := modes[(r+r/len(modes))%len(modes)]
					undo := func() {}
					switch mode {
					case "no-append":
						undo = server.SkipLogAppends(0)
					case "no-log":
						undo = server.SkipLogAppends(-1)
					}
					ss := newBenchServer(b, be.open(b), devices)
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
					undo()
					rates[mode] = append(rates[mode], float64(n)/dur.Seconds())
				}
				rate := map[string]float64{}
				for m, rs := range rates {
					slices.Sort(rs)
					rate[m] = rs[len(rs)/2]
				}
				b.ReportMetric(rate["log"], "revs/s")
				b.ReportMetric(rate["no-append"], "revs/s-no-append")
				b.ReportMetric(rate["no-log"], "revs/s-no-log")
				b.ReportMetric(rate["log"]/rate["no-append"], "ratio-append")
				b.ReportMetric(rate["log"]/rate["no-log"], "ratio-all")
			}
		})
	}
}

// BenchmarkInclusionProofSize: the size of inclusion proofs (the
// ProofsResponse a device downloads per entry) in logs of 10⁴ and 10⁵
// entries kept by the bbolt store, and of 10⁶ in memory (the reference
// tree): the largest and mean over 200 entries at random and the first and
// last. The 10⁵ store also times a full log verify.
func BenchmarkInclusionProofSize(b *testing.B) {
	for _, n := range []int64{1e4, 1e5, 1e6} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			for range b.N {
				var r tlog.HashReader
				if n <= 1e5 {
					st, err := boltstore.Open(filepath.Join(b.TempDir(), boltstore.FileName), boltstore.Options{NoSync: true})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { st.Close() }) // after the view below ends
					fillLog(b, st, n)
					tx := viewTx(b, st)
					r = tx
					if n == 1e5 {
						start := time.Now()
						var rep server.LogReport
						if err := st.View(context.Background(), func(tx server.Tx) (err error) { rep, err = server.VerifyLog(tx); return }); err != nil {
							b.Fatal(err)
						}
						b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/entry-verify")
						if len(rep.Problems) > 0 || rep.Revisions != n {
							b.Fatalf("verify: %+v", rep)
						}
					}
				} else {
					ref := &storetest.RefLog{}
					for i := range n {
						if err := ref.Append(benchEntry(i).Marshal()); err != nil {
							b.Fatal(err)
						}
					}
					r = ref
				}
				idx := []int64{0, n - 1}
				rng := rand.New(rand.NewPCG(1, uint64(n)))
				for range 200 {
					idx = append(idx, rng.Int64N(n))
				}
				maxH, sumH, sumJSON := 0, 0, 0
				for _, x := range idx {
					p, err := tlog.ProveRecord(n, x, r)
					if err != nil {
						b.Fatal(err)
					}
					j, _ := json.Marshal(protocol.ProofsResponse{Entries: [][]byte{benchEntry(x).Marshal()}, Proofs: []transparency.Proof{transparency.Proof(p)}})
					maxH, sumH, sumJSON = max(maxH, len(p)), sumH+len(p), sumJSON+len(j)
				}
				b.ReportMetric(float64(maxH), "hashes-max")
				b.ReportMetric(float64(sumH)/float64(len(idx)), "hashes-mean")
				b.ReportMetric(float64(maxH*tlog.HashSize), "bytes-max")
				b.ReportMetric(float64(sumJSON)/float64(len(idx)), "json-bytes-mean")
			}
		})
	}
}

func benchEntry(i int64) transparency.Entry {
	var rev record.RevID
	rev[0], rev[1], rev[2], rev[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
	return transparency.Entry{Kind: transparency.KindRevision, Rev: rev, CaseID: record.NewID(), Device: "dev-" + record.NewID(), Seq: uint64(i + 1)}
}

// fillLog appends n revision entries (and their revisions, so the log
// verifies) in transactions of 10,000.
func fillLog(b *testing.B, st server.Store, n int64) {
	b.Helper()
	for from := int64(0); from < n; from += 1e4 {
		err := st.Update(context.Background(), func(tx server.Tx) error {
			for i := from; i < min(n, from+1e4); i++ {
				r := &record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D1", Seq: uint64(i + 1), Body: []byte{1}}
				r.Seal()
				if err := tx.InsertRevision(r); err != nil {
					return err
				}
				if _, err := tx.AppendLog(transparency.RevisionEntry(r), time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// viewTx is a read transaction held open until the benchmark ends.
func viewTx(b *testing.B, st server.Store) server.Tx {
	b.Helper()
	got, release, done := make(chan server.Tx), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- st.View(context.Background(), func(tx server.Tx) error {
			got <- tx
			<-release
			return nil
		})
	}()
	tx := <-got
	b.Cleanup(func() { close(release); <-done })
	return tx
}
