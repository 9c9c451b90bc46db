package server_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// clock is a settable time for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a server on a real bbolt file behind a real HTTP listener.
type env struct {
	t     *testing.T
	ctx   context.Context
	store server.Store
	srv   *server.Server
	admin *server.Admin
	http  *httptest.Server
	clock *clock
	n     int
}

type envOption func(*server.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), boltstore.FileName), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, st, opts...)
}

func newEnvOn(t *testing.T, st server.Store, opts ...envOption) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	cfg := server.Config{
		Store: st, Now: clk.Now,
		EnrollPerAddr: server.Rate{Every: time.Millisecond, Burst: 1000},
		EnrollGlobal:  server.Rate{Every: time.Millisecond, Burst: 1000},
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	e := &env{t: t, ctx: context.Background(), store: st, srv: srv, admin: server.NewAdmin(st), http: ts, clock: clk}
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	return e
}

// team makes a team if it is not there yet.
func (e *env) team(name string) {
	e.t.Helper()
	if _, err := e.admin.AddTeam(e.ctx, name); err != nil && !errors.Is(err, server.ErrExists) {
		e.t.Fatal(err)
	}
}

// user adds a user (and their team).
func (e *env) user(name, role, team string) {
	e.t.Helper()
	if team != "" {
		e.team(team)
	}
	if _, err := e.admin.AddUser(e.ctx, name, role, team); err != nil {
		e.t.Fatal(err)
	}
}

// code makes an enrolment code for user.
func (e *env) code(user string) string {
	e.t.Helper()
	info, err := e.admin.NewEnrollCode(e.ctx, user, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Code
}

// device enrols a new device of user and returns its client and a writer
// for its revisions.
func (e *env) device(user string) (*servertest.Client, *servertest.Writer) {
	e.t.Helper()
	e.n++
	id := user + "-dev" + string(rune('A'+e.n))
	c, _, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code(user), id)
	if err != nil {
		e.t.Fatalf("enrolling %s: %v", id, err)
	}
	return c, &servertest.Writer{Device: id}
}

// anon is a client without a token.
func (e *env) anon() *servertest.Client {
	return &servertest.Client{BaseURL: e.http.URL, HTTP: e.http.Client()}
}

// wantStatus checks err is a StatusError with status and code.
func wantStatus(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var se *servertest.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %v, want HTTP %d %s", what, err, status, code)
	}
	if se.Status != status || (code != "" && se.Code != code) {
		t.Errorf("%s: got HTTP %d %s (%s), want %d %s", what, se.Status, se.Code, se.Message, status, code)
	}
	if se.Message == "" {
		t.Errorf("%s: HTTP %d without a reason", what, se.Status)
	}
}
