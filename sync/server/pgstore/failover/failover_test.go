// Package failover_test runs fieldcased over a PostgreSQL primary and a
// streaming standby, and fails the primary over while devices sync
// (issue 17): two fieldcased processes on a multi-host URL, four devices
// writing and pulling.
package failover_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(syncharness.Main(m)) }

// dbName is the database fieldcased uses on the clusters.
const dbName = "fieldcase"

// rig is a primary, its standby, two fieldcased instances over both (a
// multi-host URL that wants the read-write one) and four devices: two
// laptops of one caseworker and another caseworker writing notes, and
// their supervisor pulling everything.
type rig struct {
	t                *testing.T
	primary, standby *pgtest.Cluster
	proxy            *faultproxy.TCP
	servers          []*syncharness.Server
	workers          []*worker
	start            time.Time
	alarms           bool // the log's alarms are expected (a failover that lost acknowledged changes)
}

type rigOptions struct {
	synchronous  bool
	proxied      bool // the standby streams through a WAL proxy the test can hold
	standbyFirst bool // the URL names the standby first
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t}

	r.primary = pgtest.StartPrimary(t, pgtest.PrimaryOptions{Synchronous: o.synchronous})
	// Before the standby exists a synchronous primary would wait for it.
	exec(t, r.primary.URL, "SET synchronous_commit = local", "CREATE DATABASE "+dbName)
	if o.proxied {
		r.proxy = r.primary.NewWALProxy()
	}
	r.standby = r.primary.StartStandby(pgtest.StandbyOptions{Through: r.proxy})
	hosts := []int{r.primary.Port(), r.standby.Port()}
	if o.standbyFirst {
		hosts[0], hosts[1] = hosts[1], hosts[0]
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		hosts[0], hosts[1], dbName)
	r.servers = syncharness.StartPostgresServers(t, url, 2)
	for i, spec := range []struct{ name, user, role string }{
		{"ada-laptop", "ada", "caseworker"},
		{"bob", "bob", "caseworker"},
		{"ada-desktop", "ada", "caseworker"},
		{"sam", "sam", "supervisor"},
	} {
		srv := r.servers[i%2]
		d := r.servers[0].NewDevice(spec.name, srv.URL, spec.user, spec.role, "north")
		r.workers = append(r.workers, &worker{d: d, server: i % 2, user: spec.user, super: spec.role == "supervisor"})
	}
	// Each caseworker's case, made and pushed before the run; ada's second
	// laptop pulls hers.
	for _, w := range r.workers[:2] {
		id, err := w.d.V.CreateCase(record.Case{Ref: w.user + "-1", Subject: "Subject of " + w.user})
		if err != nil {
			t.Fatal(err)
		}
		w.caseID = id
		w.d.MustSync()
	}
	r.workers[2].d.MustSync()
	r.workers[2].caseID = r.workers[0].caseID
	return r
}

// dbURL is the fieldcase database of a cluster.
func dbURL(c *pgtest.Cluster) string {
	return strings.Replace(c.URL, "/postgres?", "/"+dbName+"?", 1)
}

