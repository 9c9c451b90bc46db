package bundle_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/bundle/bundletest"
)

// seedManifest is a real manifest, for the fuzzers to start from.
func seedManifest(f *testing.F) []byte {
	fx := bundletest.StandardCase(f)
	fx.LogAll()
	dir := filepath.Join(f.TempDir(), "b")
	if _, err := bundle.Write(context.Background(), dir, fx.Src, bundle.Options{}); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// A manifest is untrusted input: decoding never panics, and whatever
// decodes is its own one canonical encoding.
func FuzzParseManifest(f *testing.F) {
	f.Add(seedManifest(f))
	f.Add([]byte(`{"format":"fieldcase court bundle v1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := bundle.ParseManifest(b)
		if err != nil {
			return
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("a parsed manifest does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("a manifest parsed from bytes that are not its encoding")
		}
		for _, e := range append(m.Records, m.Deletions...) {
			if e.Log != nil {
				bundle.DecodeProof(e.Log.Proof)
			}
		}
	})
}

// Proofs decode strictly: 32-byte hashes in strict base64, at most 64.
func FuzzDecodeProof(f *testing.F) {
	f.Add("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "")
	f.Add("", "")
	f.Add("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		p, err := bundle.DecodeProof([]string{a, b})
		if err != nil {
			return
		}
		if got := bundle.EncodeProof(p); got[0] != a || got[1] != b {
			t.Fatalf("proof %q decoded from %q, %q", got, a, b)
		}
	})
}

// Verifying a bundle whose manifest is anything never panics.
func FuzzVerifyManifest(f *testing.F) {
	seed := seedManifest(f)
	f.Add(seed)
	f.Add(bytes.Replace(seed, []byte(`"index": 1,`), []byte(`"index": -9223372036854775808,`), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, bundle.ManifestName), b, 0o600)
		rep, err := bundle.Verify(context.Background(), dir, bundle.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() {
			t.Fatal("a bundle without its files verified")
		}
	})
}
