package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

func statuses(resp protocol.PushResponse) []protocol.Status {
	var out []protocol.Status
	for _, r := range resp.Results {
		out = append(out, r.Status)
	}
	return out
}

func revIDs(revs []*record.Revision) []record.RevID {
	var out []record.RevID
	for _, r := range revs {
		out = append(out, r.Rev)
	}
	return out
}

func TestEnroll(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	code := e.code("ada")
	c, resp, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), code, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != userID("ada") || resp.UserName != "ada" || resp.Role != protocol.RoleCaseworker || resp.Team != teamID("north") ||
		resp.ServerID == "" || len(resp.Token) != 43 {
		t.Errorf("enroll response = %+v", resp)
	}
	// The roster is every statement, under the agency key: the devices
	// evaluate it themselves.
	if resp.Roster.Agency != e.agency.Public() {
		t.Errorf("roster agency = %q, want %q", resp.Roster.Agency, e.agency.Public())
	}
	r := trust.Evaluate(e.agency.Key.Public(), resp.Roster.Statements)
	if d, ok := r.Devices["dev-1"]; !ok || d.User != userID("ada") || len(r.Problems) != 0 {
		t.Errorf("the roster proves devices %v, problems %v", r.Devices, r.Problems)
	}
	if len(r.Users) != 2 || r.Teams[teamID("north")].Name != "north" {
		t.Errorf("the roster proves users %v, teams %v", r.Users, r.Teams)
	}
	if _, err := c.Roster(e.ctx); err != nil {
		t.Errorf("token does not work: %v", err)
	}
	// A device id another user's device has.
	_, _, err = servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code("sam"), "dev-1")
	wantStatus(t, "taken device id", err, http.StatusConflict, protocol.CodeDeviceExists)
	// Codes may be typed in lower case without dashes.
	typed := strings.ToLower(strings.ReplaceAll(e.code("ada"), "-", ""))
	if _, _, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), typed, "dev-3"); err != nil {
		t.Errorf("code typed as %q: %v", typed, err)
	}
}

// enrolVia sends an enrolment request built by hand.
func enrolVia(e *env, req protocol.EnrollRequest) error {
	_, _, err := servertest.EnrollRequest(e.ctx, e.http.URL, e.http.Client(), req, nil)
	return err
}

// Every way an enrolment code can be wrong is refused, each with a reason.
func TestEnrollRefusals(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	id, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() (trust.Code, protocol.EnrollRequest) {
		c, grant := e.agency.Grant(userID("ada"), time.Hour)
		e.add(grant)
		return c, protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-x", id)}
	}
	other, err := servertest.NewAgency()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong code", func(t *testing.T) {
		// A code nobody issued: no grant of its id.
		c := trust.NewCode(e.agency.Key.Public())
		err := enrolVia(e, protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-w", id)})
		wantStatus(t, "unknown code", err, http.StatusForbidden, protocol.CodeBadCode)
	})
	t.Run("code of another agency", func(t *testing.T) {
		// Its grant is signed by another agency key: the server refuses to
		// store it, so the code enrols nothing here.
		c, grant := other.Grant(userID("ada"), time.Hour)
		if _, err := e.admin.AddStatements(e.ctx, []trust.Signed{grant}); !errors.Is(err, server.ErrNotTrusted) {
			t.Errorf("storing another agency's grant = %v, want ErrNotTrusted", err)
		}
		err := enrolVia(e, protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-o", id)})
		wantStatus(t, "another agency's code", err, http.StatusForbidden, protocol.CodeBadCode)
	})
	t.Run("untrusted grant slipped into the store", func(t *testing.T) {
		// A hostile operator writes a grant signed by a key of their own
		// straight into the store: the roster does not trust it, so the
		// server does not enrol with it, and devices would not either.
		c, grant := other.Grant(userID("ada"), time.Hour)
		if err := e.store.Update(e.ctx, func(tx server.Tx) error { _, err := tx.InsertStatement(grant); return err }); err != nil {
			t.Fatal(err)
		}
		err := enrolVia(e, protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-u", id)})
		wantStatus(t, "untrusted grant", err, http.StatusForbidden, protocol.CodeBadCode)
	})
	t.Run("expired", func(t *testing.T) {
		_, req := fresh()
		e.clock.Add(2 * time.Hour)
		defer e.clock.Add(-2 * time.Hour)
		wantStatus(t, "expired code", enrolVia(e, req), http.StatusForbidden, protocol.CodeBadCode)
	})
	t.Run("forged device statement", func(t *testing.T) {
		// The grant id is no secret (every device sees it in the roster);
		// without the code's secret a device statement cannot be signed.
		c, _ := fresh()
		forger := trust.NewCode(e.agency.Key.Public())
		st := trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: "dev-f", User: userID("ada"), Name: "forged",
			Recipient: id.Recipient(), Key: id.SigningPublicKey(), Grant: c.GrantID()}
		forged := trust.SignWithCode(forger, st)
		forged.Signer = trust.SignerGrant(c.GrantID())
		wantStatus(t, "forged statement", enrolVia(e, protocol.EnrollRequest{Grant: c.GrantID(), Device: forged}), http.StatusForbidden, protocol.CodeBadCode)
		// Signed as another signer entirely.
		dev := trust.SignAsDevice("dev-f", id.Sign, st)
		wantStatus(t, "self-signed statement", enrolVia(e, protocol.EnrollRequest{Grant: c.GrantID(), Device: dev}), http.StatusForbidden, protocol.CodeBadCode)
	})
	t.Run("used twice by different devices", func(t *testing.T) {
		c, req := fresh()
		if err := enrolVia(e, req); err != nil {
			t.Fatal(err)
		}
		id2, _ := crypto.NewIdentity()
		again := protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-y", id2)}
		wantStatus(t, "second device", enrolVia(e, again), http.StatusForbidden, protocol.CodeBadCode)
		// The same device id with other keys is another device too.
		again.Device = servertest.DeviceStatement(c, "dev-x", id2)
		wantStatus(t, "same id, other keys", enrolVia(e, again), http.StatusForbidden, protocol.CodeBadCode)
		// The roster still trusts the first device: nothing conflicting was
		// stored.
		var st []trust.Signed
		e.store.View(e.ctx, func(tx server.Tx) (err error) { st, err = tx.Statements(); return })
		r := trust.Evaluate(e.agency.Key.Public(), st)
		if r.Devices["dev-x"].ID == "" {
			t.Errorf("after the refusals the roster trusts devices %v", r.Devices)
		}
		for _, p := range r.Problems {
			if p.Kind == trust.KindDevice {
				t.Errorf("after the refusals the roster has a problem: %v", p)
			}
		}
	})
}

