package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// swallowStatements is a proxy in front of target that answers a posted
// statement of kind (a legal hold, a revocation) as if stored, without
// passing it on: the server's operator throws it away, so it is never
// logged and no other laptop ever sees it. It counts what it swallowed.
func swallowStatements(target string, kind trust.Kind, path string, answer func() []byte, swallowed *atomic.Int32) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == path {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				Statement  *trust.Signed `json:"statement"`
				Revocation *trust.Signed `json:"revocation"`
			}
			if json.Unmarshal(body, &req) == nil {
				sg := req.Statement
				if sg == nil {
					sg = req.Revocation
				}
				if sg != nil {
					if st, err := sg.Open(); err == nil && st.Kind == kind {
						swallowed.Add(1)
						w.Header().Set("Content-Type", protocol.MediaJSON)
						w.Write(answer())
						return
					}
				}
			}
		}
		rp.ServeHTTP(w, r)
	})}
}

// pastRetention is a real server under a one-approver retention policy, a
// caseworker (ada) and two supervisors (sam, kim), and a closed case of
// ada's past retention (ref), on every laptop.
func pastRetention(t *testing.T, ref string) (s *syncharness.Server, ada, sam, kim *syncharness.Device, c string) {
	t.Helper()
	s = syncharness.StartServer(t)
	setRetention(t, s, lenientPolicy)
	ada = s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam = s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	kim = s.NewDevice("kim", s.URL, "kim", "supervisor", "north")
	c, err := ada.V.CreateCase(record.Case{Ref: ref, Subject: "Closed, but wanted by a court", Status: record.CaseClosed,
		CaseType: "adult", Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	syncRounds(t, ada, sam, kim)
	return s, ada, sam, kim, c
}

// A supervisor puts a case on legal hold; the server answers "held" and
// throws the hold away, so it is never logged and no other laptop learns
// of it. A second supervisor, who sees no hold, approves the destruction
// (one approval, under the agency's policy), and every other laptop
// destroys the case. The laptop that placed the hold cannot undo that, but
// it must not stay silent: a statement it holds that the server's log does
// not is an alarm, every round until the log holds it.
func TestHoldNeverLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ada, sam, kim, c := pastRetention(t, "HELD-1")

	var swallowed atomic.Int32
	_, url := serve(t, swallowStatements(s.URL, trust.KindHold, protocol.PathLifecycle, func() []byte {
		return []byte(`{"roster_version":1,"held":true}`)
	}, &swallowed))
	kim.UseURL(url)
	hold, err := kim.Syncer.PlaceHold(ctx, kim.V, c, "FD26P00999", "Family Court", "care proceedings")
	if err != nil || swallowed.Load() != 1 {
		t.Fatalf("kim's hold: %v (swallowed %d)", err, swallowed.Load())
	}
	if len(kim.V.Roster().Retention.Active(c)) != 1 {
		t.Fatalf("kim's laptop does not hold its own hold")
	}
	kim.UseURL(s.URL)

	// Sam sees no hold and approves; the case goes everywhere else.
	sam.MustSync()
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, c, "past retention", record.DateOf(time.Now())); err != nil || !gone {
		t.Fatalf("sam's approval: destroyed %v, %v", gone, err)
	}
	if sum := ada.MustSync(); len(sum.Destroyed) != 1 {
		t.Fatalf("ada's round destroyed %+v", sum.Destroyed)
	}

	// Kim's laptop keeps the case (its roster holds the hold) and says
	// that the server never logged the hold, round after round; each
	// round it sends the hold again, and the server throws it away again.
	kim.UseURL(url)
	for i := range 2 {
		sum, err := kim.Sync()
		if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), hold.ID()[:12]) || !strings.Contains(err.Error(), "does not hold") {
			t.Fatalf("kim's round after the server dropped the hold: %v, want a log alarm naming hold %.12s", err, hold.ID())
		}
		if sum.Resent != 1 || swallowed.Load() != int32(i+2) {
			t.Fatalf("round %d: resent %d, swallowed %d", i+1, sum.Resent, swallowed.Load())
		}
	}
	kim.UseURL(s.URL)
	if _, err := kim.V.Case(c); err != nil {
		t.Errorf("kim's laptop, which holds the hold, lost the case: %v", err)
	}
	if ts, _ := kim.V.Destructions(); len(ts) != 0 {
		t.Errorf("kim's laptop destroyed the held case: %+v", ts)
	}
	// Laptops that never held the hold have nothing to say about it.
	if _, err := sam.Sync(); err != nil {
		t.Errorf("sam's round: %v", err)
	}
	if !slices.ContainsFunc(kim.V.Roster().Retention.Holds[c], func(h trust.Hold) bool { return h.ID == hold.ID() }) {
		t.Errorf("kim's roster lost the hold")
	}
	// An operator who stops throwing it away: the round that sends it is
	// still an alarm (the laptop cannot know the server will keep it), the
	// next finds it logged, and other laptops see it.
	if sum, err := kim.Sync(); !errors.Is(err, client.ErrLogAlarm) || sum.Resent != 1 {
		t.Fatalf("kim's round through an honest server: resent %d, %v", sum.Resent, err)
	}
	if sum := kim.MustSync(); sum.Resent != 0 {
		t.Errorf("the hold was sent again though logged: %+v", sum)
	}
	sam.MustSync()
	if !slices.ContainsFunc(sam.V.Roster().Retention.Holds[c], func(h trust.Hold) bool { return h.ID == hold.ID() }) {
		t.Errorf("the hold, once logged, did not reach sam's laptop")
	}
}

