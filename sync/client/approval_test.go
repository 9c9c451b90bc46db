package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// keepsCase fails the test unless d still holds case c and destroyed
// nothing.
func keepsCase(t *testing.T, d *syncharness.Device, c string) {
	t.Helper()
	if _, err := d.Sync(); err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("%s's round: %v", d.Name, err)
	}
	if ts, _ := d.V.Destructions(); len(ts) != 0 {
		t.Errorf("%s's laptop destroyed %+v", d.Name, ts)
	}
	if _, err := d.V.Case(c); err != nil {
		t.Errorf("%s's laptop lost the case: %v", d.Name, err)
	}
}

// The agency raises the four-eyes rule (policy version 2: two approvers).
// The server keeps version 2 from Sam's laptop, which still sees version 1
// (one approver). Sam's laptop refuses to approve while its roster lacks a
// statement the log holds; and an approval signed under version 1 all the
// same (sent past that check) destroys nothing anywhere: the newest policy
// asks for two approvers, whatever policy an approval names.
func TestApprovalUnderWithheldPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ada, sam, kim, c := pastRetention(t, "OLD-9")
	setRetention(t, s, strictPolicy) // version 2, two approvers
	syncRounds(t, ada, kim)
	sam.UseURL(rollbackProxy(t, s, trust.KindRetention, "", 2))
	if _, err := sam.Sync(); !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("sam's round without policy version 2: %v, want a log alarm", err)
	}
	if v := sam.V.Roster().Retention.Version; v != 1 {
		t.Fatalf("sam's laptop has policy version %d, want 1 (version 2 kept from it)", v)
	}
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	today := record.DateOf(time.Now())
	if gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, c, "past retention", today); !errors.Is(err, client.ErrBehindLog) || gone {
		t.Fatalf("sam's approval with a statement kept from the laptop: destroyed %v, %v; want ErrBehindLog", gone, err)
	}

	// Signed under version 1 anyway (as an older release of fieldcase
	// would), and sent.
	id, err := sam.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	sg := trust.SignAsDevice(sam.V.DeviceID(), id.Sign, trust.Statement{Kind: trust.KindDestroy, Issued: time.Now(), Case: c,
		Team: teamOfCase(t, sam, c), Version: 1, Due: time.Date(2021, 1, 10, 0, 0, 0, 0, time.UTC), Reason: "past retention"})
	resp, err := rawClient(t, sam).Lifecycle(ctx, sg)
	if err != nil || resp.Destroyed {
		t.Fatalf("an approval under version 1: %+v, %v; want stored, nothing destroyed", resp, err)
	}
	for _, d := range []*syncharness.Device{ada, kim} {
		keepsCase(t, d, c)
		if _, ok := d.V.Roster().Retention.Destroyed[c]; ok {
			t.Errorf("%s's roster proves the case destroyed on one approval under version 1", d.Name)
		}
	}
	// The second approver completes it, as version 2 asks.
	if err := kim.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := kim.Syncer.ApproveDestruction(ctx, kim.V, c, "past retention", today); err != nil || !gone {
		t.Errorf("kim's approval, the second: destroyed %v, %v", gone, err)
	}
}

// Ada reopens her closed case; the server keeps the reopening from Sam's
// laptop, where the case still looks closed for years and due. Sam's
// laptop refuses to approve while the log holds a change of the case it
// has not been given, so Ada's open case is not destroyed.
func TestApprovalOfWithheldReopening(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ada, sam, _, c := pastRetention(t, "OLD-9")
	cv, err := ada.V.Case(c)
	if err != nil {
		t.Fatal(err)
	}
	open := cv.Value
	open.Status, open.Closed = "open", ""
	if err := ada.V.UpdateCase(c, []record.RevID{cv.Rev}, open); err != nil {
		t.Fatal(err)
	}
	ada.MustSync()
	sam.UseURL(pullRewriter(t, s, func(_ *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
		var out []*record.Revision
		for _, r := range revs {
			if r.RecordID != c {
				out = append(out, r)
			}
		}
		return out
	}))
	sam.Sync() // the reopening is withheld; the log holds it (named a round later)
	if err := sam.V.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if cv, err := sam.V.Case(c); err != nil || cv.Value.Status != "closed" {
		t.Fatalf("sam's laptop sees the case %q, %v; want it still closed (the reopening withheld)", cv.Value.Status, err)
	}
	gone, err := sam.Syncer.ApproveDestruction(ctx, sam.V, c, "past retention", record.DateOf(time.Now()))
	if !errors.Is(err, client.ErrBehindLog) || !strings.Contains(err.Error(), "change(s) of case") || gone {
		t.Fatalf("sam's approval of a case whose reopening was kept from the laptop: destroyed %v, %v; want ErrBehindLog", gone, err)
	}
	keepsCase(t, ada, c)
}

// teamOfCase is the team d's signed keyrings of case c name.
func teamOfCase(t *testing.T, d *syncharness.Device, c string) string {
	t.Helper()
	m, _, err := d.V.Membership(c)
	if err != nil || m.Team == "" {
		t.Fatalf("%s: the team of case %s: %q, %v", d.Name, c, m.Team, err)
	}
	return m.Team
}
