package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// bulk adds n notes to a new case in one transaction.
func bulk(t *testing.T, d *syncharness.Device, ref string, n int) string {
	t.Helper()
	caseID := newCase(t, d, ref)
	err := d.V.Update(func(tx *store.Tx) error {
		for i := range n {
			if _, err := tx.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-20", Text: fmt.Sprintf("%s note %d: %s", ref, i, strings.Repeat("x", 200))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return caseID
}

// The server is killed in the middle of pushes and pulls, again and again;
// whatever it acknowledged survives, and both devices end up equal.
func TestServerKilledMidSync(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "sup", "supervisor", "north")
	bulk(t, a, "K-1", 3000)
	rng := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 6; round++ {
		var wg sync.WaitGroup
		for _, d := range []*syncharness.Device{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); d.Sync() }() // errors expected: the server dies
		}
		time.Sleep(time.Duration(20+rng.IntN(150)) * time.Millisecond)
		s.Restart()
		wg.Wait()
	}
	for range 2 {
		a.MustSync()
		b.MustSync()
	}
	if a.V.OutboxLen() != 0 {
		t.Errorf("outbox %d after healing", a.V.OutboxLen())
	}
	sameRevs(t, a, b)
}

const childSyncEnv = "FIELDCASE_CHILD_SYNC_VAULT"

// childSync is a separate process that syncs a vault and prints each page
// it stores; the test kills it with SIGKILL mid-pull.
func childSync(path string) int {
	v, err := store.Open(path, store.Options{LockWait: 10 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		return 3
	}
	defer v.Close()
	if err := v.Unlock(syncharness.DevicePass); err != nil {
		fmt.Println("error", err)
		return 3
	}
	s, err := client.NewVaultSyncer(v, nil)
	if err != nil {
		fmt.Println("error", err)
		return 3
	}
	client.SetPageSizes(s, protocol.MaxPushRevisions, childPullSize)
	_, err = s.Sync(context.Background(), func(p client.Progress) {
		if p.Phase == "pull" {
			fmt.Println("pulled", p.Done)
		}
	})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// childPullSize is the child's page: small, so a first sync of a few
// thousand revisions takes many pages and a kill lands in the middle.
const childPullSize = 250

// A first sync of 4,000 revisions in pages of 250, killed (SIGKILL) a few
// pages in, more than once: each restart resumes where the last stored page
// ended, and the device ends with every revision exactly once.
func TestInterruptedFirstSyncResumes(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "sup", "supervisor", "north")
	bulk(t, a, "F-1", 4000)
	a.MustSync()
	total := len(a.Revs())
	path := b.V.Path()
	b.V.Close()

	pulledBefore := 0
	for kill := 0; kill < 3; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childSyncEnv+"="+path)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		pages := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") || line == "done" {
				t.Fatalf("child finished before it was killed: %s", line)
			}
			if pages++; pages == 3 {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		cmd.Wait()
		v := storetest.Open(t, path, store.Options{})
		v.Unlock(syncharness.DevicePass)
		n := 0
		v.AllRevisions(func(*record.Revision) error { n++; return nil })
		cur, _ := v.Cursor()
		if err := v.Check(); err != nil {
			t.Errorf("the vault after kill %d: %v", kill, err)
		}
		v.Close()
		if n <= pulledBefore || cur == "" {
			t.Fatalf("kill %d: %d revisions stored (before %d), cursor %q: not resuming", kill, n, pulledBefore, cur)
		}
		pulledBefore = n
	}
	b.Reopen()
	sum := b.MustSync()
	if sum.Pulled >= total || sum.Pulled+pulledBefore < total-10 {
		t.Errorf("final sync pulled %d of %d after %d were kept: not a resume", sum.Pulled, total, pulledBefore)
	}
	sameRevs(t, a, b)
}

// pageMangler sits in front of the server and, on pulls, reorders the
// revisions of a page, repeats some, and now and then serves the previous
// page again (a rewound cursor).
type pageMangler struct {
	mu   sync.Mutex
	rng  *rand.Rand
	last []byte
	n    struct{ shuffled, rewound, duplicated int }
}