// An enrolment whose answer was lost: the same device retries with the same
// code and keys, and gets a fresh token; the token it never received is dead.
func TestEnrollRetryAfterLostAnswer(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	code := e.code("ada")
	id, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	lost, _, err := servertest.EnrollWith(e.ctx, e.http.URL, e.http.Client(), code, "dev-1", id)
	if err != nil {
		t.Fatal(err)
	}
	// The retry signs its statement afresh (another Issued time): the
	// server keeps the first, so the roster never sees two.
	c, _ := trust.ParseCode(code)
	again, resp, err := servertest.EnrollRequest(e.ctx, e.http.URL, e.http.Client(),
		protocol.EnrollRequest{Grant: c.GrantID(), Device: servertest.DeviceStatement(c, "dev-1", id)}, id)
	if err != nil {
		t.Fatalf("retry of a lost enrolment: %v", err)
	}
	if resp.Token == lost.Token || resp.UserName != "ada" {
		t.Errorf("retry answer = %+v", resp)
	}
	if r := trust.Evaluate(e.agency.Key.Public(), resp.Roster.Statements); len(r.Problems) != 0 || r.Devices["dev-1"].ID == "" {
		t.Errorf("roster after the retry: problems %v", r.Problems)
	}
	if _, err := again.Roster(e.ctx); err != nil {
		t.Errorf("new token does not work: %v", err)
	}
	_, err = lost.Roster(e.ctx)
	wantStatus(t, "old token", err, http.StatusUnauthorized, protocol.CodeUnauthorized)
	// Once revoked, the code cannot bring the device back.
	if _, err := e.admin.RevokeDevice(e.ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	_, _, err = servertest.EnrollWith(e.ctx, e.http.URL, e.http.Client(), code, "dev-1", id)
	wantStatus(t, "revoked device", err, http.StatusForbidden, protocol.CodeBadCode)
}

// A device enrolled by protocol 1 (no grant) is refused until it enrols
// again; it may keep its id.
func TestEnrollAgainAfterProtocol1(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	old := server.Device{ID: "old-laptop", UserID: userID("ada"), Name: "old", Recipient: "age1pq1old", SigningKey: make([]byte, 32),
		TokenHash: server.TokenHash("old token"), Enrolled: time.Now()}
	if err := e.store.Update(e.ctx, func(tx server.Tx) error { return tx.InsertDevice(old) }); err != nil {
		t.Fatal(err)
	}
	legacy := &servertest.Client{BaseURL: e.http.URL, HTTP: e.http.Client(), Token: "old token"}
	_, err := legacy.Roster(e.ctx)
	wantStatus(t, "protocol 1 token", err, http.StatusUnauthorized, protocol.CodeUnauthorized)
	// Another user cannot take the id; its own user can.
	_, _, err = servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code("bo"), "old-laptop")
	wantStatus(t, "another user's old id", err, http.StatusConflict, protocol.CodeDeviceExists)
	c, _, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), e.code("ada"), "old-laptop")
	if err != nil {
		t.Fatalf("enrolling again under the old id: %v", err)
	}
	if _, err := c.Roster(e.ctx); err != nil {
		t.Errorf("the new token: %v", err)
	}
	_, err = legacy.Roster(e.ctx)
	wantStatus(t, "protocol 1 token after enrolling again", err, http.StatusUnauthorized, protocol.CodeUnauthorized)
}

func TestEnrollRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	id, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	good := func(edit func(*trust.Statement)) protocol.EnrollRequest {
		c, grant := e.agency.Grant(userID("ada"), time.Hour)
		e.add(grant)
		st := trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: "dev-1", User: userID("ada"), Name: "laptop",
			Recipient: id.Recipient(), Key: id.SigningPublicKey(), Grant: c.GrantID()}
		edit(&st)
		return protocol.EnrollRequest{Grant: c.GrantID(), Device: trust.SignWithCode(c, st)}
	}
	tests := []struct {
		name   string
		req    func() protocol.EnrollRequest
		status int
		code   string
	}{
		{"classic age recipient", func() protocol.EnrollRequest {
			return good(func(s *trust.Statement) {
				s.Recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
			})
		}, 400, protocol.CodeBadRequest},
		{"no recipient", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Recipient = "" }) }, 400, protocol.CodeBadRequest},
		{"malformed pq recipient", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Recipient = "age1pq1nope" }) }, 400, protocol.CodeBadRequest},
		{"short signing key", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Key = s.Key[:31] }) }, 400, protocol.CodeBadRequest},
		{"bad device id", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Device = "my laptop/1" }) }, 400, protocol.CodeBadRequest},
		{"unprintable name", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Name = "a\x00b" }) }, 400, protocol.CodeBadRequest},
		{"empty name", func() protocol.EnrollRequest { return good(func(s *trust.Statement) { s.Name = "" }) }, 400, protocol.CodeBadRequest},
		{"another grant named", func() protocol.EnrollRequest {
			r := good(func(*trust.Statement) {})
			r.Grant = strings.Repeat("0", 32)
			return r
		}, 400, protocol.CodeBadRequest},
		{"not a device statement", func() protocol.EnrollRequest {
			r := good(func(*trust.Statement) {})
			r.Device = e.agency.Team("T-x", "x")
			return r
		}, 400, protocol.CodeBadRequest},
		{"garbage statement", func() protocol.EnrollRequest {
			r := good(func(*trust.Statement) {})
			r.Device.Body = []byte("hello")
			return r
		}, 400, protocol.CodeBadRequest},
		{"bad grant id", func() protocol.EnrollRequest {
			r := good(func(*trust.Statement) {})
			r.Grant = "a/b"
			return r
		}, 400, protocol.CodeBadRequest},
		{"other protocol", func() protocol.EnrollRequest {
			r := good(func(*trust.Statement) {})
			r.Protocol = 7
			return r
		}, 426, protocol.CodeVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(tc.req())
			_, _, err := e.anon().Do(e.ctx, "POST", protocol.PathEnroll, nil, body)
			wantStatus(t, tc.name, err, tc.status, tc.code)
		})
	}
}

// Without an agency key the server enrols nobody, and says why.
func TestEnrollWithoutAgency(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), boltstore.FileName), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(server.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	_, _, err = servertest.Enroll(context.Background(), ts.URL, ts.Client(), trust.NewCode(make([]byte, 32)).String(), "dev-1")
	wantStatus(t, "no agency key", err, http.StatusServiceUnavailable, protocol.CodeUnavailable)
	var se *servertest.StatusError
	if errors.As(err, &se) && !strings.Contains(se.Message, "fieldcased agency init") {
		t.Errorf("reason %q does not say what to do", se.Message)
	}
	if _, err := server.NewAdmin(st).AddStatements(context.Background(), []trust.Signed{{Body: []byte{1}}}); err == nil {
		t.Error("statements stored without an agency key")
	}
}

