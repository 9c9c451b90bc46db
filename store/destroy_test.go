package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// destroyAgency is a supervisor's vault (sam, team north) under an agency
// whose retention policy (version 1) keeps a case one year after closing
// and one after its last contact, and needs one approval.
func destroyAgency(t *testing.T) (*testAgency, *Vault) {
	t.Helper()
	a := newTestAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	v := MustCreate(t)
	a.enrol(v, "sam", "supervisor", "north")
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 1,
		Doc: []byte(`{"approvals":1,"default":[{"from":"closed","years":1},{"from":"last-contact","years":1}]}`)})
	a.share()
	if v.Roster().Retention.Policy == nil {
		t.Fatalf("no retention policy proven: %+v", v.Roster().Problems)
	}
	return a, v
}

// approveAsSam signs sam's approval to destroy caseID under policy 1, as
// his laptop's key (what a supervisor's laptop, or one that is made to
// lie, sends) and gives it to v.
func approveAsSam(t *testing.T, v *Vault, caseID string) {
	t.Helper()
	id, err := v.Identity()
	if err != nil {
		t.Fatal(err)
	}
	sg := trust.SignAsDevice(v.DeviceID(), id.Sign, trust.Statement{Kind: trust.KindDestroy, Case: caseID, Team: "north",
		Version: 1, Due: time.Date(2021, 1, 10, 0, 0, 0, 0, time.UTC), Reason: "past retention", Issued: time.Now()})
	if _, err := v.AddStatements([]trust.Signed{sg}); err != nil {
		t.Fatal(err)
	}
	if v.Roster().Retention.Destroyed[caseID].Case != caseID {
		t.Fatalf("the roster does not prove %s destroyed: %+v", caseID, v.Roster().Problems)
	}
}

// fragments are 32-byte pieces of every sealed value of a case in the
// vault file: its revisions (bodies end with their AEAD tag) and the
// sealed keyring cache, which holds its key.
func fragments(t *testing.T, v *Vault, caseID string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	piece := func(b []byte) []byte { return bytes.Clone(b[len(b)-40 : len(b)-8]) }
	if err := v.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketRevs).Cursor()
		p := []byte(caseID + "/")
		for k, val := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, val = c.Next() {
			out[fmt.Sprintf("revision %x", k[len(k)-32:len(k)-26])] = piece(val)
		}
		out["keyring cache"] = piece(btx.Bucket(bucketMeta).Get(metaKeyring))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) < 4 {
		t.Fatalf("only %d sealed values of the case", len(out))
	}
	return out
}

// lingering names the fragments found in the vault's file as it is on disk.
func lingering(t *testing.T, v *Vault, frags map[string][]byte) []string {
	t.Helper()
	raw, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, f := range frags {
		if bytes.Contains(raw, f) {
			out = append(out, name)
		}
	}
	return out
}

// Issue 15: after a destruction no sealed copy of the case stays in the
// vault file — not its revisions, not the sealed keyring cache that held
// its key (which the laptop's passphrase opens) — though bbolt does not
// clear the pages it frees. The other case is untouched.
func TestDestroyLeavesNoCiphertextInFile(t *testing.T) {
	_, v := destroyAgency(t)
	c, err := v.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := v.AddNote(c, record.Note{Kind: "visit", Date: record.Date(fmt.Sprintf("2019-11-%02d", i+1)),
			Text: "a visit before the case closed, written up at some length to fill a page or two"}); err != nil {
			t.Fatal(err)
		}
	}
	keep := mustCase(t, v, "OPEN-1", "An open case")
	mustNote(t, v, keep, "still open")
	frags := fragments(t, v, c)
	if found := lingering(t, v, frags); len(found) != len(frags) {
		t.Fatalf("only %d of %d fragments are in the file before destruction", len(found), len(frags))
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	approveAsSam(t, v, c)
	done, err := v.DestroyApproved()
	if err != nil || len(done) != 1 || done[0].CaseID != c {
		t.Fatalf("DestroyApproved: %+v, %v", done, err)
	}
	if found := lingering(t, v, frags); len(found) > 0 {
		t.Errorf("after the destruction the vault file still holds %d sealed values of the case: %v", len(found), found)
	}
	v = reopen(t, v)
	if _, err := v.Case(c); !errors.Is(err, ErrNotFound) {
		t.Errorf("the destroyed case after reopening: %v", err)
	}
	if cv, err := v.Case(keep); err != nil || cv.Value.Ref != "OPEN-1" {
		t.Errorf("the other case after reopening: %+v, %v", cv, err)
	}
}

