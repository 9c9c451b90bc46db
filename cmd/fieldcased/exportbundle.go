package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// The recovery export's court bundle ('fieldcased export --bundle') is the
// bundle a member's laptop makes ('fieldcase bundle'), made offline from
// the server's store with the agency's recovery identity: for a subject
// access request, or when the caseworker's laptop is gone. The signed
// originals are the revisions the server stores; the agency key and
// statements are the server's (the verifier checks them all against the
// agency key, so the server's word adds nothing to trust); the log's
// evidence comes from the server's own log, which can sign receipts.

// serverLog is what the recovery export needs of the server's
// transparency log (built beside this, in sync/server): the store
// implements it once it keeps the log. Until then a bundle from the
// recovery export carries no log evidence, and says so.
type serverLog interface {
	// LogKey is the log's signing key.
	LogKey() (*transparency.LogKey, error)
	// LogCheckpoint is the log's newest signed checkpoint, with the
	// witnesses' cosignatures the server holds.
	LogCheckpoint(ctx context.Context) (transparency.Signed, error)
	// LogIndex is where the log holds a revision and when it was
	// appended; ok is false when the log does not hold it.
	LogIndex(ctx context.Context, rev record.RevID) (index int64, appended time.Time, ok bool, err error)
	// ProveInclusion is the inclusion proof of entry index in the tree
	// of size n.
	ProveInclusion(ctx context.Context, n, index int64) (transparency.Proof, error)
}

// logEvidence reads the evidence for revs from the server's log: one
// checkpoint (the newest), and for each revision it holds, its index, a
// proof against that checkpoint and a receipt signed now with the log's key
// for the time it was appended. nil when the store keeps no log.
func logEvidence(ctx context.Context, st server.Store, revs []*record.Revision) (*bundle.Evidence, error) {
	sl, ok := st.(serverLog)
	if !ok {
		return nil, nil
	}
	key, err := sl.LogKey()
	if err != nil {
		return nil, fmt.Errorf("reading the log's key: %w", err)
	}
	signed, err := sl.LogCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the log's checkpoint: %w", err)
	}
	cp, _, err := transparency.Open(signed, key.Public())
	if err != nil {
		return nil, fmt.Errorf("the log's own checkpoint: %w", err)
	}
	ev := &bundle.Evidence{LogKey: key.Public(), Checkpoint: signed, Entries: map[record.RevID]bundle.LogEntry{}}
	for _, r := range revs {
		i, at, ok, err := sl.LogIndex(ctx, r.Rev)
		if err != nil {
			return nil, fmt.Errorf("reading the log: %w", err)
		}
		if !ok || i >= cp.Size { // appended after the checkpoint
			continue
		}
		p, err := sl.ProveInclusion(ctx, cp.Size, i)
		if err != nil {
			return nil, fmt.Errorf("proving revision %s in the log: %w", r.Rev.Short(), err)
		}
		rc, err := key.SignReceipt(r.Rev, i, at)
		if err != nil {
			return nil, err
		}
		ev.Entries[r.Rev] = bundle.LogEntry{Index: i, Proof: p, Receipt: &rc}
	}
	return ev, nil
}

