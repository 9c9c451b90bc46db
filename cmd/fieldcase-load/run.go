package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

// Result is one run's figures.
type Result struct {
	Backend      string         `json:"backend"`
	Devices      int            `json:"devices"`
	Teams        int            `json:"teams"`
	Seconds      float64        `json:"seconds"`
	Rounds       int            `json:"rounds"`
	Stored       int64          `json:"revisions_stored"`
	StoredPerSec float64        `json:"revisions_per_second"`
	Pulled       int64          `json:"revisions_pulled"`
	PushP50      float64        `json:"push_p50_ms"`
	PushP99      float64        `json:"push_p99_ms"`
	PullP50      float64        `json:"pull_p50_ms"`
	PullP99      float64        `json:"pull_p99_ms"`
	Pushes       int            `json:"pushes"`
	Pulls        int            `json:"pulls"`
	ServerCPU    float64        `json:"server_cpu_cores"`
	ServerRSSMiB float64        `json:"server_rss_max_mib"`
	PostgresCPU  float64        `json:"postgres_cpu_cores"`
	Errors       int            `json:"errors"`
	ErrorKinds   map[string]int `json:"error_kinds,omitempty"`
	EnrolSeconds float64        `json:"enrol_seconds"`
	Verdict      *Verdict       `json:"verify,omitempty"` // --verify
}

func (r *Result) print(w io.Writer) {
	fmt.Fprintf(w, "backend %s, %d devices in %d teams, %.0fs: %d rounds, %d pushes, %d pulls\n",
		r.Backend, r.Devices, r.Teams, r.Seconds, r.Rounds, r.Pushes, r.Pulls)
	fmt.Fprintf(w, "stored %d revisions (%.0f/s), pulled %d\n", r.Stored, r.StoredPerSec, r.Pulled)
	fmt.Fprintf(w, "push p50 %.1f ms p99 %.1f ms; pull p50 %.1f ms p99 %.1f ms\n", r.PushP50, r.PushP99, r.PullP50, r.PullP99)
	fmt.Fprintf(w, "server CPU %.2f cores, RSS max %.0f MiB; postgres CPU %.2f cores\n", r.ServerCPU, r.ServerRSSMiB, r.PostgresCPU)
	fmt.Fprintf(w, "errors %d", r.Errors)
	keys := make([]string, 0, len(r.ErrorKinds))
	for k := range r.ErrorKinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "\n  %d× %s", r.ErrorKinds[k], k)
	}
	fmt.Fprintln(w)
	if r.Verdict != nil {
		r.Verdict.print(w)
	}
}

// device is one simulated laptop.
type device struct {
	c      *servertest.Client
	id     string
	seq    uint64
	cases  []string
	recent []*record.Revision // this device's latest revisions, to edit
	cursor string
	l      *ledger // --verify
	logKey string  // the server's log key, pinned at enrolment
	// outbox is a batch the server did not acknowledge (the push failed):
	// pushed again, as it is, next round. A real device keeps such
	// revisions in its outbox; giving their numbers to new ones would lose
	// them unseen if the server had stored them before the failure.
	outbox []*record.Revision
}

// rev makes the device's next revision: a new note, or (one time in five)
// an edit of one of its recent revisions.
func (d *device) rev(body int, kind record.Kind, caseID, recordID string, parent *record.Revision) *record.Revision {
	d.seq++
	b := make([]byte, body)
	rand.Read(b)
	r := &record.Revision{RecordID: recordID, Kind: kind, CaseID: caseID, Generation: 1,
		HLC: record.HLC(uint64(time.Now().UnixMilli())<<16 | d.seq&0xffff), Device: d.id, Seq: d.seq, Body: b}
	if kind == record.KindKeyring {
		r.Body = sealed.Keyring{Epoch: 1, Wrapped: b}.Marshal()
	}
	if parent != nil {
		r.Parents = []record.RevID{parent.Rev}
		r.Generation = parent.Generation + 1
	}
	r.Seal()
	r.Sign(d.c.Identity.Sign)
	return r
}

func (d *device) batch(n, body int, rng *mrand.Rand) []*record.Revision {
	var out []*record.Revision
	if len(d.cases) == 0 || (len(d.cases) < 3 && rng.IntN(10) == 0) {
		caseID := record.NewID()
		d.cases = append(d.cases, caseID)
		out = append(out, d.rev(body, record.KindKeyring, caseID, record.KeyringID(caseID, 1), nil), d.rev(body, record.KindCase, caseID, caseID, nil))
	}
	for len(out) < n {
		caseID := d.cases[rng.IntN(len(d.cases))]
		var r *record.Revision
		if len(d.recent) > 0 && rng.IntN(5) == 0 {
			i := rng.IntN(len(d.recent))
			p := d.recent[i]
			r = d.rev(body, p.Kind, p.CaseID, p.RecordID, p)
			d.recent[i] = r
		} else {
			r = d.rev(body, record.KindNote, caseID, record.NewID(), nil)
			if len(d.recent) < 20 {
				d.recent = append(d.recent, r)
			} else {
				d.recent[rng.IntN(len(d.recent))] = r
			}
		}
		out = append(out, r)
	}
	return out
}

