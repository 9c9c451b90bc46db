package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Uploads (pushes and blob batches) hold their whole body, up to
// protocol.MaxBatchBytes, in memory while they are read and handled. Two
// limits keep a device — a broken one, or a stolen token — from holding
// the server's memory with uploads that never finish:
//
//   - at most UploadsPerDevice of one device's uploads are in flight; more
//     are answered 429 with a Retry-After, before their body is read;
//   - a body must arrive at UploadMinRate bytes a second on average once
//     UploadGrace has passed. One that trickles slower is cut off with 408
//     and its connection closed, and its buffer is freed.
//
// The rate is enforced with the connection's read deadline: after each read
// it is moved to the moment the average would drop below the minimum, so a
// stalled body ends then rather than at the server's ReadTimeout.

// Default upload limits.
const (
	DefaultUploadsPerDevice = 2
	DefaultUploadMinRate    = 16 << 10 // bytes a second
	DefaultUploadGrace      = 10 * time.Second
)

// uploadRetryAfter is what a device refused for too many uploads is told
// to wait.
const uploadRetryAfter = 2 * time.Second

// uploadSlots counts each device's uploads in flight.
type uploadSlots struct {
	mu    sync.Mutex
	max   int
	inUse map[string]int
}

func (u *uploadSlots) acquire(device string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inUse[device] >= u.max {
		return false
	}
	u.inUse[device]++
	return true
}

func (u *uploadSlots) release(device string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inUse[device]--; u.inUse[device] <= 0 {
		delete(u.inUse, device)
	}
}

// errTooSlow is what a body read returns once it fell below the rate.
var errTooSlow = errors.New("request body arrived too slowly")

// minRateBody cuts a request body off when it arrives slower than rate
// bytes a second, averaged from start, once grace has passed.
type minRateBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	rate  float64
	grace time.Duration
	n     int64
	done  bool
}

// deadline is when the average rate, with n bytes read, falls below the
// minimum.
func (b *minRateBody) deadline() time.Time {
	d := time.Duration(float64(b.n) / b.rate * float64(time.Second))
	return b.start.Add(max(b.grace, d))
}

func (b *minRateBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	if err := b.rc.SetReadDeadline(b.deadline()); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errTooSlow
	}
	if err != nil {
		// The end (or a failure): no deadline of ours may outlive the
		// body; the server sets its own for what follows.
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *minRateBody) Close() error { return b.body.Close() }

// upload wraps an upload endpoint: per-device concurrency and the minimum
// rate of its body.
func (s *Server) upload(h func(w http.ResponseWriter, r *http.Request, sess *session) error) func(http.ResponseWriter, *http.Request, *session) error {
	return func(w http.ResponseWriter, r *http.Request, sess *session) error {
		if !s.uploads.acquire(sess.device.ID) {
			s.metrics.uploadsRefused.WithLabelValues("concurrency").Inc()
			e := errf(http.StatusTooManyRequests, protocol.CodeRateLimited,
				"this device already has %d uploads in progress: wait for them to finish", s.uploads.max)
			e.retryAfter = uploadRetryAfter
			return e
		}
		defer s.uploads.release(sess.device.ID)
		s.metrics.uploadsInFlight.Inc()
		defer s.metrics.uploadsInFlight.Dec()
		if s.uploadRate > 0 {
			r.Body = &minRateBody{body: r.Body, rc: http.NewResponseController(w), start: time.Now(),
				rate: float64(s.uploadRate), grace: s.uploadGrace}
		}
		err := h(w, r, sess)
		if errors.Is(err, errTooSlow) {
			s.metrics.uploadsRefused.WithLabelValues("too_slow").Inc()
			w.Header().Set("Connection", "close")
			return errf(http.StatusRequestTimeout, protocol.CodeBadRequest,
				"the upload arrived slower than %d bytes a second: it was cut off; try again on a better connection", s.uploadRate)
		}
		return err
	}
}
