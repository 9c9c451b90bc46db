package client_test

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/transparency"
)

// counter is a pass-through proxy that counts request and response bytes.
type counter struct{ up, down atomic.Int64 }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *counter) proxy(target string) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		if r.Body != nil {
			r.Body = countingBody{r.Body, &c.up}
		}
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		resp.Body = countingBody{resp.Body, &c.down}
		return nil
	}
	return &http.Server{Handler: rp}
}

// BenchmarkSync: the issue-3 figures, on loopback and at 50 ms round trip.
// Targets: 10,000 records each way < 1 s on loopback and < 3 s at 50 ms,
// 100 changes < 30 ms, a no-op < 10 ms.
func BenchmarkSync(b *testing.B) {
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("rtt=%s", rtt), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchSync(b, rtt)
			}
		})
	}
}

func benchSync(b *testing.B, rtt time.Duration) {
	s := syncharness.StartServer(b)
	url := s.URL
	if rtt > 0 {
		p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1, Latency: rtt})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		url = p.URL()
	}
	var c counter
	_, curl := serveB(b, c.proxy(url))
	a := s.NewDevice("a", curl, "ada", "caseworker", "north")
	d := s.NewDevice("b", curl, "sup", "supervisor", "north")
	caseID := newCaseB(b, a, "BENCH-1")
	text := demo.Prose(1000, 11)
	var ids []string
	err := a.V.Update(func(tx *store.Tx) error {
		for i := 0; i < 10000; i++ {
			id, err := tx.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-20", Text: fmt.Sprintf("%d %s", i, text)})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	revs, _ := a.V.Outbox(0)
	sealed := 0
	for _, r := range revs {
		sealed += len(r.Body)
	}

	c.up.Store(0)
	c.down.Store(0)
	t0 := time.Now()
	sum := a.MustSync()
	push := time.Since(t0)
	upBytes := c.up.Load()
	t0 = time.Now()
	got := d.MustSync()
	pull := time.Since(t0)
	downBytes := c.down.Load()
	if got.Pulled < 10000 || sum.Pushed < 10000 {
		b.Fatalf("pushed %d, pulled %d", sum.Pushed, got.Pulled)
	}

	for i := 0; i < 100; i++ {
		it, err := a.V.Note(ids[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := a.V.EditNote(ids[i], []record.RevID{it.Rev}, record.Note{Kind: "phone", Date: "2026-11-21", Text: "changed " + text[:500]}); err != nil {
			b.Fatal(err)
		}
	}
	t0 = time.Now()
	a.MustSync()
	incPush := time.Since(t0)
	t0 = time.Now()
	if n := d.MustSync().Pulled; n != 100 {
		b.Fatalf("incremental pulled %d", n)
	}
	incPull := time.Since(t0)
	t0 = time.Now()
	a.MustSync()
	noop := time.Since(t0)

	// What the signatures cost: every pushed revision is verified by the
	// server and every pulled one by the device (as in the sync above: on
	// every core, before the transaction), and signed once when written.
	// Measured here on the same 10,000 revisions, in this process; the
	// ratio is the sync as measured against the sync without that work.
	id, _ := a.V.Identity()
	pub := id.SigningPublicKey()
	t0 = time.Now()
	ok := record.VerifySigs(revs, func(*record.Revision) ed25519.PublicKey { return pub })
	verify := time.Since(t0)
	for i, v := range ok {
		if !v {
			b.Fatalf("revision %d does not verify", i)
		}
	}
	t0 = time.Now()
	for _, r := range revs {
		id.Sign(r.SignedMessage())
	}
	sign := time.Since(t0)

	// What the log costs the devices: the same 10,000 notes pushed and
	// pulled by a second pair of devices that skip the log's checks (the
	// server logs both; its own cost is sync/server's BenchmarkLog).
	var logX, followDown, bareDown float64
	if rtt == 0 {
		a2 := s.NewDevice("a2", curl, "ada2", "caseworker", "south")
		d2 := s.NewDevice("b2", curl, "sup2", "supervisor", "south")
		client.SkipLog(a2.Syncer)
		client.SkipLog(d2.Syncer)
		case2 := newCaseB(b, a2, "BENCH-2")
		if err := a2.V.Update(func(tx *store.Tx) error {
			for i := 0; i < 10000; i++ {
				if _, err := tx.AddNote(case2, record.Note{Kind: "visit", Date: "2026-11-20", Text: fmt.Sprintf("%d %s", i, text)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		d.MustSync() // sup's laptop follows the log to here first
		c.down.Store(0)
		t0 = time.Now()
		a2.MustSync()
		d2.MustSync()
		bare := time.Since(t0)
		bareDown = float64(c.down.Load()) / 10000
		logX = float64(push+pull) / float64(bare)
		// sup's laptop (north, with the log) now reads a2's 10,000 entries
		// as leaves (a south case): the follow's own traffic.
		c.down.Store(0)
		d.MustSync()
		followDown = float64(c.down.Load()) / 10000
	}

	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	if rtt == 0 {
		b.ReportMetric(logX, "log-x")
		b.ReportMetric(followDown, "leaf-down-B/entry")
		b.ReportMetric(float64(len(transparency.RevisionEntry(revs[0]).Marshal())), "entry-B")
		b.ReportMetric(bareDown, "wire-down-nolog-B/rec")
		b.ReportMetric(ms(2*verify), "verify10k-ms")
		b.ReportMetric(ms(sign), "sign10k-ms")
		b.ReportMetric(float64(push+pull)/float64(push+pull-2*verify), "sig-x")
	}
	b.ReportMetric(ms(push), "push10k-ms")
	b.ReportMetric(ms(pull), "pull10k-ms")
	b.ReportMetric(ms(incPush+incPull), "incr100-ms")
	b.ReportMetric(ms(noop), "noop-ms")
	b.ReportMetric(float64(sealed)/float64(len(revs)), "sealed-B/rec")
	b.ReportMetric(float64(upBytes)/float64(len(revs)), "wire-up-B/rec")
	b.ReportMetric(float64(downBytes)/float64(len(revs)), "wire-down-B/rec")
	b.ReportMetric(float64(upBytes)/float64(sealed), "up/sealed")
}

func newCaseB(b *testing.B, d *syncharness.Device, ref string) string {
	id, err := d.V.CreateCase(record.Case{Ref: ref, Subject: "Bench " + strings.ToLower(ref)})
	if err != nil {
		b.Fatal(err)
	}
	return id
}
