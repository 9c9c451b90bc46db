package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
)

type bundleCmd struct {
	Case string `required:"" help:"Case reference or id."`
	Out  string `required:"" type:"path" help:"Folder to write the bundle into (created; must be absent or empty)." placeholder:"DIR"`
	From string `help:"Only records dated on or after this day (2026-12-14, 14/12/2026 in the date order, -3m…); the case summary is always in." placeholder:"DATE"`
	To   string `help:"Only records dated on or before this day." placeholder:"DATE"`
	// Offline leaves the log's proofs out rather than sync for them.
	Offline bool          `help:"Do not sync for the server log's proofs (the bundle then says its records are not proved in the log)."`
	Timeout time.Duration `default:"10m" help:"Give up syncing for the log's proofs after this long."`
}

func (bundleCmd) Help() string {
	return cli.Examples(
		`fieldcase bundle --case GAL-2026-0142 --out bundle/          # the whole case`,
		`fieldcase bundle --case R-1 --out b/ --from 2026-01-01 --to 2026-03-31`,
		`fieldcase verify-bundle bundle/                              # check it again (fieldcase-verify does the same anywhere)`)
}

func (c *bundleCmd) Run(a *app) error {
	from, err := a.parseDate("--from", c.From) // the error says what a date may be
	if err != nil {
		return err
	}
	to, err := a.parseDate("--to", c.To)
	if err != nil {
		return err
	}
	if from != "" && to != "" && to < from {
		return cli.WithHint(a.l.Error("bundle.to_before_from", "To", to, "From", from), a.l.T("bundle.to_before_from_hint"))
	}
	v, cv, err := a.unlockCase("fieldcase bundle", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := dictation.Recover(a.ctx, v); err != nil {
		return err
	}
	evidence, err := c.logEvidence(a, v)
	if err != nil {
		return err
	}
	res, rep, err := makeBundle(a.ctx, a.l, v, cv, c.Out, from, to, evidence)
	if err != nil {
		return err
	}
	if err := v.Audit(cv.ID, record.AuditExport, "court bundle written to "+filepath.Base(c.Out)); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("bundle.wrote", "Ref", cv.Value.Ref, "Out", c.Out, "Pages", res.Pages, "Records", res.Records,
		"Logged", res.Logged, "Recordings", res.Recordings))
	for _, w := range res.Warnings {
		fprintf(a.stderr, "%s\n", a.l.T("bundle.warning", "Warning", w))
	}
	if res.OverLimit {
		fprintf(a.stderr, "%s\n", a.l.T("bundle.over_limit", "Pages", res.Pages, "Max", res.MaxPages))
	}
	if !rep.OK() {
		rep.WriteText(a.stderr, c.Out)
		return cli.WithHint(a.l.Error("bundle.not_verified", "Out", c.Out, "Problems", len(rep.Problems)), a.l.T("bundle.not_verified_hint"))
	}
	fprintf(a.stderr, "%s\n", a.l.T("bundle.checked", "Fingerprint", rep.AgencyFingerprint))
	return nil
}

// evidenceFunc gives the server's log evidence for revisions of a case;
// nil when there is none to give.
type evidenceFunc func(caseID string, revs []record.RevID) (*bundle.Evidence, error)

// logEvidence is where the bundle's log evidence comes from: a sync round
// with the case server (so that the checkpoint is fresh and audited), then
// inclusion proofs of the case's revisions against it. Offline (asked for,
// or the server unreachable) the bundle is written without, and says so; a
// log that fails its audit stops the bundle: it must not vouch for it.
func (c *bundleCmd) logEvidence(a *app, v *store.Vault) (evidenceFunc, error) {
	if c.Offline || !v.Enrolled() || v.LogKey() == "" {
		return nil, nil
	}
	s, err := newSyncer(a.l, v)
	if err != nil {
		return nil, err
	}
	return func(caseID string, revs []record.RevID) (*bundle.Evidence, error) {
		ctx, cancel := context.WithTimeout(a.ctx, c.Timeout)
		defer cancel()
		le, err := s.Evidence(ctx, caseID, revs)
		if errors.Is(err, client.ErrOffline) {
			fprintf(a.stderr, "%s\n", a.l.T("bundle.offline", "Err", err))
			return nil, nil
		}
		if err != nil {
			return nil, syncError(a.l, err, v.OutboxLen())
		}
		if le == nil {
			return nil, nil
		}
		ev := &bundle.Evidence{LogKey: le.LogKey, Checkpoint: le.Checkpoint, Entries: map[record.RevID]bundle.LogEntry{}}
		for rev, e := range le.Entries {
			ev.Entries[rev] = bundle.LogEntry{Index: e.Index, Proof: e.Proof, Receipt: e.Receipt}
		}
		return ev, nil
	}, nil
}

