package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/export"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// ExportCmd decrypts cases with the agency recovery identity, offline.
type ExportCmd struct {
	Identity string   `required:"" type:"existingfile" help:"The agency recovery identity file ('fieldcased recovery new')." placeholder:"FILE"`
	Case     []string `help:"Case to export: its reference (e.g. GAL-2026-0142) or id. Repeatable." placeholder:"REF"`
	All      bool     `help:"Export every case the recovery identity can open."`
	Out      string   `required:"" type:"path" help:"Directory to write into (created; must be empty or absent)." placeholder:"DIR"`
	From     string   `help:"Read this backup file or stopped server's data directory instead of --data / --db." placeholder:"FILE|DIR"`
	Format   string   `enum:"md,json,csv,fhir" default:"md" help:"md: Markdown and the decrypted records as JSON, with the audio (the default); json, csv or fhir: the documented export formats of 'fieldcase export-case' (docs/EXPORTS.md), for a subject access request or another system."`
	Bundle   bool     `help:"Write each case as a court bundle (an indexed PDF, the recordings, and the signed originals with the server's log proofs, checked by fieldcase-verify) instead of Markdown and JSON."`
	Escrow   string   `type:"existingfile" help:"The escrow service's file, or a backup of it: cases made while an escrow service was named open only through their escrow key kept there (a destroyed case's is gone: it is reported unreadable)." placeholder:"FILE"`
}

