package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Config is what a Server needs.
type Config struct {
	Store  Store
	Logger *slog.Logger // nil: discard
	// Registry receives the server's metrics and is served at /metrics
	// (nil: a fresh registry with the Go and process collectors).
	Registry *prometheus.Registry
	Now      func() time.Time // nil: time.Now
	// EnrollPerAddr and EnrollGlobal limit enrolment attempts per remote
	// address and in all (zero: the defaults).
	EnrollPerAddr, EnrollGlobal Rate
	// Warnings are reported by /healthz besides the server's own (for
	// example "plain HTTP").
	Warnings []string
	// UploadsPerDevice bounds each device's uploads (pushes and blob
	// batches) in flight (0: DefaultUploadsPerDevice).
	UploadsPerDevice int
	// UploadMinRate is the slowest an upload's body may arrive, in bytes a
	// second averaged over the upload, once UploadGrace has passed (0:
	// DefaultUploadMinRate and DefaultUploadGrace; negative: no minimum).
	UploadMinRate int
	UploadGrace   time.Duration
}

// Rate is a token bucket: one token every Every, at most Burst saved up.
type Rate struct {
	Every time.Duration
	Burst int
}

// Default enrolment limits: a person typing a code gets five tries, then one
// every ten seconds; all addresses together get ten a second.
var (
	DefaultEnrollPerAddr = Rate{Every: 10 * time.Second, Burst: 5}
	DefaultEnrollGlobal  = Rate{Every: 100 * time.Millisecond, Burst: 20}
)

// touchEvery is how stale a device's last-seen and last-sync times may get
// before a request writes them: it spares a write per pull.
const touchEvery = 30 * time.Second

// maxPullScan bounds the change log entries one pull looks at, so a user who
// sees little of a long log still gets a prompt answer (and a cursor past
// what was skipped).
const maxPullScan = 20000

// Server answers the sync protocol over HTTP.
type Server struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	reg     *prometheus.Registry
	metrics *metrics
	enroll  *limiter
	warn    []string
	handler http.Handler

	uploads     *uploadSlots
	uploadRate  int
	uploadGrace time.Duration

	tlog logSigner // the transparency log's key and signed checkpoints
}