// makeBundle writes the bundle of case cv into out and verifies it.
func makeBundle(ctx context.Context, l *i18n.Locale, v *store.Vault, cv store.CaseView, out string, from, to record.Date, evidence evidenceFunc) (*bundle.Result, *bundle.Report, error) {
	src, sealed, err := caseSource(l, v, cv, from, to, evidence)
	if err != nil {
		return nil, nil, err
	}
	res, err := bundle.Write(ctx, out, src, bundle.Options{})
	if errors.Is(err, bundle.ErrExists) {
		return nil, nil, cli.WithHint(err, l.T("bundle.exists_hint"))
	}
	if err != nil {
		return nil, nil, cli.WithHint(err, l.T("bundle.write_failed_hint"))
	}
	if sealed > 0 {
		res.Warnings = append(res.Warnings, l.T("bundle.sealed", "Sealed", sealed))
	}
	rep, err := bundle.Verify(ctx, out, bundle.VerifyOptions{})
	if err != nil {
		return nil, nil, err
	}
	return res, rep, nil
}

// caseSource reads what a bundle of case cv is made of from the vault:
// the agency key and statements, the case's records with their revisions,
// its tombstones, its audio and the log's evidence. It also returns how
// many records are sealed here (no key on this laptop).
func caseSource(l *i18n.Locale, v *store.Vault, cv store.CaseView, from, to record.Date, evidence evidenceFunc) (*bundle.Source, int, error) {
	agency := v.Agency()
	if agency == nil {
		return nil, 0, cli.WithHint(l.Error("bundle.no_agency"), l.T("bundle.no_agency_hint"))
	}
	statements, err := v.Statements()
	if err != nil {
		return nil, 0, err
	}
	src := &bundle.Source{CaseID: cv.ID, Ref: cv.Value.Ref, Agency: agency, Statements: statements,
		From: from, To: to, Now: time.Now(), Producer: producer(v)}
	var sealed int
	if src.Records, sealed, err = caseRecords(l, v, cv); err != nil {
		return nil, 0, err
	}
	dels, err := v.Deletions(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range dels {
		rev, err := v.Revision(cv.ID, d.RecordID, d.Rev)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", l.T("bundle.reading_deletion", "ID", d.RecordID), err)
		}
		src.Deletions = append(src.Deletions, rev)
	}
	src.Audio = func(ctx context.Context, r bundle.Record, w io.Writer) error {
		return recordingOgg(ctx, l, v, r, w)
	}
	if evidence != nil {
		var revs []record.RevID
		for _, r := range src.Records {
			revs = append(revs, r.Rev.Rev)
		}
		for _, d := range src.Deletions {
			revs = append(revs, d.Rev)
		}
		if src.Evidence, err = evidence(cv.ID, revs); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", l.T("bundle.reading_evidence"), err)
		}
	}
	return src, sealed, nil
}

// producer names this laptop and its user, for the bundle's front sheet.
func producer(v *store.Vault) string {
	if r := v.Roster(); r != nil {
		if wr, ok := r.Writer(v.DeviceID()); ok {
			return fmt.Sprintf("fieldcase on %s's laptop “%s” (device %s)", wr.User.Name, wr.Device.Name, v.DeviceID()) // i18n: the bundle's and export's front sheet, English as the documents are
		}
	}
	return fmt.Sprintf("fieldcase on %s's laptop (device %s)", cmp.Or(v.Profile().Name, "an unnamed user"), v.DeviceID()) // i18n: the front sheet, as above
}

