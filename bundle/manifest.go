package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Format names the manifest's format; a verifier refuses any other.
const Format = "fieldcase court bundle v1"

// File names in a bundle directory.
const (
	ManifestName   = "manifest.json"
	PDFName        = "bundle.pdf"
	ReadmeName     = "README.txt"
	RecordingsDir  = "recordings"
	maxManifest    = 256 << 20
	maxProofHashes = 64
)

// ErrManifest means manifest.json does not decode as a manifest, or is not
// in its one canonical form.
var ErrManifest = errors.New("malformed manifest")

// Manifest is manifest.json: every file of the bundle with its hash, and
// every record the PDF shows with the signed revision it came from and the
// evidence that checks it. Nothing in it goes unchecked by Verify, so a
// changed byte anywhere in it is found (docs/BUNDLE.md).
type Manifest struct {
	Format string `json:"format"`
	// Case is the case's id: every revision names it.
	Case string `json:"case"`
	// AgencyKey is the agency's public key (trust.FormatAgencyKey): the
	// root every signing device's chain must reach.
	AgencyKey string `json:"agency_key"`
	// Files lists every file of the bundle but this one, sorted by name.
	Files []File `json:"files"`
	// Statements are the agency-signed statements (and the device-signed
	// ones they lead to) that prove every signing device.
	Statements []trust.Signed `json:"statements"`
	// Records are the records the PDF shows, each with the revision shown.
	Records []Entry `json:"records"`
	// Deletions are the case's tombstones: signed revisions that deleted a
	// record, listed in the PDF as such.
	Deletions []Entry `json:"deletions"`
	// Log is the server's transparency log as it bears on these
	// revisions: one signed checkpoint, its key, and per entry an
	// inclusion proof and receipt. Absent when the producer kept none.
	Log *Log `json:"log"`
}

// File is one file of the bundle.
type File struct {
	Name   string `json:"name"` // slash-separated, relative to the bundle directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex
}

// Entry is one revision in the bundle.
type Entry struct {
	Record string      `json:"record"`
	Kind   record.Kind `json:"kind"`
	Rev    string      `json:"rev"` // hex: the revision's id
	Device string      `json:"device"`
	// Revision is the revision's canonical encoding without its
	// signature (record.Revision.MarshalBinary of the unsigned revision):
	// every field its id hashes, the sealed body included.
	Revision string `json:"revision"`
	// Sig is the device's Ed25519 signature of the id (base64).
	Sig string `json:"sig"`
	// Page is the page label of the PDF page that shows it ("B3").
	Page string `json:"page"`
	// File is a recording's Ogg Opus file, when it has audio.
	File string `json:"file,omitempty"`
	// Event is an audit event's JSON as its device signed it (base64).
	Event string `json:"event,omitempty"`
	// Log is where the log holds the revision, when it does.
	Log *Inclusion `json:"log,omitempty"`
}

// Log is the log evidence: every proof is against Checkpoint.
type Log struct {
	Key        string `json:"key"`        // the log's public key, note verifier format
	Checkpoint string `json:"checkpoint"` // the signed checkpoint (a signed note), base64
}

// Inclusion is a revision's place in the log.
type Inclusion struct {
	Index int64    `json:"index"`
	Proof []string `json:"proof"` // tlog record proof, each hash base64
	// Receipt is the server's signed receipt for the revision at Index.
	Receipt *Receipt `json:"receipt,omitempty"`
}

// Receipt is a transparency.Receipt without what its entry already says.
type Receipt struct {
	TimeMS int64  `json:"time_ms"` // Unix milliseconds
	Sig    string `json:"sig"`     // base64
}

// Marshal is the manifest's canonical encoding: Go's encoding/json with
// two-space indentation, no HTML escaping, members in declaration order, and
// a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParseManifest decodes a manifest and checks that b is its canonical
// encoding: a manifest has exactly one, so an edit that keeps the JSON
// valid (a space, a reordered member, an unknown one) is still found.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%w: %d bytes", ErrManifest, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the manifest", ErrManifest)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrManifest, m.Format, Format)
	}
	canon, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if !bytes.Equal(canon, b) {
		i := 0
		for i < len(b) && i < len(canon) && b[i] == canon[i] {
			i++
		}
		return nil, fmt.Errorf("%w: not in its canonical form from byte %d on (edited after it was written?)", ErrManifest, i)
	}
	for _, f := range m.Files {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// checkName refuses a file name that leaves the bundle directory or names
// the manifest.
func checkName(name string) error {
	if !fs.ValidPath(name) || name == "." || strings.Contains(name, "\\") || name == ManifestName {
		return fmt.Errorf("%w: file name %q", ErrManifest, name)
	}
	return nil
}

// revision decodes an entry's revision and signature. It checks the
// encoding (one encoding per revision) but not the content.
func (e *Entry) revision() (*record.Revision, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(e.Revision)
	if err != nil {
		return nil, fmt.Errorf("revision is not base64: %v", err)
	}
	r, rest, err := record.UnmarshalRevision(b)
	if err != nil {
		return nil, fmt.Errorf("revision does not decode: %v", err)
	}
	if len(rest) != 0 || len(r.Sig) != 0 {
		return nil, errors.New("revision is not one unsigned revision")
	}
	again, err := r.MarshalBinary()
	if err != nil || !bytes.Equal(again, b) {
		return nil, errors.New("revision is not in its canonical encoding")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(e.Sig)
	if err != nil {
		return nil, fmt.Errorf("signature is not base64: %v", err)
	}
	r.Sig = sig
	r.Body = bytes.Clone(r.Body)
	return r, nil
}

// newEntry is the manifest entry of a signed revision.
func newEntry(r *record.Revision) (Entry, error) {
	unsigned := *r
	unsigned.Sig = nil
	b, err := unsigned.MarshalBinary()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Record: r.RecordID, Kind: r.Kind, Rev: r.Rev.String(), Device: r.Device,
		Revision: base64.StdEncoding.EncodeToString(b), Sig: base64.StdEncoding.EncodeToString(r.Sig)}, nil
}

// EncodeProof is a proof as the manifest writes it.
func EncodeProof(p transparency.Proof) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// DecodeProof reads a proof as the manifest writes it: strict base64 of
// 32-byte hashes, at most 64 of them (a tree of 2^63 entries needs 63).
func DecodeProof(s []string) (transparency.Proof, error) {
	if len(s) > maxProofHashes {
		return nil, fmt.Errorf("%w: proof of %d hashes", ErrManifest, len(s))
	}
	p := make(transparency.Proof, len(s))
	for i, h := range s {
		b, err := base64.StdEncoding.Strict().DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w: proof hash %d", ErrManifest, i)
		}
		copy(p[i][:], b)
	}
	return p, nil
}
