// Package syncharness runs real sync end to end for tests: a fieldcased
// process on 127.0.0.1 (built once per test binary, killed and restarted at
// will) and devices with real vaults enrolled with it.
//
// A package using it calls Main from its TestMain, so the built server is
// removed at the end.
package syncharness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/sync/client"
)

// Main runs the tests and removes the built server afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	testbin.Cleanup()
	return code
}

func serverBinary(t testing.TB) string {
	p, err := testbin.Path("fieldcased", false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Server is a real fieldcased on 127.0.0.1 with plain HTTP.
type Server struct {
	t    testing.TB
	Dir  string
	URL  string
	Addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}

	extra     []string
	agencyDir string // where the agency key and its passphrase are (Dir, or the first instance's)
	tampered  bool   // the hostile operator wrote into its store (Tamper)
}

// Tampered reports whether the hostile operator wrote into the store: the
// devices' log audits are then expected to find things.
func (s *Server) Tampered() bool { return s.tampered }

// StartServer starts a server on a fresh data directory. extra are more
// flags for 'fieldcased serve' (e.g. a looser enrolment rate for a
// benchmark that enrols many devices).
func StartServer(t testing.TB, extra ...string) *Server {
	t.Helper()
	return startServer(t, nil, extra)
}

// startServer starts a server; with agency set (another instance over the
// same database) it shares that instance's agency key instead of making one.
func startServer(t testing.TB, agency *Server, extra []string) *Server {
	t.Helper()
	// Unix socket paths are limited to ~100 bytes: keep the dir short.
	dir, err := os.MkdirTemp("", "sts")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Dir: dir, Addr: "127.0.0.1:0", extra: extra, agencyDir: dir}
	t.Cleanup(func() {
		s.Kill()
		os.RemoveAll(dir)
	})
	if agency != nil {
		s.agencyDir = agency.agencyDir
	} else {
		s.initAgency()
	}
	s.Start()
	return s
}

// initAgency makes the agency's signing identity, as an administrator
// would (fieldcased agency init), with a cheap scrypt work factor and a
// passphrase made now, and installs its public key on the server.
func (s *Server) initAgency() {
	s.t.Helper()
	pass := make([]byte, 18)
	rand.Read(pass)
	if err := os.WriteFile(s.agencyPassFile(), []byte(hex.EncodeToString(pass)+"\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.Admin("agency", "init", "--out", s.AgencyKeyFile(), "--work-factor", "10")
}

// AgencyKeyFile is the agency key file (encrypted; AgencyEnv opens it).
func (s *Server) AgencyKeyFile() string { return filepath.Join(s.agencyDir, "agency.key") }

func (s *Server) agencyPassFile() string { return filepath.Join(s.agencyDir, "agency.pass") }

// AgencyEnv is the environment that lets fieldcased commands sign as the
// agency.
func (s *Server) AgencyEnv() []string {
	return []string{"FIELDCASED_AGENCY_KEY=" + s.AgencyKeyFile(), "FIELDCASED_AGENCY_PASSPHRASE_FILE=" + s.agencyPassFile()}
}

// Start (re)starts the server process on its address.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command(serverBinary(s.t), "serve", "--data", s.Dir, "--listen", s.Addr, "--no-tls")
	cmd.Args = append(cmd.Args, s.extra...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.log = &bytes.Buffer{}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- u
			}
		}
	}()
	go func() { cmd.Wait(); close(s.done) }()
	select {
	case u := <-found:
		s.URL = strings.TrimSpace(u)
		s.Addr = strings.TrimPrefix(s.URL, "http://")
	case <-s.done:
		s.t.Fatalf("fieldcased exited at start:\n%s", s.log)
	case <-time.After(30 * time.Second):
		s.t.Fatalf("fieldcased did not start:\n%s", s.log)
	}
}

// Kill stops the server with SIGKILL, as a power cut would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart kills the server and starts it again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// Binary is the path of the fieldcased the harness built.
func (s *Server) Binary() string { return serverBinary(s.t) }