// caseRecords reads the case's current records with the revisions they
// came from: each head, and each version of a record in conflict. It
// returns how many it could not open here (sealed).
func caseRecords(l *i18n.Locale, v *store.Vault, cv store.CaseView) ([]bundle.Record, int, error) {
	var out []bundle.Record
	sealed := 0
	if err := addItems(l, &out, &sealed, v, cv.ID, []store.Item[record.Case]{cv.Item}); err != nil {
		return nil, 0, err
	}
	notes, err := v.Notes(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(l, &out, &sealed, v, cv.ID, notes); err != nil {
		return nil, 0, err
	}
	consents, err := v.Consents(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(l, &out, &sealed, v, cv.ID, consents); err != nil {
		return nil, 0, err
	}
	tasks, err := v.Tasks(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(l, &out, &sealed, v, cv.ID, tasks); err != nil {
		return nil, 0, err
	}
	recs, err := v.Recordings(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(l, &out, &sealed, v, cv.ID, recs); err != nil {
		return nil, 0, err
	}
	audit, err := auditRecords(l, v, cv.ID)
	if err != nil {
		return nil, 0, err
	}
	return append(out, audit...), sealed, nil
}

// addItems adds the versions of items, with their revisions.
func addItems[T any](l *i18n.Locale, out *[]bundle.Record, sealed *int, v *store.Vault, caseID string, items []store.Item[T]) error {
	add := func(id string, rev record.RevID, val T, versions int) error {
		r, err := v.Revision(caseID, id, rev)
		if err != nil {
			return fmt.Errorf("%s: %w", l.T("bundle.reading_revision", "Rev", rev.Short(), "ID", id), err)
		}
		*out = append(*out, bundle.Record{Rev: r, Value: &val, Versions: versions})
		return nil
	}
	for _, it := range items {
		if len(it.Versions) == 0 {
			switch {
			case it.Deleted:
			case it.Sealed || it.Loading:
				*sealed++
			default:
				if err := add(it.ID, it.Rev, it.Value, 1); err != nil {
					return err
				}
			}
			continue
		}
		for _, ver := range it.Versions {
			switch {
			case ver.Deleted:
			case ver.Sealed:
				*sealed++
			default:
				if err := add(it.ID, ver.Rev, ver.Value, len(it.Versions)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// auditRecords are the case's audit events with their revisions.
func auditRecords(l *i18n.Locale, v *store.Vault, caseID string) ([]bundle.Record, error) {
	items, err := v.AuditItems(caseID)
	if err != nil {
		return nil, err
	}
	var out []bundle.Record
	var sealed int
	err = addItems(l, &out, &sealed, v, caseID, items)
	return out, err
}

// recordingOgg writes a recording's version as 'fieldcase recording
// export' does: its timeline's packets, copied into Ogg Opus.
func recordingOgg(ctx context.Context, l *i18n.Locale, v *store.Vault, r bundle.Record, w io.Writer) error {
	rec, ok := r.Value.(*record.Recording)
	if !ok || len(rec.Timeline) == 0 {
		return bundle.ErrNoAudio
	}
	tl, err := audio.UnmarshalTimeline(rec.Timeline)
	if err != nil {
		return fmt.Errorf("%s: %w", l.T("bundle.recording", "ID", r.Rev.RecordID), err)
	}
	if tl.Packets() == 0 {
		return bundle.ErrNoAudio
	}
	err = audio.WriteOgg(ctx, w, tl, vaultChunks{v, r.Rev.CaseID, r.Rev.RecordID})
	if errors.Is(err, store.ErrNotFound) {
		return cli.WithHint(l.Error("bundle.audio_missing", "ID", r.Rev.RecordID), l.T("bundle.audio_missing_hint"))
	}
	return err
}

// vaultChunks reads a recording's chunks from the vault, as dictation does.
type vaultChunks struct {
	v             *store.Vault
	caseID, recID string
}

func (s vaultChunks) ReadChunk(ctx context.Context, take, index uint32) (audio.Chunk, error) {
	b, err := s.v.Chunk(s.caseID, s.recID, take, index)
	if err != nil {
		return audio.Chunk{}, err
	}
	return audio.UnmarshalChunk(b)
}
