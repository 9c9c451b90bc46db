package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// pgServe starts `fieldcased serve --db url` on its own data directory.
func pgServe(t *testing.T, url string, args ...string) (*proc, string) {
	t.Helper()
	dir := dataDir(t)
	return serve(t, dir, append([]string{"--no-tls", "--db", url}, args...)...), dir
}

// pgEnrol adds the user when missing and enrols a device through p.
func pgEnrol(t *testing.T, url string, p *proc, user, device string) (*servertest.Client, *servertest.Writer) {
	t.Helper()
	dir := dataDir(t)
	key := agencyKey(t, url)
	fieldcased(t, dir, "--db", url, "team", "add", "north", "--agency-key", key)
	fieldcased(t, dir, "--db", url, "user", "add", user, "--role", "caseworker", "--team", "north", "--agency-key", key)
	code := lastLine(mustRun(t, dir, "--db", url, "enroll-code", user, "--agency-key", key))
	c, _, err := servertest.Enroll(context.Background(), p.url, nil, code, device)
	if err != nil {
		t.Fatalf("enrolling %s: %v", device, err)
	}
	return c, c.Writer()
}

func revSet(revs []*record.Revision) map[record.RevID]bool {
	out := map[record.RevID]bool{}
	for _, r := range revs {
		out[r.Rev] = true
	}
	return out
}