func TestEnrollRateLimited(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.EnrollPerAddr = server.Rate{Every: time.Hour, Burst: 3}
	})
	var last error
	for range 4 {
		_, _, last = e.anon().Do(e.ctx, "POST", protocol.PathEnroll, nil, []byte(`{"grant":"00"}`))
	}
	wantStatus(t, "fourth attempt", last, http.StatusTooManyRequests, protocol.CodeRateLimited)
	req, _ := http.NewRequest("POST", e.http.URL+protocol.PathEnroll, strings.NewReader(`{}`))
	req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d with Retry-After %q, want 429 with a Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, _ := e.device("ada")
	tests := []struct {
		name, auth, code string
	}{
		{"no token", "", protocol.CodeUnauthorized},
		{"unknown token", "Bearer nope", protocol.CodeUnauthorized},
		{"basic auth", "Basic YTpi", protocol.CodeUnauthorized},
		{"long token", "Bearer " + strings.Repeat("x", 5000), protocol.CodeUnauthorized},
	}
	for _, tc := range tests {
		_, _, err := e.anon().Do(e.ctx, "GET", protocol.PathRoster, http.Header{"Authorization": {tc.auth}}, nil)
		wantStatus(t, tc.name, err, http.StatusUnauthorized, tc.code)
	}
	devs, _ := e.admin.Devices(e.ctx)
	if _, err := e.admin.RevokeDevice(e.ctx, devs[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err := c.Roster(e.ctx)
	wantStatus(t, "revoked device", err, http.StatusUnauthorized, protocol.CodeRevoked)
	_, _, err = c.Pull(e.ctx, "", 0)
	wantStatus(t, "revoked device pull", err, http.StatusUnauthorized, protocol.CodeRevoked)
}

func TestProtocolVersionHeader(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{protocol.PathEnroll, protocol.PathPush, protocol.PathPull, protocol.PathRevsDiff,
		protocol.PathRoster, protocol.PathGrants, protocol.PathRevoke, protocol.PathOwn, protocol.PathBlobsMiss, protocol.PathBlobs,
		protocol.PathBlobs + "/C1/" + strings.Repeat("0", 64)} {
		for _, v := range []string{"", "1", "02", "one"} {
			req, _ := http.NewRequest("POST", e.http.URL+path, nil)
			if path == protocol.PathPull || path == protocol.PathRoster || strings.Count(path, "/") > 3 {
				req.Method = "GET"
			}
			if v != "" {
				req.Header.Set(protocol.HeaderVersion, v)
			}
			resp, err := e.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var pe protocol.Error
			json.NewDecoder(resp.Body).Decode(&pe)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUpgradeRequired || pe.Code != protocol.CodeVersion || pe.Message == "" {
				t.Errorf("%s with version %q: %d %+v, want 426 protocol_version", path, v, resp.StatusCode, pe)
			}
		}
	}
}

func TestPushPull(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c1, w1 := e.device("ada")
	c2, _ := e.device("ada")
	revs := append(w1.NewCase("C1"), nil)
	revs[2] = w1.Rev(record.KindNote, "C1", "N1")
	resp, err := c1.Push(e.ctx, nil, revs...)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(resp); !slices.Equal(got, []protocol.Status{"stored", "stored", "stored"}) || resp.AckedSeq != 3 {
		t.Fatalf("push = %v acked %d, want 3 stored, acked 3", got, resp.AckedSeq)
	}
	// Repeating a push is harmless: everything is present.
	resp, err = c1.Push(e.ctx, nil, revs...)
	if err != nil || !slices.Equal(statuses(resp), []protocol.Status{"present", "present", "present"}) || resp.AckedSeq != 3 {
		t.Fatalf("repeated push = %v, %v", statuses(resp), err)
	}
	for _, r := range resp.Results {
		if !r.Acknowledged() {
			t.Errorf("%v not acknowledged", r)
		}
	}
	// The user's other device pulls them, in order.
	got, cursor, err := c2.PullAll(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(revIDs(got), revIDs(revs)) {
		t.Errorf("pulled %d revisions, want the 3 pushed in order", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].Body, revs[i].Body) {
			t.Errorf("revision %d body changed in transit", i)
		}
	}
	// Nothing new: an empty page with the same position.
	hdr, more, err := c2.Pull(e.ctx, cursor, 0)
	if err != nil || len(more) != 0 || hdr.HasMore || hdr.NextCursor != cursor {
		t.Errorf("pull at the end = %+v, %d revs, %v", hdr, len(more), err)
	}
	// Pages of one.
	var paged []*record.Revision
	cur := ""
	for range 10 {
		hdr, page, err := c2.Pull(e.ctx, cur, 1)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		cur = hdr.NextCursor
		if !hdr.HasMore {
			break
		}
	}
	if !slices.Equal(revIDs(paged), revIDs(revs)) {
		t.Errorf("paged pull got %d revisions", len(paged))
	}
	// AckedSeq comes with a pull too, for the device that pushed.
	hdr, _, err = c1.Pull(e.ctx, cursor, 0)
	if err != nil || hdr.AckedSeq != 3 {
		t.Errorf("pull acked_seq = %d, %v; want 3", hdr.AckedSeq, err)
	}
	missing, err := c2.RevsDiff(e.ctx, []record.RevID{revs[0].Rev, w1.Rev(record.KindNote, "C1", "N9").Rev})
	if err != nil || len(missing) != 1 {
		t.Errorf("revs-diff = %v, %v; want one missing", missing, err)
	}
	devs, err := e.admin.Devices(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.LastSync.IsZero() || d.LastSeen.IsZero() {
			t.Errorf("device %s: last sync %v, last seen %v; want both set", d.ID, d.LastSync, d.LastSeen)
		}
	}
}

func TestPushOutcomes(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	_, other := e.device("ada")
	base := w.NewCase("C1")
	if _, err := c.Push(e.ctx, nil, base...); err != nil {
		t.Fatal(err)
	}
	n1 := w.Rev(record.KindNote, "C1", "N1")     // seq 3, held back
	n2 := w.Rev(record.KindNote, "C1", "N1", n1) // seq 4: child of n1
	foreign := other.Rev(record.KindNote, "C1", "N2")
	relabel := w.Rev(record.KindTask, "C1", base[1].RecordID, base[1]) // seq 5: a case record turned task
	moved := w.Rev(record.KindKeyring, "C2", base[0].RecordID)         // seq 6: a record moved to another case
	fine := w.Rev(record.KindNote, "C1", "N3")                         // seq 7

	resp, err := c.Push(e.ctx, nil, n2, foreign, relabel, moved, fine)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status    protocol.Status
		permanent bool
	}{{"missing_parent", false}, {"rejected", true}, {"rejected", true}, {"rejected", true}, {"stored", false}}
	for i, res := range resp.Results {
		if res.Status != want[i].status || res.Permanent != want[i].permanent {
			t.Errorf("item %d = %+v, want %v permanent=%v", i, res, want[i].status, want[i].permanent)
		}
		if res.Status != "stored" && res.Reason == "" {
			t.Errorf("item %d: %s without a reason", i, res.Status)
		}
	}
	// Seq 3 and 4 are outstanding, so the contiguous ack stays at 2.
	if resp.AckedSeq != 2 {
		t.Errorf("acked_seq = %d, want 2", resp.AckedSeq)
	}
	// Parent then child in one batch: both stored, and the ack closes the gap.
	resp, err = c.Push(e.ctx, nil, n1, n2)
	if err != nil || !slices.Equal(statuses(resp), []protocol.Status{"stored", "stored"}) {
		t.Fatalf("parent and child = %v, %v", statuses(resp), err)
	}
	if resp.AckedSeq != 7 {
		t.Errorf("acked_seq = %d, want 7", resp.AckedSeq)
	}
	// The case was not moved: C2 does not exist.
	_, err = c.BlobsMissing(e.ctx, "C2", nil)
	wantStatus(t, "case C2", err, http.StatusNotFound, protocol.CodeNotFound)
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	if _, err := c.Push(e.ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}
	good := w.Rev(record.KindNote, "C1", "N1")
	goodBatch, _ := protocol.EncodeBatch(nil, []*record.Revision{good})
	forged := *good
	forged.Body = []byte("swapped ciphertext")
	forgedBatch, _ := protocol.EncodeBatch(nil, []*record.Revision{&forged})
	badBlobHeader, _ := protocol.EncodeBatch(map[string]any{"blobs": map[string]any{"zz": []string{"x"}}}, []*record.Revision{good})
	tooMany := make([]record.RevID, protocol.MaxDiffRevs+1)
	tooManyJSON, _ := json.Marshal(protocol.RevsDiffRequest{Revs: tooMany})
	big := bytes.Repeat([]byte("a"), protocol.MaxBatchBytes+10)
	bigJSON := append(append([]byte(`{"revs":[],"pad":"`), bytes.Repeat([]byte("a"), protocol.MaxJSONBytes)...), `"}`...)

	tests := []struct {
		name, method, path string
		hdr                http.Header
		body               []byte
		status             int
		code               string
	}{
		{"push garbage", "POST", protocol.PathPush, nil, []byte("not a batch"), 400, protocol.CodeBadRequest},
		{"push truncated", "POST", protocol.PathPush, nil, goodBatch[:len(goodBatch)-5], 400, protocol.CodeBadRequest},
		{"push trailing bytes", "POST", protocol.PathPush, nil, append(slices.Clone(goodBatch), 0), 400, protocol.CodeBadRequest},
		{"push forged revision id", "POST", protocol.PathPush, nil, forgedBatch, 400, protocol.CodeBadRequest},
		{"push bad blob header", "POST", protocol.PathPush, nil, badBlobHeader, 400, protocol.CodeBadRequest},
		{"push empty body", "POST", protocol.PathPush, nil, nil, 400, protocol.CodeBadRequest},
		{"push oversized", "POST", protocol.PathPush, nil, big, 413, protocol.CodeTooLarge},
		{"push bad idempotency key", "POST", protocol.PathPush, http.Header{protocol.HeaderIdempotency: {"a\tb"}}, goodBatch, 400, protocol.CodeBadRequest},
		{"push by GET", "GET", protocol.PathPush, nil, nil, 405, protocol.CodeBadRequest},
		{"pull bad cursor", "GET", protocol.PathPull + "?cursor=%%%", nil, nil, 400, protocol.CodeBadRequest},
		{"pull cursor not base64", "GET", protocol.PathPull + "?cursor=!!!!", nil, nil, 400, protocol.CodeBadRequest},
		{"pull other epoch", "GET", protocol.PathPull + "?cursor=" + protocol.Cursor{Epoch: "OLD", Seq: 1}.String(), nil, nil, 410, protocol.CodeGone},
		{"pull bad limit", "GET", protocol.PathPull + "?limit=ten", nil, nil, 400, protocol.CodeBadRequest},
		{"pull zero limit", "GET", protocol.PathPull + "?limit=0", nil, nil, 400, protocol.CodeBadRequest},
		{"pull negative limit", "GET", protocol.PathPull + "?limit=-5", nil, nil, 400, protocol.CodeBadRequest},
		{"revs-diff bad JSON", "POST", protocol.PathRevsDiff, nil, []byte(`{"revs":`), 400, protocol.CodeBadRequest},
		{"revs-diff bad rev", "POST", protocol.PathRevsDiff, nil, []byte(`{"revs":["abc"]}`), 400, protocol.CodeBadRequest},
		{"revs-diff array", "POST", protocol.PathRevsDiff, nil, []byte(`[]`), 400, protocol.CodeBadRequest},
		{"revs-diff trailing", "POST", protocol.PathRevsDiff, nil, []byte(`{"revs":[]} {}`), 400, protocol.CodeBadRequest},
		{"revs-diff too many", "POST", protocol.PathRevsDiff, nil, tooManyJSON, 400, protocol.CodeBadRequest},
		{"revs-diff oversized", "POST", protocol.PathRevsDiff, nil, bigJSON, 413, protocol.CodeTooLarge},
		{"blobs-missing bad case", "POST", protocol.PathBlobsMiss, nil, []byte(`{"case_id":"a/b","ids":[]}`), 400, protocol.CodeBadRequest},
		{"blobs-missing bad JSON", "POST", protocol.PathBlobsMiss, nil, []byte(`{`), 400, protocol.CodeBadRequest},
		{"blobs no case header", "POST", protocol.PathBlobs, nil, protocol.EncodeBlobs(nil), 400, protocol.CodeBadRequest},
		{"blobs garbage", "POST", protocol.PathBlobs, http.Header{protocol.HeaderCase: {"C1"}}, []byte("FCO1\xff\xff\xff"), 400, protocol.CodeBadRequest},
		{"blob get bad id", "GET", protocol.PathBlobs + "/C1/xyz", nil, nil, 400, protocol.CodeBadRequest},
		{"blob get bad case", "GET", protocol.PathBlobs + "/C%20D/" + strings.Repeat("0", 64), nil, nil, 400, protocol.CodeBadRequest},
		{"blob get unknown", "GET", protocol.PathBlobs + "/C1/" + strings.Repeat("0", 64), nil, nil, 404, protocol.CodeNotFound},
		{"unknown endpoint", "GET", "/v1/nope", nil, nil, 404, protocol.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Do(e.ctx, tc.method, tc.path, tc.hdr, tc.body)
			wantStatus(t, tc.name, err, tc.status, tc.code)
		})
	}
}