// recorder collects latencies and errors from every device.
type recorder struct {
	mu         sync.Mutex
	push, pull []time.Duration
	errs       map[string]int
	stored     atomic.Int64
	pulled     atomic.Int64
	rounds     atomic.Int64
}

func (r *recorder) add(push bool, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if push {
		r.push = append(r.push, d)
	} else {
		r.pull = append(r.pull, d)
	}
}

func (r *recorder) fail(what string, err error) {
	kind := err.Error()
	var se *servertest.StatusError
	if errors.As(err, &se) {
		kind = fmt.Sprintf("HTTP %d %s", se.Status, se.Code)
	} else if i := strings.LastIndex(kind, ": "); i >= 0 {
		kind = kind[i+2:]
	}
	r.mu.Lock()
	r.errs[what+": "+kind]++
	r.mu.Unlock()
}

func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p)
	return float64(ds[i].Microseconds()) / 1000
}

// enrol makes the teams and users through the admin socket and enrols every
// device over HTTP.
func enrol(ctx context.Context, c *CLI, t *target, hc *http.Client) ([]*device, error) {
	adm, err := server.DialAdmin(ctx, filepath.Join(t.dir, server.AdminSocketName))
	if err != nil {
		return nil, fmt.Errorf("admin socket of the server: %w", err)
	}
	run := fmt.Sprintf("%04x", mrand.Uint32()&0xffff)
	users := c.Devices / 2
	// An agency key of this run's own, on the fresh server it started.
	agency, err := servertest.NewAgency()
	if err != nil {
		return nil, err
	}
	if err := adm.Exec(ctx, server.AdminRequest{Op: server.OpAgencySet, Key: agency.Public()}, nil); err != nil {
		return nil, fmt.Errorf("installing the agency key: %w", err)
	}
	var statements []trust.Signed
	for tm := range c.Teams {
		statements = append(statements, agency.Team(fmt.Sprintf("load-%s-team-%d", run, tm), fmt.Sprintf("load-%s-team-%d", run, tm)))
	}
	if err := adm.Exec(ctx, server.AdminRequest{Op: server.OpStatementsAdd, Statements: statements}, nil); err != nil {
		return nil, fmt.Errorf("adding the teams: %w", err)
	}
	devs := make([]*device, c.Devices)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for u := range users {
		team := u % c.Teams
		role := trust.RoleCaseworker
		if u < c.Teams {
			role = trust.RoleSupervisor
		}
		name := fmt.Sprintf("load-%s-user-%d", run, u)
		user := agency.User(name, name, role, fmt.Sprintf("load-%s-team-%d", run, team))
		if err := adm.Exec(ctx, server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{user}}, nil); err != nil {
			return nil, fmt.Errorf("adding a user: %w", err)
		}
		for k := range 2 {
			i := u*2 + k
			if i >= c.Devices {
				break
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				code, grant := agency.Grant(name, time.Hour)
				err := adm.Exec(ctx, server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{grant}}, nil)
				var (
					cl  *servertest.Client
					enr protocol.EnrollResponse
				)
				id := fmt.Sprintf("load-%s-dev-%d", run, i)
				if err == nil {
					cl, enr, err = servertest.Enroll(ctx, t.url, hc, code.String(), id)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("enrolling device %d: %w", i, err)
				}
				devs[i] = &device{c: cl, id: id, logKey: enr.LogKey}
			}()
		}
	}
	wg.Wait()
	return devs, firstErr
}