func (c *ExportCmd) Run(a *app) error {
	if c.All == (len(c.Case) > 0) {
		return cli.WithHint(errors.New("say which cases"), "give --case REF (repeatable) or --all")
	}
	id, err := readRecoveryIdentity(c.Identity)
	if err != nil {
		return err
	}
	if err := emptyDir(c.Out); err != nil {
		return err
	}
	var esc escrowSource
	if c.Escrow != "" {
		es, err := escrow.Open(c.Escrow, true)
		if errors.Is(err, escrow.ErrLocked) {
			return cli.WithHint(fmt.Errorf("%s is in use by a running escrow service", c.Escrow), "export with a backup of the escrow file")
		}
		if err != nil {
			return cli.WithHint(fmt.Errorf("%s: %w", c.Escrow, err), "give the escrow service's file or a backup of it")
		}
		defer es.Close()
		esc = es
	}
	st, closeStore, err := a.exportSource(c.From)
	if err != nil {
		return err
	}
	defer closeStore()

	var exported []*caseExport
	var notMine int
	var shredded []*caseExport // escrowed cases whose escrow key this export cannot have
	err = st.View(a.ctx, func(tx server.Tx) error {
		all, err := tx.TeamCases("")
		if err != nil {
			return err
		}
		want := map[string]bool{}
		for _, r := range c.Case {
			want[strings.ToLower(r)] = true
		}
		found := map[string]bool{}
		for _, sc := range all {
			if err := a.ctx.Err(); err != nil {
				return err
			}
			ce, err := readCaseEscrow(tx, id, sc, esc)
			if err != nil {
				return fmt.Errorf("case %s: %w", sc.ID, err)
			}
			if len(ce.keys) == 0 && ce.escrowGone != "" {
				if c.All || want[strings.ToLower(sc.ID)] {
					found[strings.ToLower(sc.ID)] = true
					shredded = append(shredded, ce)
				}
				continue
			}
			if len(ce.keys) == 0 {
				notMine++
				continue
			}
			if !c.All {
				key := ""
				switch {
				case want[strings.ToLower(sc.ID)]:
					key = strings.ToLower(sc.ID)
				case want[strings.ToLower(ce.Ref())]:
					key = strings.ToLower(ce.Ref())
				default:
					continue
				}
				found[key] = true
			}
			exported = append(exported, ce)
		}
		for _, r := range c.Case {
			if !found[strings.ToLower(r)] {
				return cli.WithHint(fmt.Errorf("case %q not found among the cases this recovery identity can open", r),
					"check the reference; a case whose key was never wrapped to the recovery identity cannot be exported")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ce := range shredded {
		fmt.Fprintf(a.stderr, "case %s: unreadable: %s\n", ce.ID, ce.escrowGone)
	}
	if len(exported) == 0 && len(shredded) > 0 {
		return cli.WithHint(fmt.Errorf("none of the cases asked for can be read (%d unreadable: their escrow keys are not available)", len(shredded)),
			"a destroyed case's escrow key is gone for good; for a case not destroyed, give --escrow the escrow service's file")
	}
	if len(exported) == 0 {
		return cli.WithHint(fmt.Errorf("this identity (recipient fingerprint %s) opens none of the %d cases", crypto.Fingerprint(id.Recipient()), notMine),
			"use the identity whose recipient was given to 'fieldcased recovery set'; cases created before it was set are wrapped to it at their next key rotation")
	}
	if err := os.MkdirAll(c.Out, 0o700); err != nil {
		return exportWriteError(c.Out, err)
	}
	if c.Bundle {
		if c.Format != "md" {
			return cli.WithHint(errors.New("--bundle and --format are two kinds of export"), "give one of them")
		}
		return c.writeBundles(a, st, id, exported)
	}
	var index []map[string]any
	for _, ce := range exported {
		dir := filepath.Join(c.Out, safeName(ce.Ref(), ce.ID))
		if _, err := os.Stat(dir); err == nil { // two cases with one reference
			dir += "-" + ce.ID
		}
		write := func() error { return ce.write(a.ctx, st, dir) }
		if c.Format != "md" {
			write = func() error { return ce.writeFormat(c.Format, dir) }
		}
		if err := write(); err != nil {
			return exportWriteError(dir, err)
		}
		index = append(index, map[string]any{"id": ce.ID, "ref": ce.Ref(), "dir": filepath.Base(dir), "unreadable_records": len(ce.Unreadable)})
		fmt.Fprintf(a.stdout, "%s\t%s\n", ce.Ref(), dir)
	}
	if err := writeJSONFile(filepath.Join(c.Out, "index.json"), map[string]any{
		"exported": time.Now().UTC(), "recovery_fingerprint": crypto.Fingerprint(id.Recipient()), "cases": index, "unreadable_cases": unreadableIndex(shredded)}); err != nil {
		return exportWriteError(c.Out, err)
	}
	fmt.Fprintf(a.stderr, "exported %d case(s) to %s (decrypted: keep it as carefully as the recovery identity)\n", len(exported), c.Out)
	if notMine > 0 && c.All {
		fmt.Fprintf(a.stderr, "%d case(s) are not wrapped to this recovery identity and were skipped\n", notMine)
	}
	return nil
}

func readRecoveryIdentity(path string) (*crypto.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	id, err := crypto.ParseIdentityString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, cli.WithHint(fmt.Errorf("%s is not a recovery identity: %w", path, err), "give the file written by 'fieldcased recovery new'")
	}
	return id, nil
}

// emptyDir checks that dir is absent or empty: an export never mixes with
// or overwrites earlier files.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return cli.WithHint(fmt.Errorf("%s is not empty", dir), "export into a new directory")
	}
	return nil
}

func exportWriteError(path string, err error) error {
	return cli.WithHint(fmt.Errorf("writing %s: %w", path, err), "check free space and permissions; delete the partial export before trying again")
}

// exportSource opens the store to read: --from (a backup file or a data
// directory), --db, or the data directory. A bbolt store is opened read-only;
// one held by a running server is refused (export from a backup instead).
func (a *app) exportSource(from string) (server.Store, func(), error) {
	if from == "" && a.cli.DB != "" {
		// An export reads everything in one transaction: no deadline.
		st, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: 2, TxTimeout: -1})
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	path := from
	if path == "" {
		dir, err := a.dataDir()
		if err != nil {
			return nil, nil, err
		}
		path = dir
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, boltstore.FileName)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, nil, cli.WithHint(fmt.Errorf("no store at %s", path), "give --from a backup file or a data directory")
	}
	st, err := boltstore.Open(path, boltstore.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, server.ErrLocked) {
		return nil, nil, cli.WithHint(fmt.Errorf("%s is in use by a running fieldcased", path),
			"export from a backup: 'fieldcased backup --out FILE', then 'fieldcased export --from FILE …'")
	}
	if err != nil {
		return nil, nil, storeError(filepath.Dir(path), err)
	}
	return st, func() { st.Close() }, nil
}