// Running reports whether the process is up.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Admin runs a fieldcased administration command on the server's data dir
// (over its admin socket while it runs), able to sign as the agency.
func (s *Server) Admin(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(serverBinary(s.t), append(args, "--data", s.Dir)...)
	cmd.Env = append(os.Environ(), s.AgencyEnv()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("fieldcased %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// EnrollCode makes the team and user when missing (signed by the agency)
// and returns a one-time enrolment code for the user.
func (s *Server) EnrollCode(user, role, team string) string {
	s.t.Helper()
	quiet := func(args ...string) {
		cmd := exec.Command(serverBinary(s.t), append(args, "--data", s.Dir)...)
		cmd.Env = append(os.Environ(), s.AgencyEnv()...)
		cmd.Run() // "already exists" is fine
	}
	quiet("team", "add", team)
	quiet("user", "add", user, "--role", role, "--team", team)
	out := s.Admin("enroll-code", user)
	code := codePattern.FindString(out)
	if code == "" {
		s.t.Fatalf("enroll-code %s printed no code:\n%s", user, out)
	}
	return code
}

// codePattern finds an enrolment code in fieldcased's output.
var codePattern = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}\b`)

// Healthy reports whether /healthz answers.
func (s *Server) Healthy() bool {
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// DevicePass is the passphrase of every test device (tests use a cheap
// scrypt work factor).
const DevicePass = "syncharness device passphrase"

// Device is an enrolled device with its own vault.
type Device struct {
	t      testing.TB
	Name   string
	V      *store.Vault
	Syncer *client.Syncer
	Server *Server // the server it enrolled with
	url    string
}

// NewDevice makes a vault and enrols it as user (created when missing)
// through url (the server's, or a proxy's in front of it).
func (s *Server) NewDevice(name, url, user, role, team string) *Device {
	s.t.Helper()
	return s.NewDeviceWith(name, url, user, role, team, store.Options{})
}

// NewDeviceWith is NewDevice with vault options (a wrong clock, say).
func (s *Server) NewDeviceWith(name, url, user, role, team string, opts store.Options) *Device {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), name+".db")
	opts.WorkFactor = 10
	v, err := store.Create(path, DevicePass, store.Profile{Name: name}, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	d := &Device{t: s.t, Name: name, V: v, url: url, Server: s}
	storetest.Checked(s.t, v)
	code := s.EnrollCode(user, role, team)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.EnrollVault(ctx, v, client.Config{Server: url, RetryMax: 10, RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond}, code, name); err != nil {
		s.t.Fatalf("enrolling %s: %v", name, err)
	}
	d.Syncer = d.newSyncer()
	return d
}

func (d *Device) newSyncer() *client.Syncer {
	s, err := client.NewVaultSyncer(d.V, func(c *client.Config) {
		c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = 6, 10*time.Millisecond, 200*time.Millisecond
		c.Timeout = 20 * time.Second
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// UseURL points the device at another address (a proxy in front of the
// server, or the server again).
func (d *Device) UseURL(url string) {
	d.t.Helper()
	c, err := d.V.SyncConfig()
	if err != nil {
		d.t.Fatal(err)
	}
	c.Server = url
	if err := d.V.SetSyncConfig(c); err != nil {
		d.t.Fatal(err)
	}
	d.Syncer = d.newSyncer()
}

// Sync runs one round (bounded to a minute).
func (d *Device) Sync() (client.Summary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return d.Syncer.Sync(ctx, nil)
}

// MustSync runs one round and fails the test on error. After the hostile
// operator wrote into the server's store, findings of the device's log
// audit are expected (an entry in its name it never wrote, say) and do not
// fail it: the round goes on, and the test checks what the device took.
func (d *Device) MustSync() client.Summary {
	d.t.Helper()
	sum, err := d.Sync()
	if err != nil && !(errors.Is(err, client.ErrLogAlarm) && d.Server.Tampered()) {
		d.t.Fatalf("%s: sync: %v", d.Name, err)
	}
	return sum
}

// Revs lists every revision id the device holds.
func (d *Device) Revs() map[record.RevID]bool {
	out := map[record.RevID]bool{}
	d.V.AllRevisions(func(r *record.Revision) error {
		out[r.Rev] = true
		return nil
	})
	return out
}

// Reopen closes the vault and opens it again (as after a restart), with a
// fresh syncer.
func (d *Device) Reopen() {
	d.t.Helper()
	d.ReopenWith(store.Options{})
}

// ReopenWith is Reopen with vault options (a test's clock, say).
func (d *Device) ReopenWith(opts store.Options) {
	d.t.Helper()
	path := d.V.Path()
	d.V.Close()
	v := storetest.Open(d.t, path, opts)
	if err := v.Unlock(DevicePass); err != nil {
		d.t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		d.t.Fatal(err)
	}
	d.V = v
	d.Syncer = d.newSyncer()
}