// Two server processes over one database: devices push to both at once,
// and a reader follows the change log by cursor, alternating between the
// instances, while transactions of the two commit interleaved. It never
// misses a revision: its cursor never passes a change that commits later.
func TestPostgresTwoInstances(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	url := pgtest.URL(t)
	ctx := context.Background()
	p1, _ := pgServe(t, url)
	p2, _ := pgServe(t, url)
	reader, _ := pgEnrol(t, url, p1, "ada", "ada-reader")

	const writers, batches = 6, 40
	var (
		mu    sync.Mutex
		acked = map[record.RevID]bool{}
		wg    sync.WaitGroup
	)
	errs := make(chan error, writers)
	for w := range writers {
		p := []*proc{p1, p2}[w%2]
		c, wr := pgEnrol(t, url, p, "ada", fmt.Sprintf("ada-w%d", w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			caseID := record.NewID()
			revs := wr.NewCase(caseID)
			for b := range batches {
				for range 1 + b%7 {
					revs = append(revs, wr.Rev(record.KindNote, caseID, record.NewID()))
				}
				resp, err := c.Push(ctx, nil, revs...)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, r := range resp.Results {
					if r.Status != protocol.StatusStored && r.Status != protocol.StatusPresent {
						errs <- fmt.Errorf("push: %s %s", r.Status, r.Reason)
					}
					acked[r.Rev] = true
				}
				mu.Unlock()
				revs = nil
				// Alternate instances: the same device on both.
				c.BaseURL = []string{p1.url, p2.url}[b%2]
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[record.RevID]bool{}
	cursor := ""
	pulls := 0
	var settle time.Time
	for finished := false; ; pulls++ {
		select {
		case <-done:
			if !finished {
				finished, settle = true, time.Now().Add(15*time.Second)
			}
		default:
		}
		reader.BaseURL = []string{p1.url, p2.url}[pulls%2]
		hdr, revs, err := reader.Pull(ctx, cursor, 37)
		if err != nil {
			t.Fatalf("pull %d: %v", pulls, err)
		}
		for _, r := range revs {
			seen[r.Rev] = true
		}
		cursor = hdr.NextCursor
		// An entry is pulled once every transaction that began writing
		// before it has ended, anywhere in the PostgreSQL cluster (other
		// tests run beside this one): keep following the cursor until
		// everything acknowledged came, or long enough to be sure that
		// what is missing was skipped, never to come.
		if finished && !hdr.HasMore {
			mu.Lock()
			all := len(seen) >= len(acked)
			mu.Unlock()
			if all || time.Now().After(settle) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	missing := 0
	for r := range acked {
		if !seen[r] {
			missing++
		}
	}
	t.Logf("%d revisions pushed through two instances, %d pulls", len(acked), pulls)
	if missing > 0 || len(seen) != len(acked) {
		t.Errorf("the reader following its cursor saw %d of %d revisions (%d missing)", len(seen), len(acked), missing)
	}
	// Both instances appended to one log: it verifies, and both sign the
	// same tree.
	if out := mustRun(t, dataDir(t), "--db", url, "log", "verify"); !strings.Contains(out, "every stored hash and the root match") {
		t.Errorf("log verify after two instances:\n%s", out)
	}
	r1, err1 := reader.Log(ctx, 0)
	reader.BaseURL = p2.url
	r2, err2 := reader.Log(ctx, 0)
	if err1 != nil || err2 != nil || !bytes.Equal(r1.Checkpoint, r2.Checkpoint) {
		t.Errorf("the instances' checkpoints differ:\n%s\n%s (%v, %v)", r1.Checkpoint, r2.Checkpoint, err1, err2)
	}
	p1.stop(t)
	p2.stop(t)
}

// Administration, backup, restore and a new epoch all work against
// PostgreSQL; the errors a person meets are explained.
func TestPostgresAdministration(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	url := pgtest.URL(t)
	dir := dataDir(t)
	mustRun(t, dir, "--db", url, "team", "add", "north", "--agency-key", agencyKey(t, url))
	p, _ := pgServe(t, url)
	c, w := pgEnrol(t, url, p, "ada", "ada-laptop")
	if _, err := c.Push(ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}
	_, cursor, err := c.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	devs := deviceListDB(t, url)
	if len(devs) != 1 || devs[0] != "ada-laptop" {
		t.Fatalf("device list = %v", devs)
	}
	bk := filepath.Join(dataDir(t), "pg-backup.db")
	if out := mustRun(t, dir, "--db", url, "backup", "--out", bk); !strings.Contains(out, "backup written") {
		t.Errorf("backup printed %q", out)
	}
	p.stop(t)

	// Restore into a new database; the old cursor is gone there.
	url2 := pgtest.URL(t)
	out := mustRun(t, dir, "--db", url2, "restore", "--from", bk)
	if !strings.Contains(out, "verified") || !strings.Contains(out, "2 revisions") {
		t.Errorf("restore printed %q", out)
	}
	_, errOut, code := fieldcased(t, dir, "--db", url2, "restore", "--from", bk)
	if code == 0 || !strings.Contains(errOut, "already holds fieldcased data") || !strings.Contains(errOut, "hint:") {
		t.Errorf("restore into a used database: exit %d\n%s", code, errOut)
	}
	p = serve(t, dataDir(t), "--no-tls", "--db", url2)
	c.BaseURL = p.url
	_, _, err = c.Pull(ctx, cursor, 0)
	wantCode(t, "old cursor after restore", err, http.StatusGone, protocol.CodeGone)
	if _, cursor, err = c.PullAll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	// new-epoch (after a pg_restore): the cursor is gone again.
	if out := mustRun(t, dir, "--db", url2, "new-epoch"); !strings.HasPrefix(out, "new epoch ") {
		t.Errorf("new-epoch printed %q", out)
	}
	_, _, err = c.Pull(ctx, cursor, 0)
	wantCode(t, "cursor after new-epoch", err, http.StatusGone, protocol.CodeGone)
	p.stop(t)

	// A schema from a newer fieldcased is refused.
	conn, err := pgx.Connect(ctx, url2)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES (9999, 'future')"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"newer schema", []string{"--db", url2, "serve", "--no-tls", "--listen", "127.0.0.1:0"}, "fieldcased: database schema is newer than this fieldcased"},
		{"newer schema admin", []string{"--db", url2, "device", "list"}, "run that version (or newer)"},
		{"not postgres", []string{"--db", "mysql://x/y", "device", "list"}, "--db must be a PostgreSQL URL"},
		{"no such database", []string{"--db", strings.Replace(url2, "/fct_", "/nope_", 1), "device", "list"}, "does not exist"},
		{"unreachable", []string{"--db", "postgres://u@127.0.0.1:1/x?connect_timeout=2", "device", "list"}, "cannot reach the database u@127.0.0.1:1/x"},
		{"bad pool", []string{"--db", url, "serve", "--no-tls", "--listen", "127.0.0.1:0", "--db-max-conns", "0"}, "out of range"},
		{"new-epoch on bbolt", []string{"new-epoch"}, "for a PostgreSQL store"},
		{"migrate from nowhere", []string{"migrate", "--from", "pg:x", "--to", url}, "want bbolt:DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := fieldcased(t, dataDir(t), tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "hint:") {
				t.Errorf("exit %d, stderr:\n%s\nwant %q and a hint", code, errOut, tc.want)
			}
			if strings.Contains(errOut, "password") {
				t.Errorf("error mentions a password:\n%s", errOut)
			}
		})
	}
}

func deviceListDB(t *testing.T, url string) []string {
	t.Helper()
	var ids []string
	for _, line := range strings.Split(mustRun(t, dataDir(t), "--db", url, "device", "list"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// `fieldcased migrate` moves a bbolt server's data into PostgreSQL without
// loss: every revision a device pushed is pulled from the new server, and
// the old cursor is answered 410 so devices re-sync.
func TestMigrateBboltToPostgres(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	dir := dataDir(t)
	p := serve(t, dir)
	c, w := setup(t, dir, p, "ada")
	reader, _ := enrol(t, dir, p, "ada", "ada-desktop")
	var pushed []*record.Revision
	for i := range 5 {
		caseID := record.NewID()
		revs := w.NewCase(caseID)
		for range 20 * (i + 1) {
			revs = append(revs, w.Rev(record.KindNote, caseID, record.NewID()))
		}
		if _, err := c.Push(ctx, nil, revs...); err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, revs...)
	}
	blob := bytes.Repeat([]byte("sealed audio "), 1000)
	if _, err := c.UploadBlobs(ctx, pushed[0].CaseID, []protocol.Blob{{ID: sha256Sum(blob), Data: blob}}); err != nil {
		t.Fatal(err)
	}
	_, cursor, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	before := logShow(t, dir)
	// Not while the server runs.
	if _, errOut, code := fieldcased(t, dir, "migrate", "--from", "bbolt:"+dir, "--to", url); code == 0 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("migrate from a running server: exit %d\n%s", code, errOut)
	}
	p.stop(t)

	out := mustRun(t, dir, "migrate", "--from", "bbolt:"+dir, "--to", url)
	if !strings.Contains(out, fmt.Sprintf("%d revisions", len(pushed))) || !strings.Contains(out, "1 blobs") || !strings.Contains(out, "verified") {
		t.Errorf("migrate printed:\n%s", out)
	}
	if _, errOut, code := fieldcased(t, dir, "migrate", "--from", "bbolt:"+dir, "--to", url); code == 0 || !strings.Contains(errOut, "already holds fieldcased data") {
		t.Errorf("second migrate: exit %d\n%s", code, errOut)
	}

	// The log and its key came along: the same tree, and it verifies.
	if after := logShow(t, dataDir(t), "--db", url); after.Root != before.Root || after.Size != before.Size || after.Key != before.Key {
		t.Errorf("log after migrate = %+v, want %+v", after, before)
	}
	mustRun(t, dataDir(t), "--db", url, "log", "verify")

	p, _ = pgServe(t, url)
	reader.BaseURL, c.BaseURL = p.url, p.url
	_, _, err = reader.Pull(ctx, cursor, 0)
	wantCode(t, "old cursor on the migrated server", err, http.StatusGone, protocol.CodeGone)
	got, _, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := revSet(pushed)
	if have := revSet(got); len(have) != len(want) {
		t.Errorf("migrated server has %d revisions, want %d", len(have), len(want))
	}
	if b, err := reader.GetBlob(ctx, pushed[0].CaseID, sha256Sum(blob)); err != nil || !bytes.Equal(b, blob) {
		t.Errorf("blob after migration: %d bytes, %v", len(b), err)
	}
	// The device carries on: its acknowledged sequence survived.
	hdr, _, err := c.Pull(ctx, "", 1)
	if err != nil || hdr.AckedSeq != w.Seq {
		t.Errorf("acked seq after migration = %d, %v; want %d", hdr.AckedSeq, err, w.Seq)
	}
	if _, err := c.Push(ctx, nil, w.Rev(record.KindNote, pushed[0].CaseID, record.NewID())); err != nil {
		t.Errorf("push after migration: %v", err)
	}
	p.stop(t)
}

// SIGTERM lets an in-flight push finish (its answer arrives and its
// revisions are stored), refuses new connections, and a push that does not
// finish within --shutdown-timeout is cut with nothing half-stored.
func TestPostgresGracefulShutdown(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	url := pgtest.URL(t)
	p, _ := pgServe(t, url, "--shutdown-timeout", "3s", "--drain-delay", "300ms")
	c, w := pgEnrol(t, url, p, "ada", "ada-laptop")
	reader, _ := pgEnrol(t, url, p, "ada", "ada-desktop")

	// slowPush sends a push whose body arrives in two halves, the second
	// after release is closed.
	slowPush := func(revs []*record.Revision, release <-chan struct{}) (chan error, chan struct{}) {
		body, err := protocol.EncodeBatch(nil, revs)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: fieldcased\r\n%s: %d\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			protocol.PathPush, protocol.HeaderVersion, protocol.Version, c.Token, protocol.MediaBatch, len(body))
		conn.Write(body[:len(body)/2])
		res := make(chan error, 1)
		sent := make(chan struct{})
		close(sent)
		go func() {
			<-release
			conn.Write(body[len(body)/2:])
		}()
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
				}
			}
			res <- err
		}()
		return res, sent
	}

	caseID := record.NewID()
	finishing := w.NewCase(caseID)
	release := make(chan struct{})
	res, sent := slowPush(finishing, release)
	<-sent
	time.Sleep(100 * time.Millisecond) // the request is in the handler, reading
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	// Draining: /readyz is 503 while the push is still being served.
	if resp, err := http.Get(p.url + protocol.PathReady); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatalf("in-flight push across SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.log())
	}

	// A push that never completes is cut after the timeout.
	p, _ = pgServe(t, url, "--shutdown-timeout", "1s")
	c.BaseURL, reader.BaseURL = p.url, p.url
	stuck := []*record.Revision{w.Rev(record.KindNote, caseID, record.NewID())}
	never := make(chan struct{})
	defer close(never)
	res, sent = slowPush(stuck, never)
	<-sent
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-res; err == nil {
		t.Error("a push cut by shutdown succeeded")
	}
	<-p.done
	if d := time.Since(start); d > 10*time.Second || p.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("shutdown took %v, exit %d", d, p.cmd.ProcessState.ExitCode())
	}
	if !strings.Contains(p.log(), "did not finish in time") {
		t.Errorf("log does not say requests were cut:\n%s", p.log())
	}

	p, _ = pgServe(t, url)
	reader.BaseURL = p.url
	got, _, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	have := revSet(got)
	if !have[finishing[0].Rev] || !have[finishing[1].Rev] || have[stuck[0].Rev] || len(have) != 2 {
		t.Errorf("after shutdowns the server holds %d revisions: want the finished push's 2, not the cut one", len(have))
	}
	p.stop(t)
}

