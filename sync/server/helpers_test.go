package server_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

// clock is a settable time for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a server on a real bbolt file behind a real HTTP listener, with
// an agency whose key is made at test time.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  server.Store
	srv    *server.Server
	admin  *server.Admin
	http   *httptest.Server
	clock  *clock
	agency *servertest.Agency
	n      int
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
	agency, err := servertest.NewAgency()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), store: st, srv: srv, admin: server.NewAdmin(st), http: ts, clock: clk, agency: agency}
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	if _, err := e.admin.SetAgency(e.ctx, agency.Public(), false); errors.Is(err, server.ErrAgencyMismatch) {
		e.agency = nil // a store another env set up: that env's agency signs
	} else if err != nil {
		t.Fatal(err)
	}
	return e
}

// add stores statements the agency signed.
func (e *env) add(statements ...trust.Signed) {
	e.t.Helper()
	if _, err := e.admin.AddStatements(e.ctx, statements); err != nil {
		e.t.Fatal(err)
	}
}

// teamID and userID are the ids the test agency gives a team and a user.
func teamID(name string) string { return "T-" + name }
func userID(name string) string { return "U-" + name }

// team makes a team if it is not there yet.
func (e *env) team(name string) {
	e.t.Helper()
	err := e.store.View(e.ctx, func(tx server.Tx) error { _, err := tx.Team(teamID(name)); return err })
	if errors.Is(err, server.ErrNotFound) {
		e.add(e.agency.Team(teamID(name), name))
	} else if err != nil {
		e.t.Fatal(err)
	}
}

// user adds a user (and their team).
func (e *env) user(name string, role protocol.Role, team string) {
	e.t.Helper()
	tid := ""
	if team != "" {
		e.team(team)
		tid = teamID(team)
	}
	e.add(e.agency.User(userID(name), name, role, tid))
}

// code makes an enrolment code for user, valid for an hour.
func (e *env) code(user string) string {
	e.t.Helper()
	c, grant := e.agency.Grant(userID(user), time.Hour)
	e.add(grant)
	return c.String()
}

// device enrols a new device of user and returns its client and a writer
// for its revisions (signed by it).
func (e *env) device(user string) (*servertest.Client, *servertest.Writer) {
	e.t.Helper()
	e.n++
	id := user + "-dev" + string(rune('A'+e.n))
	c, _, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code(user), id)
	if err != nil {
		e.t.Fatalf("enrolling %s: %v", id, err)
	}
	return c, c.Writer()
}

// pushOK pushes revisions that must all be stored (or present).
func (e *env) pushOK(c *servertest.Client, revs ...*record.Revision) protocol.PushResponse {
	e.t.Helper()
	resp, err := c.Push(e.ctx, nil, revs...)
	if err != nil {
		e.t.Fatalf("push: %v", err)
	}
	for i, r := range resp.Results {
		if r.Status != protocol.StatusStored && r.Status != protocol.StatusPresent {
			e.t.Fatalf("push item %d: %+v", i, r)
		}
	}
	return resp
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