// entry is one version of one record, decrypted.
type entry struct {
	ID      string      `json:"id"`
	Kind    record.Kind `json:"kind"`
	Rev     string      `json:"rev"`
	Updated time.Time   `json:"updated"`
	Device  string      `json:"device"`
	// Versions is how many versions of the record stand side by side (a
	// conflict from two offline edits not yet resolved); 1 normally.
	Versions int `json:"versions"`
	Value    any `json:"value"`
	// Audio is what became of a recording's audio (recordings only).
	Audio *recordingAudio `json:"audio,omitempty"`
}

// caseExport is one case as the recovery identity reads it.
type caseExport struct {
	ID         string   `json:"id"`
	Team       string   `json:"team"`
	Members    []string `json:"members"`
	Case       []entry  `json:"case"`
	Notes      []entry  `json:"notes"`
	Consents   []entry  `json:"consents"`
	Tasks      []entry  `json:"tasks"`
	Recordings []entry  `json:"recordings"`
	Audit      []entry  `json:"audit"`
	// Unreadable lists records sealed under a key epoch the recovery
	// identity was not given (written before it was set, and never
	// rotated since).
	Unreadable []string `json:"unreadable,omitempty"`

	keys map[uint32][]*crypto.CaseKey
	// escrowGone says why a case wrapped to an escrow key could not be
	// opened through it (destroyed, never deposited, no --escrow).
	escrowGone string
	escrowID   *crypto.Identity
	// revs are the revisions read, by id; tombstones the deletions: what
	// a court bundle shows as signed originals.
	revs       map[string]*record.Revision
	tombstones []*record.Revision
}

// Ref is the case's reference, or its id when the case record is unreadable.
func (c *caseExport) Ref() string {
	if len(c.Case) > 0 {
		if cs, ok := c.Case[0].Value.(*record.Case); ok && cs.Ref != "" {
			return cs.Ref
		}
	}
	return c.ID
}

// readCase decrypts a case's current records: for each record its heads
// (every version not superseded; deleted records are left out).
func readCase(tx server.Tx, id *crypto.Identity, sc server.Case) (*caseExport, error) {
	return readCaseEscrow(tx, id, sc, nil)
}

