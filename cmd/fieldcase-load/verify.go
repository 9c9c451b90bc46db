package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/transparency"
)

// Verification (--verify): every device keeps what the server acknowledged
// to it and what it pulled. When the server goes back on what it
// acknowledged (acked_seq lower than it was, or 410 Gone: a failover that
// lost changes, a restore), the device repairs as the real client does:
// pull from the start, ask which of its acknowledged revisions the server
// lacks (revs-diff), push them back. At the end each device pulls what is
// left, and the run checks, per device, that the server holds every
// revision it acknowledged (nothing lost) and that the device pulled every
// revision it may see that others were acknowledged (nothing skipped).
//
// acked_seq alone cannot show every going back: a device whose own
// revisions all survived sees the same acked_seq, while its pull cursor
// may point past changes the server now numbers anew, and the others' new
// writes may overtake that cursor before it pulls. So a device also checks
// the server's transparency log at the end of every round, as the real
// client does (sync/client/logaudit.go): the newest checkpoint must extend
// the last one it kept, and still hold, where it was, the last revision it
// pulled. Either failing means the log went back: the device repairs.

// ledger is one device's record of the run.
type ledger struct {
	user, team int
	super      bool
	acked      []*record.Revision // in push order: parents first
	ackedSet   map[record.RevID]bool
	pulled     map[record.RevID]bool
	mark       uint64 // the highest acked_seq the server gave
	repairs    int    // times it repaired
	repaired   int    // revisions it pushed back

	cp       transparency.Checkpoint // the last checkpoint kept (Size 0: none yet)
	seen     transparency.Entry      // the last revision pulled, and its log index
	seenAt   int64
	seenSome bool
}

func newLedger(i, teams int) *ledger {
	u := i / 2
	return &ledger{user: u, team: u % teams, super: u < teams, ackedSet: map[record.RevID]bool{}, pulled: map[record.RevID]bool{}}
}

// sees reports whether a device of l is handed what a device of o writes:
// the same user's, or, for a supervisor, the team's.
func (l *ledger) sees(o *ledger) bool {
	return l.user == o.user || (l.super && l.team == o.team)
}

func (l *ledger) ack(revs []*record.Revision, results []protocol.PushResult) {
	for i, r := range results {
		if i < len(revs) && (r.Status == protocol.StatusStored || r.Status == protocol.StatusPresent) && !l.ackedSet[revs[i].Rev] {
			l.ackedSet[revs[i].Rev] = true
			l.acked = append(l.acked, revs[i])
		}
	}
}

// pulledPage notes what a pull page handed over.
func (l *ledger) pulledPage(revs []*record.Revision, indexes []int64) {
	for i, r := range revs {
		l.pulled[r.Rev] = true
		if i < len(indexes) && indexes[i] >= 0 && (!l.seenSome || indexes[i] > l.seenAt) {
			l.seen, l.seenAt, l.seenSome = transparency.RevisionEntry(r), indexes[i], true
		}
	}
}

// logWentBack reads the server's newest checkpoint and reports whether its
// log no longer extends the last one kept, or no longer holds the last
// revision pulled where it was: the server went back (a restore, a
// failover that lost commits). The checkpoint is kept either way: after a
// repair, the log the device is shown is the one it follows.
func (d *device) logWentBack(ctx context.Context) (bool, error) {
	l := d.l
	if d.logKey == "" {
		return false, nil
	}
	var resp protocol.LogResponse
	if err := retry(ctx, func() (err error) { resp, err = d.c.Log(ctx, l.cp.Size); return err }); err != nil {
		return false, fmt.Errorf("reading the log: %w", err)
	}
	cp, _, err := transparency.Open(resp.Checkpoint, d.logKey)
	if err != nil {
		return false, fmt.Errorf("the server's checkpoint: %w", err)
	}
	prev := l.cp
	l.cp = cp
	if prev.Size > 0 && transparency.CheckConsistency(prev, cp, resp.Consistency) != nil {
		return true, nil
	}
	if !l.seenSome {
		return false, nil
	}
	if l.seenAt >= cp.Size {
		return true, nil
	}
	var pr protocol.ProofsResponse
	if err := retry(ctx, func() (err error) { pr, err = d.c.Proofs(ctx, cp.Size, l.seenAt); return err }); err != nil {
		return false, fmt.Errorf("proving the last revision pulled: %w", err)
	}
	if len(pr.Proofs) != 1 {
		return false, fmt.Errorf("proving the last revision pulled: %d proofs for one entry", len(pr.Proofs))
	}
	return transparency.CheckInclusion(cp, l.seenAt, l.seen, pr.Proofs[0]) != nil, nil
}

// wentBack takes an acked_seq from the server and reports whether it is
// below what the server said before.
func (l *ledger) wentBack(acked uint64) bool {
	if acked < l.mark {
		return true
	}
	l.mark = acked
	return false
}

