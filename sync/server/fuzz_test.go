package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// fuzzServer is an enrolled device's view of a server, for feeding
// arbitrary requests straight to the handler.
type fuzzServer struct {
	h     http.Handler
	token string
	w     *servertest.Writer
}

func newFuzzServer(f *testing.F) *fuzzServer {
	st, err := boltstore.Open(filepath.Join(f.TempDir(), boltstore.FileName), boltstore.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx, admin := f.Context(), server.NewAdmin(st)
	srv, err := server.New(server.Config{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := admin.AddTeam(ctx, "north"); err != nil {
		f.Fatal(err)
	}
	if _, err := admin.AddUser(ctx, "ada", protocol.RoleCaseworker, "north"); err != nil {
		f.Fatal(err)
	}
	info, err := admin.NewEnrollCode(ctx, "ada", 0)
	if err != nil {
		f.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c, _, err := servertest.Enroll(ctx, ts.URL, ts.Client(), info.Code, "dev-1")
	if err != nil {
		f.Fatal(err)
	}
	fs := &fuzzServer{h: srv.Handler(), token: c.Token, w: &servertest.Writer{Device: "dev-1"}}
	if _, err := c.Push(ctx, nil, fs.w.NewCase("C1")...); err != nil {
		f.Fatal(err)
	}
	return fs
}

func (fs *fuzzServer) do(t *testing.T, method, target string, hdr http.Header, body []byte) int {
	req := httptest.NewRequest(method, "http://fieldcased"+target, bytes.NewReader(body))
	req.Header.Set(protocol.HeaderVersion, "1")
	req.Header.Set("Authorization", "Bearer "+fs.token)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	fs.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":"`) {
		t.Fatalf("%s %s: %d without a reason: %s", method, target, rec.Code, rec.Body)
	}
	return rec.Code
}

// FuzzPush feeds arbitrary bytes to the push endpoint: every answer is a
// success or a 4xx with a reason, never a 5xx or a panic.
func FuzzPush(f *testing.F) {
	fs := newFuzzServer(f)
	good, _ := protocol.EncodeBatch(nil, []*record.Revision{fs.w.Rev(record.KindNote, "C1", "N1")})
	withHdr, _ := protocol.EncodeBatch(map[string]any{"blobs": map[string]any{strings.Repeat("ab", 32): []string{strings.Repeat("cd", 32)}}},
		[]*record.Revision{fs.w.Rev(record.KindRecording, "C1", "R1")})
	f.Add(good)
	f.Add(withHdr)
	f.Add([]byte("FCB1\x02{}\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fs.do(t, "POST", protocol.PathPush, nil, body)
	})
}

// FuzzPull feeds arbitrary cursors and limits to the pull endpoint.
func FuzzPull(f *testing.F) {
	fs := newFuzzServer(f)
	f.Add("", "")
	f.Add(protocol.Cursor{Epoch: "X", Seq: 3}.String(), "10")
	f.Add("%%%", "-1")
	f.Add("ZZZZ", "99999999999999999999")
	f.Fuzz(func(t *testing.T, cursor, limit string) {
		fs.do(t, "GET", protocol.PathPull+"?"+url.Values{"cursor": {cursor}, "limit": {limit}}.Encode(), nil, nil)
	})
}

// FuzzJSONEndpoints feeds arbitrary JSON bodies to every JSON endpoint.
func FuzzJSONEndpoints(f *testing.F) {
	fs := newFuzzServer(f)
	f.Add(`{"revs":[]}`)
	f.Add(`{"case_id":"C1","ids":["` + strings.Repeat("0", 64) + `"]}`)
	f.Add(`{"code":"K7QD-3MXA-P2VH","device_id":"d","recipient":"age1pq1","signing_key":"AAAA"}`)
	f.Add(`{"revs":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{protocol.PathRevsDiff, protocol.PathBlobsMiss, protocol.PathEnroll} {
			fs.do(t, "POST", path, nil, []byte(body))
		}
	})
}

// FuzzBlobs feeds arbitrary blob batches and case headers.
func FuzzBlobs(f *testing.F) {
	fs := newFuzzServer(f)
	f.Add("C1", protocol.EncodeBlobs([]protocol.Blob{{Data: []byte("x")}}))
	f.Add("", []byte("FCO1"))
	f.Fuzz(func(t *testing.T, caseID string, body []byte) {
		if strings.ContainsAny(caseID, "\r\n\x00") {
			return // not a header value an HTTP client can send
		}
		fs.do(t, "POST", protocol.PathBlobs, http.Header{protocol.HeaderCase: {caseID}}, body)
	})
}

func FuzzDecodeAdminRequest(f *testing.F) {
	f.Add([]byte(`{"op":"user.add","name":"a","role":"typist","team":"t"}`))
	f.Add([]byte(`{"op":"enroll-code","user":"a","ttl_seconds":60}`))
	f.Add([]byte(`{"op":"backup","path":"/x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := server.DecodeAdminRequest(b)
		if err != nil {
			return
		}
		if req.Op == "" || req.TTLSeconds < 0 {
			t.Fatalf("accepted %+v", req)
		}
	})
}

func FuzzNormalizeEnrollCode(f *testing.F) {
	f.Add("K7QD-3MXA-P2VH")
	f.Add("k7qd 3mxa p2vh")
	f.Add("OOOO-IIII-LLLL")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := server.NormalizeEnrollCode(s)
		if err != nil {
			return
		}
		if len(n) != 12 {
			t.Fatalf("normalized %q to %q", s, n)
		}
		again, err := server.NormalizeEnrollCode(n)
		if err != nil || again != n {
			t.Fatalf("normalizing %q is not idempotent: %q, %v", n, again, err)
		}
	})
}

func TestNewEnrollCode(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := server.NewEnrollCode()
		if len(c) != 14 || c[4] != '-' || c[9] != '-' {
			t.Fatalf("code %q: want XXXX-XXXX-XXXX", c)
		}
		n, err := server.NormalizeEnrollCode(c)
		if err != nil || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("NormalizeEnrollCode(%q) = %q, %v", c, n, err)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
	}
}
