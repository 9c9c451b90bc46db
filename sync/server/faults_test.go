package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// outbox makes a case with n revisions in all: new notes and edits of them.
func outbox(w *servertest.Writer, n int) []*record.Revision {
	revs := w.NewCase("C1")
	var last *record.Revision
	for len(revs) < n {
		if last != nil && len(revs)%3 == 0 {
			last = w.Rev(record.KindNote, "C1", last.RecordID, last)
		} else {
			last = w.Rev(record.KindNote, "C1", record.NewID())
		}
		revs = append(revs, last)
	}
	return revs
}

// drain pushes the outbox the way a device does: in batches, retrying
// failures, dropping what is acknowledged (by its result, or by acked_seq
// when an answer was lost).
func drain(ctx context.Context, c *servertest.Client, box []*record.Revision) error {
	for attempt := 0; len(box) > 0; attempt++ {
		if attempt > 2000 {
			return fmt.Errorf("outbox not empty after %d attempts (%d left)", attempt, len(box))
		}
		batch := box[:min(10, len(box))]
		resp, err := c.Push(ctx, nil, batch...)
		if err != nil {
			// Lost answer, 503, cut body: learn acked_seq from a pull.
			if hdr, _, err := c.Pull(ctx, "", 1); err == nil {
				box = dropAcked(box, hdr.AckedSeq, nil)
			}
			continue
		}
		done := map[record.RevID]bool{}
		for _, r := range resp.Results {
			if r.Acknowledged() {
				done[r.Rev] = true
			} else if r.Status != protocol.StatusMissingParent {
				return fmt.Errorf("push result %+v", r)
			}
		}
		box = dropAcked(box, resp.AckedSeq, done)
	}
	return nil
}

func dropAcked(box []*record.Revision, acked uint64, done map[record.RevID]bool) []*record.Revision {
	var out []*record.Revision
	for _, r := range box {
		if r.Seq > acked && !done[r.Rev] {
			out = append(out, r)
		}
	}
	return out
}

func changeCount(t *testing.T, st server.Store) uint64 {
	var n uint64
	if err := st.View(t.Context(), func(tx server.Tx) (err error) { n, err = tx.LastChangeSeq(); return }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Sync through a proxy that drops requests and answers, answers 503 and
// cuts bodies: every revision arrives once, the device's outbox empties, and
// another device pulls everything.
func TestSyncThroughFaults(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	direct, w := e.device("ada")
	reader, _ := e.device("ada")
	p, err := faultproxy.New(faultproxy.Config{Target: e.http.URL, Seed: 42,
		DropRequest: 0.1, DropResponse: 0.2, Unavailable: 0.1, RetryAfter: 0.5, Truncate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	viaProxy := *direct
	viaProxy.BaseURL, viaProxy.HTTP = p.URL(), nil
	box := outbox(w, 300)
	if err := drain(t.Context(), &viaProxy, box); err != nil {
		t.Fatal(err)
	}

	if n := changeCount(t, e.store); n != uint64(len(box)) {
		t.Errorf("change log has %d entries, want %d (each revision once)", n, len(box))
	}
	counts := p.Counts()
	if counts.DroppedResp == 0 || counts.DroppedReq == 0 || counts.Unavailable == 0 || counts.Truncated == 0 {
		t.Errorf("the proxy injected too little: %+v", counts)
	}

	// Pull through the proxy too, retrying failed pages from the last
	// saved cursor.
	readerViaProxy := *reader
	readerViaProxy.BaseURL, readerViaProxy.HTTP = p.URL(), nil
	got := map[record.RevID]bool{}
	cursor := ""
	for attempt := 0; ; attempt++ {
		if attempt > 2000 {
			t.Fatal("pull did not finish")
		}
		hdr, revs, err := readerViaProxy.Pull(t.Context(), cursor, 20)
		if err != nil {
			continue
		}
		for _, r := range revs {
			got[r.Rev] = true
		}
		cursor = hdr.NextCursor
		if !hdr.HasMore {
			break
		}
	}
	for _, r := range box {
		if !got[r.Rev] {
			t.Fatalf("revision %s never pulled", r.Rev.Short())
		}
	}
}

// Two sync workers of one device push the same outbox at once: nothing is
// stored twice and the ack covers it all.
func TestConcurrentPushers(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	box := outbox(w, 200)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- drain(t.Context(), c, box)
		}()
	}
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := changeCount(t, e.store); n != uint64(len(box)) {
		t.Errorf("change log has %d entries, want %d", n, len(box))
	}
	hdr, _, err := c.Pull(t.Context(), "", 1)
	if err != nil || hdr.AckedSeq != uint64(len(box)) {
		t.Errorf("acked_seq = %d, %v; want %d", hdr.AckedSeq, err, len(box))
	}
}
