package bundle

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// DefaultMaxPages is the page limit of Practice Direction 27A (para 5.1):
// 350 A4 pages unless the court directs otherwise.
const DefaultMaxPages = 350

// ErrNoAudio is what an AudioFunc returns for a recording without audio.
var ErrNoAudio = errors.New("the recording has no audio")

// ErrExists means the output directory exists and is not empty.
var ErrExists = errors.New("the bundle's directory exists and is not empty")

// Options tune Write.
type Options struct {
	// MaxPages is the page count past which Result.OverLimit is set;
	// DefaultMaxPages when 0.
	MaxPages int
}

// Result says what Write made.
type Result struct {
	Dir        string
	Pages      int
	MaxPages   int
	OverLimit  bool // more pages than MaxPages: the court's permission is needed
	Records    int  // revisions shown, tombstones included
	Recordings int  // audio files
	Logged     int  // revisions with an inclusion proof
	Receipts   int
	// Warnings are things the producer should know: evidence that did not
	// check and was left out, recordings without audio, devices the
	// agency's statements do not prove.
	Warnings []string
}

// Write makes the court bundle of src in dir (which must be absent or
// empty): bundle.pdf, the recordings, README.txt and manifest.json. It
// writes into a new directory beside dir and renames it into place, so a
// failed or cancelled run leaves nothing half-made.
func Write(ctx context.Context, dir string, src *Source, opt Options) (*Result, error) {
	if src.CaseID == "" || len(src.Agency) != 32 {
		return nil, errors.New("making a bundle: no case or no agency key")
	}
	if opt.MaxPages <= 0 {
		opt.MaxPages = DefaultMaxPages
	}
	now := src.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := emptyOrAbsent(dir); err != nil {
		return nil, err
	}
	w := &writer{src: src, now: now.UTC(), res: &Result{MaxPages: opt.MaxPages}}
	if err := w.prepare(); err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, ".bundle-")
	if err != nil {
		return nil, fmt.Errorf("making a bundle: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	w.dir = tmp
	if err := w.recordings(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.pdf(); err != nil {
		return nil, err
	}
	if err := w.readme(); err != nil {
		return nil, err
	}
	if err := w.manifestFile(); err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("making a bundle: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("making a bundle: %w", err)
	}
	done = true
	w.res.Dir = dir
	return w.res, nil
}

func emptyOrAbsent(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("making a bundle: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s", ErrExists, dir)
	}
	return nil
}

// writer makes one bundle.
type writer struct {
	src    *Source
	now    time.Time
	res    *Result
	dir    string
	roster *trust.Roster

	records   []*shown // what the PDF shows, in its order
	deletions []*shown
	cp        transparency.Checkpoint
	witnesses []string // devices that cosigned the checkpoint
	files     []File
	pdfFile   string
	sections  []*section
}

// shown is one revision in the bundle, as the PDF and the manifest have it.
type shown struct {
	Record
	entry Entry
	file  string // recording: its audio file
	audio *File
}

// prepare picks the records in range, checks the evidence, and makes the
// manifest entries.
func (w *writer) prepare() error {
	src := w.src
	w.roster = trust.Evaluate(src.Agency, src.Statements)
	for _, r := range src.Records {
		if r.Rev == nil || r.Rev.CaseID != src.CaseID {
			return errors.New("making a bundle: a record of another case")
		}
		if err := checkValue(r); err != nil {
			return err
		}
		if !w.inRange(dateOf(r)) && r.Rev.Kind != record.KindCase {
			continue
		}
		s, err := w.newShown(r)
		if err != nil {
			return err
		}
		w.records = append(w.records, s)
	}
	for _, rev := range src.Deletions {
		if rev == nil || rev.CaseID != src.CaseID || !rev.Deleted {
			return errors.New("making a bundle: a deletion that is not a tombstone of this case")
		}
		if !w.inRange(record.DateOf(rev.HLC.Time().UTC())) {
			continue
		}
		s, err := w.newShown(Record{Rev: rev, Versions: 1})
		if err != nil {
			return err
		}
		w.deletions = append(w.deletions, s)
	}
	w.evidence()
	for _, s := range append(slices.Clip(w.records), w.deletions...) {
		if _, ok := w.roster.Writer(s.Rev.Device); !ok {
			w.warn("%s %s was written by device %s, which the agency's statements held here do not prove: the bundle will not verify", s.Rev.Kind, s.Rev.RecordID, s.Rev.Device)
		}
	}
	return nil
}

func (w *writer) newShown(r Record) (*shown, error) {
	if len(r.Rev.Sig) != record.SigSize {
		return nil, fmt.Errorf("making a bundle: %s %s is not signed", r.Rev.Kind, r.Rev.RecordID)
	}
	e, err := newEntry(r.Rev)
	if err != nil {
		return nil, fmt.Errorf("making a bundle: %s %s: %w", r.Rev.Kind, r.Rev.RecordID, err)
	}
	if ev, ok := r.Value.(*record.AuditEvent); ok {
		js, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		e.Event = base64.StdEncoding.EncodeToString(js)
	}
	if r.Versions < 1 {
		r.Versions = 1
	}
	return &shown{Record: r, entry: e}, nil
}

// checkValue refuses a record whose value is not its kind's.
func checkValue(r Record) error {
	ok := false
	switch r.Rev.Kind {
	case record.KindCase:
		_, ok = r.Value.(*record.Case)
	case record.KindNote:
		_, ok = r.Value.(*record.Note)
	case record.KindConsent:
		_, ok = r.Value.(*record.Consent)
	case record.KindTask:
		_, ok = r.Value.(*record.Task)
	case record.KindRecording:
		_, ok = r.Value.(*record.Recording)
	case record.KindAudit:
		_, ok = r.Value.(*record.AuditEvent)
	}
	if !ok || r.Rev.Deleted {
		return fmt.Errorf("making a bundle: %s %s: not a %s's value", r.Rev.Kind, r.Rev.RecordID, r.Rev.Kind)
	}
	return nil
}

// dateOf is the date a record is about, "" when it has none.
func dateOf(r Record) record.Date {
	switch v := r.Value.(type) {
	case *record.Note:
		return v.Date
	case *record.Consent:
		return v.Date
	case *record.Task:
		return v.Due
	case *record.Recording:
		if t, err := time.Parse(time.RFC3339, v.Recorded); err == nil {
			return record.DateOf(t.UTC())
		}
	case *record.AuditEvent:
		return record.DateOf(v.At.UTC())
	}
	return ""
}

func (w *writer) inRange(d record.Date) bool {
	if d == "" {
		return w.src.From == "" && w.src.To == ""
	}
	return (w.src.From == "" || d >= w.src.From) && (w.src.To == "" || d <= w.src.To)
}

func (w *writer) warn(format string, args ...any) {
	w.res.Warnings = append(w.res.Warnings, fmt.Sprintf(format, args...))
}

// evidence checks the log evidence and attaches what holds to the entries;
// what does not is left out with a warning (the verifier would refuse it).
func (w *writer) evidence() {
	ev := w.src.Evidence
	if ev == nil || len(ev.Checkpoint) == 0 {
		return
	}
	cp, by, err := transparency.Open(ev.Checkpoint, ev.LogKey, witnessVerifiers(w.roster)...)
	if err != nil {
		w.warn("the log's checkpoint does not check (%v): the bundle carries no log evidence", err)
		w.src = withoutEvidence(w.src)
		return
	}
	w.cp, w.witnesses = cp, by
	for _, s := range append(slices.Clip(w.records), w.deletions...) {
		le, ok := ev.Entries[s.Rev.Rev]
		if !ok {
			continue
		}
		if err := transparency.CheckInclusion(cp, le.Index, transparency.RevisionEntry(s.Rev), le.Proof); err != nil {
			w.warn("%s %s: the log's inclusion proof does not hold against the checkpoint (%v): left out", s.Rev.Kind, s.Rev.RecordID, err)
			continue
		}
		inc := &Inclusion{Index: le.Index, Proof: EncodeProof(le.Proof)}
		if rc := le.Receipt; rc != nil {
			if rc.Rev != s.Rev.Rev || rc.Index != le.Index || rc.Verify(ev.LogKey) != nil {
				w.warn("%s %s: the server's receipt does not check: left out", s.Rev.Kind, s.Rev.RecordID)
			} else {
				inc.Receipt = &Receipt{TimeMS: rc.Time.UnixMilli(), Sig: base64.StdEncoding.EncodeToString(rc.Sig)}
				w.res.Receipts++
			}
		}
		s.entry.Log = inc
		w.res.Logged++
	}
	if n := len(w.records) + len(w.deletions) - w.res.Logged; n > 0 {
		w.warn("%d revision(s) are not in the log evidence held here (not yet synced, or not yet proved): the bundle says so for each", n)
	}
}

func withoutEvidence(s *Source) *Source {
	c := *s
	c.Evidence = nil
	return &c
}

// recordings writes the audio files.
func (w *writer) recordings(ctx context.Context) error {
	if w.src.Audio == nil {
		return nil
	}
	for _, s := range w.records {
		rec, ok := s.Value.(*record.Recording)
		if !ok || len(rec.Timeline) == 0 {
			continue
		}
		name := strings.ReplaceAll(s.Rev.RecordID, ":", "_")
		if s.Versions > 1 {
			name += "-" + s.Rev.Rev.Short()
		}
		rel := RecordingsDir + "/" + name + ".ogg"
		if err := os.MkdirAll(filepath.Join(w.dir, RecordingsDir), 0o700); err != nil {
			return fmt.Errorf("making a bundle: %w", err)
		}
		f, err := w.create(rel, func(wr io.Writer) error { return w.src.Audio(ctx, s.Record, wr) })
		if errors.Is(err, ErrNoAudio) {
			os.Remove(filepath.Join(w.dir, filepath.FromSlash(rel)))
			w.files = slices.DeleteFunc(w.files, func(f File) bool { return f.Name == rel })
			w.warn("recording %s: %v: listed without a file", s.Rev.RecordID, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("making a bundle: recording %s: %w", s.Rev.RecordID, err)
		}
		s.file, s.audio = rel, f
		s.entry.File = rel
		w.res.Recordings++
	}
	return nil
}

// create writes one file of the bundle (mode 0600), synced, and lists it
// with its size and hash.
func (w *writer) create(rel string, fill func(io.Writer) error) (*File, error) {
	path := filepath.Join(w.dir, filepath.FromSlash(rel))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: f, h: h}
	err = fill(cw)
	if err == nil {
		err = cw.err
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	file := File{Name: rel, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}
	w.files = append(w.files, file)
	return &w.files[len(w.files)-1], nil
}

// countWriter hashes and counts what it passes on, buffering small writes.
type countWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.h.Write(p)
	c.n += int64(len(p))
	if _, err := c.w.Write(p); err != nil {
		c.err = err
		return 0, err
	}
	return len(p), nil
}

func (w *writer) writeBytes(rel string, b []byte) error {
	_, err := w.create(rel, func(wr io.Writer) error {
		_, err := wr.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("making a bundle: %s: %w", rel, err)
	}
	return nil
}

// pdf lays the bundle out twice — once to learn on which page each entry
// falls, once more with the index that says so — and writes bundle.pdf.
func (w *writer) pdf() error {
	w.sections = w.layout()
	first := newDoc(w.src.Ref, w.now)
	first.render(nil, w.sections)
	if err := first.pdf.Error(); err != nil {
		return fmt.Errorf("making the PDF: %w", err)
	}
	sectionLabels := slices.Clone(first.labels)

	d := newDoc(w.src.Ref, w.now)
	d.render(indexPage(w.frontLines(), w.sections), w.sections)
	var buf bytes.Buffer
	if err := d.pdf.Output(&buf); err != nil {
		return fmt.Errorf("making the PDF: %w", err)
	}
	// The sections' pages do not depend on the index's length.
	if !slices.Equal(d.labels[len(d.labels)-len(sectionLabels):], sectionLabels) {
		return errors.New("making the PDF: the layout moved between its two passes")
	}
	out, err := addPageLabels(buf.Bytes(), d.labels)
	if err != nil {
		return err
	}
	w.res.Pages = len(d.labels)
	w.res.OverLimit = w.res.Pages > w.res.MaxPages
	w.pdfFile = PDFName
	return w.writeBytes(PDFName, out)
}

// manifestFile writes manifest.json, last: it lists every other file.
func (w *writer) manifestFile() error {
	m := &Manifest{Format: Format, Case: w.src.CaseID, AgencyKey: trust.FormatAgencyKey(w.src.Agency),
		Records: []Entry{}, Deletions: []Entry{}}
	devices := map[string]bool{}
	for _, s := range w.records {
		m.Records = append(m.Records, s.entry)
		devices[s.Rev.Device] = true
	}
	for _, s := range w.deletions {
		m.Deletions = append(m.Deletions, s.entry)
		devices[s.Rev.Device] = true
	}
	w.res.Records = len(m.Records) + len(m.Deletions)
	for _, wit := range w.witnesses {
		devices[strings.TrimPrefix(wit, transparency.WitnessName(""))] = true
	}
	m.Statements = proving(w.roster, w.src.Statements, devices)
	if w.src.Evidence != nil {
		m.Log = &Log{Key: w.src.Evidence.LogKey, Checkpoint: base64.StdEncoding.EncodeToString(w.src.Evidence.Checkpoint)}
	}
	m.Files = slices.Clone(w.files)
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("making the manifest: %w", err)
	}
	if err := w.writeBytes(ManifestName, b); err != nil {
		return err
	}
	w.files = w.files[:len(w.files)-1] // the manifest does not list itself
	return nil
}

// proving picks, from statements, those the roster accepted that prove the
// given devices: each device's own statement, the grant it enrolled under
// (and, for a grant a device issued, that device's chain), its user and
// team, and every revocation of it (with its revoker's chain), so that
// trust.Evaluate over them alone gives those devices as the whole set did.
func proving(r *trust.Roster, statements []trust.Signed, devices map[string]bool) []trust.Signed {
	type st struct {
		s  trust.Signed
		st trust.Statement
	}
	var byKind = map[trust.Kind][]st{}
	for _, s := range statements {
		if !r.Accepted[s.ID()] {
			continue
		}
		p, err := s.Open()
		if err != nil {
			continue
		}
		byKind[p.Kind] = append(byKind[p.Kind], st{s, p})
	}
	keep := map[string]trust.Signed{}
	add := func(kind trust.Kind, match func(trust.Statement) bool) []trust.Signed {
		var out []trust.Signed
		for _, x := range byKind[kind] {
			if match(x.st) {
				keep[x.s.ID()] = x.s
				out = append(out, x.s)
			}
		}
		return out
	}
	seen := map[string]bool{}
	queue := make([]string, 0, len(devices))
	for d := range devices {
		queue = append(queue, d)
	}
	slices.Sort(queue)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		d, ok := r.Devices[id]
		if !ok {
			continue
		}
		add(trust.KindDevice, func(s trust.Statement) bool { return s.Device == id })
		for _, g := range add(trust.KindGrant, func(s trust.Statement) bool { return s.Grant == d.Grant }) {
			if by, ok := strings.CutPrefix(g.Signer, "device:"); ok {
				queue = append(queue, by)
			}
		}
		u := r.Users[d.User]
		add(trust.KindUser, func(s trust.Statement) bool { return s.User == d.User && s.Version == u.Version })
		add(trust.KindTeam, func(s trust.Statement) bool { return s.Team == u.Team })
		for _, rv := range add(trust.KindRevoke, func(s trust.Statement) bool { return s.Device == id }) {
			if by, ok := strings.CutPrefix(rv.Signer, "device:"); ok {
				queue = append(queue, by)
			}
		}
	}
	out := make([]trust.Signed, 0, len(keep))
	for _, s := range keep {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b trust.Signed) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}

func syncDir(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// byDate orders records by their own date, then by when they were written.
func byDate(a, b *shown) int {
	return cmp.Or(cmp.Compare(sortKey(a.Record), sortKey(b.Record)), cmp.Compare(a.Rev.HLC, b.Rev.HLC),
		strings.Compare(a.Rev.RecordID, b.Rev.RecordID))
}

func sortKey(r Record) string {
	switch v := r.Value.(type) {
	case *record.Note:
		return string(v.Date) + " " + v.Time
	case *record.Recording:
		return v.Recorded
	case *record.AuditEvent:
		return v.At.UTC().Format(time.RFC3339Nano)
	}
	return string(dateOf(r))
}
