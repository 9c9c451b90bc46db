// Package bundletest is a real transparency log in memory, for tests that
// need a bundle's log evidence: a tlog tree over real entries, a checkpoint
// signed with a log key made at test time, inclusion proofs and signed
// receipts — what a server's log gives, without a server.
package bundletest

import (
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
)

// Log is a transparency log in memory, stored as tlog stores it.
type Log struct {
	Origin  string
	Key     *transparency.LogKey
	hashes  []tlog.Hash
	entries []transparency.Entry
	index   map[record.RevID]int64
	times   map[record.RevID]time.Time
}

// NewLog makes an empty log with a fresh key named name.
func NewLog(name string) (*Log, error) {
	skey, vkey, err := transparency.GenerateLogKey(name)
	if err != nil {
		return nil, err
	}
	k, err := transparency.NewLogKey(skey, vkey)
	if err != nil {
		return nil, err
	}
	return &Log{Origin: "fieldcase/" + name, Key: k, index: map[record.RevID]int64{}, times: map[record.RevID]time.Time{}}, nil
}

// ReadHashes implements tlog.HashReader.
func (l *Log) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// Append adds an entry and returns its index.
func (l *Log) Append(e transparency.Entry) (int64, error) {
	n := int64(len(l.entries))
	hs, err := tlog.StoredHashesForRecordHash(n, e.Hash(), l)
	if err != nil {
		return 0, err
	}
	l.hashes = append(l.hashes, hs...)
	l.entries = append(l.entries, e)
	if e.Kind == transparency.KindRevision {
		l.index[e.Rev] = n
		l.times[e.Rev] = time.Now()
	}
	return n, nil
}

// AppendRevisions logs revisions, as a server logs what it stores.
func (l *Log) AppendRevisions(revs ...*record.Revision) error {
	for _, r := range revs {
		if _, err := l.Append(transparency.RevisionEntry(r)); err != nil {
			return err
		}
	}
	return nil
}

// Size is the number of entries.
func (l *Log) Size() int64 { return int64(len(l.entries)) }

// Checkpoint signs the tree as it is.
func (l *Log) Checkpoint() (transparency.Checkpoint, transparency.Signed, error) {
	n := int64(len(l.entries))
	root, err := tlog.TreeHash(n, l)
	if err != nil {
		return transparency.Checkpoint{}, nil, err
	}
	cp := transparency.Checkpoint{Origin: l.Origin, Size: n, Root: root}
	s, err := l.Key.Sign(cp)
	return cp, s, err
}

// Prove is the inclusion proof of entry index in the tree of size n.
func (l *Log) Prove(n, index int64) (transparency.Proof, error) {
	p, err := tlog.ProveRecord(n, index, l)
	return transparency.Proof(p), err
}

// Evidence is the bundle evidence for every revision the log holds, against
// a checkpoint of the log as it is now, with a signed receipt for each.
func (l *Log) Evidence() (*bundle.Evidence, error) {
	cp, signed, err := l.Checkpoint()
	if err != nil {
		return nil, err
	}
	ev := &bundle.Evidence{LogKey: l.Key.Public(), Checkpoint: signed, Entries: map[record.RevID]bundle.LogEntry{}}
	for rev, i := range l.index {
		p, err := l.Prove(cp.Size, i)
		if err != nil {
			return nil, err
		}
		rc, err := l.Key.SignReceipt(rev, i, l.times[rev])
		if err != nil {
			return nil, err
		}
		ev.Entries[rev] = bundle.LogEntry{Index: i, Proof: p, Receipt: &rc}
	}
	return ev, nil
}

// Index is where the log holds a revision and when it was appended.
func (l *Log) Index(rev record.RevID) (int64, time.Time, bool) {
	i, ok := l.index[rev]
	return i, l.times[rev], ok
}
