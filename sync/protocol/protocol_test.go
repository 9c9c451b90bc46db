package protocol

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"

	"github.com/fieldcase/fieldcase/record"
)

func sampleRevs(n int) []*record.Revision {
	var out []*record.Revision
	dev := record.NewID()
	for i := 0; i < n; i++ {
		r := &record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: "case-1", Generation: 1,
			HLC: record.HLC(i + 1), Device: dev, Seq: uint64(i + 1), Body: bytes.Repeat([]byte{byte(i)}, 100+i)}
		r.Seal()
		out = append(out, r)
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	revs := sampleRevs(5)
	hdr := PullHeader{NextCursor: Cursor{"srv1", 42}.String(), HasMore: true, AckedSeq: 7, DeviceMaxSeq: 9, Rotations: []string{"C1"}}
	b, err := EncodeBatch(hdr, revs)
	if err != nil {
		t.Fatal(err)
	}
	var got PullHeader
	out, err := DecodeBatch(b, &got, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, hdr) {
		t.Errorf("header = %+v, want %+v", got, hdr)
	}
	if !reflect.DeepEqual(out, revs) {
		t.Errorf("revisions differ after round trip")
	}
	overhead := len(b)
	for _, r := range revs {
		overhead -= len(r.Body)
	}
	if per := overhead / len(revs); per > 200 {
		t.Errorf("batch overhead %d bytes per revision", per)
	}
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBatch(b[:i], nil, 10); !errors.Is(err, ErrBadBatch) {
			t.Fatalf("truncated at %d: err = %v", i, err)
		}
	}
	if _, err := DecodeBatch(b, nil, 4); !errors.Is(err, ErrBadBatch) {
		t.Errorf("over the revision limit: err = %v", err)
	}
	// A revision whose id does not match its content is refused.
	bad := *revs[0]
	bad.Body = []byte("swapped body")
	bb, _ := EncodeBatch(nil, []*record.Revision{&bad})
	if _, err := DecodeBatch(bb, nil, 10); !errors.Is(err, ErrBadBatch) {
		t.Errorf("forged revision: err = %v", err)
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{Epoch: "01M82S3SB2K9T15CAZNNZMAFEA", Seq: 123456}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("ParseCursor = %+v, %v", got, err)
	}
	if z, err := ParseCursor(""); err != nil || z != (Cursor{}) {
		t.Errorf("empty cursor = %+v, %v", z, err)
	}
	for _, bad := range []string{"!!", "bm9kb3Q", "YS4wMQ", string(bytes.Repeat([]byte("A"), 300))} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v", bad, err)
		}
	}
}

func TestBlobsRoundTrip(t *testing.T) {
	var blobs []Blob
	for i := 0; i < 3; i++ {
		d := bytes.Repeat([]byte{byte(i)}, 3000)
		blobs = append(blobs, Blob{ID: sha256.Sum256(d), Data: d})
	}
	b := EncodeBlobs(blobs)
	got, err := DecodeBlobs(b)
	if err != nil || !reflect.DeepEqual(got, blobs) {
		t.Fatalf("DecodeBlobs: %v", err)
	}
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBlobs(b[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
}

func TestAcknowledged(t *testing.T) {
	tests := []struct {
		r    PushResult
		want bool
	}{
		{PushResult{Status: StatusStored}, true},
		{PushResult{Status: StatusPresent}, true},
		{PushResult{Status: StatusRejected, Permanent: true}, true},
		{PushResult{Status: StatusRejected}, false},
		{PushResult{Status: StatusMissingParent}, false},
		{PushResult{Status: StatusMissingBlob}, false},
	}
	for _, tt := range tests {
		if got := tt.r.Acknowledged(); got != tt.want {
			t.Errorf("%+v.Acknowledged() = %v", tt.r, got)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	b, _ := EncodeBatch(PullHeader{NextCursor: "x"}, sampleRevs(2))
	f.Add(b)
	f.Add([]byte("FCB1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var h PullHeader
		revs, err := DecodeBatch(in, &h, 100)
		if err != nil {
			return
		}
		for _, r := range revs {
			if r.Validate() != nil {
				t.Fatalf("accepted an invalid revision")
			}
		}
	})
}

func FuzzDecodeBlobs(f *testing.F) {
	f.Add(EncodeBlobs([]Blob{{Data: []byte("abc")}}))
	f.Add([]byte("FCO1\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		blobs, err := DecodeBlobs(in)
		if err != nil {
			return
		}
		for _, b := range blobs {
			if len(b.Data) > MaxBlobSize {
				t.Fatalf("blob over the size limit accepted")
			}
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{"abc", 9}.String())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if c2, err := ParseCursor(c.String()); err != nil || c2 != c {
			t.Fatalf("cursor %q does not round trip", s)
		}
	})
}