// Issue 15: a laptop destroys only what its own copy shows due under the
// policy version the approvals name. Approvals signed for a case closed
// last month, and for one still open (a laptop made to lie, or supervisors
// shown a copy without its later contacts), are refused with
// trust.ErrNotAllowed, naming why; both cases stay whole.
func TestDestroyRefusesCaseNotDue(t *testing.T) {
	_, v := destroyAgency(t)
	recent := record.DateOf(time.Now().AddDate(0, -1, 0))
	closed, err := v.CreateCase(record.Case{Ref: "NEW-1", Subject: "Closed last month", Status: "closed", CaseType: "adult",
		Opened: "2024-03-01", Closed: recent})
	if err != nil {
		t.Fatal(err)
	}
	open := mustCase(t, v, "OPEN-1", "Still open")
	mustNote(t, v, open, "a visit")
	approveAsSam(t, v, closed)
	approveAsSam(t, v, open)
	done, err := v.DestroyApproved()
	if !errors.Is(err, trust.ErrNotAllowed) || len(done) != 0 {
		t.Fatalf("DestroyApproved: destroyed %+v, %v; want none and ErrNotAllowed", done, err)
	}
	for _, want := range []string{closed, "kept until " + string(record.DateOf(time.Now().AddDate(0, 11, 0)))[:7], open, "not closed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	v = reopen(t, v)
	for _, c := range []string{closed, open} {
		if _, err := v.Case(c); err != nil {
			t.Errorf("case %s after the refused destruction: %v", c, err)
		}
	}
	if ts, err := v.Destructions(); err != nil || len(ts) != 0 {
		t.Errorf("tombstones %+v, %v", ts, err)
	}
}

// The child side of TestScrubSurvivesKill: fills a scratch bucket with
// random pages, deletes it, marks a scrub owed (printing "owed i") and
// scrubs (printing "scrubbed i"), over and over, until it is killed.
const scrubChildEnv = "FIELDCASE_SCRUB_CHILD_VAULT"

func scrubChild(path string) {
	v, err := Open(path, Options{LockWait: 10 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	junk := make([]byte, 8192)
	for i := 1; ; i++ {
		err := v.update(func(btx *bolt.Tx) error {
			b, err := btx.CreateBucketIfNotExists([]byte("crash-junk"))
			if err != nil {
				return err
			}
			for j := range 200 {
				rand.Read(junk)
				if err := b.Put(fmt.Appendf(nil, "%04d", j), junk); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = v.update(func(btx *bolt.Tx) error {
				if err := btx.DeleteBucket([]byte("crash-junk")); err != nil {
					return err
				}
				return btx.Bucket(bucketMeta).Put(metaScrub, []byte{1})
			})
		}
		if err == nil {
			fmt.Printf("owed %d\n", i)
			_, err = v.scrubOwed()
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Printf("scrubbed %d\n", i)
	}
}

// A kill at any point of a scrub — while zeros are written, before the
// file is synced, before the mark is cleared — leaves a vault that opens,
// passes its consistency check and reads as before; a scrub still owed is
// done by the next one.
func TestScrubSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real processes")
	}
	_, v := destroyAgency(t)
	c, err := v.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddNote(c, record.Note{Kind: "visit", Date: "2019-12-01", Text: "the last visit"}); err != nil {
		t.Fatal(err)
	}
	keep := mustCase(t, v, "OPEN-1", "An open case")
	mustNote(t, v, keep, "still open")
	frags := fragments(t, v, c)
	approveAsSam(t, v, c)
	if done, err := v.DestroyApproved(); err != nil || len(done) != 1 {
		t.Fatalf("DestroyApproved: %+v, %v", done, err)
	}
	path := v.Path()
	v.Close()
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
	owed := 0 // rounds killed with a scrub owed: before or during one
	defer func() { t.Logf("%d of 12 kills left a scrub owed", owed) }()
	for r := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), scrubChildEnv+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it just after it marked a scrub owed, at a random moment of
		// the scrub that follows (or just after it).
		sc := bufio.NewScanner(stdout)
		for owedSeen, stop := 0, 1+rng.IntN(3); sc.Scan(); {
			if strings.HasPrefix(sc.Text(), "error") {
				t.Fatalf("round %d: child: %s", r, sc.Text())
			}
			if strings.HasPrefix(sc.Text(), "owed") {
				if owedSeen++; owedSeen == stop {
					break
				}
			}
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		v, err := Open(path, testOpts)
		if err != nil {
			t.Fatalf("round %d: the vault does not open after a kill mid-scrub: %v", r, err)
		}
		if err := v.Unlock(testPass); err != nil {
			t.Fatalf("round %d: unlock: %v", r, err)
		}
		if err := v.LoadAll(context.Background()); err != nil {
			t.Fatalf("round %d: load: %v", r, err)
		}
		if err := v.Check(); err != nil {
			t.Fatalf("round %d: consistency check: %v", r, err)
		}
		if cv, err := v.Case(keep); err != nil || cv.Value.Ref != "OPEN-1" {
			t.Fatalf("round %d: the kept case: %+v, %v", r, cv, err)
		}
		v.view(func(btx *bolt.Tx) error {
			if btx.Bucket(bucketMeta).Get(metaScrub) != nil {
				owed++
			}
			return nil
		})
		if r == 11 {
			_, err := v.scrubOwed()
			if err != nil {
				t.Fatal(err)
			}
			if found := lingering(t, v, frags); len(found) > 0 {
				t.Errorf("the destroyed case's sealed values in the file: %v", found)
			}
		}
		v.Close()
	}
}

// A scrub never zeroes pages while a read transaction is open (bbolt
// counts the pages such a reader may still read as free too): it waits,
// and when the reader outlasts scrubWait it gives up with ErrScrubBusy,
// keeps the mark, and a later scrub does the work.
func TestScrubWaitsForReaders(t *testing.T) {
	_, v := destroyAgency(t)
	c, err := v.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := v.AddNote(c, record.Note{Kind: "visit", Date: record.Date(fmt.Sprintf("2019-11-%02d", i+1)), Text: "a visit"}); err != nil {
			t.Fatal(err)
		}
	}
	frags := fragments(t, v, c)
	approveAsSam(t, v, c)
	old := scrubWait
	scrubWait = 200 * time.Millisecond
	defer func() { scrubWait = old }()
	// A reader open, as view holds it for its whole transaction. Not a
	// bbolt read transaction held across DestroyApproved: a write that
	// grows the file's mapping (the search snapshot's, in the background)
	// waits for every open bbolt reader and holds back new ones, so a
	// reader that waits for DestroyApproved would wait for itself.
	v.dbmu.RLock()
	ds, err := v.DestroyApproved()
	v.dbmu.RUnlock()
	if len(ds) != 1 || !errors.Is(err, ErrScrubBusy) {
		t.Fatalf("DestroyApproved with a reader open: %+v, %v; want the case destroyed and ErrScrubBusy", ds, err)
	}
	if found := lingering(t, v, frags); len(found) == 0 {
		t.Fatal("nothing of the case left in the file while the scrub was owed: this test would prove nothing")
	}
	if ds, err := v.DestroyApproved(); err != nil || len(ds) != 0 {
		t.Fatalf("the next DestroyApproved: %+v, %v", ds, err)
	}
	if found := lingering(t, v, frags); len(found) > 0 {
		t.Errorf("after the owed scrub the file still holds %v", found)
	}
}
