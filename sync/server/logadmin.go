package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
)

// LogInfo describes the transparency log: what `fieldcased log show`
// prints.
type LogInfo struct {
	Origin      string        `json:"origin"`
	Size        int64         `json:"size"`
	Root        string        `json:"root"` // base64, as in a checkpoint
	Key         string        `json:"key"`  // the log's public key (note verifier format)
	Fingerprint string        `json:"fingerprint"`
	Witnesses   []WitnessInfo `json:"witnesses"`
}

// WitnessInfo is a witness and its newest cosignature.
type WitnessInfo struct {
	Name   string    `json:"name"` // transparency.WitnessName
	Device string    `json:"device"`
	User   string    `json:"user,omitempty"`
	Size   int64     `json:"size"` // the largest tree it cosigned
	Time   time.Time `json:"time"` // when the server received that
}

// LogKeyFingerprint is how people compare a log key: crypto.Fingerprint of
// its note verifier text.
func LogKeyFingerprint(vkey string) string { return crypto.Fingerprint(vkey) }

// Log describes the transparency log.
func (a *Admin) Log(ctx context.Context) (LogInfo, error) {
	info := LogInfo{Witnesses: []WitnessInfo{}}
	err := a.store.View(ctx, func(tx Tx) error {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		info.Origin, info.Key = LogOrigin(m.ServerID), m.LogVKey
		if m.LogVKey != "" {
			info.Fingerprint = LogKeyFingerprint(m.LogVKey)
		}
		if info.Size, err = tx.LogSize(); err != nil {
			return err
		}
		root, err := tlog.TreeHash(info.Size, tx)
		if err != nil {
			return fmt.Errorf("the log's tree hash: %w", err)
		}
		info.Root = base64.StdEncoding.EncodeToString(root[:])
		last, err := tx.LastCosignatures()
		if err != nil {
			return err
		}
		for _, c := range last {
			wi := WitnessInfo{Name: c.Name, Device: strings.TrimPrefix(c.Name, transparency.WitnessName("")), Size: c.Size, Time: c.Time}
			if d, err := tx.Device(wi.Device); err == nil {
				if u, err := tx.User(d.UserID); err == nil {
					wi.User = u.Name
				}
			}
			info.Witnesses = append(info.Witnesses, wi)
		}
		return nil
	})
	return info, err
}

// VerifyLog checks the whole transparency log in one snapshot (see
// VerifyLog).
func (a *Admin) VerifyLog(ctx context.Context) (LogReport, error) {
	var rep LogReport
	err := a.store.View(ctx, func(tx Tx) (err error) {
		rep, err = VerifyLog(tx)
		return err
	})
	return rep, err
}

// LogReport is what VerifyLog found: the log's size and root as recomputed
// from its leaves, what its entries are, and every problem.
type LogReport struct {
	Size       int64    `json:"size"`
	Root       string   `json:"root"` // base64
	Revisions  int64    `json:"revisions"`
	Statements int64    `json:"statements"`
	AuditHeads int64    `json:"audit_heads"`
	Witnesses  int      `json:"witnesses"` // newest cosignatures checked
	Problems   []string `json:"problems"`
}

const (
	verifyPage  = 4096
	maxProblems = 50
)

func (r *LogReport) problem(format string, args ...any) {
	switch {
	case len(r.Problems) < maxProblems:
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	case len(r.Problems) == maxProblems:
		r.Problems = append(r.Problems, "… and more (only the first are listed)")
	}
}

