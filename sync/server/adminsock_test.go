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

	var team server.Team
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpTeamAdd, Name: "north"}, &team); err != nil || team.Name != "north" {
		t.Fatalf("team.add = %+v, %v", team, err)
	}
	tests := []struct {
		name string
		req  server.AdminRequest
		want error
	}{
		{"duplicate team", server.AdminRequest{Op: server.OpTeamAdd, Name: "north"}, server.ErrExists},
		{"unknown team", server.AdminRequest{Op: server.OpUserAdd, Name: "ada", Role: "caseworker", Team: "south"}, server.ErrNotFound},
		{"bad role", server.AdminRequest{Op: server.OpUserAdd, Name: "ada", Role: "boss", Team: "north"}, server.ErrInvalid},
		{"no team", server.AdminRequest{Op: server.OpUserAdd, Name: "ada", Role: "caseworker"}, server.ErrInvalid},
		{"unknown op", server.AdminRequest{Op: "drop.tables"}, server.ErrInvalid},
		{"code for nobody", server.AdminRequest{Op: server.OpEnrollCode, User: "nobody"}, server.ErrNotFound},
		{"revoke unknown", server.AdminRequest{Op: server.OpDeviceRevoke, ID: "nope"}, server.ErrNotFound},
		{"relative backup", server.AdminRequest{Op: server.OpBackup, Path: "backup.db"}, server.ErrInvalid},
		{"bad recovery", server.AdminRequest{Op: server.OpRecoverySet, Recipient: "age1xyz"}, server.ErrInvalid},
		{"blank name", server.AdminRequest{Op: server.OpTeamAdd, Name: " "}, server.ErrInvalid},
	}
	for _, tc := range tests {
		err := c.Exec(ctx, tc.req, nil)
		var ae *server.AdminError
		if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Msg == "" {
			t.Errorf("%s: %v, want %v from the socket", tc.name, err, tc.want)
		}
	}
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpUserAdd, Name: "ada", Role: "caseworker", Team: "north"}, nil); err != nil {
		t.Fatal(err)
	}
	var code server.EnrollCodeInfo
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpEnrollCode, User: "ada", TTLSeconds: 600}, &code); err != nil {
		t.Fatal(err)
	}
	if n, err := server.NormalizeEnrollCode(code.Code); err != nil || len(n) != 12 || time.Until(code.Expires) > 11*time.Minute {
		t.Errorf("enroll code %+v", code)
	}
	if _, _, err := servertest.Enroll(ctx, e.http.URL, e.http.Client(), code.Code, "dev-1"); err != nil {
		t.Fatal(err)
	}
	var devs []server.DeviceInfo
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpDeviceList}, &devs); err != nil || len(devs) != 1 || devs[0].User != "ada" {
		t.Fatalf("device.list = %+v, %v", devs, err)
	}
	var st server.Status
	if err := c.Exec(ctx, server.AdminRequest{Op: server.OpStatus}, &st); err != nil || st.Devices != 1 || st.Users != 1 || st.Recovery {
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
		{`{"op":"user.add","name":"a","role":"typist","team":"t"}`, true},
		{`{"op":"status","extra":1}`, false},
		{`{"op":"nope"}`, false},
		{`{"op":"status"} {"op":"status"}`, false},
		{`{"op":"enroll-code","user":"a","ttl_seconds":-1}`, false},
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