// repair pulls from the start next time and pushes back what the server
// lacks of the device's acknowledged revisions.
func (d *device) repair(ctx context.Context) error {
	l := d.l
	l.repairs++
	d.cursor = ""
	l.seenSome = false // of the log that went back
	var lacks []record.RevID
	for chunk := range slices.Chunk(l.acked, protocol.MaxDiffRevs) {
		ids := make([]record.RevID, len(chunk))
		for i, r := range chunk {
			ids[i] = r.Rev
		}
		var missing []record.RevID
		err := retry(ctx, func() (err error) { missing, err = d.c.RevsDiff(ctx, ids); return err })
		if err != nil {
			return fmt.Errorf("revs-diff: %w", err)
		}
		lacks = append(lacks, missing...)
	}
	want := map[record.RevID]bool{}
	for _, id := range lacks {
		want[id] = true
	}
	var back []*record.Revision
	for _, r := range l.acked {
		if want[r.Rev] {
			back = append(back, r)
		}
	}
	for chunk := range slices.Chunk(back, protocol.MaxPushRevisions) {
		var resp protocol.PushResponse
		if err := retry(ctx, func() (err error) { resp, err = d.c.Push(ctx, nil, chunk...); return err }); err != nil {
			return fmt.Errorf("pushing back: %w", err)
		}
		for i, r := range resp.Results {
			if i < len(chunk) && r.Status != protocol.StatusStored && r.Status != protocol.StatusPresent {
				return fmt.Errorf("pushing back %s: %s %s", chunk[i].Rev, r.Status, r.Reason)
			}
		}
		l.repaired += len(chunk)
	}
	l.mark = 0 // what the server says next is the new mark
	return nil
}

// retry runs fn until it succeeds, answers 410 (the caller repairs) or a
// 4xx, or a minute has passed: at the end of a run the server may be
// restarting or failing over.
func retry(ctx context.Context, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		err := fn()
		var se *servertest.StatusError
		if err == nil || (errors.As(err, &se) && se.Status < 500) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// gone reports whether err is the server's 410.
func gone(err error) bool {
	var se *servertest.StatusError
	return errors.As(err, &se) && se.Status == http.StatusGone
}

// Verdict is what --verify found.
type Verdict struct {
	Acknowledged int `json:"acknowledged"`
	Lost         int `json:"lost"`    // acknowledged, and not on the server at the end
	Skipped      int `json:"skipped"` // on the server, acknowledged to another device this one sees, never pulled
	Repairs      int `json:"repairs"` // device repairs run (the server went back)
	Repaired     int `json:"repaired"`
	Devices      int `json:"devices_checked"`
}

// verify lets every device catch up, then checks the ledgers.
func verify(ctx context.Context, devs []*device) (*Verdict, error) {
	v := &Verdict{}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// Until a pass repairs nothing: what one device pushes back in its
	// catch-up, the devices before it pull in the next pass.
	for pass := 0; ; pass++ {
		before := 0
		for _, d := range devs {
			before += d.l.repairs
		}
		for _, d := range devs {
			if err := d.catchUp(ctx); err != nil {
				return nil, fmt.Errorf("device %s catching up: %w", d.id, err)
			}
		}
		after := 0
		for _, d := range devs {
			after += d.l.repairs
		}
		if after == before {
			break
		}
		if pass == 10 {
			return nil, errors.New("devices still repairing after 10 passes: the server keeps going back")
		}
	}
	for _, d := range devs {
		l := d.l
		v.Devices++
		v.Acknowledged += len(l.acked)
		v.Repairs += l.repairs
		v.Repaired += l.repaired
		for chunk := range slices.Chunk(l.acked, protocol.MaxDiffRevs) {
			ids := make([]record.RevID, len(chunk))
			for i, r := range chunk {
				ids[i] = r.Rev
			}
			var missing []record.RevID
			err := retry(ctx, func() (err error) { missing, err = d.c.RevsDiff(ctx, ids); return err })
			if err != nil {
				return nil, fmt.Errorf("device %s: revs-diff: %w", d.id, err)
			}
			v.Lost += len(missing)
		}
		for _, o := range devs {
			if o == d || !l.sees(o.l) {
				continue
			}
			for _, r := range o.l.acked {
				if !l.pulled[r.Rev] {
					v.Skipped++
				}
			}
		}
	}
	return v, nil
}

// catchUp pulls until nothing more, repairing on a 410 or a server gone
// back (its acked_seq, or its log).
func (d *device) catchUp(ctx context.Context) error {
	for range 100000 {
		var (
			hdr    protocol.PullHeader
			pulled []*record.Revision
		)
		err := retry(ctx, func() (err error) { hdr, pulled, err = d.c.Pull(ctx, d.cursor, protocol.MaxPullLimit); return err })
		if gone(err) {
			if err := d.repair(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		d.l.pulledPage(pulled, hdr.Indexes)
		if d.l.wentBack(hdr.AckedSeq) {
			if err := d.repair(ctx); err != nil {
				return err
			}
			continue
		}
		d.cursor = hdr.NextCursor
		if hdr.HasMore {
			continue
		}
		back, err := d.logWentBack(ctx)
		if err != nil {
			return err
		}
		if !back {
			return nil
		}
		if err := d.repair(ctx); err != nil {
			return err
		}
	}
	return errors.New("too many pull pages")
}

func (v *Verdict) print(w io.Writer) {
	fmt.Fprintf(w, "verified %d devices: %d revisions acknowledged, %d lost, %d skipped; %d repairs pushed back %d revisions\n",
		v.Devices, v.Acknowledged, v.Lost, v.Skipped, v.Repairs, v.Repaired)
}

// backendOf names a running server's store from its metrics.
func backendOf(ctx context.Context, hc *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+protocol.PathMetrics, nil)
	if err != nil {
		return "unknown"
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return "unknown"
	}
	if strings.Contains(string(b), "fieldcased_db_pool_") {
		return "postgres"
	}
	return "bbolt"
}
