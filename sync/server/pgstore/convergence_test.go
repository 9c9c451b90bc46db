package pgstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/synctest"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(synctest.Main(m)) }

// TestConvergenceTwoInstances is sync/client's TestConvergence over
// PostgreSQL with two fieldcased processes: every round each device syncs
// through the other instance (each behind its own fault proxy), and
// instances are killed mid-sync. At the end every device holds exactly the
// revisions it may see, with the heads of the whole revision graph.
//
// Seeded: FIELDCASE_SEED=n replays a run.
func TestConvergenceTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FIELDCASE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with FIELDCASE_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	servers := synctest.StartPostgresServers(t, url, 2)
	s := servers[0]
	type dev struct {
		*synctest.Device
		user, team string
		super      bool
	}
	devs := []*dev{
		{s.NewDevice("ada-laptop", s.URL, "ada", "caseworker", "north"), "ada", "north", false},
		{s.NewDevice("ada-desktop", servers[1].URL, "ada", "caseworker", "north"), "ada", "north", false},
		{s.NewDevice("bob", s.URL, "bob", "caseworker", "north"), "bob", "north", false},
		{s.NewDevice("sam", servers[1].URL, "sam", "supervisor", "north"), "sam", "north", true},
		{s.NewDevice("zed", s.URL, "zed", "caseworker", "south"), "zed", "south", false},
	}
	var proxies []*faultproxy.Proxy
	for i, srv := range servers {
		p, err := faultproxy.New(faultproxy.Config{Target: srv.URL, Seed: seed + uint64(i),
			DropRequest: 0.05, DropResponse: 0.05, Unavailable: 0.05, RetryAfter: 0.3, Truncate: 0.05,
			Delay: 0.1, DelayMax: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		proxies = append(proxies, p)
	}

	ops := 0
	for round := 0; round < 10; round++ {
		for i, d := range devs {
			d.UseURL(proxies[(round+i)%2].URL()) // alternate instances
			for k := rng.IntN(5); k > 0; k-- {
				if randomOp(t, rng, d.Device, fmt.Sprintf("%s-r%d-%d", d.Name, round, k)) {
					ops++
				}
			}
		}
		var wg sync.WaitGroup
		for _, i := range rng.Perm(len(devs)) {
			if rng.IntN(10) < 7 {
				wg.Add(1)
				go func(d *dev) { defer wg.Done(); d.Sync() }(devs[i]) // faults make some fail: fine
			}
		}
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
			servers[rng.IntN(2)].Restart() // SIGKILL mid-sync, then started again
		}
		wg.Wait()
	}
	var faults int64
	for _, p := range proxies {
		c := p.Counts()
		faults += c.DroppedReq + c.DroppedResp + c.Unavailable + c.Truncated
	}
	t.Logf("%d operations, %d faults injected", ops, faults)

	// Heal: no faults; devices sync until nothing moves, still alternating.
	for pass := 0; pass < 3; pass++ {
		for i, d := range devs {
			d.UseURL(servers[(pass+i)%2].URL)
			d.MustSync()
		}
	}

	union := map[record.RevID]*record.Revision{}
	creator := map[string]string{}
	for _, d := range devs {
		if n := d.V.OutboxLen(); n != 0 {
			t.Errorf("%s: %d changes never pushed", d.Name, n)
		}
		mine, err := d.V.DeviceRevisions()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range mine {
			union[r.Rev] = r
			if r.Kind == record.KindKeyring && r.Generation == 1 && r.RecordID == record.KeyringID(r.CaseID, 1) {
				creator[r.CaseID] = d.user
			}
		}
	}
	teamOf := map[string]string{}
	for _, d := range devs {
		teamOf[d.user] = d.team
	}
	for _, d := range devs {
		want := map[record.RevID]bool{}
		for id, r := range union {
			owner := creator[r.CaseID]
			if owner == d.user || (d.super && teamOf[owner] == d.team) {
				want[id] = true
			}
		}
		got := d.Revs()
		missing, extra := 0, 0
		for id := range want {
			if !got[id] {
				missing++
			}
		}
		for id := range got {
			if !want[id] {
				extra++
			}
		}
		if missing+extra > 0 {
			t.Errorf("%s: %d revisions missing, %d it may not see (holds %d, should hold %d)", d.Name, missing, extra, len(got), len(want))
		}
		heads, _ := d.V.Heads()
		for rid, hs := range dagHeads(union, want) {
			if !slices.Equal(heads[rid], hs) {
				t.Errorf("%s: record %s has heads %v, the revision graph has %v", d.Name, rid, heads[rid], hs)
			}
		}
	}
	t.Logf("%d revisions converged on %d devices through two instances", len(union), len(devs))
}

// dagHeads computes each record's heads from the revisions in keep.
func dagHeads(union map[record.RevID]*record.Revision, keep map[record.RevID]bool) map[string][]record.RevID {
	hasChild := map[record.RevID]bool{}
	for _, r := range union {
		for _, p := range r.Parents {
			hasChild[p] = true
		}
	}
	out := map[string][]record.RevID{}
	for id, r := range union {
		if keep[id] && !hasChild[id] {
			out[r.RecordID] = append(out[r.RecordID], id)
		}
	}
	for _, hs := range out {
		record.SortRevs(hs)
	}
	return out
}

// randomOp makes one random offline change on d (as sync/client's
// convergence test does).
func randomOp(t *testing.T, rng *rand.Rand, d *synctest.Device, tag string) bool {
	t.Helper()
	cases, err := d.V.Cases()
	if err != nil {
		t.Fatal(err)
	}
	var readable []string
	for _, c := range cases {
		if !c.Sealed {
			readable = append(readable, c.ID)
		}
	}
	if len(readable) == 0 || rng.IntN(100) < 12 {
		if _, err := d.V.CreateCase(record.Case{Ref: "REF-" + tag, Subject: "Subject " + tag}); err != nil {
			t.Fatalf("%s: create case: %v", d.Name, err)
		}
		return true
	}
	caseID := readable[rng.IntN(len(readable))]
	notes, err := d.V.Notes(caseID)
	if err != nil {
		t.Fatal(err)
	}
	n := rng.IntN(100)
	switch {
	case n < 40 || len(notes) == 0:
		_, err = d.V.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-20", Text: "note " + tag})
	case n < 75:
		it := notes[rng.IntN(len(notes))]
		parents := []record.RevID{it.Rev}
		if it.Conflict && rng.IntN(2) == 0 {
			parents = it.Parents()
		}
		err = d.V.EditNote(it.ID, parents, record.Note{Kind: "phone", Date: "2026-11-21", Text: "edit " + tag})
	case n < 85:
		err = d.V.Delete(caseID, notes[rng.IntN(len(notes))].ID)
	default:
		_, err = d.V.AddConsent(caseID, record.Consent{Person: "P " + tag, Scope: []string{"health"}, Decision: "given"})
	}
	if err != nil {
		t.Fatalf("%s: op: %v", d.Name, err)
	}
	return true
}