// readCaseEscrow is readCase, with the escrow keys of esc (nil: none) for
// cases wrapped to an escrow key.
func readCaseEscrow(tx server.Tx, id *crypto.Identity, sc server.Case, esc escrowSource) (*caseExport, error) {
	ce := &caseExport{ID: sc.ID, keys: map[uint32][]*crypto.CaseKey{}, revs: map[string]*record.Revision{}}
	if t, err := tx.Team(sc.TeamID); err == nil {
		ce.Team = t.Name
	}
	for _, uid := range sc.Members {
		name := uid
		if u, err := tx.User(uid); err == nil {
			name = u.Name
		}
		ce.Members = append(ce.Members, name)
	}
	revIDs, err := tx.CaseRevisions(sc.ID)
	if err != nil {
		return nil, err
	}
	byRecord := map[string][]*record.Revision{}
	var order []string
	for _, rid := range revIDs {
		rev, err := tx.Revision(rid)
		if err != nil {
			return nil, err
		}
		if rev.Kind == record.KindKeyring {
			kr, err := sealed.DecodeKeyring(rev.Body)
			if err != nil {
				return nil, err
			}
			// A rewrap carries the key its parents did; only an epoch's
			// first keyring can bring another (a rotation raced on two
			// laptops: both keys are kept and tried).
			if len(ce.keys[kr.Epoch]) > 0 && rev.Generation > 1 {
				continue
			}
			key, err := kr.Unwrap(id, sc.ID)
			if errors.Is(err, crypto.ErrNotRecipient) && kr.Membership.Escrow != "" {
				key, err = ce.throughEscrow(kr, esc, id)
			}
			if errors.Is(err, crypto.ErrNotRecipient) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ce.keys[kr.Epoch] = append(ce.keys[kr.Epoch], key)
			continue
		}
		ce.revs[rev.Rev.String()] = rev
		if rev.Deleted {
			ce.tombstones = append(ce.tombstones, rev)
		}
		if _, ok := byRecord[rev.RecordID]; !ok {
			order = append(order, rev.RecordID)
		}
		byRecord[rev.RecordID] = append(byRecord[rev.RecordID], rev)
	}
	if len(ce.keys) == 0 {
		return ce, nil
	}
	for _, recID := range order {
		heads := headsOf(byRecord[recID])
		live := slices.DeleteFunc(heads, func(r *record.Revision) bool { return r.Deleted })
		for _, rev := range live {
			v, err := ce.open(rev)
			if err != nil {
				ce.Unreadable = append(ce.Unreadable, fmt.Sprintf("%s %s (%v)", rev.Kind, rev.RecordID, err))
				continue
			}
			e := entry{ID: rev.RecordID, Kind: rev.Kind, Rev: rev.Rev.String(), Updated: rev.HLC.Time().UTC(), Device: rev.Device, Versions: len(live), Value: v}
			switch rev.Kind {
			case record.KindCase:
				ce.Case = append(ce.Case, e)
			case record.KindNote:
				ce.Notes = append(ce.Notes, e)
			case record.KindConsent:
				ce.Consents = append(ce.Consents, e)
			case record.KindTask:
				ce.Tasks = append(ce.Tasks, e)
			case record.KindRecording:
				ce.Recordings = append(ce.Recordings, e)
			case record.KindAudit:
				ce.Audit = append(ce.Audit, e)
			}
		}
	}
	byDate := func(date func(entry) string) func(a, b entry) int {
		return func(a, b entry) int {
			return cmp.Or(cmp.Compare(date(a), date(b)), a.Updated.Compare(b.Updated), cmp.Compare(a.ID, b.ID))
		}
	}
	slices.SortFunc(ce.Notes, byDate(func(e entry) string { n := e.Value.(*record.Note); return string(n.Date) + " " + n.Time }))
	slices.SortFunc(ce.Consents, byDate(func(e entry) string { return string(e.Value.(*record.Consent).Date) }))
	slices.SortFunc(ce.Tasks, byDate(func(e entry) string { return string(e.Value.(*record.Task).Due) }))
	slices.SortFunc(ce.Recordings, byDate(func(e entry) string { return e.Value.(*record.Recording).Recorded }))
	slices.SortFunc(ce.Audit, byDate(func(e entry) string { return e.Value.(*record.AuditEvent).At.UTC().Format(time.RFC3339Nano) }))
	return ce, nil
}

// headsOf returns the revisions no other revision of the record supersedes.
func headsOf(revs []*record.Revision) []*record.Revision {
	heads := record.Heads(revs)
	slices.SortFunc(heads, func(a, b *record.Revision) int { return cmp.Compare(a.HLC, b.HLC) })
	return heads
}

func (c *caseExport) open(rev *record.Revision) (any, error) {
	keys, err := c.keyFor(rev.Body)
	if err != nil {
		return nil, err
	}
	var js []byte
	for _, key := range keys {
		if js, err = sealed.Open(key, rev.CaseID, rev.RecordID, rev.Kind, rev.Body); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return sealed.Value(rev.Kind, js)
}

// keyFor returns the case keys of the epoch a body was sealed under (one,
// or two after a raced rotation).
func (c *caseExport) keyFor(body []byte) ([]*crypto.CaseKey, error) {
	epoch, err := crypto.SealedEpoch(body)
	if err != nil {
		return nil, err
	}
	keys := c.keys[epoch]
	if len(keys) == 0 {
		return nil, fmt.Errorf("key epoch %d not wrapped to the recovery identity", epoch)
	}
	return keys, nil
}

// write puts the recordings' audio, case.json and case.md into dir.
func (c *caseExport) write(ctx context.Context, st server.Store, dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if err := c.writeRecordings(ctx, st, dir); err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(dir, "case.json"), c); err != nil {
		return err
	}
	return writeFileSynced(filepath.Join(dir, "case.md"), []byte(c.markdown()))
}

