package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fieldcase/fieldcase/bundle/internal/pdftext"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// RequireLog makes a revision without log evidence a problem rather
	// than a note.
	RequireLog bool
}

// Report is what Verify found. A bundle verifies when Problems is empty.
type Report struct {
	// Problems name each item that fails: a file, a record, a page, the
	// manifest, the checkpoint — and what is wrong with it.
	Problems []Problem `json:"problems"`
	// Notes are what the bundle does not prove without being wrong: a
	// revision not yet in the log, a checkpoint no witness cosigned.
	Notes []string `json:"notes"`
	// Checked says, for people, what was checked and held.
	Checked []string `json:"checked"`

	AgencyFingerprint string   `json:"agency_fingerprint"`
	Records           int      `json:"records"` // revisions checked, tombstones included
	Files             int      `json:"files"`
	Pages             int      `json:"pages"`
	Logged            int      `json:"logged"`
	Receipts          int      `json:"receipts"`
	Witnesses         []string `json:"witnesses"` // who cosigned the checkpoint (user names)
}

// OK reports whether the bundle verifies.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Problem is one failing item.
type Problem struct {
	Item string `json:"item"` // "bundle.pdf", "recordings/x.ogg", "note 01J…", "bundle.pdf page B3", "manifest.json", "checkpoint"
	What string `json:"what"`
}

func (p Problem) String() string { return p.Item + ": " + p.What }

// Verify checks a bundle directory from its files alone: the manifest's
// form, every file's hash (and that no file was added or removed), each
// revision's id and signature, each signing device's chain of agency-signed
// statements (trust.Evaluate), the log's checkpoint, each inclusion proof
// and receipt, the audit events' signatures and chains, and that every
// revision the PDF shows is in the manifest on the page it names, and every
// one the manifest places on a page is shown there. An error is returned
// only when the directory cannot be read at all; everything else is in the
// report.
func Verify(ctx context.Context, dir string, opt VerifyOptions) (*Report, error) {
	v := &verifier{dir: dir, opt: opt, rep: &Report{}}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("reading the bundle: %s is not a directory", dir)
	}
	b, err := readLimited(filepath.Join(dir, ManifestName), maxManifest)
	if err != nil {
		v.fail(ManifestName, "%v", err)
		return v.rep, nil
	}
	m, err := ParseManifest(b)
	if err != nil {
		v.fail(ManifestName, "%v", err)
		return v.rep, nil
	}
	v.m = m
	v.checked("manifest.json is in its one canonical form")
	v.files(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.trust()
	v.log()
	v.entries()
	v.audit()
	v.pdf()
	return v.rep, nil
}

type verifier struct {
	dir string
	opt VerifyOptions
	rep *Report
	m   *Manifest

	listed  map[string]File
	bad     map[string]bool // files that failed their hash or are missing
	roster  *trust.Roster
	agency  []byte
	cp      *transparency.Checkpoint
	byRev   map[string]*Entry
	revs    map[*Entry]*record.Revision
	okAudio map[string]bool
}

func (v *verifier) fail(item, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{Item: item, What: fmt.Sprintf(format, args...)})
}

func (v *verifier) note(format string, args ...any) {
	v.rep.Notes = append(v.rep.Notes, fmt.Sprintf(format, args...))
}

func (v *verifier) checked(format string, args ...any) {
	v.rep.Checked = append(v.rep.Checked, fmt.Sprintf(format, args...))
}

