package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/fieldcase/fieldcase/internal/peercred"
	"github.com/fieldcase/fieldcase/trust"
)

// The admin socket is a Unix socket in the data directory (mode 0600, and
// on Linux only the server's own user or root may connect), serving one
// endpoint: POST /admin with an AdminRequest as JSON, answered by an
// AdminResponse. It is the only way to administer a running server: admins
// never use the HTTP API.

// AdminSocketName is the socket's file name inside the data directory.
const AdminSocketName = "admin.sock"

// Admin operations.
const (
	OpStatus        = "status"         // → Status
	OpAgencyShow    = "agency.show"    // → AgencyInfo
	OpAgencySet     = "agency.set"     // key, force → AgencyInfo
	OpStatementsAdd = "statements.add" // statements (agency-signed) → AddResult
	OpDirectory     = "directory"      // → Directory
	OpDeviceList    = "device.list"    // → []DeviceInfo
	OpDeviceRevoke  = "device.revoke"  // id → DeviceInfo (its token only)
	OpRoster        = "roster"         // → RosterInfo
	OpRotations     = "rotations"      // → []RotationInfo
	OpBackup        = "backup"         // path (absolute, new) → {"path"}
	OpLogShow       = "log.show"       // → LogInfo
	OpLogVerify     = "log.verify"     // → LogReport
)

// AdminRequest is one administrative operation. Fields other than Op are
// its arguments; which ones, is listed with each Op.
type AdminRequest struct {
	Op         string         `json:"op"`
	ID         string         `json:"id,omitempty"`
	Path       string         `json:"path,omitempty"`
	Key        string         `json:"key,omitempty"`
	Force      bool           `json:"force,omitempty"`
	Statements []trust.Signed `json:"statements,omitempty"`
}

// AdminResponse answers an AdminRequest: a result, or an error with a code
// (not_found, exists, invalid, no_agency, not_trusted, agency_mismatch,
// bad_request, internal).
type AdminResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   string          `json:"code,omitempty"`
}

// Admin requests are bounded in size and in statements (a statement is
// under 6 KB of JSON).
const (
	maxAdminRequest    = 1 << 20
	maxAdminStatements = 100
)

