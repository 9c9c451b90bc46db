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
		return cli.WithHint(fmt.Errorf("--to %s is before --from %s", to, from), "swap them")
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
	res, rep, err := makeBundle(a.ctx, v, cv, c.Out, from, to, evidence)
	if err != nil {
		return err
	}
	if err := v.Audit(cv.ID, record.AuditExport, "court bundle written to "+filepath.Base(c.Out)); err != nil {
		return err
	}
	fprintf(a.stdout, "wrote the court bundle of %s to %s: %d pages, %d signed revisions (%d proved in the server's log), %d recording(s)\n",
		cv.Value.Ref, c.Out, res.Pages, res.Records, res.Logged, res.Recordings)
	for _, w := range res.Warnings {
		fprintf(a.stderr, "warning: %s\n", w)
	}
	if res.OverLimit {
		fprintf(a.stderr, "warning: the bundle has %d pages, over the %d that Practice Direction 27A allows without the court's permission: ask for it, or narrow the bundle with --from and --to\n",
			res.Pages, res.MaxPages)
	}
	if !rep.OK() {
		rep.WriteText(a.stderr, c.Out)
		return cli.WithHint(fmt.Errorf("the bundle written to %s does not verify: %d problem(s)", c.Out, len(rep.Problems)),
			"do not hand it to a court; the FAIL lines say what is wrong")
	}
	fprintf(a.stderr, "checked: the bundle verifies (agency key %s). It holds decrypted case records: keep it as carefully as the case itself\n", rep.AgencyFingerprint)
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
			fprintf(a.stderr, "warning: %v: the bundle is written without the log's proofs; make it again when the server answers\n", err)
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
func makeBundle(ctx context.Context, v *store.Vault, cv store.CaseView, out string, from, to record.Date, evidence evidenceFunc) (*bundle.Result, *bundle.Report, error) {
	src, sealed, err := caseSource(v, cv, from, to, evidence)
	if err != nil {
		return nil, nil, err
	}
	res, err := bundle.Write(ctx, out, src, bundle.Options{})
	if errors.Is(err, bundle.ErrExists) {
		return nil, nil, cli.WithHint(err, "write the bundle into a new folder")
	}
	if err != nil {
		return nil, nil, cli.WithHint(err, "check free space and permissions")
	}
	if sealed > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d record(s) of the case are sealed on this laptop (no key for them here): not in the bundle", sealed))
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
func caseSource(v *store.Vault, cv store.CaseView, from, to record.Date, evidence evidenceFunc) (*bundle.Source, int, error) {
	agency := v.Agency()
	if agency == nil {
		return nil, 0, cli.WithHint(errors.New("this laptop has no agency key: a bundle's signatures are checked against it"),
			"enrol this laptop with the agency ('fieldcase enroll') and sync, then make the bundle")
	}
	statements, err := v.Statements()
	if err != nil {
		return nil, 0, err
	}
	src := &bundle.Source{CaseID: cv.ID, Ref: cv.Value.Ref, Agency: agency, Statements: statements,
		From: from, To: to, Now: time.Now(), Producer: producer(v)}
	var sealed int
	if src.Records, sealed, err = caseRecords(v, cv); err != nil {
		return nil, 0, err
	}
	dels, err := v.Deletions(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range dels {
		rev, err := v.Revision(cv.ID, d.RecordID, d.Rev)
		if err != nil {
			return nil, 0, fmt.Errorf("reading deletion of %s: %w", d.RecordID, err)
		}
		src.Deletions = append(src.Deletions, rev)
	}
	src.Audio = func(ctx context.Context, r bundle.Record, w io.Writer) error {
		return recordingOgg(ctx, v, r, w)
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
			return nil, 0, fmt.Errorf("reading the log's evidence: %w", err)
		}
	}
	return src, sealed, nil
}

// producer names this laptop and its user, for the bundle's front sheet.
func producer(v *store.Vault) string {
	if r := v.Roster(); r != nil {
		if wr, ok := r.Writer(v.DeviceID()); ok {
			return fmt.Sprintf("fieldcase on %s's laptop “%s” (device %s)", wr.User.Name, wr.Device.Name, v.DeviceID())
		}
	}
	return fmt.Sprintf("fieldcase on %s's laptop (device %s)", cmp.Or(v.Profile().Name, "an unnamed user"), v.DeviceID())
}

// caseRecords reads the case's current records with the revisions they
// came from: each head, and each version of a record in conflict. It
// returns how many it could not open here (sealed).
func caseRecords(v *store.Vault, cv store.CaseView) ([]bundle.Record, int, error) {
	var out []bundle.Record
	sealed := 0
	if err := addItems(&out, &sealed, v, cv.ID, []store.Item[record.Case]{cv.Item}); err != nil {
		return nil, 0, err
	}
	notes, err := v.Notes(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(&out, &sealed, v, cv.ID, notes); err != nil {
		return nil, 0, err
	}
	consents, err := v.Consents(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(&out, &sealed, v, cv.ID, consents); err != nil {
		return nil, 0, err
	}
	tasks, err := v.Tasks(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(&out, &sealed, v, cv.ID, tasks); err != nil {
		return nil, 0, err
	}
	recs, err := v.Recordings(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := addItems(&out, &sealed, v, cv.ID, recs); err != nil {
		return nil, 0, err
	}
	audit, err := auditRecords(v, cv.ID)
	if err != nil {
		return nil, 0, err
	}
	return append(out, audit...), sealed, nil
}

// addItems adds the versions of items, with their revisions.
func addItems[T any](out *[]bundle.Record, sealed *int, v *store.Vault, caseID string, items []store.Item[T]) error {
	add := func(id string, rev record.RevID, val T, versions int) error {
		r, err := v.Revision(caseID, id, rev)
		if err != nil {
			return fmt.Errorf("reading revision %s of %s: %w", rev.Short(), id, err)
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
func auditRecords(v *store.Vault, caseID string) ([]bundle.Record, error) {
	items, err := v.AuditItems(caseID)
	if err != nil {
		return nil, err
	}
	var out []bundle.Record
	var sealed int
	err = addItems(&out, &sealed, v, caseID, items)
	return out, err
}

// recordingOgg writes a recording's version as 'fieldcase recording
// export' does: its timeline's packets, copied into Ogg Opus.
func recordingOgg(ctx context.Context, v *store.Vault, r bundle.Record, w io.Writer) error {
	rec, ok := r.Value.(*record.Recording)
	if !ok || len(rec.Timeline) == 0 {
		return bundle.ErrNoAudio
	}
	tl, err := audio.UnmarshalTimeline(rec.Timeline)
	if err != nil {
		return fmt.Errorf("recording %s: %w", r.Rev.RecordID, err)
	}
	if tl.Packets() == 0 {
		return bundle.ErrNoAudio
	}
	err = audio.WriteOgg(ctx, w, tl, vaultChunks{v, r.Rev.CaseID, r.Rev.RecordID})
	if errors.Is(err, store.ErrNotFound) {
		return cli.WithHint(fmt.Errorf("recording %s: part of its audio is not on this laptop yet", r.Rev.RecordID), "sync, then make the bundle again")
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