// entryName names a manifest entry for people: its kind, record and page.
func entryName(e *Entry) string {
	s := string(e.Kind) + " " + e.Record
	if e.Page != "" {
		s += " (page " + e.Page + ")"
	}
	return s
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("missing")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// files checks each listed file's size and hash, and that nothing else is
// in the directory.
func (v *verifier) files(ctx context.Context) {
	v.listed = map[string]File{}
	v.bad = map[string]bool{}
	for _, f := range v.m.Files {
		if _, dup := v.listed[f.Name]; dup {
			v.fail(ManifestName, "lists %s twice", f.Name)
		}
		v.listed[f.Name] = f
	}
	ok := 0
	for _, f := range v.m.Files {
		if ctx.Err() != nil {
			return
		}
		path := filepath.Join(v.dir, filepath.FromSlash(f.Name))
		fh, err := os.Open(path)
		if err != nil {
			v.bad[f.Name] = true
			if errors.Is(err, fs.ErrNotExist) {
				v.fail(f.Name, "missing: the manifest lists it, the folder does not hold it%s", v.whose(f.Name))
			} else {
				v.fail(f.Name, "cannot be read: %v", err)
			}
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, fh)
		fh.Close()
		switch {
		case err != nil:
			v.bad[f.Name] = true
			v.fail(f.Name, "cannot be read: %v", err)
		case n != f.Size:
			v.bad[f.Name] = true
			v.fail(f.Name, "changed since the bundle was made: it has %d bytes, the manifest lists %d%s", n, f.Size, v.whose(f.Name))
		case hex.EncodeToString(h.Sum(nil)) != f.SHA256:
			v.bad[f.Name] = true
			v.fail(f.Name, "changed since the bundle was made: its SHA-256 is not the one the manifest lists%s", v.whose(f.Name))
		default:
			ok++
		}
	}
	// Nothing may have been added.
	filepath.WalkDir(v.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, rerr := filepath.Rel(v.dir, path)
		if rerr != nil || rel == "." || d.IsDir() {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if _, listed := v.listed[rel]; !listed && rel != ManifestName {
			v.fail(rel, "is not in the manifest: added after the bundle was made")
		}
		return nil
	})
	v.rep.Files = len(v.m.Files)
	if ok == len(v.m.Files) {
		v.checked("%d files match the SHA-256 the manifest lists, and no file was added", ok)
	}
}

// whose says which record a file is the audio of.
func (v *verifier) whose(name string) string {
	for i := range v.m.Records {
		if v.m.Records[i].File == name {
			return " (the audio of " + entryName(&v.m.Records[i]) + ")"
		}
	}
	return ""
}

// trust evaluates the statements under the agency key.
func (v *verifier) trust() {
	agency, err := trust.ParseAgencyKey(v.m.AgencyKey)
	if err != nil {
		v.fail("agency key", "%v", err)
		v.roster = trust.Evaluate(make([]byte, 32), nil)
		return
	}
	v.agency = agency
	v.rep.AgencyFingerprint = trust.AgencyFingerprint(agency)
	v.roster = trust.Evaluate(agency, v.m.Statements)
	for _, p := range v.roster.Problems {
		v.fail("statement "+short(p.Statement), "%s: %s", p.Kind, p.What)
	}
	if len(v.roster.Problems) == 0 {
		v.checked("%d agency-signed statements hold under the agency key %s", len(v.m.Statements), v.rep.AgencyFingerprint)
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// witnessVerifiers are note verifiers for every device's cosignature.
func witnessVerifiers(r *trust.Roster) []note.Verifier {
	ids := make([]string, 0, len(r.Devices))
	for id := range r.Devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []note.Verifier
	for _, id := range ids {
		if wv, err := transparency.WitnessVerifier(id, r.Devices[id].SigningKey); err == nil {
			out = append(out, wv)
		}
	}
	return out
}

// log opens the checkpoint.
func (v *verifier) log() {
	if v.m.Log == nil {
		v.note("the bundle carries no evidence from the case server's log")
		return
	}
	signed, err := base64.StdEncoding.Strict().DecodeString(v.m.Log.Checkpoint)
	if err != nil {
		v.fail("checkpoint", "not base64: %v", err)
		return
	}
	cp, by, err := transparency.Open(transparency.Signed(signed), v.m.Log.Key, witnessVerifiers(v.roster)...)
	if err != nil {
		v.fail("checkpoint", "does not check against the log's key: %v", err)
		return
	}
	v.cp = &cp
	for _, w := range by {
		id := strings.TrimPrefix(w, transparency.WitnessName(""))
		if wr, ok := v.roster.Writer(id); ok {
			v.rep.Witnesses = append(v.rep.Witnesses, wr.User.Name)
		}
	}
	v.checked("the log's checkpoint (%s, %d entries) is signed by the log's key", cp.Origin, cp.Size)
	if len(v.rep.Witnesses) == 0 {
		v.note("no witness cosigned the log's checkpoint: the log's key is the server's own word")
	} else {
		v.checked("the checkpoint is cosigned by %s", strings.Join(v.rep.Witnesses, ", "))
	}
}

// entries checks every revision: encoding, id, signature, device, log.
func (v *verifier) entries() {
	v.byRev = map[string]*Entry{}
	v.revs = map[*Entry]*record.Revision{}
	v.okAudio = map[string]bool{}
	bad, unlogged := 0, 0
	check := func(e *Entry, deletion bool) {
		item := entryName(e)
		fails := len(v.rep.Problems)
		defer func() {
			if len(v.rep.Problems) > fails {
				bad++
			}
		}()
		if v.byRev[e.Rev] != nil {
			v.fail(item, "revision %s is listed twice", e.Rev)
			return
		}
		v.byRev[e.Rev] = e
		r, err := e.revision()
		if err != nil {
			v.fail(item, "%v", err)
			return
		}
		if err := r.Validate(); err != nil {
			v.fail(item, "the revision does not hold: %v", err)
			return
		}
		switch {
		case r.Rev.String() != e.Rev:
			v.fail(item, "the revision's id is %s, not the %s the manifest names", r.Rev, e.Rev)
			return
		case r.RecordID != e.Record || r.Kind != e.Kind || r.Device != e.Device:
			v.fail(item, "the manifest's record, kind or device is not the revision's")
			return
		case r.CaseID != v.m.Case:
			v.fail(item, "the revision belongs to case %s, not this bundle's %s", r.CaseID, v.m.Case)
			return
		case r.Deleted != deletion:
			if deletion {
				v.fail(item, "listed as a deletion, but the revision is not a tombstone")
			} else {
				v.fail(item, "the revision is a deletion, listed as a record")
			}
			return
		case e.Page == "":
			v.fail(item, "the manifest names no page of the PDF for it")
		}
		v.revs[e] = r
		wr, ok := v.roster.Writer(r.Device)
		switch {
		case !ok:
			v.fail(item, "written by device %s, which no agency-signed statement in the bundle vouches for", r.Device)
		case !r.VerifySig(wr.Device.SigningKey):
			v.fail(item, "the signature is not device %s's (%s's laptop): forged, or the revision was altered", r.Device, wr.User.Name)
		case wr.Device.Revoked && r.Seq > wr.Device.AfterSeq:
			v.fail(item, "written by device %s after it was revoked (its writes up to number %d stand; this is number %d)", r.Device, wr.Device.AfterSeq, r.Seq)
		}
		if e.File != "" {
			if r.Kind != record.KindRecording {
				v.fail(item, "a %s with an audio file", r.Kind)
			} else if _, ok := v.listed[e.File]; !ok {
				v.fail(item, "its audio file %s is not in the manifest's files", e.File)
			}
		}
		if (e.Event != "") != (r.Kind == record.KindAudit) {
			v.fail(item, "an audit event must carry its event, and nothing else may")
		}
		v.inclusion(e, r, &unlogged)
	}
	for i := range v.m.Records {
		check(&v.m.Records[i], false)
	}
	for i := range v.m.Deletions {
		check(&v.m.Deletions[i], true)
	}
	n := len(v.m.Records) + len(v.m.Deletions)
	v.rep.Records = n
	if bad == 0 {
		v.checked("%d revisions hash to their ids and carry their device's signature, every device proved by the agency's statements and unrevoked when it wrote", n)
	}
	if v.cp != nil && v.rep.Logged > 0 {
		v.checked("%d revisions are proved in the log's checkpoint, %d with the server's signed receipt", v.rep.Logged, v.rep.Receipts)
	}
	if unlogged > 0 && !v.opt.RequireLog {
		v.note("%d revision(s) carry no log evidence (written offline and not yet synced, or not yet proved)", unlogged)
	}
}

// inclusion checks a revision's proof and receipt.
func (v *verifier) inclusion(e *Entry, r *record.Revision, unlogged *int) {
	item := entryName(e)
	if e.Log == nil {
		*unlogged++
		if v.opt.RequireLog {
			v.fail(item, "not in the log evidence")
		}
		return
	}
	if v.m.Log == nil {
		v.fail(item, "carries a log proof, but the bundle has no checkpoint")
		return
	}
	if v.cp == nil {
		return // the checkpoint failed: said once
	}
	p, err := DecodeProof(e.Log.Proof)
	if err != nil {
		v.fail(item, "log proof: %v", err)
		return
	}
	if err := transparency.CheckInclusion(*v.cp, e.Log.Index, transparency.RevisionEntry(r), p); err != nil {
		v.fail(item, "the log proof does not hold against the bundle's checkpoint: %v", err)
		return
	}
	v.rep.Logged++
	if e.Log.Receipt == nil {
		return
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(e.Log.Receipt.Sig)
	if err != nil {
		v.fail(item, "receipt signature is not base64")
		return
	}
	rc := transparency.Receipt{Rev: r.Rev, Index: e.Log.Index, Time: time.UnixMilli(e.Log.Receipt.TimeMS).UTC(), Sig: sig}
	if err := rc.Verify(v.m.Log.Key); err != nil {
		v.fail(item, "the server's receipt does not check: %v", err)
		return
	}
	v.rep.Receipts++
}

// audit checks the audit events: each signed by its device, and each
// device's events linked one to the next.
func (v *verifier) audit() {
	byDevice := map[string][]record.AuditEvent{}
	items := map[string]string{} // device/seq → item
	n, bad := 0, 0
	for i := range v.m.Records {
		e := &v.m.Records[i]
		r := v.revs[e]
		if e.Kind != record.KindAudit || r == nil {
			continue
		}
		n++
		item := entryName(e)
		js, err := base64.StdEncoding.Strict().DecodeString(e.Event)
		if err != nil {
			v.fail(item, "the event is not base64")
			bad++
			continue
		}
		var ev record.AuditEvent
		dec := json.NewDecoder(strings.NewReader(string(js)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			v.fail(item, "the event does not decode: %v", err)
			bad++
			continue
		}
		if again, err := json.Marshal(ev); err != nil || string(again) != string(js) {
			v.fail(item, "the event is not in the form its device signed")
			bad++
			continue
		}
		if ev.Device != r.Device {
			v.fail(item, "the event names device %s, the revision %s", ev.Device, r.Device)
			bad++
			continue
		}
		if wr, ok := v.roster.Writer(r.Device); ok {
			if err := ev.Verify(wr.Device.SigningKey); err != nil {
				v.fail(item, "the event's signature is not its device's")
				bad++
				continue
			}
		}
		byDevice[ev.Device] = append(byDevice[ev.Device], ev)
		items[fmt.Sprintf("%s/%d", ev.Device, ev.Seq)] = item
	}
	if n == 0 {
		return
	}
	// The bundle holds the events of a range: a chain starts where the
	// range does. Within it, each event must follow the one before.
	for dev, evs := range byDevice {
		slices.SortFunc(evs, func(a, b record.AuditEvent) int { return int(a.Seq) - int(b.Seq) })
		for i := 1; i < len(evs); i++ {
			prev, cur := evs[i-1], evs[i]
			switch {
			case cur.Seq == prev.Seq:
				v.fail(items[fmt.Sprintf("%s/%d", dev, cur.Seq)], "two events of device %s have number %d", dev, cur.Seq)
				bad++
			case cur.Seq != prev.Seq+1:
				v.note("device %s's access events %d to %d are not in the bundle (another range, or not synced)", dev, prev.Seq+1, cur.Seq-1)
			case cur.Prev != prev.Hash():
				v.fail(items[fmt.Sprintf("%s/%d", dev, cur.Seq)], "does not follow device %s's event %d: the chain is broken (an event edited or replaced)", dev, prev.Seq)
				bad++
			}
		}
	}
	if bad == 0 {
		v.checked("%d access events carry their device's signature and follow one another", n)
	}
}

// The page number and the revision references are set in sizes no user
// text is set in (notes are 12 pt, the lines about them 10 pt), so that a
// note quoting "Revision …" or "Page B3" is never read as one.
const pageNumberSize = smallSize

var (
	pageRE = regexp.MustCompile(`^Page ([A-Z][1-9][0-9]*|[ivxlcdm]+)$`)
	revRE  = regexp.MustCompile(`^Revision ([0-9a-f]{64})$`)
)

// pdf checks that every revision the PDF shows is in the manifest, on the
// page the manifest names, and that every page label printed on a page is
// its label in the PDF's page labels.
func (v *verifier) pdf() {
	if _, ok := v.listed[PDFName]; !ok {
		v.fail(PDFName, "the manifest does not list the bundle's PDF")
		return
	}
	b, err := readLimited(filepath.Join(v.dir, PDFName), 1<<30)
	if err != nil {
		return // said by files()
	}
	doc, err := pdftext.Read(b)
	if err != nil {
		v.fail(PDFName, "cannot read its text: %v", err)
		return
	}
	v.rep.Pages = len(doc.Pages)
	shown := map[string]string{} // rev → label of the page that shows it
	problems := len(v.rep.Problems)
	for i, pg := range doc.Pages {
		label := ""
		for _, run := range pg.Runs {
			if m := pageRE.FindStringSubmatch(run.Text); m != nil && run.Size == pageNumberSize {
				label = m[1]
			}
		}
		item := fmt.Sprintf("%s page %d", PDFName, i+1)
		switch {
		case label != "":
			item = PDFName + " page " + label
		case doc.Labels != nil && doc.Labels[i] != "":
			item = fmt.Sprintf("%s page %s (page %d of the file)", PDFName, doc.Labels[i], i+1)
		}
		if pg.Err != nil {
			v.fail(item, "its content cannot be read: %v", pg.Err)
			continue
		}
		if label == "" {
			v.fail(item, "shows no page number")
		} else if doc.Labels != nil && doc.Labels[i] != label {
			v.fail(item, "is labelled %q in the PDF's page labels but numbered %q on the page", doc.Labels[i], label)
		}
		for _, run := range pg.Runs {
			m := revRE.FindStringSubmatch(run.Text)
			if m == nil || run.Size != refSize {
				continue
			}
			e := v.byRev[m[1]]
			switch {
			case e == nil:
				v.fail(item, "shows revision %s, which is not in the manifest: an entry no signature backs", m[1])
			case shown[m[1]] != "":
				v.fail(item, "shows revision %s a second time (first on page %s)", m[1], shown[m[1]])
			default:
				shown[m[1]] = label
				if e.Page != label {
					v.fail(entryName(e), "the manifest places it on page %s, the PDF shows it on page %s", e.Page, label)
				}
			}
		}
	}
	if doc.Labels == nil {
		v.fail(PDFName, "has no page labels: its pages' numbers (A1, B1, …) are not the PDF's own")
	}
	for rev, e := range v.byRev {
		if shown[rev] == "" {
			v.fail(entryName(e), "not shown in the PDF: the manifest places it on page %s", e.Page)
		}
	}
	if len(v.rep.Problems) == problems {
		v.checked("the PDF's %d pages show exactly the manifest's %d revisions, each on the page the manifest names, and number their pages as the PDF's page labels do", len(doc.Pages), len(v.byRev))
	}
}
