package client_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// dictate makes a recording of d seconds of a warbling tone (no microphone
// needed: PCM straight into the encoder and the vault sink).
func dictate(t *testing.T, dev *syncharness.Device, caseID string, d time.Duration) *dictation.Recording {
	t.Helper()
	r, err := dictation.New(dev.V, caseID, record.Recording{Title: "court report", WorkType: "court report"})
	if err != nil {
		t.Fatal(err)
	}
	id, sink, err := r.StartTake(dictation.Append, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewEncoder(id, sink)
	if err != nil {
		t.Fatal(err)
	}
	n := int(d.Seconds() * audio.SampleRate)
	pcm := make([]int16, n)
	for i := range pcm {
		f := 300 + 200*math.Sin(2*math.Pi*float64(i)/audio.SampleRate*3) // pitch moves, like a voice
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*f*float64(i)/audio.SampleRate))
	}
	ctx := context.Background()
	if err := enc.Write(ctx, pcm); err != nil {
		t.Fatal(err)
	}
	take, err := enc.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.FinishTake(take); err != nil {
		t.Fatal(err)
	}
	return r
}

func wavOf(t *testing.T, r *dictation.Recording) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.ExportWAV(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A recording travels: chunks first, then the manifest; the supervisor's
// laptop downloads the chunks and plays exactly the same audio.
func TestRecordingSyncs(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, ada, "GAL-1")
	r := dictate(t, ada, caseID, 20*time.Second)
	chunks := len(r.Meta.Chunks)
	sum := ada.MustSync()
	if sum.BlobsUp != chunks || ada.V.PendingBlobCount() != 0 || ada.V.OutboxLen() != 0 {
		t.Fatalf("ada: uploaded %d of %d chunks, %d left, outbox %d", sum.BlobsUp, chunks, ada.V.PendingBlobCount(), ada.V.OutboxLen())
	}
	ada.MustSync() // shares the case key with the supervisor
	got := sup.MustSync()
	if got.BlobsDown != chunks {
		t.Fatalf("supervisor downloaded %d of %d chunks", got.BlobsDown, chunks)
	}
	r2, err := dictation.Open(sup.V, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wavOf(t, r2), wavOf(t, r)) {
		t.Errorf("the supervisor's copy does not play the same audio")
	}
	if again := sup.MustSync(); again.BlobsDown != 0 {
		t.Errorf("chunks downloaded twice: %d", again.BlobsDown)
	}
}

// failBlobUploads lets the first n blob uploads through, then answers 503
// to the rest.
func failBlobUploads(target string, n int32) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int32
	return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == protocol.PathBlobs && seen.Add(1) > n {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			w.Write([]byte(`{"code":"unavailable","error":"down"}`))
			return
		}
		rp.ServeHTTP(w, r)
	})}
}

// An upload broken partway: the manifest is not pushed without its audio,
// and the next sync sends only the chunks the server still lacks.
func TestBrokenUploadResumes(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, ada, "GAL-2")
	defer client.SetBlobBatch(20)()
	r := dictate(t, ada, caseID, time.Minute) // ~60 chunks: three upload batches
	total := len(r.Meta.Chunks)
	_, url := serve(t, failBlobUploads(s.URL, 1))
	ada.UseURL(url)
	if _, err := ada.Sync(); err == nil {
		t.Fatal("sync with uploads failing succeeded")
	}
	left := ada.V.PendingBlobCount()
	if left == 0 || left == total {
		t.Fatalf("%d of %d chunks still pending after a partial upload", left, total)
	}
	sup.MustSync()
	if recs, _ := sup.V.Recordings(caseID); len(recs) != 0 {
		t.Errorf("the manifest reached the server before its audio")
	}
	ada.UseURL(s.URL)
	sum := ada.MustSync()
	if sum.BlobsUp != left {
		t.Errorf("resumed upload sent %d chunks, want the %d missing", sum.BlobsUp, left)
	}
	ada.MustSync()
	if got := sup.MustSync(); got.BlobsDown != total {
		t.Errorf("supervisor downloaded %d of %d", got.BlobsDown, total)
	}
}

// corruptFetch flips a byte in every blob handed out by /v1/blobs/fetch.
func corruptFetch(target string) *http.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != protocol.PathBlobsGet || resp.StatusCode != 200 {
			return nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		blobs, err := protocol.DecodeBlobs(body)
		if err == nil {
			for i := range blobs {
				d := bytes.Clone(blobs[i].Data)
				d[len(d)/2] ^= 0x40
				blobs[i].Data = d
			}
			body = protocol.EncodeBlobs(blobs)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	return &http.Server{Handler: rp}
}

// A chunk damaged on the way down is refused by its hash and never stored.
func TestCorruptChunkRejected(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	caseID := newCase(t, ada, "GAL-3")
	r := dictate(t, ada, caseID, 4*time.Second)
	ada.MustSync()
	ada.MustSync()
	_, url := serve(t, corruptFetch(s.URL))
	sup.UseURL(url)
	if _, err := sup.Sync(); err == nil {
		t.Fatal("damaged chunks accepted")
	}
	if m, _ := sup.V.MissingChunks(0); len(m) != len(r.Meta.Chunks) {
		t.Errorf("%d of %d chunks still missing: a damaged one was stored", len(m), len(r.Meta.Chunks))
	}
	sup.UseURL(s.URL)
	if got := sup.MustSync(); got.BlobsDown != len(r.Meta.Chunks) {
		t.Errorf("clean download: %d chunks", got.BlobsDown)
	}
}