func (m *pageMangler) proxy(target string) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		if r.URL.Path == protocol.PathPull { // small pages: more of them to mangle
			q := r.URL.Query()
			q.Set("limit", "100")
			r.URL.RawQuery = q.Encode()
		}
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != protocol.PathPull || resp.StatusCode != 200 {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		var hdr protocol.PullHeader
		revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPullLimit)
		out := body
		switch {
		case err != nil:
		case m.last != nil && m.rng.IntN(4) == 0:
			out = m.last // the page before, cursor and all
			m.n.rewound++
		default:
			// The log's places go with their revisions.
			placed := len(hdr.Indexes) == len(revs)
			m.rng.Shuffle(len(revs), func(i, j int) {
				revs[i], revs[j] = revs[j], revs[i]
				if placed {
					hdr.Indexes[i], hdr.Indexes[j] = hdr.Indexes[j], hdr.Indexes[i]
				}
			})
			if len(revs) > 0 && m.rng.IntN(2) == 0 {
				revs = append(revs, revs[0])
				if placed {
					hdr.Indexes = append(hdr.Indexes, hdr.Indexes[0])
				}
				m.n.duplicated++
			}
			out, _ = protocol.EncodeBatch(hdr, revs)
			m.n.shuffled++
		}
		m.last = body
		resp.Body = io.NopCloser(bytes.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	return &http.Server{Handler: rp}
}

func TestReorderedDuplicatedRewoundPages(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "sup", "supervisor", "north")
	caseID := bulk(t, a, "P-1", 1500)
	id := addNote(t, a, caseID, "edited many times")
	for i := range 50 {
		editNote(t, a, id, []record.RevID{note(t, a, id).Rev}, fmt.Sprintf("edit %d", i))
	}
	a.MustSync()
	m := &pageMangler{rng: rand.New(rand.NewPCG(3, 3))}
	_, url := serve(t, m.proxy(s.URL))
	b.UseURL(url)
	b.MustSync()
	if m.n.shuffled == 0 || m.n.rewound == 0 || m.n.duplicated == 0 {
		t.Fatalf("the mangler did too little: %+v", m.n)
	}
	sameRevs(t, a, b)
	sameHeads(t, a, b)
	if n := note(t, b, id); n.Value.Text != "edit 49" || n.Conflict {
		t.Errorf("after mangled pages: %q conflict=%v", n.Value.Text, n.Conflict)
	}
}

// The server is restored from a backup taken before some pushes: it answers
// old cursors 410, and devices push back what it lost from their own
// revisions, keeping their outboxes.
func TestServerRestoredFromBackup(t *testing.T) {
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	b := s.NewDevice("b", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, a, "R-1")
	addNote(t, a, caseID, "before the backup")
	a.MustSync()
	b.MustSync()
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)
	addNote(t, a, caseID, "after the backup: lost by the restore")
	a.MustSync()
	b.MustSync()
	offline := addNote(t, a, caseID, "written offline, still in the outbox")

	s.Kill()
	// The server's disk is lost; IT restores last night's backup.
	if err := os.Remove(filepath.Join(s.Dir, "fieldcased.db")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(s.Binary(), "restore", "--from", backup, "--data", s.Dir).CombinedOutput()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	s.Start()
	// The restored log does not extend what the laptops had checked: that
	// is what a rollback looks like, and they say so (with both signed
	// checkpoints kept), but the round goes on and they follow the log as
	// it is now.
	sum, err := a.Sync()
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "restored from a backup") {
		t.Fatalf("sync after restore: %v, want the log's rollback told", err)
	}
	if sum.Repaired == 0 {
		t.Errorf("nothing re-pushed after the restore: %+v", sum)
	}
	if _, err := b.Sync(); !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("b's first sync after the restore: %v, want the log's rollback told", err)
	}
	var alarm client.LogAlarm
	if js, err := b.V.Locals(client.LogAlarmKey); err != nil || json.Unmarshal(js[client.LogAlarmKey], &alarm) != nil || alarm.Kept == nil || alarm.Offered == nil {
		t.Fatalf("b keeps no evidence of the rollback: %+v, %v", alarm, err)
	}
	b.MustSync()
	a.MustSync()
	sameRevs(t, a, b)
	if n := note(t, b, offline); n.Value.Text != "written offline, still in the outbox" {
		t.Errorf("offline note on b: %q", n.Value.Text)
	}
}