// The authorisation matrix: every role against every endpoint on a case
// they are a member of, a case of their team they are not in, and a case of
// another team.
func TestAccessMatrix(t *testing.T) {
	e := newEnv(t)
	e.user("owner", protocol.RoleCaseworker, "north") // creates the "team" case
	e.user("cw", protocol.RoleCaseworker, "north")
	e.user("sup", protocol.RoleSupervisor, "north")
	e.user("ty", protocol.RoleTypist, "north")
	e.user("ad", protocol.RoleAdmin, "north")
	e.user("south", protocol.RoleCaseworker, "south")

	ownerC, ownerW := e.device("owner")
	southC, southW := e.device("south")
	blob := []byte("sealed audio chunk")
	blobID := record.RevID(sha256.Sum256(blob))
	mkCase := func(c *servertest.Client, w *servertest.Writer, id string) []record.RevID {
		revs := w.NewCase(id)
		if _, err := c.Push(e.ctx, nil, revs...); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadBlobs(e.ctx, id, []protocol.Blob{{ID: blobID, Data: blob}}); err != nil {
			t.Fatal(err)
		}
		return revIDs(revs)
	}
	// "mine": a north case with the user as a member; "team": a north case
	// without them; "other": a south case.
	caseRevs := map[string][]record.RevID{}
	caseRevs["team"] = mkCase(ownerC, ownerW, "TEAM")
	caseRevs["other"] = mkCase(southC, southW, "OTHER")
	for _, u := range []string{"cw", "sup", "ty", "ad"} {
		id := "MINE-" + u
		caseRevs["mine-"+u] = mkCase(ownerC, ownerW, id)
		if err := e.admin.AddCaseMember(e.ctx, id, u); err != nil {
			t.Fatal(err)
		}
	}

	// access[role][case] is the rule under test: may the role read and
	// write that case?
	access := map[string]map[string]bool{
		"cw":  {"mine": true, "team": false, "other": false},
		"sup": {"mine": true, "team": true, "other": false},
		"ty":  {"mine": false, "team": false, "other": false},
		"ad":  {"mine": false, "team": false, "other": false},
	}
	for _, u := range []string{"cw", "sup", "ty", "ad"} {
		c, w := e.device(u)
		// Pull once: which cases' revisions does the user see?
		var pulled map[record.RevID]bool
		all, _, pullErr := c.PullAll(e.ctx, "")
		if pullErr == nil {
			pulled = map[record.RevID]bool{}
			for _, r := range all {
				pulled[r.Rev] = true
			}
		}
		for _, kind := range []string{"mine", "team", "other"} {
			caseID := map[string]string{"mine": "MINE-" + u, "team": "TEAM", "other": "OTHER"}[kind]
			revs := caseRevs[kind]
			if kind == "mine" {
				revs = caseRevs["mine-"+u]
			}
			allowed := access[u][kind]
			name := u + "/" + kind
			t.Run(name+"/pull", func(t *testing.T) {
				if u == "ad" {
					wantStatus(t, name, pullErr, http.StatusForbidden, protocol.CodeForbidden)
					return
				}
				if pullErr != nil {
					t.Fatal(pullErr)
				}
				for _, r := range revs {
					if pulled[r] != allowed {
						t.Errorf("revision %s pulled = %v, want %v", r.Short(), pulled[r], allowed)
					}
				}
			})
			t.Run(name+"/push", func(t *testing.T) {
				resp, err := c.Push(e.ctx, nil, w.Rev(record.KindNote, caseID, "N-"+u+"-"+kind))
				if u == "ad" {
					wantStatus(t, name, err, http.StatusForbidden, protocol.CodeForbidden)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				res := resp.Results[0]
				if allowed && res.Status != protocol.StatusStored {
					t.Errorf("push = %+v, want stored", res)
				}
				if !allowed && (res.Status != protocol.StatusRejected || !res.Permanent) {
					t.Errorf("push = %+v, want a permanent rejection", res)
				}
			})
			t.Run(name+"/blobs", func(t *testing.T) {
				_, errMissing := c.BlobsMissing(e.ctx, caseID, []record.RevID{blobID})
				_, errUpload := c.UploadBlobs(e.ctx, caseID, []protocol.Blob{{ID: blobID, Data: blob}})
				got, errGet := c.GetBlob(e.ctx, caseID, blobID)
				for i, err := range []error{errMissing, errUpload, errGet} {
					if allowed && err != nil {
						t.Errorf("blob call %d: %v", i, err)
					}
					if !allowed {
						wantStatus(t, name, err, http.StatusForbidden, protocol.CodeForbidden)
					}
				}
				if allowed && !bytes.Equal(got, blob) {
					t.Errorf("blob = %q", got)
				}
			})
		}
		t.Run(u+"/new case", func(t *testing.T) {
			resp, err := c.Push(e.ctx, nil, w.NewCase("NEW-"+u)...)
			creates := u == "cw" || u == "sup"
			if u == "ad" {
				wantStatus(t, u, err, http.StatusForbidden, protocol.CodeForbidden)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range resp.Results {
				if creates != (res.Status == protocol.StatusStored) {
					t.Errorf("new case push = %+v, want stored %v", res, creates)
				}
			}
		})
		t.Run(u+"/roster", func(t *testing.T) {
			if _, err := c.Roster(e.ctx); err != nil {
				t.Errorf("roster: %v", err)
			}
		})
	}
}

func TestBlobs(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	if _, err := c.Push(e.ctx, nil, w.NewCase("C1")...); err != nil {
		t.Fatal(err)
	}
	chunks := [][]byte{[]byte("chunk 0"), []byte("chunk 1"), []byte("chunk 2")}
	var ids []record.RevID
	var blobs []protocol.Blob
	for _, ch := range chunks {
		id := record.RevID(sha256.Sum256(ch))
		ids = append(ids, id)
		blobs = append(blobs, protocol.Blob{ID: id, Data: ch})
	}
	manifest := w.Rev(record.KindRecording, "C1", "REC1")
	hdr := server.PushHeader{Blobs: map[record.RevID][]record.RevID{manifest.Rev: ids}}
	// The manifest before its chunks: missing_blob, not stored.
	resp, err := c.Push(e.ctx, hdr, manifest)
	if err != nil || resp.Results[0].Status != protocol.StatusMissingBlob || resp.Results[0].Permanent {
		t.Fatalf("manifest first = %+v, %v; want missing_blob", resp.Results, err)
	}
	missing, err := c.BlobsMissing(e.ctx, "C1", ids)
	if err != nil || len(missing) != 3 {
		t.Fatalf("missing = %v, %v", missing, err)
	}
	// One chunk damaged in transit: rejected, the others stored.
	damaged := slices.Clone(blobs)
	damaged[1].Data = []byte("chunk X")
	br, err := c.UploadBlobs(e.ctx, "C1", damaged)
	if err != nil {
		t.Fatal(err)
	}
	if got := []protocol.Status{br.Results[0].Status, br.Results[1].Status, br.Results[2].Status}; !slices.Equal(got, []protocol.Status{"stored", "rejected", "stored"}) {
		t.Errorf("upload = %v", got)
	}
	resp, _ = c.Push(e.ctx, hdr, manifest)
	if resp.Results[0].Status != protocol.StatusMissingBlob {
		t.Errorf("manifest with a chunk missing = %+v", resp.Results[0])
	}
	br, err = c.UploadBlobs(e.ctx, "C1", blobs)
	if err != nil || br.Results[0].Status != protocol.StatusPresent || br.Results[1].Status != protocol.StatusStored {
		t.Errorf("re-upload = %+v, %v", br.Results, err)
	}
	resp, _ = c.Push(e.ctx, hdr, manifest)
	if resp.Results[0].Status != protocol.StatusStored {
		t.Errorf("manifest after its chunks = %+v", resp.Results[0])
	}
	for i, id := range ids {
		got, err := c.GetBlob(e.ctx, "C1", id)
		if err != nil || !bytes.Equal(got, chunks[i]) {
			t.Errorf("blob %d = %q, %v", i, got, err)
		}
	}
}

// The roster is every statement the server holds, under its agency key;
// its version changes whenever a statement is added.
func TestRoster(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("root", protocol.RoleAdmin, "")
	e.user("zed", protocol.RoleCaseworker, "south")
	c, _ := e.device("ada")
	e.device("sam")
	e.device("zed")
	r1, err := c.Roster(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stored []trust.Signed
	e.store.View(e.ctx, func(tx server.Tx) (err error) { stored, err = tx.Statements(); return })
	if r1.Agency != e.agency.Public() || len(r1.Statements) != len(stored) || len(stored) != 2+4+3*2 {
		t.Errorf("roster: agency %q, %d statements (%d stored)", r1.Agency, len(r1.Statements), len(stored))
	}
	for i := range stored {
		if r1.Statements[i].ID() != stored[i].ID() {
			t.Errorf("statement %d differs from the stored one", i)
		}
	}
	id, _ := crypto.NewIdentity()
	e.add(e.agency.Recovery(id.Recipient(), 1))
	r2, _ := c.Roster(e.ctx)
	if r2.Version == r1.Version || len(r2.Statements) != len(r1.Statements)+1 {
		t.Errorf("after recovery set: version %d (was %d), %d statements", r2.Version, r1.Version, len(r2.Statements))
	}
	if ev := trust.Evaluate(e.agency.Key.Public(), r2.Statements); ev.Recovery != id.Recipient() {
		t.Errorf("the roster proves recovery %q", crypto.Fingerprint(ev.Recovery))
	}
	var m server.Meta
	e.store.View(e.ctx, func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	if m.Recovery != id.Recipient() {
		t.Errorf("the server's recovery recipient = %q", crypto.Fingerprint(m.Recovery))
	}
	// Storing a statement twice changes nothing.
	rec := e.agency.Recovery(id.Recipient(), 2)
	e.add(rec)
	r3, _ := c.Roster(e.ctx)
	e.add(rec)
	if r4, _ := c.Roster(e.ctx); r4.Version != r3.Version || len(r4.Statements) != len(r3.Statements) {
		t.Errorf("a repeated statement changed the roster: version %d → %d", r3.Version, r4.Version)
	}
	// An older or conflicting version is refused, never stored.
	for name, s := range map[string]trust.Signed{
		"older recovery":       e.agency.Recovery(id.Recipient(), 1),
		"conflicting version":  e.agency.Recovery(recipient(t), 2),
		"conflicting user":     e.agency.User(userID("ada"), "ada", protocol.RoleSupervisor, teamID("north")),
		"user of a new team":   e.agency.User(userID("eve"), "eve", protocol.RoleCaseworker, teamID("nowhere")),
		"duplicate user name":  e.agency.User(userID("ada2"), "ada", protocol.RoleCaseworker, teamID("north")),
		"grant for nobody":     func() trust.Signed { _, g := e.agency.Grant("U-nobody", time.Hour); return g }(),
		"revoke by a stranger": trust.SignAsDevice("dev-x", id.Sign, trust.Statement{Kind: trust.KindRevoke, Device: "ada-devB"}),
	} {
		if _, err := e.admin.AddStatements(e.ctx, []trust.Signed{s}); err == nil {
			t.Errorf("%s: stored", name)
		}
	}
	if r5, _ := c.Roster(e.ctx); r5.Version != r3.Version || len(r5.Statements) != len(r3.Statements) {
		t.Errorf("a refused statement changed the roster")
	}
}

func recipient(t *testing.T) string {
	id, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient()
}

// Giving a user access to a case re-announces its history to them alone.
func TestAddCaseMemberReannounces(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	ca, wa := e.device("ada")
	cb, _ := e.device("bo")
	revs := wa.NewCase("C1")
	if _, err := ca.Push(e.ctx, nil, revs...); err != nil {
		t.Fatal(err)
	}
	gotB, curB, _ := cb.PullAll(e.ctx, "")
	_, curA, _ := ca.PullAll(e.ctx, "")
	if len(gotB) != 0 {
		t.Fatalf("bo sees %d revisions of a case he is not in", len(gotB))
	}
	if err := e.admin.AddCaseMember(e.ctx, "C1", "bo"); err != nil {
		t.Fatal(err)
	}
	gotB, _, _ = cb.PullAll(e.ctx, curB)
	if !slices.Equal(revIDs(gotB), revIDs(revs)) {
		t.Errorf("bo pulled %d revisions after joining, want the case's %d", len(gotB), len(revs))
	}
	gotA, _, _ := ca.PullAll(e.ctx, curA)
	if len(gotA) != 0 {
		t.Errorf("ada pulled %d re-announced revisions, want none", len(gotA))
	}
}

func TestGoneCursors(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	c.Push(e.ctx, nil, w.NewCase("C1")...)
	_, cur, err := c.PullAll(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := protocol.ParseCursor(cur)
	for name, bad := range map[string]protocol.Cursor{
		"other epoch":      {Epoch: "01OTHER", Seq: pc.Seq},
		"past the end":     {Epoch: pc.Epoch, Seq: pc.Seq + 10},
		"other epoch at 0": {Epoch: "01OTHER", Seq: 0},
	} {
		_, _, err := c.Pull(e.ctx, bad.String(), 0)
		wantStatus(t, name, err, http.StatusGone, protocol.CodeGone)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Warnings = []string{"plain HTTP"} })
	get := func(path string) (int, string) {
		resp, err := e.http.Client().Get(e.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(protocol.PathHealth)
	var h struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 || h.Status != "ok" || len(h.Warnings) != 2 || !strings.Contains(h.Warnings[1], "recovery") {
		t.Errorf("healthz = %d %s", code, body)
	}
	if code, body := get(protocol.PathReady); code != 200 {
		t.Errorf("readyz = %d %s", code, body)
	}
	_, body = get(protocol.PathMetrics)
	for _, want := range []string{`fieldcased_http_requests_total{code="200",route="healthz"} 1`, "fieldcased_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// panicStore panics in View once armed: a bug must give 500 internal, not
// a dropped connection, and the server must go on serving.
type panicStore struct {
	server.Store
	armed atomic.Bool
}

func (p *panicStore) View(ctx context.Context, fn func(server.Tx) error) error {
	if p.armed.Load() {
		panic("test panic")
	}
	return p.Store.View(ctx, fn)
}

func TestPanicIsInternalError(t *testing.T) {
	base := newEnv(t)
	ps := &panicStore{Store: base.store}
	e := newEnvOn(t, ps)
	ps.armed.Store(true)
	_, _, err := e.anon().Do(e.ctx, "GET", protocol.PathRoster, http.Header{"Authorization": {"Bearer x"}}, nil)
	wantStatus(t, "panic", err, http.StatusInternalServerError, protocol.CodeInternal)
	ps.armed.Store(false)
	_, _, err = e.anon().Do(e.ctx, "GET", protocol.PathRoster, http.Header{"Authorization": {"Bearer x"}}, nil)
	wantStatus(t, "after panic", err, http.StatusUnauthorized, protocol.CodeUnauthorized)
}

// A pull that sees none of the log's entries still moves its cursor past
// them, so the next pull does not read them again.
func TestPullSkipsInvisibleEntries(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	ca, wa := e.device("ada")
	cb, _ := e.device("bo")
	if _, err := ca.Push(e.ctx, nil, outbox(wa, 12)...); err != nil {
		t.Fatal(err)
	}
	hdr, revs, err := cb.Pull(e.ctx, "", 5)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := protocol.ParseCursor(hdr.NextCursor)
	if err != nil || len(revs) != 0 || hdr.HasMore || cur.Seq != changeCount(t, e.store) {
		t.Errorf("pull = %+v (%d revisions, %v): want no revisions, a cursor at %d, no more", hdr, len(revs), err, changeCount(t, e.store))
	}
}