// writeFormat writes the case in one of the documented export formats
// (export.Formats) into dir. The recording's audio is not among them; the
// md format writes it.
func (c *caseExport) writeFormat(format, dir string) error {
	if len(c.Case) == 0 {
		return fmt.Errorf("case %s: its case record cannot be read, so it has no %s export", c.ID, format)
	}
	cs, ok := c.Case[0].Value.(*record.Case)
	if !ok {
		return fmt.Errorf("case %s: its case record is not a case", c.ID)
	}
	meta := func(e entry) export.Meta {
		return export.Meta{ID: e.ID, Rev: e.Rev, Updated: e.Updated, Versions: max(e.Versions, 1)}
	}
	ec := export.NewCase(meta(c.Case[0]), *cs, time.Now(), "fieldcased export (recovery identity)")
	for _, e := range c.Notes {
		if n, ok := e.Value.(*record.Note); ok {
			ec.AddNote(meta(e), *n)
		}
	}
	for _, e := range c.Consents {
		if d, ok := e.Value.(*record.Consent); ok {
			ec.AddConsent(meta(e), *d)
		}
	}
	for _, e := range c.Tasks {
		if t, ok := e.Value.(*record.Task); ok {
			ec.AddTask(meta(e), *t)
		}
	}
	for _, e := range c.Recordings {
		if r, ok := e.Value.(*record.Recording); ok {
			ec.AddRecording(meta(e), *r)
		}
	}
	files, err := export.Files(ec, format)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.Name), func(w *os.File) error { return f.Write(w) }); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSynced(path, append(b, '\n'))
}

func writeFileSynced(path string, b []byte) error {
	return writeFile(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// writeFile creates path (mode 0600; it must not exist), lets write fill it,
// and syncs it.
func writeFile(path string, write func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// safeName makes a directory name from a case reference.
func safeName(ref, id string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, ref)
	s = strings.Trim(s, ".")
	switch {
	case s == "":
		return id
	case s != ref:
		s += "-" + id[:min(8, len(id))]
	}
	return s
}

// escrowSource gives a case's escrow deposit (escrow.Store).
type escrowSource interface {
	Get(caseID string) (escrow.Deposit, error)
}

// throughEscrow opens a keyring wrapped to the case's escrow key: the
// escrow key from esc, unwrapped with the recovery identity, then the case
// key. A missing escrow key is crypto.ErrNotRecipient, its reason kept in
// escrowGone.
func (c *caseExport) throughEscrow(kr sealed.Keyring, esc escrowSource, id *crypto.Identity) (*crypto.CaseKey, error) {
	if c.escrowID == nil {
		if c.escrowGone != "" {
			return nil, crypto.ErrNotRecipient
		}
		if esc == nil {
			c.escrowGone = "its keys are wrapped to its escrow key: give --escrow the escrow service's file"
			return nil, crypto.ErrNotRecipient
		}
		d, err := esc.Get(c.ID)
		switch {
		case errors.Is(err, escrow.ErrDestroyed):
			c.escrowGone = "the case was destroyed: its escrow key is gone"
			return nil, crypto.ErrNotRecipient
		case errors.Is(err, escrow.ErrNotFound):
			c.escrowGone = "the escrow file holds no escrow key of the case (destroyed before this copy, or never deposited)"
			return nil, crypto.ErrNotRecipient
		case err != nil:
			return nil, err
		}
		if d.Recipient != kr.Membership.Escrow {
			c.escrowGone = "the escrow file's key for the case is not the one its keyrings name"
			return nil, crypto.ErrNotRecipient
		}
		eid, err := crypto.UnwrapEscrow(d.Wrapped, id, c.ID)
		if errors.Is(err, crypto.ErrNotRecipient) {
			c.escrowGone = "its escrow key is wrapped to another recovery identity"
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("escrow key: %w", err)
		}
		if eid.Recipient() != kr.Membership.Escrow {
			c.escrowGone = "the escrow key deposited is not the one its keyrings name"
			return nil, crypto.ErrNotRecipient
		}
		c.escrowID = eid
	}
	if kr.Membership.Escrow != c.escrowID.Recipient() {
		return nil, crypto.ErrNotRecipient
	}
	return kr.Unwrap(c.escrowID, c.ID)
}

func unreadableIndex(cs []*caseExport) []map[string]string {
	out := []map[string]string{}
	for _, c := range cs {
		out = append(out, map[string]string{"id": c.ID, "why": c.escrowGone})
	}
	return out
}
