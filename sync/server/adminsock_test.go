package server_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

func TestAdminSocket(t *testing.T) {
	e := newEnv(t)
	// A short directory: Unix socket paths are limited to ~100 bytes.
	dir, err := os.MkdirTemp("", "fcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, server.AdminSocketName)
	ctx := context.Background()

	if _, err := server.DialAdmin(ctx, sock); !errors.Is(err, server.ErrNoServer) {
		t.Fatalf("DialAdmin with no socket = %v, want ErrNoServer", err)
	}
	// A stale socket (a killed server) is replaced, and until then refuses.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := server.DialAdmin(ctx, sock); !errors.Is(err, server.ErrNoServer) {
		t.Fatalf("DialAdmin on a stale socket = %v, want ErrNoServer", err)
	}
	ln, err := server.ListenAdmin(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	as := server.ServeAdmin(ln, e.admin, nil)
	c, err := server.DialAdmin(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}

	var info server.AgencyInfo
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil || info.Key != e.agency.Public() || info.Fingerprint == "" {
		t.Fatalf("agency.show = %+v, %v", info, err)
	}
	var added server.AddResult
	team := e.agency.Team("T1", "north")
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{team}}, &added); err != nil || added.Added != 1 {
		t.Fatalf("statements.add = %+v, %v", added, err)
	}
	other, _ := servertest.NewAgency()
	tests := []struct {
		name string
		req  server.AdminRequest
		want error
	}{
		{"team name taken", server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{e.agency.Team("T2", "north")}}, server.ErrNotTrusted},
		{"user of an unknown team", server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{e.agency.User("U1", "ada", "caseworker", "T9")}}, server.ErrNotTrusted},
		{"another agency's statement", server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{other.Team("T3", "south")}}, server.ErrNotTrusted},
		{"no statements", server.AdminRequest{Op: server.OpStatementsAdd}, server.ErrInvalid},
		{"bad user name", server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{e.agency.User("U1", " ada", "caseworker", "T1")}}, server.ErrInvalid},
		{"another agency key", server.AdminRequest{Op: server.OpAgencySet, Key: other.Public()}, server.ErrAgencyMismatch},
		{"not an agency key", server.AdminRequest{Op: server.OpAgencySet, Key: "age1xyz"}, server.ErrInvalid},
		{"unknown op", server.AdminRequest{Op: "drop.tables"}, server.ErrInvalid},
		{"revoke unknown", server.AdminRequest{Op: server.OpDeviceRevoke, ID: "nope"}, server.ErrNotFound},
		{"relative backup", server.AdminRequest{Op: server.OpBackup, Path: "backup.db"}, server.ErrInvalid},
	}
	for _, tc := range tests {
		err := c.Exec(ctx, tc.req, nil)
		var ae *server.AdminError
		if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Msg == "" {
			t.Errorf("%s: %v, want %v from the socket", tc.name, err, tc.want)
		}
	}
	// The same key again changes nothing.
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpAgencySet, Key: e.agency.Public()}, &info); err != nil || info.Key != e.agency.Public() {
		t.Errorf("agency.set of the same key = %+v, %v", info, err)
	}
	code, grant := e.agency.Grant("U1", 10*time.Minute)
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpStatementsAdd, Statements: []trust.Signed{e.agency.User("U1", "ada", "caseworker", "T1"), grant}}, &added); err != nil || added.Added != 2 {
		t.Fatalf("user and grant = %+v, %v", added, err)
	}
	var dir2 server.Directory
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpDirectory}, &dir2); err != nil || len(dir2.Teams) != 1 || len(dir2.Users) != 1 || dir2.Users[0].ID != "U1" {
		t.Errorf("directory = %+v, %v", dir2, err)
	}
	if _, _, err := servertest.Enroll(ctx, e.http.URL, e.http.Client(), code.String(), "dev-1"); err != nil {
		t.Fatal(err)
	}
	var devs []server.DeviceInfo
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpDeviceList}, &devs); err != nil || len(devs) != 1 || devs[0].User != "ada" || !devs[0].Trusted {
		t.Fatalf("device.list = %+v, %v", devs, err)
	}
	var roster server.RosterInfo
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpRoster}, &roster); err != nil || len(roster.Statements) != 4 || len(roster.Problems) != 0 {
		t.Errorf("roster = %+v, %v", roster, err)
	}
	var st server.Status
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpStatus}, &st); err != nil || st.Devices != 1 || st.Users != 1 || st.Recovery || st.Statements != 4 || st.Agency != info.Fingerprint {
		t.Errorf("status = %+v, %v", st, err)
	}
	bk := filepath.Join(dir, "backup.db")
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpBackup, Path: bk}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpBackup, Path: bk}, nil); !errors.Is(err, server.ErrExists) {
		t.Errorf("backup over a file = %v, want ErrExists", err)
	}
	if err := as.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after shutdown: %v", err)
	}
}

func TestDecodeAdminRequest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"op":"status"}`, true},
		{`{"op":"statements.add","statements":[{"body":"AQ==","signer":"agency","sig":"AA=="}]}`, true},
		{`{"op":"agency.set","key":"fcagency1x","force":true}`, true},
		{`{"op":"status","extra":1}`, false},
		{`{"op":"nope"}`, false},
		{`{"op":"user.add","name":"a","role":"typist","team":"t"}`, false},
		{`{"op":"status"} {"op":"status"}`, false},
		{`{"op":"statements.add","statements":[{"body":"not base64"}]}`, false},
		{`[]`, false},
		{``, false},
	}
	for _, tc := range tests {
		_, err := server.DecodeAdminRequest([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("DecodeAdminRequest(%s) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && !errors.Is(err, server.ErrInvalid) {
			t.Errorf("DecodeAdminRequest(%s) = %v, want ErrInvalid", tc.in, err)
		}
	}
}
