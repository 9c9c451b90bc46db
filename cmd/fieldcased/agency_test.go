package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

// bare runs fieldcased with exactly args (no --data) and env added to a
// clean environment: no data directory, no agency key, HOME in a
// temporary directory, and no controlling terminal (so nothing can prompt).
func bare(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GORACE=" + os.Getenv("GORACE"), "TMPDIR=" + os.TempDir()}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("fieldcased %v: %v", args, err)
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		t.Errorf("fieldcased %v printed a stack trace:\n%s", args, errb.String())
	}
	return out.String(), errb.String(), code
}

// wantError checks a failed command's one-line error and its hint.
func wantError(t *testing.T, what, stderr string, code int, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code == 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "fieldcased: ") || !strings.HasPrefix(lines[1], "hint: ") || !strings.Contains(stderr, want) {
		t.Errorf("%s: exit %d, stderr:\n%s\nwant one error line with %q and a hint", what, code, stderr, want)
	}
}

// agency init, show and set-key; and an administrator's mistakes with them.
func TestAgencyInit(t *testing.T) {
	home := dataDir(t)
	keys := dataDir(t)
	env := []string{"HOME=" + home, "FIELDCASED_AGENCY_PASSPHRASE_FILE=" + passFile}
	key := filepath.Join(keys, "agency.key")

	// Offline: no store named, so nothing is installed, and no store is
	// made in the home directory.
	out, errOut, code := bare(t, env, "agency", "init", "--out", key, "--work-factor", "10")
	if code != 0 {
		t.Fatalf("agency init: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("agency init printed %q, want the key and its fingerprint", out)
	}
	pub, err := trust.ParseAgencyKey(lines[0])
	if err != nil {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	if lines[1] != "fingerprint "+trust.AgencyFingerprint(pub) {
		t.Errorf("second line %q, want the fingerprint %s", lines[1], trust.AgencyFingerprint(pub))
	}
	if !strings.Contains(errOut, "agency set-key "+lines[0]) || !strings.Contains(errOut, "offline") {
		t.Errorf("agency init's advice:\n%s", errOut)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	file, _ := os.ReadFile(key)
	p, _ := os.ReadFile(passFile)
	if k, err := trust.DecryptAgencyKey(file, strings.TrimSpace(string(p))); err != nil || !k.Public().Equal(pub) {
		t.Errorf("the key file opens to %v, %v; want the printed key", k, err)
	}
	if _, err := os.Stat(filepath.Join(home, ".local")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agency init without --data touched the home directory: %v", err)
	}

	// Never overwritten.
	_, errOut, code = bare(t, env, "agency", "init", "--out", key, "--work-factor", "10")
	wantError(t, "init over a key file", errOut, code, "already exists")
	if again, _ := os.ReadFile(key); string(again) != string(file) {
		t.Error("the key file changed")
	}
	// No passphrase: no terminal and no file.
	_, errOut, code = bare(t, []string{"HOME=" + home}, "agency", "init", "--out", filepath.Join(keys, "k2"), "--work-factor", "10")
	wantError(t, "init without a passphrase", errOut, code, "no passphrase given")
	short := filepath.Join(keys, "short")
	os.WriteFile(short, []byte("too short\n"), 0o600)
	_, errOut, code = bare(t, []string{"HOME=" + home, "FIELDCASED_AGENCY_PASSPHRASE_FILE=" + short}, "agency", "init", "--out", filepath.Join(keys, "k3"), "--work-factor", "10")
	wantError(t, "a short passphrase", errOut, code, "shorter than")
	for _, f := range []string{"k2", "k3"} {
		if _, err := os.Stat(filepath.Join(keys, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed init left %s: %v", f, err)
		}
	}

	// On the server: set-key, then show.
	dir := dataDir(t)
	if out := mustRun(t, dir, "agency", "set-key", lines[0]); !strings.Contains(out, trust.AgencyFingerprint(pub)) {
		t.Errorf("set-key printed %q", out)
	}
	if out := mustRun(t, dir, "agency", "show"); !strings.HasPrefix(out, lines[0]+"\n"+lines[1]+"\n") {
		t.Errorf("agency show printed %q", out)
	}
	// The same key again is fine; another needs --force, and says what
	// that costs.
	mustRun(t, dir, "agency", "set-key", lines[0])
	other, _ := servertest.NewAgency()
	_, errOut, code = fieldcased(t, dir, "agency", "set-key", other.Public())
	wantError(t, "another key without --force", errOut, code, "--force")
	_, errOut, code = fieldcased(t, dir, "agency", "set-key", "fcagency1nope")
	wantError(t, "not a key", errOut, code, "not an agency public key")
	// init on a server that has a key: refused before any file is made.
	_, errOut, code = fieldcased(t, dir, "agency", "init", "--out", filepath.Join(keys, "k4"), "--work-factor", "10")
	wantError(t, "init on a server with a key", errOut, code, "set-key NEWKEY --force")
	if _, err := os.Stat(filepath.Join(keys, "k4")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused init left a key file: %v", err)
	}
	out, errOut, code = fieldcased(t, dir, "agency", "set-key", other.Public(), "--force")
	if code != 0 || !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "must enrol again") {
		t.Errorf("set-key --force: exit %d\n%s", code, errOut)
	}
	if out := mustRun(t, dir, "agency", "show"); !strings.HasPrefix(out, other.Public()) {
		t.Errorf("after --force, agency show printed %q", out)
	}

	// A server without a key says what to do.
	empty := dataDir(t)
	mustRun(t, empty, "agency", "init", "--out", filepath.Join(keys, "k5"), "--work-factor", "10") // makes the store
	fresh := dataDir(t)
	if _, errOut, code := fieldcased(t, fresh, "agency", "show"); code == 0 || !strings.Contains(errOut, "no fieldcased store") {
		t.Errorf("agency show without a store: exit %d\n%s", code, errOut)
	}
}

// Without --data and FIELDCASED_DATA, administration never makes a store
// in the home directory.
func TestAdminWithoutDataDir(t *testing.T) {
	home := dataDir(t)
	env := []string{"HOME=" + home, "FIELDCASED_AGENCY_PASSPHRASE_FILE=" + passFile}
	for _, args := range [][]string{
		{"team", "add", "north", "--agency-key", "/nonexistent/agency.key"},
		{"agency", "show"},
		{"agency", "set-key", "fcagency1aaaa"},
		{"device", "list"},
		{"roster"},
		{"rotations"},
	} {
		_, errOut, code := bare(t, env, args...)
		if code == 0 {
			t.Errorf("%v without a data directory succeeded", args)
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") != 1 || !strings.Contains(errOut, "hint:") {
			t.Errorf("%v: %s", args, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".local")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("administration without a data directory made %s: %v", filepath.Join(home, ".local"), err)
	}
}

// The administration that signs, end to end against a running server (and
// one stopped): users with a code in one step, codes, the recovery
// recipient, revocation with and without the agency key, roster,
// rotations; and the key's errors.
func TestSignedAdministration(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	dir := dataDir(t)
	key := agencyKey(t, dir)
	p := serve(t, dir)
	mustRun(t, dir, "team", "add", "north", "--agency-key", key)

	out := mustRun(t, dir, "user", "add", "ada", "--role", "caseworker", "--team", "north", "--enroll-code", "--ttl", "2h", "--agency-key", key)
	lines := strings.Split(out, "\n")
	if len(lines) != 3 || lines[0] != `added caseworker "ada" to team "north"` || !codeLine.MatchString(lines[1]+"\n") {
		t.Fatalf("user add --enroll-code printed %q", out)
	}
	laptop, _, err := servertest.Enroll(ctx, p.url, nil, lines[1], "ada-laptop")
	if err != nil {
		t.Fatalf("enrolling with the code of user add: %v", err)
	}
	code := lastLine(mustRun(t, dir, "enroll-code", "ada", "--agency-key", key))
	desk, _, err := servertest.Enroll(ctx, p.url, nil, code, "ada-desk")
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "user", "add", "sam", "--role", "supervisor", "--team", "north", "--agency-key", key)
	w := laptop.Writer()
	if _, err := laptop.Push(ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}

	// The recovery recipient, signed; a newer one replaces it.
	for i, want := range []string{"version 1", "version 2"} {
		id, _ := crypto.NewIdentity()
		if out := mustRun(t, dir, "recovery", "set", id.Recipient(), "--agency-key", key); !strings.Contains(out, want) {
			t.Errorf("recovery set %d printed %q", i+1, out)
		}
	}

	// The roster: every statement, all accepted, as devices see it.
	var r server.RosterInfo
	if err := json.Unmarshal([]byte(mustRun(t, dir, "roster", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range r.Statements {
		kinds = append(kinds, s.Kind)
		if !s.Accepted && !(s.Superseded && strings.HasSuffix(s.Subject, " v1") && s.Kind == "recovery recipient") {
			t.Errorf("statement not accepted: %+v", s)
		}
	}
	slices.Sort(kinds)
	if want := []string{"device", "device", "grant", "grant", "recovery recipient", "recovery recipient", "team", "user", "user"}; !slices.Equal(kinds, want) {
		t.Errorf("roster kinds %v, want %v", kinds, want)
	}
	served, err := laptop.Roster(ctx)
	if err != nil || len(served.Statements) != len(r.Statements) {
		t.Errorf("a device is served %d statements, the roster lists %d (%v)", len(served.Statements), len(r.Statements), err)
	}
	table := mustRun(t, dir, "roster")
	if !strings.Contains(table, "KIND") || !strings.Contains(table, "ada (caseworker, team north) v1") || !strings.Contains(table, "superseded") ||
		strings.Contains(table, "not accepted") {
		t.Errorf("roster table:\n%s", table)
	}

	// Killing the token alone: the device is refused at once, but nothing
	// is owed yet, and the command says devices keep wrapping keys to it.
	out, errOut, code2 := fieldcased(t, dir, "device", "revoke", "ada-desk")
	if code2 != 0 || !strings.Contains(out, "revoked the token of device ada-desk") || !strings.Contains(errOut, "keep wrapping case keys") ||
		!strings.Contains(errOut, "--agency-key") || !strings.Contains(errOut, "fieldcase device revoke") {
		t.Errorf("device revoke without the key: exit %d\n%s%s", code2, out, errOut)
	}
	_, err = desk.Roster(ctx)
	wantCode(t, "the revoked device", err, http.StatusUnauthorized, protocol.CodeRevoked)
	if out := mustRun(t, dir, "rotations"); out != "no rotations owed\n" {
		t.Errorf("rotations after a token revocation: %q", out)
	}
	if table := mustRun(t, dir, "device", "list"); !strings.Contains(table, "(token only)") {
		t.Errorf("device list:\n%s", table)
	}

	// The key's errors, each one line and a hint, and nothing changed.
	other := filepath.Join(dataDir(t), "other.key")
	mustRun(t, dataDir(t), "agency", "init", "--out", other, "--work-factor", "10")
	junk := filepath.Join(dataDir(t), "junk.key")
	os.WriteFile(junk, []byte("not a key\n"), 0o600)
	wrongPass := filepath.Join(dataDir(t), "wrong")
	os.WriteFile(wrongPass, []byte("a wrong passphrase here\n"), 0o600)
	for _, tc := range []struct {
		name string
		env  []string
		key  string
		want string
	}{
		{"wrong passphrase", []string{"FIELDCASED_AGENCY_PASSPHRASE_FILE=" + wrongPass}, key, "wrong passphrase for the agency key"},
		{"missing passphrase file", []string{"FIELDCASED_AGENCY_PASSPHRASE_FILE=/nonexistent/pass"}, key, "FIELDCASED_AGENCY_PASSPHRASE_FILE"},
		{"missing key file", nil, "/nonexistent/agency.key", "does not exist"},
		{"another agency's key", nil, other, "is not this server's"},
		{"not a key file", nil, junk, "is not an agency key file"},
		{"no key at all", nil, "", "--agency-key FILE is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--data", dir, "device", "revoke", "ada-laptop"}
			if tc.key != "" {
				args = append(args, "--agency-key", tc.key)
			} else {
				args = []string{"--data", dir, "enroll-code", "ada"}
			}
			env := append([]string{"FIELDCASED_AGENCY_PASSPHRASE_FILE=" + passFile}, tc.env...)
			_, errOut, code := bare(t, env, args...)
			wantError(t, tc.name, errOut, code, tc.want)
		})
	}
	if _, err := laptop.Roster(ctx); err != nil {
		t.Fatalf("a failed signed revocation revoked the laptop: %v", err)
	}

	// The signed revocation, while the server is stopped: its writes
	// after what the server acknowledged do not count, and its cases owe a
	// new key epoch.
	p.stop(t)
	out, errOut, code2 = fieldcased(t, dir, "device", "revoke", "ada-desk", "--reason", "stolen", "--agency-key", key)
	if code2 != 0 || !strings.Contains(out, "revoked device ada-desk (ada-desk laptop of ada) by signature: its writes after #0, or logged at entry") ||
		!strings.Contains(errOut, "1 cases owe a new key epoch") {
		t.Errorf("signed revocation: exit %d\n%s%s", code2, out, errOut)
	}
	var owed []server.RotationInfo
	if err := json.Unmarshal([]byte(mustRun(t, dir, "rotations", "--json")), &owed); err != nil || len(owed) != 1 || owed[0].CaseID != "C1" || owed[0].Epoch != 1 || owed[0].Team != "north" {
		t.Errorf("rotations = %+v, %v", owed, err)
	}
	if table := mustRun(t, dir, "rotations"); !strings.Contains(table, "C1") || !strings.Contains(table, "north") {
		t.Errorf("rotations table:\n%s", table)
	}
	if table := mustRun(t, dir, "device", "list"); !strings.Contains(table, "(signed)") {
		t.Errorf("device list after the signed revocation:\n%s", table)
	}
	p = serve(t, dir)
	laptop.BaseURL = p.url
	hdr, _, err := laptop.Pull(ctx, "", 1)
	if err != nil || !slices.Equal(hdr.Rotations, []string{"C1"}) {
		t.Errorf("the laptop's pull: rotations %v, %v; want C1", hdr.Rotations, err)
	}
	// The laptop starts a new epoch: nothing is owed any more.
	if resp, err := laptop.Push(ctx, nil, w.Keyring("C1", 2)); err != nil || resp.Results[0].Status != protocol.StatusStored {
		t.Fatalf("new epoch: %+v, %v", resp, err)
	}
	if out := mustRun(t, dir, "rotations"); out != "no rotations owed\n" {
		t.Errorf("rotations after the new epoch: %q", out)
	}
	if r := trust.Evaluate(mustKey(t, dir), statementsOf(t, laptop)); !r.Devices["ada-desk"].Revoked || r.Devices["ada-desk"].RevokedBy != trust.SignerAgency {
		t.Errorf("the roster proves %+v", r.Devices["ada-desk"])
	}
	if _, err := laptop.Push(ctx, nil, w.Rev(record.KindNote, "C1", "N1")); err != nil {
		t.Errorf("the laptop after its twin's revocation: %v", err)
	}
	p.stop(t)
}

func statementsOf(t *testing.T, c *servertest.Client) []trust.Signed {
	t.Helper()
	r, err := c.Roster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r.Statements
}

// mustKey is the agency public key the server in dir shows.
func mustKey(t *testing.T, dir string) []byte {
	t.Helper()
	k, err := trust.ParseAgencyKey(strings.SplitN(mustRun(t, dir, "agency", "show"), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A statement slipped into the store by hand (a hostile operator's) is
// listed as not accepted, with why: devices ignore it too.
func TestRosterShowsProblems(t *testing.T) {
	dir := dataDir(t)
	key := agencyKey(t, dir)
	mustRun(t, dir, "team", "add", "north", "--agency-key", key)
	other, _ := servertest.NewAgency()
	st, err := boltstore.Open(filepath.Join(dir, boltstore.FileName), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx server.Tx) error {
		_, err := tx.InsertStatement(other.User("U-mallory", "mallory", trust.RoleSupervisor, "T-x"))
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, dir, "roster")
	if !strings.Contains(out, "mallory") || !strings.Contains(out, "NO") || !strings.Contains(out, "1 statements not accepted") ||
		!strings.Contains(out, "signature is not the agency's") {
		t.Errorf("roster:\n%s", out)
	}
	if out := mustRun(t, dir, "agency", "show"); !strings.Contains(out, "2 signed statements, 1 not accepted") {
		t.Errorf("agency show: %s", out)
	}
}

// An upgrade from protocol 1: the store (bbolt format 1) is upgraded when
// the new fieldcased opens it; its teams and users are signed as they were
// ('agency adopt', keeping their ids and so the cases' members); a laptop
// of protocol 1 is refused until it enrols again, and may keep its id.
func TestUpgradeFromProtocol1(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	// A format 1 store as protocol 1 left it: a team, a user with a
	// laptop, and a case of hers.
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := &servertest.Writer{Device: "ada-laptop"}
	revs := old.NewCase("C1")
	created, _ := time.Now().UTC().MarshalText()
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range append(boltstore.Layout.Format1(), []byte("enroll_codes")) {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		put := func(bucket []byte, k string, v any) {
			b, ok := v.([]byte)
			if !ok {
				b, _ = json.Marshal(v)
			}
			if err == nil {
				err = btx.Bucket(bucket).Put([]byte(k), b)
			}
		}
		put(boltstore.Layout.Meta, "format", []byte{0, 0, 0, 0, 0, 0, 0, 1})
		put(boltstore.Layout.Meta, "server_id", []byte("01SERVER"))
		put(boltstore.Layout.Meta, "epoch", []byte("01EPOCH"))
		put(boltstore.Layout.Meta, "created", created)
		put(boltstore.Layout.Teams, "01TEAM", server.Team{ID: "01TEAM", Name: "north"})
		put(boltstore.Layout.TeamNames, "north", []byte("01TEAM"))
		put(boltstore.Layout.Users, "01ADA", server.User{ID: "01ADA", Name: "ada", Role: "caseworker", TeamID: "01TEAM"})
		put(boltstore.Layout.UserNames, "ada", []byte("01ADA"))
		tok := server.TokenHash("old token")
		put(boltstore.Layout.Devices, "ada-laptop", server.Device{ID: "ada-laptop", UserID: "01ADA", Name: "old laptop", Recipient: "age1pq1old", TokenHash: tok})
		put(boltstore.Layout.Tokens, string(tok[:]), []byte("ada-laptop"))
		put(boltstore.Layout.Cases, "C1", server.Case{ID: "C1", TeamID: "01TEAM", Members: []string{"01ADA"}})
		for i, r := range revs {
			enc, _ := r.MarshalBinary()
			put(boltstore.Layout.Revs, string(r.Rev[:]), enc)
			put(boltstore.Layout.Records, r.RecordID, append([]byte(string(r.Kind)+"\x00"), r.CaseID...))
			put(boltstore.Layout.CaseRevs, "C1\x00"+string([]byte{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}), r.Rev[:])
			put(boltstore.Layout.Changes, string([]byte{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}), append(append(r.Rev[:], 2, 'C', '1'), 0))
		}
		put(boltstore.Layout.Meta, "change_seq", []byte{0, 0, 0, 0, 0, 0, 0, byte(len(revs))})
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	key := agencyKey(t, dir) // the new binary opens (and upgrades) the store
	if out := mustRun(t, dir, "roster"); !strings.Contains(out, "version") {
		t.Errorf("roster of an upgraded store:\n%s", out)
	}
	p := serve(t, dir)
	legacy := &servertest.Client{BaseURL: p.url, Token: "old token"}
	_, err = legacy.Roster(ctx)
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || !strings.Contains(se.Message, "enrol it again") {
		t.Errorf("a protocol 1 laptop: %v, want 401 saying to enrol again", err)
	}
	// Unsigned, ada cannot get a code yet; adopted, she can, and keeps
	// her id and her case.
	_, errOut, code2 := fieldcased(t, dir, "enroll-code", "ada", "--agency-key", key)
	wantError(t, "a code for an unsigned user", errOut, code2, "agency adopt")
	out := mustRun(t, dir, "agency", "adopt", "--agency-key", key)
	if !strings.Contains(out, `team "north"`) || !strings.Contains(out, `caseworker "ada"`) {
		t.Errorf("agency adopt printed %q", out)
	}
	if out := mustRun(t, dir, "agency", "adopt", "--agency-key", key); !strings.Contains(out, "signed already") {
		t.Errorf("agency adopt again printed %q", out)
	}
	code := lastLine(mustRun(t, dir, "enroll-code", "ada", "--agency-key", key))
	laptop, resp, err := servertest.Enroll(ctx, p.url, nil, code, "ada-laptop")
	if err != nil {
		t.Fatalf("enrolling again under the old id: %v", err)
	}
	if resp.UserID != "01ADA" {
		t.Errorf("enrolled as user %s, want the adopted 01ADA", resp.UserID)
	}
	other, _, err := servertest.Enroll(ctx, p.url, nil, lastLine(mustRun(t, dir, "enroll-code", "ada", "--agency-key", key)), "ada-desk")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := other.PullAll(ctx, "")
	if err != nil || len(got) != len(revs) {
		t.Errorf("the case of before the upgrade: %d revisions, %v; want %d", len(got), err, len(revs))
	}
	hdr, _, err := laptop.Pull(ctx, "", 1)
	if err != nil || hdr.DeviceMaxSeq != 2 {
		t.Errorf("the re-enrolled laptop's highest number = %d, %v; want 2 (its own of before)", hdr.DeviceMaxSeq, err)
	}
	p.stop(t)
}
