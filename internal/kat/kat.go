// Package kat checks known-answer vectors: the bytes of every format a
// device and a server (or a vault file and every later version of the
// program) must agree on forever, pinned in a package's testdata.
//
// A vector file holds, per vector, its inputs and the outputs they must
// give. The test rebuilds the outputs from the inputs with the code of the
// day and compares them byte for byte; a difference fails with a message
// that says which output of which format changed and that the change breaks
// compatibility. Where a format has random parts (age files, sealing
// nonces), the random artifact is an input and the outputs are what opening
// it must give, so the open direction stays pinned.
//
// Files are written once, with -kat.create, and only when absent: an
// existing vector is never regenerated. A deliberate new encoding is a new
// version beside the old one, with new vectors beside the old ones.
package kat

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var create = flag.Bool("kat.create", false, "write known-answer vector files that do not exist yet (never overwrites)")

// Vector is one known answer: inputs of type In and the outputs they give,
// by name (hex for bytes, or text for text formats).
type Vector[In any] struct {
	Name string            `json:"name"`
	In   In                `json:"in"`
	Out  map[string]string `json:"out"`
}

// File is a vector file.
type File[In any] struct {
	Format  string       `json:"format"`
	Note    string       `json:"note"`
	Vectors []Vector[In] `json:"vectors"`
}

// Run checks the vectors in path: compute gives each vector's outputs from
// its inputs. With -kat.create and no file at path, gen's inputs are
// computed and written instead (gen may make fresh keys and random
// artifacts: they become fixed inputs from then on).
func Run[In any](t *testing.T, path, format, note string, gen func(t *testing.T) []Vector[In], compute func(t *testing.T, in In) map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && *create {
		f := File[In]{Format: format, Note: note}
		for _, v := range gen(t) {
			v.Out = compute(t, v.In)
			f.Vectors = append(f.Vectors, v)
		}
		out, err := json.MarshalIndent(f, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d vectors", path, len(f.Vectors))
		return
	}
	if err != nil {
		t.Fatalf("known-answer vectors of %s: %v", format, err)
	}
	var f File[In]
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("known-answer vectors of %s: %s: %v", format, path, err)
	}
	if len(f.Vectors) == 0 {
		t.Fatalf("known-answer vectors of %s: %s holds none", format, path)
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			got := compute(t, v.In)
			for _, k := range slices.Sorted(maps.Keys(v.Out)) {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s, vector %q: output %q is no longer computed", format, v.Name, k)
					continue
				}
				if g != v.Out[k] {
					t.Error(Changed(format, v.Name, k, g, v.Out[k]))
				}
			}
			for k := range got {
				if _, ok := v.Out[k]; !ok {
					t.Errorf("%s, vector %q: output %q is computed but not pinned in %s", format, v.Name, k, path)
				}
			}
		})
	}
}

// Changed is the message for an output that no longer matches its pinned
// value.
func Changed(format, vector, output, got, want string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "COMPATIBILITY BROKEN: %s, vector %q: %s changed\n", format, vector, output)
	at := 0
	for at < len(got) && at < len(want) && got[at] == want[at] {
		at++
	}
	fmt.Fprintf(&b, "\tfirst difference at character %d of %d (pinned: %d)\n", at, len(got), len(want))
	fmt.Fprintf(&b, "\tgot:  %s\n\twant: %s\n", clip(got, at), clip(want, at))
	b.WriteString("\tThese bytes are shared by devices, servers and files already written; changing them breaks every\n" +
		"\tone of them. Keep the old encoding readable and add a new version with new vectors beside the old;\n" +
		"\tnever edit a pinned vector to match.")
	return b.String()
}

func clip(s string, at int) string {
	lo := max(0, at-16)
	hi := min(len(s), at+48)
	out := s[lo:hi]
	if lo > 0 {
		out = "…" + out
	}
	if hi < len(s) {
		out += "…"
	}
	return out
}

// Hex is the hex form of b, the way outputs are written.
func Hex(b []byte) string { return hex.EncodeToString(b) }

// Bytes decodes a hex input; a vector file that does not decode fails the test.
func Bytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vector input %.20q is not hex: %v", s, err)
	}
	return b
}
