package syncharness

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
	"github.com/fieldcase/fieldcase/record"
)

// Convergence is the seeded convergence scenario, run over one server or
// several instances of one (over one database). Two laptops of one
// caseworker, another caseworker and a supervisor of one team, and a
// caseworker of another team, edit at random offline and sync in random
// order, each round through another instance's fault proxy (drops, lost
// answers, 503s, truncation, delays), while a random instance is killed
// with SIGKILL mid-sync and restarted. After a fault-free healing pass
// every device must hold exactly the revisions it may see (nothing lost,
// nothing extra), and every record's heads must be those of the whole
// revision graph: conflicts kept, never resolved behind anyone's back.
//
// fault configures the proxies (Target and Seed are set here); syncShare
// is the chance, in tenths, that a device syncs in a round.
//
// The proxies also play a hostile server (Adversary): they slip forged
// tombstones, forged key epochs and altered revisions into pull answers.
// Every device must apply none of them, and keep no honest revision in
// quarantine once healed.
//
// Seeded: FIELDCASE_SEED=n replays a run.
func Convergence(t *testing.T, servers []*Server, rounds, syncShare int, fault faultproxy.Config) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FIELDCASE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with FIELDCASE_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	type dev struct {
		*Device
		user, team string
		super      bool
	}
	n := len(servers)
	s := servers[0]
	devs := []*dev{}
	for i, spec := range []struct{ name, user, role, team string }{
		{"ada-laptop", "ada", "caseworker", "north"},
		{"ada-desktop", "ada", "caseworker", "north"},
		{"bob", "bob", "caseworker", "north"},
		{"sam", "sam", "supervisor", "north"},
		{"zed", "zed", "caseworker", "south"},
	} {
		d := s.NewDevice(spec.name, servers[i%n].URL, spec.user, spec.role, spec.team)
		devs = append(devs, &dev{d, spec.user, spec.team, spec.role == "supervisor"})
	}
	adv := NewAdversary(seed, 25)
	var proxies []*faultproxy.Proxy
	for i, srv := range servers {
		cfg := fault
		cfg.Target, cfg.Seed = srv.URL, seed+uint64(i)
		cfg.Rewrite = adv.Rewrite
		p, err := faultproxy.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		proxies = append(proxies, p)
	}

	ops := 0
	for round := 0; round < rounds; round++ {
		for i, d := range devs {
			d.UseURL(proxies[(round+i)%n].URL())
			for k := rng.IntN(5); k > 0; k-- {
				if randomOp(t, rng, d.Device, fmt.Sprintf("%s-r%d-%d", d.Name, round, k)) {
					ops++
				}
			}
		}
		var wg sync.WaitGroup
		for _, i := range rng.Perm(len(devs)) {
			if rng.IntN(10) < syncShare {
				wg.Add(1)
				go func(d *dev) { defer wg.Done(); d.Sync() }(devs[i]) // faults make some fail: fine
			}
		}
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
			servers[rng.IntN(n)].Restart() // killed with SIGKILL mid-sync, then started again
		}
		wg.Wait()
	}
	var c faultproxy.Counts
	for _, p := range proxies {
		pc := p.Counts()
		c.Requests += pc.Requests
		c.DroppedReq += pc.DroppedReq
		c.DroppedResp += pc.DroppedResp
		c.Unavailable += pc.Unavailable
		c.Truncated += pc.Truncated
	}
	forged := adv.Forged()
	t.Logf("%d operations; proxies: %d requests, %d dropped, %d answers lost, %d 503s, %d truncated, %d forged revisions slipped in",
		ops, c.Requests, c.DroppedReq, c.DroppedResp, c.Unavailable, c.Truncated, len(forged))
	if c.DroppedReq+c.DroppedResp+c.Unavailable+c.Truncated == 0 {
		t.Fatalf("no faults were injected")
	}
	if len(forged) == 0 {
		t.Fatalf("the adversary forged nothing")
	}

	// Heal: no more faults; every device syncs until nothing moves, still
	// alternating instances.
	for pass := 0; pass < 3; pass++ {
		for i, d := range devs {
			d.UseURL(servers[(pass+i)%n].URL)
			d.MustSync()
		}
	}

	// The truth: every revision any device wrote (all now pushed).
	union := map[record.RevID]*record.Revision{}
	creator := map[string]string{} // case id → user who created it
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
		for id := range got {
			if what, ok := forged[id]; ok {
				t.Errorf("%s applied a forged revision (%s)", d.Name, what)
			}
		}
		q, err := d.V.Quarantine()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range q {
			if _, ok := forged[e.Rev]; !ok {
				t.Errorf("%s: an honest revision (%s of %s by %s) is still quarantined: %s", d.Name, e.Kind, e.RecordID, e.Device, e.Reason)
			}
		}
		// Heads: exactly the revisions of each record that no other
		// revision names as a parent.
		heads, _ := d.V.Heads()
		for rid, hs := range dagHeads(union, want) {
			if !slices.Equal(heads[rid], hs) {
				t.Errorf("%s: record %s has heads %v, the revision graph has %v", d.Name, rid, heads[rid], hs)
			}
		}
	}
	conflicts := 0
	for _, hs := range dagHeads(union, nil) {
		if len(hs) > 1 {
			conflicts++
		}
	}
	t.Logf("%d revisions on %d devices through %d server(s); %d records in conflict, kept on every device that sees them", len(union), len(devs), n, conflicts)
}

// dagHeads computes each record's heads from the revisions in keep (all
// when keep is nil).
func dagHeads(union map[record.RevID]*record.Revision, keep map[record.RevID]bool) map[string][]record.RevID {
	hasChild := map[record.RevID]bool{}
	for _, r := range union {
		for _, p := range r.Parents {
			hasChild[p] = true
		}
	}
	out := map[string][]record.RevID{}
	for id, r := range union {
		if (keep == nil || keep[id]) && !hasChild[id] {
			out[r.RecordID] = append(out[r.RecordID], id)
		}
	}
	for _, hs := range out {
		record.SortRevs(hs)
	}
	return out
}

// randomOp makes one random offline change on d; it reports whether it did.
func randomOp(t *testing.T, rng *rand.Rand, d *Device, tag string) bool {
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
		_, err := d.V.CreateCase(record.Case{Ref: "REF-" + tag, Subject: "Subject " + tag})
		if err != nil {
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
			parents = it.Parents() // a merge
		}
		err = d.V.EditNote(it.ID, parents, record.Note{Kind: "phone", Date: "2026-11-21", Text: "edit " + tag})
	case n < 85:
		it := notes[rng.IntN(len(notes))]
		err = d.V.Delete(caseID, it.ID)
	default:
		_, err = d.V.AddConsent(caseID, record.Consent{Person: "P " + tag, Scope: []string{"health"}, Decision: "given"})
	}
	if err != nil {
		t.Fatalf("%s: op: %v", d.Name, err)
	}
	return true
}
