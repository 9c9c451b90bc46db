package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

var codeLine = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}\n$`)

func deviceList(t *testing.T, dir string) []server.DeviceInfo {
	t.Helper()
	var devs []server.DeviceInfo
	if err := json.Unmarshal([]byte(mustRun(t, dir, "device", "list", "--json")), &devs); err != nil {
		t.Fatal(err)
	}
	return devs
}

func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != status || se.Code != code {
		t.Fatalf("%s: %v, want HTTP %d %s", what, err, status, code)
	}
}

// Administration works through the admin socket while the server runs and
// directly on the store while it is stopped.
func TestAdminRunningAndStopped(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	key := agencyKey(t, dir)                                     // no server yet: direct
	mustRun(t, dir, "team", "add", "north", "--agency-key", key) // direct

	p := serve(t, dir)
	if fi, err := os.Stat(filepath.Join(dir, "admin.sock")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, %v", fi, err)
	}
	mustRun(t, dir, "user", "add", "ada", "--role", "caseworker", "--team", "north", "--agency-key", key)
	code, _, _ := fieldcased(t, dir, "enroll-code", "ada", "--ttl", "2h", "--agency-key", key)
	if !codeLine.MatchString(code) {
		t.Fatalf("enroll-code printed %q, want a code alone on its line", code)
	}
	if !strings.Contains(p.log(), `"op":"statements.add"`) || !strings.Contains(p.log(), `"op":"directory"`) {
		t.Errorf("the running server did not serve the admin commands:\n%s", p.log())
	}
	c, w := func() (*servertest.Client, *servertest.Writer) {
		c, _, err := servertest.Enroll(ctx, p.url, nil, strings.TrimSpace(code), "ada-laptop")
		if err != nil {
			t.Fatal(err)
		}
		return c, c.Writer()
	}()
	if _, err := c.Push(ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}
	devs := deviceList(t, dir)
	if len(devs) != 1 || devs[0].ID != "ada-laptop" || devs[0].User != "ada" || devs[0].LastSync.IsZero() || !devs[0].Revoked.IsZero() {
		t.Fatalf("device list while running = %+v", devs)
	}
	table := mustRun(t, dir, "device", "list")
	if !strings.Contains(table, "ada-laptop") || !strings.Contains(table, "LAST SYNC") {
		t.Errorf("device table:\n%s", table)
	}

	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "admin.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin socket left after a clean stop: %v", err)
	}
	// Stopped: the same commands open the store directly.
	if devs := deviceList(t, dir); len(devs) != 1 || devs[0].LastSeen.IsZero() {
		t.Fatalf("device list while stopped = %+v", devs)
	}
	mustRun(t, dir, "user", "add", "bo", "--role", "supervisor", "--team", "north", "--agency-key", key)
	bk := filepath.Join(dataDir(t), "stopped.db")
	mustRun(t, dir, "backup", "--out", bk)
	if fi, err := os.Stat(bk); err != nil || fi.Size() == 0 {
		t.Errorf("backup while stopped: %v, %v", fi, err)
	}
	out := mustRun(t, dir, "device", "revoke", "ada-laptop")
	if !strings.Contains(out, "revoked the token of device ada-laptop") {
		t.Errorf("revoke printed %q", out)
	}

	p = serve(t, dir)
	c.BaseURL = p.url
	_, _, err := c.Pull(ctx, "", 0)
	wantCode(t, "pull by a device revoked while the server was stopped", err, http.StatusUnauthorized, protocol.CodeRevoked)
	// bo, added while stopped, can enrol now.
	enrol(t, dir, p, "bo", "bo-laptop")
	p.stop(t)
}

// Revoking a device through the socket stops its very next request.
func TestRevokeWhileRunning(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	p := serve(t, dir)
	c, w := setup(t, dir, p, "ada")
	if _, err := c.Push(ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "device", "revoke", "ada-laptop")
	_, err := c.Push(ctx, nil, w.Rev(record.KindNote, "C1", "N1"))
	wantCode(t, "push after revoke", err, http.StatusUnauthorized, protocol.CodeRevoked)
	_, err = c.Roster(ctx)
	wantCode(t, "roster after revoke", err, http.StatusUnauthorized, protocol.CodeRevoked)
	if devs := deviceList(t, dir); devs[0].Revoked.IsZero() {
		t.Errorf("device list shows no revocation: %+v", devs[0])
	}
	p.stop(t)
}

// The server is killed (SIGKILL) while a device pushes: every revision it
// acknowledged is there after a restart, and its acked sequence covers them.
func TestKillMidPush(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	p := serve(t, dir)
	c, w := setup(t, dir, p, "ada")
	// A second device of ada's checks what the server holds: a device is
	// not sent back its own revisions.
	reader, _ := enrol(t, dir, p, "ada", "ada-desktop")
	if _, err := c.Push(ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}

	var (
		mu     sync.Mutex
		acked  = map[record.RevID]bool{}
		maxSeq uint64
	)
	batches := make(chan struct{}, 1000)
	pushErr := make(chan error, 1)
	go func() {
		for range 1000 {
			revs := make([]*record.Revision, 50)
			for i := range revs {
				revs[i] = w.Rev(record.KindNote, "C1", record.NewID())
			}
			resp, err := c.Push(ctx, nil, revs...)
			if err != nil {
				pushErr <- err
				return
			}
			mu.Lock()
			for _, r := range resp.Results {
				if r.Status == protocol.StatusStored || r.Status == protocol.StatusPresent {
					acked[r.Rev] = true
				}
			}
			maxSeq = max(maxSeq, resp.AckedSeq)
			mu.Unlock()
			batches <- struct{}{}
		}
		pushErr <- errors.New("pushed 1000 batches without being killed")
	}()
	for range 5 {
		select {
		case <-batches:
		case err := <-pushErr:
			t.Fatalf("push failed before the kill: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("pushes too slow")
		}
	}
	p.kill(t) // the pusher is mid-push: it loops without pause
	select {
	case err := <-pushErr:
		if err == nil {
			t.Fatal("push loop ended without an error")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("pusher did not notice the kill")
	}

	p = serve(t, dir)
	c.BaseURL, reader.BaseURL = p.url, p.url
	mu.Lock()
	defer mu.Unlock()
	got, _, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	have := map[record.RevID]bool{}
	for _, r := range got {
		have[r.Rev] = true
	}
	lost := 0
	for r := range acked {
		if !have[r] {
			lost++
		}
	}
	if lost > 0 || len(acked) < 250 {
		t.Errorf("%d of %d acknowledged revisions lost after SIGKILL", lost, len(acked))
	}
	hdr, _, err := c.Pull(ctx, "", 1)
	if err != nil || hdr.AckedSeq < maxSeq {
		t.Errorf("acked_seq after restart = %d, %v; want at least %d", hdr.AckedSeq, err, maxSeq)
	}
	p.stop(t)
}

// A backup taken while the server runs, restored into a new directory: old
// cursors get 410 Gone, a pull from the start has the backup's revisions,
// and revs-diff names what the device must push again.
func TestBackupRestoreGone(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	p := serve(t, dir)
	c, w := setup(t, dir, p, "ada")
	reader, _ := enrol(t, dir, p, "ada", "ada-desktop")
	before := w.NewCase("C1")
	if _, err := c.Push(ctx, nil, before...); err != nil {
		t.Fatal(err)
	}
	_, cursor, err := c.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	bk := filepath.Join(dataDir(t), "backup.db")
	out := mustRun(t, dir, "backup", "--out", bk)
	if !strings.Contains(out, bk) {
		t.Errorf("backup printed %q", out)
	}
	if _, errOut, code := fieldcased(t, dir, "backup", "--out", bk); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("backup over a file: exit %d, %s", code, errOut)
	}
	after := w.Rev(record.KindNote, "C1", "N1")
	if _, err := c.Push(ctx, nil, after); err != nil {
		t.Fatal(err)
	}
	p.stop(t)

	dir2 := dataDir(t)
	mustRun(t, dir2, "restore", "--from", bk)
	if _, errOut, code := fieldcased(t, dir2, "restore", "--from", bk); code == 0 || !strings.Contains(errOut, "already has a store") {
		t.Errorf("restore over a store: exit %d, %s", code, errOut)
	}
	p = serve(t, dir2)
	c.BaseURL, reader.BaseURL = p.url, p.url
	_, _, err = c.Pull(ctx, cursor, 0)
	wantCode(t, "old cursor on the restored server", err, http.StatusGone, protocol.CodeGone)
	got, _, err := reader.PullAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(before) {
		t.Errorf("restored server has %d revisions, want the backup's %d", len(got), len(before))
	}
	missing, err := c.RevsDiff(ctx, []record.RevID{before[0].Rev, before[1].Rev, after.Rev})
	if err != nil || len(missing) != 1 || missing[0] != after.Rev {
		t.Fatalf("revs-diff = %v, %v; want only the revision pushed after the backup", missing, err)
	}
	resp, err := c.Push(ctx, nil, after)
	if err != nil || resp.Results[0].Status != protocol.StatusStored || resp.AckedSeq != after.Seq {
		t.Errorf("re-push = %+v, %v", resp, err)
	}
	p.stop(t)
}

// An admin command on a store that is locked but has no live socket says so.
func TestLockedStoreWithoutSocket(t *testing.T) {
	dir := dataDir(t)
	st, err := boltstore.Open(filepath.Join(dir, boltstore.FileName), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, errOut, code := fieldcased(t, dir, "device", "list")
	if code == 0 || !strings.Contains(errOut, "fieldcased: the store in") || !strings.Contains(errOut, "locked by another process") || !strings.Contains(errOut, "hint:") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	_, errOut, code = fieldcased(t, dir, "serve", "--no-tls", "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "another fieldcased holds the store") {
		t.Errorf("second serve: exit %d, stderr:\n%s", code, errOut)
	}
}

// The server makes a self-signed certificate on first start, prints its
// fingerprint, and keeps it across restarts.
func TestSelfSignedTLS(t *testing.T) {
	dir := dataDir(t)
	fingerprint := func(p *proc) string {
		for _, l := range p.stdout {
			if fp, ok := strings.CutPrefix(l, "certificate fingerprint (sha256): "); ok {
				return fp
			}
		}
		t.Fatalf("no fingerprint in %q", p.stdout)
		return ""
	}
	p := serve(t, dir, "--log-level", "info")
	fp := fingerprint(p)
	if len(fp) != 64 || !strings.HasPrefix(p.url, "https://") || !strings.Contains(p.log(), fp) {
		t.Fatalf("fingerprint %q, url %s", fp, p.url)
	}
	// A device pins the fingerprint instead of trusting a CA.
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			sum := sha256.Sum256(raw[0])
			if hex.EncodeToString(sum[:]) != fp {
				return errors.New("fingerprint mismatch")
			}
			return nil
		},
	}}}
	resp, err := pinned.Get(p.url + protocol.PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz over TLS = %d", resp.StatusCode)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("TLS key file: %v, %v; want mode 0600", fi, err)
	}
	p.stop(t)
	p = serve(t, dir, "--log-level", "info")
	if again := fingerprint(p); again != fp {
		t.Errorf("fingerprint changed across restarts: %s → %s", fp, again)
	}
	p.stop(t)
}

func TestCommandErrors(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	dir := dataDir(t)
	key := agencyKey(t, dir)
	mustRun(t, dir, "team", "add", "north", "--agency-key", key)
	mustRun(t, dir, "user", "add", "ada", "--role", "caseworker", "--team", "north", "--agency-key", key)
	recovery := filepath.Join(dir, "recovery.age")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"bad role", []string{"user", "add", "bo", "--role", "boss", "--team", "north", "--agency-key", key}, "fieldcased: --role must be one of"},
		{"unknown team", []string{"user", "add", "bo", "--role", "caseworker", "--team", "south", "--agency-key", key}, "hint: add it first with 'fieldcased team add NAME'"},
		{"caseworker without team", []string{"user", "add", "bo", "--role", "caseworker", "--agency-key", key}, "needs a team"},
		{"duplicate user", []string{"user", "add", "ada", "--role", "typist", "--team", "north", "--agency-key", key}, "already exists"},
		{"duplicate team", []string{"team", "add", "north", "--agency-key", key}, "already exists"},
		{"blank team name", []string{"team", "add", " north", "--agency-key", key}, "name must be 1 to 64 characters"},
		{"code for nobody", []string{"enroll-code", "nobody", "--agency-key", key}, "fieldcased: user \"nobody\": not found"},
		{"ttl too long", []string{"enroll-code", "ada", "--ttl", "9000h", "--agency-key", key}, "out of range"},
		{"revoke unknown", []string{"device", "revoke", "nope"}, "hint: 'fieldcased device list' shows the device ids"},
		{"revoke unknown, signed", []string{"device", "revoke", "nope", "--agency-key", key}, "hint: 'fieldcased device list' shows the device ids"},
		{"bad recipient", []string{"recovery", "set", "age1nope", "--agency-key", key}, "not a post-quantum age recipient"},
		{"no-tls on all interfaces", []string{"serve", "--no-tls", "--listen", "0.0.0.0:0"}, "loopback address only"},
		{"tls cert without key", []string{"serve", "--tls-cert", "x.pem", "--listen", "127.0.0.1:0"}, "go together"},
		{"restore from a missing file", []string{"restore", "--from", "/nonexistent/backup.db"}, "fieldcased:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := fieldcased(t, dir, tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errOut, tc.want)
			}
		})
	}

	t.Run("recovery", func(t *testing.T) {
		recipient := strings.TrimSpace(mustRun(t, dir, "recovery", "new", "--out", recovery))
		if !strings.HasPrefix(recipient, "age1pq1") {
			t.Fatalf("recovery new printed %.40q…", recipient)
		}
		if fi, err := os.Stat(recovery); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("recovery file: %v, %v", fi, err)
		}
		if _, errOut, code := fieldcased(t, dir, "recovery", "new", "--out", recovery); code == 0 || !strings.Contains(errOut, "already exists") {
			t.Errorf("recovery new over a file: exit %d %s", code, errOut)
		}
		if out, errOut, code := fieldcasedIn(t, dir, recipient+"\n", "recovery", "set", "-", "--agency-key", key); code != 0 || !strings.Contains(out, "recovery recipient set") {
			t.Errorf("recovery set -: exit %d %s %s", code, out, errOut)
		}
		p := serve(t, dir)
		resp, err := http.Get(p.url + protocol.PathHealth)
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Warnings []string }
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		for _, w := range h.Warnings {
			if strings.Contains(w, "recovery") {
				t.Errorf("healthz still warns: %q", w)
			}
		}
		p.stop(t)
	})

	t.Run("FIELDCASED_DATA", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := execCommand(ctx, "device", "list", "--json")
		cmd.Env = append(os.Environ(), "FIELDCASED_DATA="+dir)
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != "[]" {
			t.Errorf("device list with FIELDCASED_DATA = %q, %v", out, err)
		}
	})
	t.Run("no store", func(t *testing.T) {
		_, errOut, code := fieldcased(t, filepath.Join(dir, "missing"), "device", "list")
		if code == 0 || !strings.Contains(errOut, "no fieldcased store in") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}

func execCommand(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, binary, args...)
}