// exec runs statements on one connection, one at a time.
func exec(t *testing.T, url string, sqls ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// worker is a device syncing in a loop: a writer adds a note before each
// round.
type worker struct {
	d        *syncharness.Device
	server   int
	user     string
	super    bool
	caseID   string // where it writes ("" for a reader)
	mu       sync.Mutex
	rounds   []round
	errs     int
	repaired int
	alarms   bool // the log's alarms are expected: a round that ends with one moved all the same
}

type round struct {
	start, end time.Time
	pushed     int
	err        error
}

// run syncs until stop is closed.
func (w *worker) run(t *testing.T, stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		if w.caseID != "" && !w.super {
			if _, err := w.d.V.AddNote(w.caseID, record.Note{Kind: "visit", Date: "2026-12-07", Text: fmt.Sprintf("%s note %d", w.d.Name, n)}); err != nil {
				t.Errorf("%s: adding a note: %v", w.d.Name, err)
				return
			}
		}
		start := time.Now()
		sum, err := w.d.Sync()
		if w.alarms && errors.Is(err, client.ErrLogAlarm) {
			err = nil
		}
		w.mu.Lock()
		w.rounds = append(w.rounds, round{start: start, end: time.Now(), pushed: sum.Pushed + sum.Repaired, err: err})
		w.repaired += sum.Repaired
		if err != nil {
			w.errs++
		}
		w.mu.Unlock()
		if err != nil {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// pushedSince reports whether a round that began after t pushed and
// succeeded, and when it ended.
func (w *worker) pushedSince(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.rounds {
		if r.start.After(t) && r.err == nil && r.pushed > 0 {
			return r.end, true
		}
	}
	return time.Time{}, false
}

// loops runs every worker until the returned function is called.
func (r *rig) loops() (stop func()) {
	ch := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go w.run(r.t, ch, &wg)
	}
	var once sync.Once
	stop = func() { once.Do(func() { close(ch); wg.Wait() }) }
	r.t.Cleanup(stop) // a test that fails half-way stops them before the vaults close
	return stop
}

// waitUntil polls cond every 20 ms until it holds, failing after timeout.
func (r *rig) waitUntil(timeout time.Duration, what string, cond func() bool) time.Duration {
	r.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			r.t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// writersPushedSince waits until every writer has had a round that began
// after t and pushed.
func (r *rig) writersPushedSince(t time.Time, timeout time.Duration, what string) {
	r.t.Helper()
	r.waitUntil(timeout, what, func() bool {
		for _, w := range r.workers {
			if w.caseID == "" || w.super {
				continue
			}
			if _, ok := w.pushedSince(t); !ok {
				return false
			}
		}
		return true
	})
}

// acked is every revision a device holds of its own that has left its
// outbox: the server acknowledged it, with a receipt.
func (r *rig) acked() map[record.RevID]string {
	r.t.Helper()
	out := map[record.RevID]string{}
	for _, w := range r.workers {
		mine, err := w.d.V.DeviceRevisions()
		if err != nil {
			r.t.Fatal(err)
		}
		waiting, err := w.d.V.Outbox(0)
		if err != nil {
			r.t.Fatal(err)
		}
		pending := map[record.RevID]bool{}
		for _, rev := range waiting {
			pending[rev.Rev] = true
		}
		for _, rev := range mine {
			if !pending[rev.Rev] {
				out[rev.Rev] = w.d.Name
			}
		}
	}
	return out
}

// stored lists the revisions the cluster's database holds.
func stored(t *testing.T, c *pgtest.Cluster) map[record.RevID]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL(c))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT rev FROM revisions")
	if err != nil {
		t.Fatal(err)
	}
	out := map[record.RevID]bool{}
	var b []byte
	if _, err := pgx.ForEachRow(rows, []any{&b}, func() error {
		var id record.RevID
		copy(id[:], b)
		out[id] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// missing counts acknowledged revisions the cluster lacks.
func missing(acked map[record.RevID]string, have map[record.RevID]bool) int {
	n := 0
	for id := range acked {
		if !have[id] {
			n++
		}
	}
	return n
}

func queryInt(t *testing.T, c *pgtest.Cluster, sql string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL(c))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// metric reads one of a server's metrics (-1 when absent).
func metric(s *syncharness.Server, name string) float64 {
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// heal syncs every device until nothing moves, then checks that every
// device holds exactly the revisions it may see (nothing skipped), that
// no change waits, and that the new primary holds every revision a device
// wrote (nothing acknowledged lost).
func (r *rig) heal(now *pgtest.Cluster) {
	r.t.Helper()
	for pass := 0; pass < 3; pass++ {
		for _, w := range r.workers {
			sum, err := w.d.Sync()
			if err != nil && !(r.alarms && errors.Is(err, client.ErrLogAlarm)) {
				r.t.Fatalf("%s: healing sync: %v", w.d.Name, err)
			}
			w.repaired += sum.Repaired
		}
	}
	union := map[record.RevID]*record.Revision{}
	creator := map[string]string{}
	for _, w := range r.workers {
		if n := w.d.V.OutboxLen(); n != 0 {
			r.t.Errorf("%s: %d changes never pushed", w.d.Name, n)
		}
		mine, err := w.d.V.DeviceRevisions()
		if err != nil {
			r.t.Fatal(err)
		}
		for _, rev := range mine {
			union[rev.Rev] = rev
			if rev.Kind == record.KindKeyring && rev.Generation == 1 && rev.RecordID == record.KeyringID(rev.CaseID, 1) {
				creator[rev.CaseID] = w.user
			}
		}
	}
	have := stored(r.t, now)
	lost := 0
	for id := range union {
		if !have[id] {
			lost++
		}
	}
	if lost > 0 {
		r.t.Errorf("the new primary lacks %d of the %d revisions the devices wrote", lost, len(union))
	}
	for _, w := range r.workers {
		got := w.d.Revs()
		skipped, extra, want := 0, 0, 0
		for id, rev := range union {
			if creator[rev.CaseID] == w.user || w.super {
				want++
				if !got[id] {
					skipped++
				}
			}
		}
		for id := range got {
			if rev := union[id]; rev == nil || !(creator[rev.CaseID] == w.user || w.super) {
				extra++
			}
		}
		if skipped+extra > 0 {
			r.t.Errorf("%s: %d revisions missing, %d it may not see (holds %d, should hold %d)", w.d.Name, skipped, extra, len(got), want)
		}
	}
	if !r.t.Failed() {
		r.t.Logf("%d revisions written; every device holds all it may see", len(union))
	}
}

func (r *rig) repaired() int {
	n := 0
	for _, w := range r.workers {
		w.mu.Lock()
		n += w.repaired
		w.mu.Unlock()
	}
	return n
}

// TestFailoverSynchronous: a synchronous standby, the primary crashed
// under load and the standby promoted: nothing acknowledged is lost,
// nothing skipped, and both instances write again within 3 s of the
// promotion, with no restart.
func TestFailoverSynchronous(t *testing.T) {
	r := newRig(t, rigOptions{synchronous: true})
	begin := time.Now()
	stop := r.loops()
	r.writersPushedSince(begin, 30*time.Second, "every writer to push")
	r.waitUntil(30*time.Second, "3 s of syncing", func() bool { return time.Since(begin) >= 3*time.Second })
	r.primary.Crash()
	acked := r.acked()
	promoted := time.Now()
	r.standby.Promote()
	if n := missing(acked, stored(t, r.standby)); n > 0 {
		t.Errorf("the promoted standby lacks %d of %d acknowledged revisions", n, len(acked))
	}
	// Both instances write again (each has writers pinned to it).
	back := r.waitUntil(30*time.Second, "both instances to acknowledge a push after the promotion", func() bool {
		for _, w := range r.workers[:2] {
			if _, ok := w.pushedSince(promoted); !ok {
				return false
			}
		}
		return true
	})
	t.Logf("writes back on both instances %s after the promotion", back.Round(time.Millisecond))
	if back > 3*time.Second {
		t.Errorf("writes came back %s after the promotion, want within 3 s", back)
	}
	r.writersPushedSince(time.Now(), 30*time.Second, "every writer to push again")
	r.waitUntil(30*time.Second, "8 s of syncing", func() bool { return time.Since(begin) >= 8*time.Second })
	stop()
	r.heal(r.standby)
	if n := queryInt(t, r.standby, "SELECT count(*) FROM timelines WHERE new_epoch <> ''"); n != 0 {
		t.Logf("a new epoch was given (a pull read a commit the standby had not yet confirmed): devices repaired %d", r.repaired())
	}
}

// TestFailoverAsynchronousLoss: an asynchronous standby held behind (its
// WAL proxy frozen) while devices push; the primary crashes and the
// standby is promoted, losing acknowledged revisions. The instances find
// the loss (what they handed out is above where the new timeline began),
// give a new epoch, and the devices push back what the server lost: every
// device ends with every revision.
func TestFailoverAsynchronousLoss(t *testing.T) {
	r := newRig(t, rigOptions{proxied: true})
	r.alarms = true // the log lost entries: every device's audit says so
	for _, w := range r.workers {
		w.alarms = true
	}
	begin := time.Now()
	stop := r.loops()
	r.writersPushedSince(begin, 30*time.Second, "every writer to push")
	r.proxy.Freeze()
	held := time.Now()
	r.writersPushedSince(held, 30*time.Second, "every writer to push while the standby is held back")
	stop()
	acked := r.acked()
	r.primary.Crash()
	r.standby.Promote()
	lost := missing(acked, stored(t, r.standby))
	if lost == 0 {
		t.Fatalf("no acknowledged revision was lost: the standby was not held back, and the test shows nothing")
	}
	t.Logf("the promotion lost %d of %d acknowledged revisions", lost, len(acked))
	promoted := time.Now()
	stop = r.loops()
	r.writersPushedSince(promoted, 30*time.Second, "every writer to push after the promotion")
	stop()
	r.heal(r.standby)
	if n := queryInt(t, r.standby, "SELECT count(*) FROM timelines WHERE new_epoch <> ''"); n == 0 {
		t.Errorf("the instances did not give a new epoch after losing acknowledged revisions")
	}
	if r.repaired() < lost {
		t.Errorf("the devices pushed back %d revisions, the failover lost %d", r.repaired(), lost)
	}
}

// TestFailoverFrozenPrimary: the primary hangs (SIGSTOP), the standby is
// promoted, and the old primary comes back (SIGCONT) still a primary, on
// the old timeline. No request is served by it: connections to it are
// dropped, transactions that were under way on it roll back or, committed
// there, run again on the new primary; nothing is acknowledged from it.
func TestFailoverFrozenPrimary(t *testing.T) {
	// The standby first in the URL: a new connection then finds the new
	// primary without waiting out a connect timeout on the frozen host.
	r := newRig(t, rigOptions{synchronous: true, standbyFirst: true})
	begin := time.Now()
	stop := r.loops()
	r.writersPushedSince(begin, 30*time.Second, "every writer to push")
	r.primary.Freeze(r.standby)
	r.standby.Promote()
	r.waitUntil(10*time.Second, "both instances to see the new timeline", func() bool {
		return metric(r.servers[0], "fieldcased_db_timeline") == 2 && metric(r.servers[1], "fieldcased_db_timeline") == 2
	})
	r.primary.Thaw()
	thawed := time.Now()
	r.writersPushedSince(thawed, 30*time.Second, "every writer to push after the thaw")
	stop()
	fenced := metric(r.servers[0], "fieldcased_db_fenced_total") + metric(r.servers[1], "fieldcased_db_fenced_total")
	if fenced <= 0 {
		t.Errorf("no connection to the old primary was refused (fenced %v): the test did not reach it", fenced)
	}
	r.heal(r.standby)
	if n := r.repaired(); n != 0 {
		t.Errorf("devices had to push back %d revisions: something was acknowledged from the old primary", n)
	}
	// The old primary holds nothing acknowledged that the new one lacks.
	acked := r.acked()
	if n := missing(acked, stored(t, r.standby)); n > 0 {
		t.Errorf("the new primary lacks %d acknowledged revisions", n)
	}
	t.Logf("%v connections or transactions refused on the old primary", fenced)
}