// New builds a server on cfg.Store.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	s := &Server{store: cfg.Store, log: cfg.Logger, now: cfg.Now, reg: cfg.Registry, warn: cfg.Warnings}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reg == nil {
		s.reg = newRegistry()
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	perAddr, global := cfg.EnrollPerAddr, cfg.EnrollGlobal
	if perAddr.Every == 0 {
		perAddr = DefaultEnrollPerAddr
	}
	if global.Every == 0 {
		global = DefaultEnrollGlobal
	}
	s.enroll = newLimiter(perAddr, global)
	s.uploads = &uploadSlots{max: cfg.UploadsPerDevice, inUse: map[string]int{}}
	if s.uploads.max <= 0 {
		s.uploads.max = DefaultUploadsPerDevice
	}
	s.uploadRate, s.uploadGrace = cfg.UploadMinRate, cfg.UploadGrace
	switch {
	case s.uploadRate == 0:
		s.uploadRate = DefaultUploadMinRate
	case s.uploadRate < 0:
		s.uploadRate = 0
	}
	if s.uploadGrace <= 0 {
		s.uploadGrace = DefaultUploadGrace
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "POST", protocol.PathEnroll, "enroll", true, s.handleEnroll)
	s.handle(mux, "POST", protocol.PathPush, "push", true, s.authed(s.upload(s.handlePush)))
	s.handle(mux, "GET", protocol.PathPull, "pull", true, s.authed(s.handlePull))
	s.handle(mux, "POST", protocol.PathOwn, "own", true, s.authed(s.handleOwn))
	s.handle(mux, "GET", protocol.PathLog, "log", true, s.authed(s.handleLog))
	s.handle(mux, "POST", protocol.PathProofs, "log_proofs", true, s.authed(s.handleProofs))
	s.handle(mux, "GET", protocol.PathEntries, "log_entries", true, s.authed(s.handleEntries))
	s.handle(mux, "POST", protocol.PathWitness, "log_witness", true, s.authed(s.handleWitness))
	s.handle(mux, "POST", protocol.PathRevsDiff, "revs_diff", true, s.authed(s.handleRevsDiff))
	s.handle(mux, "GET", protocol.PathRoster, "roster", true, s.authed(s.handleRoster))
	s.handle(mux, "POST", protocol.PathGrants, "grants", true, s.authed(s.handleGrant))
	s.handle(mux, "POST", protocol.PathRevoke, "revocations", true, s.authed(s.handleRevoke))
	s.handle(mux, "POST", protocol.PathDueRules, "due-rules", true, s.authed(s.handleDueRules))
	s.handle(mux, "POST", protocol.PathLifecycle, "lifecycle", true, s.authed(s.handleLifecycle))
	s.handle(mux, "POST", protocol.PathPolicy, "weighting-policy", true, s.authed(s.handlePolicy))
	s.handle(mux, "POST", protocol.PathPreKey, "prekeys", true, s.authed(s.handlePreKey))
	s.handle(mux, "POST", protocol.PathBlobsMiss, "blobs_missing", true, s.authed(s.handleBlobsMissing))
	s.handle(mux, "POST", protocol.PathBlobs, "blobs_upload", true, s.authed(s.upload(s.handleBlobsUpload)))
	s.handle(mux, "GET", protocol.PathBlobs+"/{case}/{id}", "blob_get", true, s.authed(s.handleBlobGet))
	s.handle(mux, "POST", protocol.PathBlobsGet, "blobs_fetch", true, s.authed(s.handleBlobsFetch))
	s.handle(mux, "GET", protocol.PathTeam, "team", true, s.authed(s.handleTeam))
	s.handle(mux, "POST", protocol.PathMembers, "case_members", true, s.authed(s.handleMembers))
	s.handle(mux, "POST", protocol.PathTranscription, "case_transcription", true, s.authed(s.handleTranscription))
	s.handle(mux, "GET", protocol.PathHealth, "healthz", false, s.handleHealth)
	s.handle(mux, "GET", protocol.PathReady, "readyz", false, s.handleReady)
	metricsHandler := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.handle(mux, "GET", protocol.PathMetrics, "metrics", false, func(w http.ResponseWriter, r *http.Request) error {
		metricsHandler.ServeHTTP(w, r)
		return nil
	})
	s.handle(mux, "", "/", "other", false, func(w http.ResponseWriter, r *http.Request) error {
		return errf(http.StatusNotFound, protocol.CodeNotFound, "no such endpoint: %s", r.URL.Path)
	})
	return mux
}

// handlerFunc is an endpoint: it writes a success itself and returns what
// went wrong otherwise.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h for path, wrapped in the layers every endpoint has:
// metrics, panic recovery, method and protocol version checks, and the
// error answer.
func (s *Server) handle(mux *http.ServeMux, method, path, route string, versioned bool, h handlerFunc) {
	mux.Handle(path, s.instrument(route, func(w http.ResponseWriter, r *http.Request) error {
		if method != "" && r.Method != method && !(method == "GET" && r.Method == "HEAD") {
			w.Header().Set("Allow", method)
			return errf(http.StatusMethodNotAllowed, protocol.CodeBadRequest, "%s needs %s, not %s", path, method, r.Method)
		}
		if versioned {
			if err := checkVersion(r); err != nil {
				return err
			}
		}
		return h(w, r)
	}))
}