func run(ctx context.Context, c *CLI, t *target, stderr io.Writer) (*Result, error) {
	// One connection pool for all devices, as large as the device count:
	// each device would have its own connection.
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        c.Devices * 2,
		MaxIdleConnsPerHost: c.Devices * 2,
		IdleConnTimeout:     time.Minute,
	}}
	backend := "bbolt"
	switch {
	case c.Server != "":
		backend = backendOf(ctx, hc, c.Server)
	case c.DB != "":
		backend = "postgres"
	}
	start := time.Now()
	fmt.Fprintf(stderr, "enrolling %d devices …\n", c.Devices)
	devs, err := enrol(ctx, c, t, hc)
	if err != nil {
		return nil, err
	}
	enrolTime := time.Since(start)
	fmt.Fprintf(stderr, "enrolled in %s; loading for %s …\n", enrolTime.Round(time.Millisecond), c.Duration)

	rec := &recorder{errs: map[string]int{}}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var rssMax atomic.Int64
	go func() {
		for ctx.Err() == nil {
			if t.pid > 0 {
				if v := procRSS(t.pid); v > rssMax.Load() {
					rssMax.Store(v)
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	cpu0, pg0 := procCPU(t.pid), postgresCPU()
	loadStart := time.Now()
	var wg sync.WaitGroup
	for i, d := range devs {
		d.c.HTTP = hc
		if c.Verify {
			d.l = newLedger(i, c.Teams)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			// Spread the first rounds over one interval.
			if c.Interval > 0 && !sleep(ctx, time.Duration(rng.Int64N(int64(c.Interval)))) {
				return
			}
			for ctx.Err() == nil {
				round(ctx, c, d, rng, rec)
				if c.Interval > 0 {
					wait := c.Interval/2 + time.Duration(rng.Int64N(int64(c.Interval)))
					if !sleep(ctx, wait) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(loadStart)
	cpu, pg := procCPU(t.pid)-cpu0, postgresCPU()-pg0
	res := &Result{
		Backend: backend, Devices: c.Devices, Teams: c.Teams, Seconds: elapsed.Seconds(),
		Rounds: int(rec.rounds.Load()), Stored: rec.stored.Load(), Pulled: rec.pulled.Load(),
		StoredPerSec: float64(rec.stored.Load()) / elapsed.Seconds(),
		PushP50:      pct(rec.push, 0.50), PushP99: pct(rec.push, 0.99),
		PullP50: pct(rec.pull, 0.50), PullP99: pct(rec.pull, 0.99),
		Pushes: len(rec.push), Pulls: len(rec.pull),
		ServerCPU: cpu.Seconds() / elapsed.Seconds(), ServerRSSMiB: float64(rssMax.Load()) / (1 << 20),
		ErrorKinds: rec.errs, EnrolSeconds: enrolTime.Seconds(),
	}
	if c.DB != "" {
		res.PostgresCPU = pg.Seconds() / elapsed.Seconds()
	}
	for _, n := range rec.errs {
		res.Errors += n
	}
	if c.Verify {
		fmt.Fprintf(stderr, "verifying every device …\n")
		v, err := verify(context.WithoutCancel(ctx), devs)
		if err != nil {
			return res, err
		}
		res.Verdict = v
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// round is one sync: a push, then pulls until nothing more. A request cut
// by the end of the run is not an error.
func round(ctx context.Context, c *CLI, d *device, rng *mrand.Rand, rec *recorder) {
	revs := d.outbox
	if revs == nil {
		revs = d.batch(c.Batch, c.Body, rng)
	}
	d.outbox = revs
	t0 := time.Now()
	resp, err := d.c.Push(ctx, nil, revs...)
	if ctx.Err() != nil {
		return
	}
	rec.add(true, time.Since(t0))
	if err != nil {
		rec.fail("push", err)
		var se *servertest.StatusError
		if errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusTooManyRequests {
			d.outbox = nil // refused as a whole: sending it again would not help
		}
		return
	}
	d.outbox = nil
	if d.l != nil {
		d.l.ack(revs, resp.Results)
		if d.l.wentBack(resp.AckedSeq) {
			if err := d.repair(ctx); err != nil && ctx.Err() == nil {
				rec.fail("repair", err)
			}
			return
		}
	}
	for _, r := range resp.Results {
		switch r.Status {
		case protocol.StatusStored:
			rec.stored.Add(1)
		case protocol.StatusPresent:
		default:
			rec.fail("push", fmt.Errorf("%s %s", r.Status, r.Reason))
		}
	}
	for range 1000 {
		t0 := time.Now()
		hdr, pulled, err := d.c.Pull(ctx, d.cursor, c.PullLimit)
		if ctx.Err() != nil {
			return
		}
		rec.add(false, time.Since(t0))
		if err != nil {
			rec.fail("pull", err)
			if d.l != nil && gone(err) {
				if err := d.repair(ctx); err != nil && ctx.Err() == nil {
					rec.fail("repair", err)
				}
			}
			return
		}
		rec.pulled.Add(int64(len(pulled)))
		if d.l != nil {
			d.l.pulledPage(pulled, hdr.Indexes)
			if d.l.wentBack(hdr.AckedSeq) {
				if err := d.repair(ctx); err != nil && ctx.Err() == nil {
					rec.fail("repair", err)
				}
				return
			}
		}
		d.cursor = hdr.NextCursor
		if !hdr.HasMore {
			break
		}
	}
	if d.l != nil {
		back, err := d.logWentBack(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			rec.fail("log", err)
		} else if back {
			if err := d.repair(ctx); err != nil && ctx.Err() == nil {
				rec.fail("repair", err)
			}
			return
		}
	}
	rec.rounds.Add(1)
}
