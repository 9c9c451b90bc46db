package server_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// fuzzServer is an enrolled device's view of a server, for feeding
// arbitrary requests straight to the handler.
type fuzzServer struct {
	h      http.Handler
	token  string
	w      *servertest.Writer
	c      *servertest.Client
	agency *servertest.Agency
	st     server.Store
}

func newFuzzServer(f *testing.F) *fuzzServer {
	st, err := boltstore.Open(filepath.Join(f.TempDir(), boltstore.FileName), boltstore.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx, admin := f.Context(), server.NewAdmin(st)
	srv, err := server.New(server.Config{Store: st,
		EnrollPerAddr: server.Rate{Every: time.Nanosecond, Burst: 1 << 30}, EnrollGlobal: server.Rate{Every: time.Nanosecond, Burst: 1 << 30}})
	if err != nil {
		f.Fatal(err)
	}
	agency, err := servertest.NewAgency()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := admin.SetAgency(ctx, agency.Public(), false); err != nil {
		f.Fatal(err)
	}
	code, grant := agency.Grant("U1", time.Hour)
	if _, err := admin.AddStatements(ctx, []trust.Signed{agency.Team("T1", "north"), agency.User("U1", "ada", protocol.RoleCaseworker, "T1"), grant}); err != nil {
		f.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c, _, err := servertest.Enroll(ctx, ts.URL, ts.Client(), code.String(), "dev-1")
	if err != nil {
		f.Fatal(err)
	}
	fs := &fuzzServer{h: srv.Handler(), token: c.Token, w: c.Writer(), c: c, agency: agency, st: st}
	if _, err := c.Push(ctx, nil, fs.w.NewCase("C1")...); err != nil {
		f.Fatal(err)
	}
	return fs
}

func (fs *fuzzServer) do(t *testing.T, method, target string, hdr http.Header, body []byte) int {
	req := httptest.NewRequest(method, "http://fieldcased"+target, bytes.NewReader(body))
	req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
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
	withHeads, _ := protocol.EncodeBatch(protocol.PushHeader{AuditHeads: []protocol.AuditHead{fs.c.AuditHead("C1", 2, [32]byte{7})}},
		[]*record.Revision{fs.w.Rev(record.KindNote, "C1", "N2")})
	f.Add(good)
	f.Add(withHdr)
	f.Add(withHeads)
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
	f.Add(`{"after_seq":1}`)
	f.Add(`{"revs":null}`)
	f.Add(`{"tree_size":3,"indexes":[0,1,2]}`)
	f.Add(`{"tree_size":9223372036854775807,"indexes":[-1]}`)
	f.Add(`{"checkpoint":"ZmllbGRjYXNlL3gKMQpBQUFBCgrigJQgeCBBQUFBCg=="}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{protocol.PathRevsDiff, protocol.PathBlobsMiss, protocol.PathEnroll,
			protocol.PathGrants, protocol.PathRevoke, protocol.PathOwn, protocol.PathProofs, protocol.PathWitness} {
			fs.do(t, "POST", path, nil, []byte(body))
		}
	})
}

// FuzzLog feeds arbitrary query strings to the checkpoint endpoint: a
// success is a checkpoint the log key opens, with a consistency proof only
// for a size below the log's.
func FuzzLog(f *testing.F) {
	fs := newFuzzServer(f)
	var m server.Meta
	fs.st.View(f.Context(), func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	f.Add("from=1")
	f.Add("from=0")
	f.Add("from=-5")
	f.Add("from=99999999999999999999&from=2")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "http://fieldcased"+protocol.PathLog, nil)
		req.URL.RawQuery = query
		req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
		req.Header.Set("Authorization", "Bearer "+fs.token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d %s", query, rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		var resp protocol.LogResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		cp, _, err := transparency.Open(resp.Checkpoint, m.LogVKey)
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		vals, _ := url.ParseQuery(query)
		from, _ := strconv.ParseInt(vals.Get("from"), 10, 64)
		if (len(resp.Consistency) > 0) != (from > 0 && from < cp.Size) {
			t.Fatalf("%q: a proof of %d hashes for a tree of %d", query, len(resp.Consistency), cp.Size)
		}
	})
}

// FuzzProofs asks for arbitrary proofs: every proof answered holds.
func FuzzProofs(f *testing.F) {
	fs := newFuzzServer(f)
	var m server.Meta
	fs.st.View(f.Context(), func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	f.Add(int64(3), []byte{0, 1, 2})
	f.Add(int64(0), []byte{})
	f.Add(int64(-1), []byte{255})
	f.Fuzz(func(t *testing.T, size int64, idx []byte) {
		req := protocol.ProofsRequest{TreeSize: size, Indexes: []int64{}}
		for _, b := range idx {
			req.Indexes = append(req.Indexes, int64(int8(b)))
		}
		body := jsonSeed(req)
		r := httptest.NewRequest("POST", "http://fieldcased"+protocol.PathProofs, bytes.NewReader(body))
		r.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
		r.Header.Set("Authorization", "Bearer "+fs.token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		var resp protocol.ProofsResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Entries) != len(req.Indexes) || len(resp.Proofs) != len(req.Indexes) {
			t.Fatalf("%s: %d entries, %d proofs, %v", body, len(resp.Entries), len(resp.Proofs), err)
		}
		var root tlog.Hash
		fs.st.View(t.Context(), func(tx server.Tx) (err error) { root, err = tlog.TreeHash(size, tx); return })
		cp := transparency.Checkpoint{Origin: server.LogOrigin(m.ServerID), Size: size, Root: root}
		for i, x := range req.Indexes {
			e, err := transparency.UnmarshalEntry(resp.Entries[i])
			if err == nil {
				err = transparency.CheckInclusion(cp, x, e, resp.Proofs[i])
			}
			if err != nil {
				t.Fatalf("entry %d of %d: %v", x, size, err)
			}
		}
	})
}

// FuzzWitness feeds a supervisor's device arbitrary cosigned notes: only
// the log's own checkpoint, cosigned by the device, is ever accepted.
func FuzzWitness(f *testing.F) {
	fs := newFuzzServer(f)
	ctx := f.Context()
	code, grant := fs.agency.Grant("U2", time.Hour)
	if _, err := server.NewAdmin(fs.st).AddStatements(ctx, []trust.Signed{fs.agency.User("U2", "sam", protocol.RoleSupervisor, "T1"), grant}); err != nil {
		f.Fatal(err)
	}
	ts := httptest.NewServer(fs.h)
	defer ts.Close()
	sam, _, err := servertest.Enroll(ctx, ts.URL, ts.Client(), code.String(), "sam-1")
	if err != nil {
		f.Fatal(err)
	}
	resp, err := sam.Log(ctx, 0)
	if err != nil {
		f.Fatal(err)
	}
	ws, _ := sam.WitnessSigner()
	good, _ := transparency.Cosign(resp.Checkpoint, ws)
	var m server.Meta
	fs.st.View(ctx, func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	f.Add(string(resp.Checkpoint), false)
	f.Add(strings.Replace(string(resp.Checkpoint), "\n", "\n\n", 1), true)
	f.Add("fieldcase/x\n1\nAAAA\n", true)
	f.Add(string(good), false)
	f.Fuzz(func(t *testing.T, text string, cosign bool) {
		body := []byte(text)
		if cosign {
			if n, err := note.Sign(&note.Note{Text: text}, ws); err == nil {
				body = n
			}
		}
		r := httptest.NewRequest("POST", "http://fieldcased"+protocol.PathWitness, bytes.NewReader(jsonSeed(protocol.WitnessRequest{Checkpoint: body})))
		r.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
		r.Header.Set("Authorization", "Bearer "+sam.Token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		samV, _ := transparency.WitnessVerifier(sam.DeviceID, sam.Identity.SigningPublicKey())
		n, err := note.Open(body, note.VerifierList(samV))
		if err != nil {
			t.Fatalf("accepted a note the device did not cosign: %q", body)
		}
		cp, err := transparency.ParseCheckpoint(n.Text)
		if err != nil || cp.Origin != server.LogOrigin(m.ServerID) {
			t.Fatalf("accepted a checkpoint of another log: %q", n.Text)
		}
		var root tlog.Hash
		fs.st.View(t.Context(), func(tx server.Tx) (err error) { root, err = tlog.TreeHash(cp.Size, tx); return })
		if root != cp.Root {
			t.Fatalf("accepted another tree of %d: %q", cp.Size, n.Text)
		}
	})
}

// jsonSeed marshals a seed request.
func jsonSeed(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzEnroll feeds arbitrary enrolment requests, and well-formed ones with
// arbitrary statements: never a 5xx, never a device enrolled by a
// statement the code's key did not sign.
func FuzzEnroll(f *testing.F) {
	fs := newFuzzServer(f)
	code, grant := fs.agency.Grant("U1", time.Hour)
	if _, err := server.NewAdmin(fs.st).AddStatements(f.Context(), []trust.Signed{grant}); err != nil {
		f.Fatal(err)
	}
	id, _ := crypto.NewIdentity()
	good := servertest.DeviceStatement(code, "dev-f", id)
	f.Add(jsonSeed(protocol.EnrollRequest{Grant: code.GrantID(), Device: good}), good.Body, good.Signer, good.Sig)
	f.Add([]byte(`{"grant":"`+code.GrantID()+`"}`), []byte{1, 4}, "grant:x", []byte{})
	f.Add([]byte(`{`), []byte{}, "", []byte{})
	f.Fuzz(func(t *testing.T, raw, body []byte, signer string, sig []byte) {
		fs.do(t, "POST", protocol.PathEnroll, nil, raw)
		s := trust.Signed{Body: body, Signer: signer, Sig: sig}
		if status := fs.do(t, "POST", protocol.PathEnroll, nil, jsonSeed(protocol.EnrollRequest{Grant: code.GrantID(), Device: s})); status == 200 &&
			(signer != trust.SignerGrant(code.GrantID()) || !s.Verify(code.Key().Public().(ed25519.PublicKey))) {
			t.Fatalf("enrolled by a statement the code's key did not sign: %+v", s)
		}
	})
}

// FuzzGrants feeds arbitrary pairing grant requests and statements.
func FuzzGrants(f *testing.F) {
	fs := newFuzzServer(f)
	code := trust.NewCode(fs.agency.Key.Public())
	g := fs.c.SignStatement(trust.Statement{Kind: trust.KindGrant, Grant: code.GrantID(), User: "U1",
		Key: code.Key().Public().(ed25519.PublicKey), Expires: time.Now().Add(time.Hour)})
	f.Add(jsonSeed(protocol.GrantRequest{Grant: g}), g.Body, g.Signer, g.Sig)
	f.Add([]byte(`{"grant":{}}`), []byte{1, 3}, "device:dev-1", []byte{})
	f.Fuzz(func(t *testing.T, raw, body []byte, signer string, sig []byte) {
		fs.do(t, "POST", protocol.PathGrants, nil, raw)
		fs.do(t, "POST", protocol.PathGrants, nil, jsonSeed(protocol.GrantRequest{Grant: trust.Signed{Body: body, Signer: signer, Sig: sig}}))
	})
}

// FuzzRevoke feeds arbitrary revocation requests and statements.
func FuzzRevoke(f *testing.F) {
	fs := newFuzzServer(f)
	r := fs.c.SignStatement(trust.Statement{Kind: trust.KindRevoke, Device: "dev-nope", AfterSeq: 3, Reason: "lost"})
	f.Add(jsonSeed(protocol.RevokeRequest{Revocation: r}), r.Body, r.Signer, r.Sig)
	f.Add([]byte(`{"revocation":null}`), []byte{1, 5}, "device:dev-1", []byte{})
	f.Fuzz(func(t *testing.T, raw, body []byte, signer string, sig []byte) {
		st, err := trust.UnmarshalStatement(body)
		if err == nil && st.Kind == trust.KindRevoke && st.Device == "dev-1" {
			return // the fuzzer's own device: it would lock itself out
		}
		fs.do(t, "POST", protocol.PathRevoke, nil, raw)
		fs.do(t, "POST", protocol.PathRevoke, nil, jsonSeed(protocol.RevokeRequest{Revocation: trust.Signed{Body: body, Signer: signer, Sig: sig}}))
	})
}

// FuzzOwn feeds arbitrary own-revision requests: the answer is always a
// batch of the device's own revisions above the number asked for.
func FuzzOwn(f *testing.F) {
	fs := newFuzzServer(f)
	f.Add([]byte(`{"after_seq":0}`))
	f.Add([]byte(`{"after_seq":18446744073709551615}`))
	f.Add([]byte(`{"after_seq":-1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := httptest.NewRequest("POST", "http://fieldcased"+protocol.PathOwn, bytes.NewReader(raw))
		req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
		req.Header.Set("Authorization", "Bearer "+fs.token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		var own protocol.OwnRequest
		json.Unmarshal(raw, &own)
		var hdr protocol.OwnHeader
		revs, err := protocol.DecodeBatch(rec.Body.Bytes(), &hdr, protocol.MaxPullLimit)
		if err != nil {
			t.Fatalf("answer is not a batch: %v", err)
		}
		for i, r := range revs {
			if r.Device != "dev-1" || r.Seq <= own.AfterSeq || (i > 0 && r.Seq < revs[i-1].Seq) {
				t.Fatalf("revision %d: device %s seq %d after %d", i, r.Device, r.Seq, own.AfterSeq)
			}
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
	f.Add([]byte(`{"op":"statements.add","statements":[{"body":"AQ==","signer":"agency","sig":"AA=="}]}`))
	f.Add([]byte(`{"op":"agency.set","key":"fcagency1aaaa","force":true}`))
	f.Add([]byte(`{"op":"backup","path":"/x"}`))
	f.Add([]byte(`{"op":"log.verify"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := server.DecodeAdminRequest(b)
		if err != nil {
			return
		}
		if req.Op == "" || len(req.Statements) > 100 {
			t.Fatalf("accepted %+v", req)
		}
	})
}