// DecodeAdminRequest reads one admin request: a known op, no unknown fields,
// exactly one JSON object.
func DecodeAdminRequest(b []byte) (AdminRequest, error) {
	var req AdminRequest
	if len(b) > maxAdminRequest {
		return req, fmt.Errorf("%w: request over %d bytes", ErrInvalid, maxAdminRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return AdminRequest{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return AdminRequest{}, fmt.Errorf("%w: trailing data after the request", ErrInvalid)
	}
	switch req.Op {
	case OpStatus, OpAgencyShow, OpAgencySet, OpStatementsAdd, OpDirectory, OpDeviceList, OpDeviceRevoke, OpRoster, OpRotations, OpBackup,
		OpLogShow, OpLogVerify:
	default:
		return AdminRequest{}, fmt.Errorf("%w: unknown operation %.40q", ErrInvalid, req.Op)
	}
	if len(req.Statements) > maxAdminStatements {
		return AdminRequest{}, fmt.Errorf("%w: at most %d statements at once", ErrInvalid, maxAdminStatements)
	}
	return req, nil
}

// Exec runs one operation.
func (a *Admin) Exec(ctx context.Context, req AdminRequest) (any, error) {
	switch req.Op {
	case OpStatus:
		return a.Status(ctx)
	case OpAgencyShow:
		return a.Agency(ctx)
	case OpAgencySet:
		return a.SetAgency(ctx, req.Key, req.Force)
	case OpStatementsAdd:
		return a.AddStatements(ctx, req.Statements)
	case OpDirectory:
		return a.Directory(ctx)
	case OpDeviceList:
		return a.Devices(ctx)
	case OpDeviceRevoke:
		return a.RevokeDevice(ctx, req.ID)
	case OpRoster:
		return a.Roster(ctx)
	case OpRotations:
		return a.Rotations(ctx)
	case OpBackup:
		return map[string]string{"path": req.Path}, a.Backup(ctx, req.Path)
	case OpLogShow:
		return a.Log(ctx)
	case OpLogVerify:
		return a.VerifyLog(ctx)
	}
	return nil, fmt.Errorf("%w: unknown operation %.40q", ErrInvalid, req.Op)
}

// adminCodes name the sentinel errors an admin answer may carry.
var adminCodes = []struct {
	code string
	err  error
}{
	{"not_found", ErrNotFound},
	{"exists", ErrExists},
	{"invalid", ErrInvalid},
	{"no_agency", ErrNoAgency},
	{"not_trusted", ErrNotTrusted},
	{"agency_mismatch", ErrAgencyMismatch},
}

func adminCode(err error) string {
	for _, c := range adminCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

func adminSentinel(code string) error {
	if code == "bad_request" {
		return ErrInvalid
	}
	for _, c := range adminCodes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// AdminError is an error the admin socket answered with.
type AdminError struct {
	Code string
	Msg  string
}

func (e *AdminError) Error() string { return e.Msg }

// Unwrap gives the sentinel the code stands for (ErrNotFound, ErrExists,
// ErrInvalid, ErrNoAgency, ErrNotTrusted, ErrAgencyMismatch), so callers
// test errors the same way on both paths.
func (e *AdminError) Unwrap() error { return adminSentinel(e.Code) }

// ListenAdmin listens on the admin socket at path, replacing a stale one.
// Call it only while holding the store (bbolt's lock), so no other server
// can be using the socket.
func ListenAdmin(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("admin socket: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket: removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return peercred.Listener(ln), nil
}

// AdminServer serves the admin socket.
type AdminServer struct {
	srv  *http.Server
	done chan struct{}
}

// ServeAdmin serves a on ln until Shutdown.
func ServeAdmin(ln net.Listener, a *Admin, log *slog.Logger) *AdminServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin", func(w http.ResponseWriter, r *http.Request) {
		answer := func(status int, resp AdminResponse) {
			b, _ := json.Marshal(resp)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(b)
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminRequest))
		if err != nil {
			answer(http.StatusBadRequest, AdminResponse{Error: "reading request: " + err.Error(), Code: "bad_request"})
			return
		}
		req, err := DecodeAdminRequest(b)
		if err != nil {
			answer(http.StatusBadRequest, AdminResponse{Error: err.Error(), Code: "bad_request"})
			return
		}
		res, err := a.Exec(r.Context(), req)
		if err != nil {
			code := adminCode(err)
			if code == "internal" {
				log.Error("admin operation failed", "op", req.Op, "err", err)
			}
			answer(http.StatusOK, AdminResponse{Error: err.Error(), Code: code})
			return
		}
		raw, err := json.Marshal(res)
		if err != nil {
			answer(http.StatusInternalServerError, AdminResponse{Error: err.Error(), Code: "internal"})
			return
		}
		log.Info("admin operation", "op", req.Op)
		for _, st := range req.Statements {
			if o, err := st.Open(); err == nil {
				log.Info("statement added", "kind", o.Kind.String(), "id", st.ID(), "issued", o.Issued, "user", o.User, "device", o.Device, "team", o.Team)
			}
		}
		answer(http.StatusOK, AdminResponse{Result: raw})
	})
	s := &AdminServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: time.Minute},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin socket", "err", err)
		}
	}()
	return s
}

// Shutdown stops accepting, lets running operations finish (until ctx ends)
// and removes the socket.
func (s *AdminServer) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

// ErrNoServer means no server answers on the admin socket.
var ErrNoServer = errors.New("no server is listening on the admin socket")

// AdminClient calls a running server's admin socket.
type AdminClient struct {
	hc *http.Client
}

// DialAdmin connects to the admin socket at path, or returns ErrNoServer
// (wrapped) if nothing listens there.
func DialAdmin(ctx context.Context, path string) (*AdminClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoServer)
		}
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	conn.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &AdminClient{hc: &http.Client{Transport: tr}}, nil
}

// Exec runs req on the server and decodes its result into result (nil to
// drop it). An error the server answered is an *AdminError.
func (c *AdminClient) Exec(ctx context.Context, req AdminRequest, result any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", "http://fieldcased/admin", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	var ar AdminResponse
	if err := json.Unmarshal(raw, &ar); err != nil {
		return fmt.Errorf("admin socket: unreadable answer (HTTP %d)", resp.StatusCode)
	}
	if ar.Error != "" || ar.Code != "" {
		return &AdminError{Code: ar.Code, Msg: ar.Error}
	}
	if result != nil {
		return json.Unmarshal(ar.Result, result)
	}
	return nil
}