// VerifyLog checks the transparency log in tx against itself and the store
// (for an operator after a restore, a migration, or a suspicion): the
// leaves are numbered without gaps and decode; every stored hash is the one
// the leaves give (recomputed from the first leaf on) and so is the root;
// every revision entry is the one the revision is indexed at, and as many
// revisions are stored as logged; every stored statement is logged once;
// each witness's newest cosignature verifies, with its device's key, on the
// log's own checkpoint of that size. An error is a failure to read; what is
// wrong with the log is in the report's Problems.
func VerifyLog(tx Tx) (LogReport, error) {
	rep := LogReport{Problems: []string{}}
	size, err := tx.LogSize()
	if err != nil {
		return rep, err
	}
	rep.Size = size
	app, err := NewLogAppender(0, nil)
	if err != nil {
		return rep, err
	}
	statements := map[string]int64{}
	for app.Size() < size {
		from := app.Size()
		leaves, err := tx.LogEntries(from, verifyPage)
		if err != nil {
			return rep, err
		}
		if len(leaves) == 0 || leaves[0].Index != from {
			rep.problem("entry %d is missing: the log of %d entries has a hole", from, size)
			return rep, nil
		}
		var computed []tlog.Hash
		var revs []record.RevID
		var revIdx []int64
		for _, l := range leaves {
			if l.Index != app.Size() {
				rep.problem("entry %d is missing: the log of %d entries has a hole", app.Size(), size)
				return rep, nil
			}
			if l.Index >= size {
				rep.problem("entry %d is beyond the log's size %d", l.Index, size)
				break
			}
			h, err := transparency.LeafHash(l.Data)
			if err != nil {
				rep.problem("entry %d does not decode: %v", l.Index, err)
				return rep, nil
			}
			_, hs, err := app.Append(h)
			if err != nil {
				return rep, err
			}
			computed = append(computed, hs...)
			e, err := transparency.UnmarshalEntry(l.Data)
			if err != nil {
				rep.problem("entry %d does not decode: %v", l.Index, err)
				continue
			}
			switch e.Kind {
			case transparency.KindRevision:
				rep.Revisions++
				revs, revIdx = append(revs, e.Rev), append(revIdx, l.Index)
			case transparency.KindStatement:
				rep.Statements++
				if first, ok := statements[e.Statement]; ok {
					rep.problem("statement %s is logged twice (entries %d and %d)", e.Statement, first, l.Index)
				}
				statements[e.Statement] = l.Index
			case transparency.KindAuditHead:
				rep.AuditHeads++
			}
		}
		first := tlog.StoredHashIndex(0, from)
		idx := make([]int64, len(computed))
		for i := range idx {
			idx[i] = first + int64(i)
		}
		stored, err := tx.ReadHashes(idx)
		if errors.Is(err, ErrNotFound) {
			rep.problem("stored hashes of entries %d to %d are missing: %v", from, app.Size()-1, err)
		} else if err != nil {
			return rep, err
		} else {
			for i := range computed {
				if stored[i] != computed[i] {
					level, n := tlog.SplitStoredHashIndex(idx[i])
					rep.problem("stored hash %d (level %d, node %d) is not the one the leaves give", idx[i], level, n)
				}
			}
		}
		if err := checkRevisionIndex(tx, &rep, revs, revIdx); err != nil {
			return rep, err
		}
	}
	root, err := app.Root()
	if err != nil {
		return rep, err
	}
	rep.Root = base64.StdEncoding.EncodeToString(root[:])
	if stored, err := tlog.TreeHash(size, tx); err != nil || stored != root {
		rep.problem("the root the stored hashes give is not the one the leaves give (%v)", err)
	}
	n, err := tx.RevisionCount()
	if err != nil {
		return rep, err
	}
	if n != rep.Revisions {
		rep.problem("%d revisions are stored but %d logged", n, rep.Revisions)
	}
	sts, err := tx.Statements()
	if err != nil {
		return rep, err
	}
	for _, s := range sts {
		if _, ok := statements[s.ID()]; !ok {
			rep.problem("statement %s is stored but not logged", s.ID())
		}
	}
	if len(sts) != len(statements) {
		rep.problem("%d statements are stored but %d logged", len(sts), len(statements))
	}
	return rep, checkWitnesses(tx, &rep)
}

// checkRevisionIndex: each revision entry is where its revision's index
// says.
func checkRevisionIndex(tx Tx, rep *LogReport, revs []record.RevID, idx []int64) error {
	if len(revs) == 0 {
		return nil
	}
	logged, err := tx.RevisionLog(revs)
	if err != nil {
		return err
	}
	for i, l := range logged {
		switch {
		case l.Index < 0:
			rep.problem("revision %s is logged at entry %d but not indexed", revs[i], idx[i])
		case l.Index != idx[i]:
			rep.problem("revision %s is logged at entries %d and %d", revs[i], l.Index, idx[i])
		}
	}
	return nil
}

// checkWitnesses verifies each witness's newest cosignature on the log's
// own checkpoint of its size.
func checkWitnesses(tx Tx, rep *LogReport) error {
	last, err := tx.LastCosignatures()
	if err != nil {
		return err
	}
	m, err := tx.Meta()
	if err != nil {
		return err
	}
	for _, c := range last {
		rep.Witnesses++
		if c.Size < 1 || c.Size > rep.Size {
			rep.problem("witness %s cosigned a tree of %d entries; the log has %d", c.Name, c.Size, rep.Size)
			continue
		}
		root, err := tlog.TreeHash(c.Size, tx)
		if err != nil {
			rep.problem("the tree of %d entries that %s cosigned has no root: %v", c.Size, c.Name, err)
			continue
		}
		text := transparency.Checkpoint{Origin: LogOrigin(m.ServerID), Size: c.Size, Root: root}.Text()
		device := strings.TrimPrefix(c.Name, transparency.WitnessName(""))
		d, err := tx.Device(device)
		if errors.Is(err, ErrNotFound) {
			rep.problem("witness %s is no device of this server", c.Name)
			continue
		} else if err != nil {
			return err
		}
		v, err := transparency.WitnessVerifier(d.ID, d.SigningKey)
		if err == nil {
			_, err = note.Open([]byte(text+"\n— "+c.Name+" "+c.Sig+"\n"), note.VerifierList(v))
		}
		if err != nil {
			rep.problem("the cosignature of %s on the tree of %d entries does not verify: %v", c.Name, c.Size, err)
		}
	}
	return nil
}
