package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// rawUpload is a push sent by hand over its own TCP connection, so a test
// decides how fast its body goes.
type rawUpload struct {
	conn net.Conn
	body []byte
	resp chan *http.Response
	err  chan error
}

// startUpload sends a push's headers and the first sent bytes of its body.
func startUpload(t *testing.T, e *env, c *servertest.Client, body []byte, sent int) *rawUpload {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: fieldcased\r\n%s: %d\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		protocol.PathPush, protocol.HeaderVersion, protocol.Version, c.Token, protocol.MediaBatch, len(body))
	conn.Write(body[:sent])
	u := &rawUpload{conn: conn, body: body[sent:], resp: make(chan *http.Response, 1), err: make(chan error, 1)}
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			u.err <- err
			return
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		u.resp <- resp
	}()
	return u
}

// answer waits for the server's answer.
func (u *rawUpload) answer(t *testing.T, within time.Duration) *http.Response {
	t.Helper()
	select {
	case r := <-u.resp:
		return r
	case err := <-u.err:
		t.Fatalf("no answer: %v", err)
	case <-time.After(within):
		t.Fatalf("no answer in %v", within)
	}
	return nil
}

func pushBody(t *testing.T, w *servertest.Writer, caseID string, n, size int) []byte {
	t.Helper()
	var revs []*record.Revision
	for range n {
		revs = append(revs, w.RevWith(record.KindNote, caseID, record.NewID(), false, make([]byte, size)))
	}
	b, err := protocol.EncodeBatch(nil, revs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A device may have two uploads in flight: a third is refused at once
// with 429 and a Retry-After, before its body is read; another device is
// not held up; once one finishes, the device may upload again.
func TestUploadsPerDevice(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.UploadMinRate = -1 })
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	ada, aw := e.device("ada")
	bo, bw := e.device("bo")
	e.pushOK(ada, aw.NewCase("CA")...)
	e.pushOK(bo, bw.NewCase("CB")...)

	body1, body2 := pushBody(t, aw, "CA", 1, 100), pushBody(t, aw, "CA", 1, 100)
	u1 := startUpload(t, e, ada, body1, 10)
	u2 := startUpload(t, e, ada, body2, 10)
	time.Sleep(100 * time.Millisecond) // both are in their handlers, reading
	_, hdr, err := ada.Do(e.ctx, "POST", protocol.PathPush, nil, pushBody(t, aw, "CA", 1, 100))
	wantStatus(t, "a third upload", err, http.StatusTooManyRequests, protocol.CodeRateLimited)
	if hdr.Get("Retry-After") == "" {
		t.Error("429 without a Retry-After")
	}
	_, err = ada.UploadBlobs(e.ctx, "CA", []protocol.Blob{{Data: []byte("x")}})
	wantStatus(t, "a blob upload as the third", err, http.StatusTooManyRequests, protocol.CodeRateLimited)
	// Bo is not held up by ada's uploads.
	e.pushOK(bo, bw.Rev(record.KindNote, "CB", "NB"))
	// Ada's first upload finishes; she may upload again.
	u1.conn.Write(u1.body)
	if r := u1.answer(t, 10*time.Second); r.StatusCode != 200 {
		t.Fatalf("first upload: HTTP %d", r.StatusCode)
	}
	e.pushOK(ada, aw.Rev(record.KindNote, "CA", "NA"))
	u2.conn.Write(u2.body)
	if r := u2.answer(t, 10*time.Second); r.StatusCode != 200 {
		t.Fatalf("second upload: HTTP %d", r.StatusCode)
	}
	if m := metric(t, e, `fieldcased_uploads_refused_total{reason="concurrency"}`); m != "2" {
		t.Errorf("uploads refused for concurrency = %q, want 2", m)
	}
}

// metric reads one series of /metrics.
func metric(t *testing.T, e *env, series string) string {
	t.Helper()
	resp, err := e.http.Client().Get(e.http.URL + protocol.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// A body that trickles in slower than the minimum rate (after the grace)
// is cut off with 408 and its connection closed, within about the time
// the rate allows; one that keeps up passes; and the cut one leaves no
// upload slot taken.
func TestUploadMinimumRate(t *testing.T) {
	const rate = 64 << 10
	grace := 300 * time.Millisecond
	e := newEnv(t, func(c *server.Config) { c.UploadMinRate, c.UploadGrace = rate, grace })
	e.user("ada", protocol.RoleCaseworker, "north")
	ada, aw := e.device("ada")
	e.pushOK(ada, aw.NewCase("CA")...)

	t.Run("too slow", func(t *testing.T) {
		body := pushBody(t, aw, "CA", 16, 64<<10) // 1 MiB
		u := startUpload(t, e, ada, body, 1024)
		start := time.Now()
		// 1 KiB every 50 ms: 20 KiB/s, under a third of the minimum.
		go func() {
			for i := 0; i < len(u.body); i += 1024 {
				if _, err := u.conn.Write(u.body[i:min(i+1024, len(u.body))]); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		r := u.answer(t, 10*time.Second)
		took := time.Since(start)
		if r.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow upload: HTTP %d, want 408", r.StatusCode)
		}
		if !r.Close {
			t.Error("the slow upload's connection is kept open")
		}
		// The deadline: the grace, or when 20 KiB/s falls under 64 KiB/s
		// on average — right after the grace.
		if took < grace || took > 3*time.Second {
			t.Errorf("cut off after %v, want soon after the %v grace", took, grace)
		}
		if m := metric(t, e, `fieldcased_uploads_refused_total{reason="too_slow"}`); m != "1" {
			t.Errorf("uploads refused as too slow = %q, want 1", m)
		}
	})
	t.Run("slow but fast enough", func(t *testing.T) {
		body := pushBody(t, aw, "CA", 8, 64<<10) // 512 KiB
		u := startUpload(t, e, ada, body, 1024)
		// 16 KiB every 50 ms: 320 KiB/s, five times the minimum, for 1.6 s.
		go func() {
			for i := 0; i < len(u.body); i += 16 << 10 {
				if _, err := u.conn.Write(u.body[i:min(i+16<<10, len(u.body))]); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		if r := u.answer(t, 20*time.Second); r.StatusCode != 200 {
			t.Fatalf("upload at five times the minimum rate: HTTP %d", r.StatusCode)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		// Nothing after the headers and a few bytes: cut at the grace.
		u := startUpload(t, e, ada, pushBody(t, aw, "CA", 1, 100), 10)
		start := time.Now()
		if r := u.answer(t, 10*time.Second); r.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("stalled upload: HTTP %d, want 408", r.StatusCode)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("stalled upload cut after %v", took)
		}
	})
	// No slot is left taken: two uploads at once still pass.
	done := make(chan error, 2)
	for range 2 {
		r := aw.Rev(record.KindNote, "CA", record.NewID())
		go func() {
			_, err := ada.Push(e.ctx, nil, r)
			done <- err
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("push after the cut-off uploads: %v", err)
		}
	}
}