func checkVersion(r *http.Request) error {
	v := r.Header.Get(protocol.HeaderVersion)
	if v == strconv.Itoa(protocol.Version) {
		return nil
	}
	if v == "" {
		return errf(http.StatusUpgradeRequired, protocol.CodeVersion,
			"missing %s header: this server speaks protocol version %d", protocol.HeaderVersion, protocol.Version)
	}
	return errf(http.StatusUpgradeRequired, protocol.CodeVersion,
		"protocol version %.20q is not spoken here: this server speaks version %d", v, protocol.Version)
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument is the outer layer: it recovers panics, turns errors into
// answers, counts and times requests, and logs what was not a success.
func (s *Server) instrument(route string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					s.log.Error("panic", "route", route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					err = errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
				}
			}()
			err = h(w, r)
		}()
		if err != nil {
			ae := asAPIError(err)
			if ae.status >= 500 {
				s.metrics.errors.WithLabelValues(ae.code).Inc()
				if ae.code == protocol.CodeInternal {
					s.log.Error("request failed", "route", route, "method", r.Method, "path", r.URL.Path, "err", err)
				}
			} else {
				s.log.Info("request refused", "route", route, "method", r.Method, "status", ae.status, "code", ae.code, "reason", ae.msg, "remote", r.RemoteAddr)
			}
			if w.status == 0 {
				writeError(w, ae)
			}
		}
		if w.status == 0 {
			w.WriteHeader(http.StatusOK)
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(w.status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// session is an authenticated device and its user.
type session struct {
	device Device
	user   User
}

// authed wraps an endpoint that needs a device token.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, sess *session) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r, sess)
	}
}

var (
	errUnauthorized = errf(http.StatusUnauthorized, protocol.CodeUnauthorized, "unknown or missing device token")
	errRevoked      = errf(http.StatusUnauthorized, protocol.CodeRevoked, "this device has been revoked: ask your administrator")
	errReenrol      = errf(http.StatusUnauthorized, protocol.CodeUnauthorized,
		"this device was enrolled before enrolment was signed (protocol 1): enrol it again with a new code from your administrator")
)

// TokenHash is how a device token is kept: its SHA-256.
func TokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func (s *Server) authenticate(r *http.Request) (*session, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 256 {
		return nil, errUnauthorized
	}
	hash := TokenHash(token)
	var sess session
	err := s.store.View(r.Context(), func(tx Tx) error {
		d, err := tx.DeviceByToken(hash)
		if errors.Is(err, ErrNotFound) {
			return errUnauthorized
		}
		if err != nil {
			return err
		}
		if !d.Revoked.IsZero() {
			return errRevoked
		}
		if d.Grant == "" {
			return errReenrol
		}
		u, err := tx.User(d.UserID)
		if errors.Is(err, ErrNotFound) {
			return errUnauthorized
		}
		sess = session{device: d, user: u}
		return err
	})
	if err != nil {
		return nil, err
	}
	if now := s.now(); now.Sub(sess.device.LastSeen) > touchEvery {
		s.touch(r.Context(), sess.device.ID, now, time.Time{})
	}
	return &sess, nil
}

// touch records when a device was last seen or synced; failing to is logged,
// not fatal.
func (s *Server) touch(ctx context.Context, deviceID string, seen, synced time.Time) {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.TouchDevice(deviceID, seen, synced) })
	if err != nil && ctx.Err() == nil {
		s.log.Warn("recording device activity", "device", deviceID, "err", err)
	}
}

// remoteHost is the address part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	warnings := append([]string{}, s.warn...)
	status := "ok"
	err := s.store.View(r.Context(), func(tx Tx) error {
		m, err := tx.Meta()
		if err == nil && m.Agency == nil {
			warnings = append(warnings, "no agency key: nobody can enrol (fieldcased agency init)")
		}
		if err == nil && m.Recovery == "" {
			warnings = append(warnings, "no agency recovery recipient set: case keys are wrapped to devices only (fieldcased recovery set)")
		}
		return err
	})
	if err != nil {
		status = "degraded"
		warnings = append(warnings, "store: "+err.Error())
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "warnings": warnings})
	return nil
}

// ReadyTimeout bounds /readyz's check of the store, well inside a load
// balancer's health-check timeout (commonly 2 to 5 s): a database that
// does not answer in time makes the instance not ready.
const ReadyTimeout = 1500 * time.Millisecond

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errf(http.StatusServiceUnavailable, protocol.CodeUnavailable, "store not answering: no reply within %s", ReadyTimeout)
		}
		return errf(http.StatusServiceUnavailable, protocol.CodeUnavailable, "store not reachable")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