// The server is restored, honestly, from a backup taken before a
// supervisor placed a legal hold: the hold is gone from the server and its
// log. The supervisor's laptop says so (the rollback, and the hold the log
// lacks), sends the hold again, and the round after is clean; the other
// supervisor's laptop then holds the hold and cannot approve destroying
// the case.
func TestHoldResentAfterRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, sam, kim, c := pastRetention(t, "HELD-2")
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)
	hold, err := kim.Syncer.PlaceHold(ctx, kim.V, c, "INQ-2026-07", "Public inquiry", "records requested")
	if err != nil {
		t.Fatal(err)
	}
	kim.MustSync()

	s.Kill()
	if err := os.Remove(filepath.Join(s.Dir, "fieldcased.db")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(s.Binary(), "restore", "--from", backup, "--data", s.Dir).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	s.Start()
	// The round tells the rollback first (its root cause); the hold the
	// restored log lacks is sent again in the same round.
	sum, err := kim.Sync()
	if !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("kim's round after the restore: %v, want the rollback told", err)
	}
	if sum.Resent != 1 {
		t.Fatalf("kim resent %d statements, want the hold %.12s", sum.Resent, hold.ID())
	}
	if sum := kim.MustSync(); sum.Resent != 0 {
		t.Errorf("kim resent again: %+v", sum)
	}
	// Sam's laptop may see no rollback at all: the hold sent again is the
	// same statement, logged where it was, so the log it kept is again a
	// prefix of the server's.
	if _, err := sam.Sync(); err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("sam's first round after the restore: %v", err)
	}
	sam.MustSync()
	if len(sam.V.Roster().Retention.Active(c)) != 1 {
		t.Fatalf("sam's laptop does not hold the re-sent hold")
	}
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sam.Syncer.ApproveDestruction(ctx, sam.V, c, "past retention", record.DateOf(time.Now())); !errors.Is(err, client.ErrHeld) {
		t.Errorf("sam's approval of the held case: %v, want ErrHeld", err)
	}
}

// A supervisor revokes a caseworker's stolen laptop; the server answers
// "revoked" and throws the revocation away, so every other laptop keeps
// wrapping case keys to the thief. The revoking laptop says so at its next
// round.
func TestRevocationNeverLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	stolen := s.NewDevice("ada-old", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	syncRounds(t, ada, stolen, sam)

	var swallowed atomic.Int32
	_, url := serve(t, swallowStatements(s.URL, trust.KindRevoke, protocol.PathRevoke, func() []byte { return []byte(`{}`) }, &swallowed))
	sam.UseURL(url)
	rv, err := sam.Syncer.RevokeDevice(ctx, sam.V, stolen.V.DeviceID(), "stolen from a car")
	if err != nil || swallowed.Load() != 1 {
		t.Fatalf("sam's revocation: %v (swallowed %d)", err, swallowed.Load())
	}
	sam.UseURL(s.URL)
	ada.MustSync()
	if ada.V.Roster().Devices[rv.ID].Revoked {
		t.Fatalf("the revocation reached ada's laptop after all")
	}
	_, err = sam.Sync()
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("sam's round after the server dropped the revocation: %v, want a log alarm", err)
	}
}