// writeBundles writes a court bundle for each case, each in its own folder.
func (c *ExportCmd) writeBundles(a *app, st server.Store, id *crypto.Identity, cases []*caseExport) error {
	var meta server.Meta
	var statements []trust.Signed
	err := st.View(a.ctx, func(tx server.Tx) error {
		var err error
		if meta, err = tx.Meta(); err != nil {
			return err
		}
		statements, err = tx.Statements()
		return err
	})
	if err != nil {
		return err
	}
	if len(meta.Agency) == 0 {
		return cli.WithHint(errors.New("this store has no agency key: a bundle's signatures are checked against it"),
			"install it with 'fieldcased agency set-key' (the server had one if it ever enrolled a laptop)")
	}
	producer := fmt.Sprintf("the agency's recovery export from case server %s (recovery identity %s)", meta.ServerID, crypto.Fingerprint(id.Recipient()))
	for _, ce := range cases {
		dir := filepath.Join(c.Out, safeName(ce.Ref(), ce.ID))
		res, err := ce.writeBundle(a.ctx, st, dir, bundleSource{agency: meta.Agency, statements: statements, producer: producer})
		if err != nil {
			return err
		}
		rep, err := bundle.Verify(a.ctx, dir, bundle.VerifyOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s\t%s\n", ce.Ref(), dir)
		for _, w := range res.Warnings {
			fmt.Fprintf(a.stderr, "%s: warning: %s\n", ce.Ref(), w)
		}
		if len(ce.Unreadable) > 0 {
			fmt.Fprintf(a.stderr, "%s: warning: %d record(s) are not wrapped to the recovery identity and are not in the bundle\n", ce.Ref(), len(ce.Unreadable))
		}
		if res.OverLimit {
			fmt.Fprintf(a.stderr, "%s: warning: the bundle has %d pages, over the %d that Practice Direction 27A allows without the court's permission\n", ce.Ref(), res.Pages, res.MaxPages)
		}
		if !rep.OK() {
			rep.WriteText(a.stderr, dir)
			return cli.WithHint(fmt.Errorf("the bundle of %s does not verify: %d problem(s)", ce.Ref(), len(rep.Problems)),
				"do not hand it to a court; the FAIL lines say what is wrong")
		}
	}
	fmt.Fprintf(a.stderr, "wrote %d court bundle(s) to %s, each checked (decrypted: keep them as carefully as the recovery identity)\n", len(cases), c.Out)
	return nil
}

// bundleSource is what every case's bundle shares.
type bundleSource struct {
	agency     []byte
	statements []trust.Signed
	producer   string
}

// writeBundle writes the case's court bundle into dir.
func (c *caseExport) writeBundle(ctx context.Context, st server.Store, dir string, bs bundleSource) (*bundle.Result, error) {
	src := &bundle.Source{CaseID: c.ID, Ref: c.Ref(), Agency: bs.agency, Statements: bs.statements, Producer: bs.producer,
		Now: time.Now(), Deletions: c.tombstones}
	var revs []*record.Revision
	for _, list := range [][]entry{c.Case, c.Notes, c.Consents, c.Tasks, c.Recordings, c.Audit} {
		for _, e := range list {
			rev := c.revs[e.Rev]
			if rev == nil {
				return nil, fmt.Errorf("revision %s of %s not read", e.Rev, e.ID)
			}
			src.Records = append(src.Records, bundle.Record{Rev: rev, Value: e.Value, Versions: e.Versions})
			revs = append(revs, rev)
		}
	}
	revs = append(revs, c.tombstones...)
	src.Audio = func(ctx context.Context, r bundle.Record, w io.Writer) error { return c.bundleAudio(ctx, st, r, w) }
	var err error
	if src.Evidence, err = logEvidence(ctx, st, revs); err != nil {
		return nil, err
	}
	res, err := bundle.Write(ctx, dir, src, bundle.Options{})
	if err != nil {
		return nil, exportWriteError(dir, err)
	}
	return res, nil
}

// bundleAudio writes a recording's audio as the export does, but only
// whole: a recording with a chunk missing or unreadable is not the
// original, so the bundle lists it without a file (and says why).
func (c *caseExport) bundleAudio(ctx context.Context, st server.Store, r bundle.Record, w io.Writer) error {
	rec, ok := r.Value.(*record.Recording)
	if !ok || len(rec.Timeline) == 0 {
		return bundle.ErrNoAudio
	}
	tl, err := track.UnmarshalTimeline(rec.Timeline)
	if err != nil {
		return fmt.Errorf("%w: %v", bundle.ErrNoAudio, err)
	}
	if tl.Packets() == 0 {
		return bundle.ErrNoAudio
	}
	src := c.chunkSource(r.Rev.RecordID, rec, tl)
	err = st.View(ctx, func(tx server.Tx) error {
		src.tx = tx
		return track.WriteOgg(ctx, w, tl, src, oggVendor)
	})
	if errors.Is(err, track.ErrInvalidChunk) {
		return fmt.Errorf("%w: %v", bundle.ErrNoAudio, err)
	}
	if err != nil {
		return err
	}
	if src.missing > 0 {
		return fmt.Errorf("%w: %d of its %d chunks cannot be read from the store (%s), and a recording with gaps is not the original",
			bundle.ErrNoAudio, src.missing, len(src.asked), src.problem)
	}
	return nil
}