// PostgreSQL restarted and stopped under load: devices get 5xx (never a
// 4xx) and retry, /readyz reports the outage, and afterwards every
// acknowledged revision is there.
func TestPostgresRestartMidLoad(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	cluster := pgtest.StartCluster(t)
	url := pgtest.NewDatabase(t, cluster.URL)
	p, _ := pgServe(t, url)
	reader, _ := pgEnrol(t, url, p, "ada", "ada-reader")

	var (
		mu       sync.Mutex
		acked    = map[record.RevID]bool{}
		statuses = map[int]int{}
		netErrs  int
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for d := range 4 {
		c, w := pgEnrol(t, url, p, "ada", fmt.Sprintf("ada-%d", d))
		wg.Add(1)
		go func() {
			defer wg.Done()
			caseID := record.NewID()
			pending := w.NewCase(caseID)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 5 {
					pending = append(pending, w.Rev(record.KindNote, caseID, record.NewID()))
				}
				resp, err := c.Push(ctx, nil, pending...)
				var se *servertest.StatusError
				mu.Lock()
				switch {
				case errors.As(err, &se):
					statuses[se.Status]++
				case err != nil:
					netErrs++
				default:
					statuses[200]++
					for _, r := range resp.Results {
						if r.Status == protocol.StatusStored || r.Status == protocol.StatusPresent {
							acked[r.Rev] = true
						}
					}
					pending = nil // acknowledged: a device drops them from its outbox
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // a device backs off
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	cluster.Restart()
	time.Sleep(500 * time.Millisecond)
	cluster.Stop()
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get(p.url + protocol.PathReady)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down = %v, %v; want 503", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(p.url + protocol.PathHealth); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz with the database down = %v, %v; want 200 (the process lives)", resp, err)
	} else {
		resp.Body.Close()
	}
	time.Sleep(300 * time.Millisecond)
	cluster.Start()
	time.Sleep(800 * time.Millisecond)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("push answers by status: %v; connection errors: %d; %d revisions acknowledged", statuses, netErrs, len(acked))
	failures := 0
	for status, n := range statuses {
		if status >= 400 && status < 500 {
			t.Errorf("%d pushes answered %d: a database outage must never look like the device's fault", n, status)
		}
		if status >= 500 {
			failures += n
		}
	}
	if failures == 0 {
		t.Error("no push failed: the outage was not seen")
	}
	if resp, err := http.Get(p.url + protocol.PathReady); err != nil || resp.StatusCode != 200 {
		t.Errorf("readyz after the database came back = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	got, _, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	have := revSet(got)
	lost := 0
	for r := range acked {
		if !have[r] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged revisions lost across the PostgreSQL restart", lost, len(acked))
	}
	p.stop(t)
}

func sha256Sum(b []byte) record.RevID { return record.RevID(sha256.Sum256(b)) }
