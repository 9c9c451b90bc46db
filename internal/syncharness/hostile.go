package syncharness

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// The hostile operator of issue 11: whoever runs the server holds its data
// directory, its process, its admin socket, its backups and its TLS keys,
// but not the agency's signing key and no device's private keys. These
// helpers let a test do what such an operator can: write anything into the
// stopped server's store, run fieldcased without the agency key, answer
// the administrator's fieldcased with a lying admin socket, and sign with
// keys of its own.

// Tamper stops the server, opens its bbolt store as the operator would and
// runs fn in one transaction, then starts the server again.
func (s *Server) Tamper(fn func(tx server.Tx) error) {
	s.t.Helper()
	s.tampered = true
	s.Kill()
	st, err := boltstore.Open(filepath.Join(s.Dir, boltstore.FileName), boltstore.Options{Timeout: 5 * time.Second})
	if err != nil {
		s.t.Fatalf("opening the server's store: %v", err)
	}
	err = st.Update(context.Background(), fn)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.t.Fatalf("tampering with the server's store: %v", err)
	}
	s.Start()
}

// InjectRevision stores rev as the server would have stored a push of it:
// logged in the transparency log (an operator holds the log key; one who
// wants a forgery taken logs it) and announced in the change log to
// everyone who reads its case.
func InjectRevision(tx server.Tx, rev *record.Revision) error {
	if err := tx.InsertRecord(server.RecordInfo{ID: rev.RecordID, CaseID: rev.CaseID, Kind: rev.Kind}); err != nil && !errors.Is(err, server.ErrExists) {
		return err
	}
	if err := tx.InsertRevision(rev); err != nil {
		return err
	}
	if _, err := tx.AppendLog(transparency.RevisionEntry(rev), time.Now()); err != nil {
		return err
	}
	_, err := tx.AppendChange(server.Change{Rev: rev.Rev, CaseID: rev.CaseID})
	return err
}

// InjectStatements stores statements as if accepted, and bumps the roster
// version so that devices fetch the roster again.
func InjectStatements(tx server.Tx, ss ...trust.Signed) error {
	for _, s := range ss {
		inserted, err := tx.InsertStatement(s)
		if err != nil {
			return err
		}
		if !inserted {
			continue
		}
		if _, err := tx.AppendLog(transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()}, time.Now()); err != nil {
			return err
		}
	}
	_, err := tx.BumpRosterVersion()
	return err
}

// RunFieldcased runs the server binary with args and the extra environment
// (nothing of the agency unless env says so) and returns its output and
// error, without failing the test.
func (s *Server) RunFieldcased(env []string, args ...string) (string, error) {
	cmd := exec.Command(serverBinary(s.t), args...)
	cmd.Env = append(withoutAgency(os.Environ()), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// AdminWithout runs a fieldcased administration command on the server's data
// directory as the operator: without the agency key.
func (s *Server) AdminWithout(args ...string) (string, error) {
	return s.RunFieldcased(nil, append(args, "--data", s.Dir)...)
}

func withoutAgency(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "FIELDCASED_AGENCY_") {
			out = append(out, e)
		}
	}
	return out
}

// Operator signs with keys of its own: a revision in any device's name, a
// statement as "the agency", a grant as if it were a code's key, a device
// statement under it. It holds an age identity of its own, so a test can
// check that no case key was ever wrapped to it.
type Operator struct {
	Key    ed25519.PrivateKey
	Agency *trust.AgencyKey // an agency key of its own
	ID     *crypto.Identity // its own device or recovery identity
	Code   trust.Code       // an enrolment code of its own making
}

// NewOperator makes the operator's keys.
func NewOperator(t testing.TB) *Operator {
	_, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ak, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return &Operator{Key: priv, Agency: ak, ID: id, Code: trust.NewCode(ak.Public())}
}

// Forge seals rev (sorting its parents) and signs it with the operator's
// key, whatever device it names.
func (o *Operator) Forge(rev record.Revision) *record.Revision {
	r := rev
	r.Parents = append([]record.RevID(nil), rev.Parents...)
	r.Seal()
	r.Sign(func(m []byte) []byte { return ed25519.Sign(o.Key, m) })
	return &r
}

// SignAsDevice signs a statement in device id's name with the operator's key.
func (o *Operator) SignAsDevice(id string, st trust.Statement) trust.Signed {
	return trust.SignAsDevice(id, func(m []byte) []byte { return ed25519.Sign(o.Key, m) }, st)
}

// OwnDevice is the operator's attempt at a device of its own for user: a
// grant signed by a key of its own (as the agency, and as one of the user's
// real devices), and a device statement signed with its code's key.
func (o *Operator) OwnDevice(user, asDevice string) []trust.Signed {
	pub := o.Code.Key().Public().(ed25519.PublicKey)
	g := trust.Statement{Kind: trust.KindGrant, Issued: time.Now(), Grant: o.Code.GrantID(), User: user, Key: pub,
		Expires: time.Now().Add(time.Hour)}
	dev := trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: "operator-laptop", Name: "operator's laptop",
		Recipient: o.ID.Recipient(), Key: o.Key.Public().(ed25519.PublicKey), Grant: o.Code.GrantID()}
	return []trust.Signed{o.Agency.Sign(g), o.SignAsDevice(asDevice, g), trust.SignWithCode(o.Code, dev)}
}

// HostileAdmin serves an admin socket of the operator's own in a new data
// directory, in front of the real server's: the administrator's fieldcased
// pointed at it (--data DIR) talks to a server process that lies. rewrite
// may replace the result of any operation; it runs for answers without an
// error. It returns the directory.
func (s *Server) HostileAdmin(rewrite func(req server.AdminRequest, result json.RawMessage) json.RawMessage) string {
	s.t.Helper()
	dir, err := os.MkdirTemp("", "sth")
	if err != nil {
		s.t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, server.AdminSocketName))
	if err != nil {
		s.t.Fatal(err)
	}
	real := filepath.Join(s.Dir, server.AdminSocketName)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin", func(w http.ResponseWriter, r *http.Request) {
		answer := func(resp server.AdminResponse) {
			b, _ := json.Marshal(resp)
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		}
		b, _ := io.ReadAll(r.Body)
		req, err := server.DecodeAdminRequest(b)
		if err != nil {
			answer(server.AdminResponse{Error: err.Error(), Code: "bad_request"})
			return
		}
		c, err := server.DialAdmin(r.Context(), real)
		if err != nil {
			answer(server.AdminResponse{Error: err.Error(), Code: "internal"})
			return
		}
		var raw json.RawMessage
		if err := c.Exec(r.Context(), req, &raw); err != nil {
			var ae *server.AdminError
			if errors.As(err, &ae) {
				answer(server.AdminResponse{Error: ae.Msg, Code: ae.Code})
			} else {
				answer(server.AdminResponse{Error: err.Error(), Code: "internal"})
			}
			return
		}
		if rewrite != nil {
			raw = rewrite(req, raw)
		}
		answer(server.AdminResponse{Result: raw})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.t.Cleanup(func() {
		srv.Close()
		os.RemoveAll(dir)
	})
	return dir
}
