package transparency_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
)

// memLog is a log in memory, kept as tlog stores it (stored hashes).
type memLog struct {
	hashes  []tlog.Hash
	entries []transparency.Entry
}

func (l *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) append(t *testing.T, e transparency.Entry) int64 {
	t.Helper()
	n := int64(len(l.entries))
	hs, err := tlog.StoredHashesForRecordHash(n, e.Hash(), l)
	if err != nil {
		t.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.entries = append(l.entries, e)
	return n
}

func (l *memLog) checkpoint(t *testing.T) transparency.Checkpoint {
	t.Helper()
	n := int64(len(l.entries))
	root, err := tlog.TreeHash(n, l)
	if err != nil {
		t.Fatal(err)
	}
	return transparency.Checkpoint{Origin: "fieldcase/test", Size: n, Root: root}
}

func revEntry(i int) transparency.Entry {
	var rev record.RevID
	rand.Read(rev[:])
	return transparency.Entry{Kind: transparency.KindRevision, Rev: rev, CaseID: "C1", RecordID: "R1", RecKind: record.KindNote, Epoch: 1, Device: "D1", Seq: uint64(i + 1)}
}

func TestInclusionAndConsistency(t *testing.T) {
	l := &memLog{}
	var cps []transparency.Checkpoint
	for i := 0; i < 37; i++ {
		l.append(t, revEntry(i))
		cps = append(cps, l.checkpoint(t))
	}
	last := cps[len(cps)-1]
	for i, e := range l.entries {
		p, err := tlog.ProveRecord(last.Size, int64(i), l)
		if err != nil {
			t.Fatal(err)
		}
		if err := transparency.CheckInclusion(last, int64(i), e, transparency.Proof(p)); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		// Another entry, or another index, does not pass.
		if err := transparency.CheckInclusion(last, int64(i), revEntry(99), transparency.Proof(p)); !errors.Is(err, transparency.ErrProof) {
			t.Fatalf("entry %d: a forged entry passed: %v", i, err)
		}
		if i > 0 {
			if err := transparency.CheckInclusion(last, int64(i-1), e, transparency.Proof(p)); err == nil {
				t.Fatalf("entry %d passed at index %d", i, i-1)
			}
		}
	}
	for i := 0; i < len(cps); i += 5 {
		p, err := tlog.ProveTree(last.Size, cps[i].Size, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := transparency.CheckConsistency(cps[i], last, transparency.Proof(p)); err != nil {
			t.Fatalf("checkpoint %d → %d: %v", cps[i].Size, last.Size, err)
		}
	}
}

// A log that forks (two histories after a common prefix) or rolls back
// cannot prove consistency with what a device saw.
func TestForkAndRollbackCaught(t *testing.T) {
	a, b := &memLog{}, &memLog{}
	for i := 0; i < 10; i++ {
		e := revEntry(i)
		a.append(t, e)
		b.append(t, e)
	}
	a.append(t, revEntry(10))
	b.append(t, revEntry(11)) // the fork: another entry at index 10
	seenA := a.checkpoint(t)
	for i := 0; i < 5; i++ {
		b.append(t, revEntry(20+i))
	}
	newB := b.checkpoint(t)
	p, err := tlog.ProveTree(newB.Size, seenA.Size, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := transparency.CheckConsistency(seenA, newB, transparency.Proof(p)); !errors.Is(err, transparency.ErrProof) {
		t.Fatalf("a forked log passed the consistency check: %v", err)
	}
	// Rollback: a smaller tree than one already seen.
	if err := transparency.CheckConsistency(newB, seenA, nil); !errors.Is(err, transparency.ErrProof) {
		t.Fatalf("a shrunk log passed: %v", err)
	}
	// Same size, another root: two trees.
	other := seenA
	other.Root[0] ^= 1
	if err := transparency.CheckConsistency(seenA, other, nil); !errors.Is(err, transparency.ErrProof) {
		t.Fatalf("two trees of one size passed: %v", err)
	}
}

func TestCheckpointSignaturesAndWitnesses(t *testing.T) {
	skey, vkey, err := transparency.GenerateLogKey("fieldcase-log.test")
	if err != nil {
		t.Fatal(err)
	}
	k, err := transparency.NewLogKey(skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp := transparency.Checkpoint{Origin: "fieldcase/test", Size: 12}
	rand.Read(cp.Root[:])
	signed, err := k.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	got, by, err := transparency.Open(signed, k.Public())
	if err != nil || got != cp || len(by) != 0 {
		t.Fatalf("Open = %+v, %v, %v", got, by, err)
	}
	// A witness cosigns; the log's signature stays.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ws, err := transparency.WitnessSigner("DEV1", pub, func(m []byte) []byte { return ed25519.Sign(priv, m) })
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := transparency.Cosign(signed, ws)
	if err != nil {
		t.Fatal(err)
	}
	wv, _ := transparency.WitnessVerifier("DEV1", pub)
	if _, by, err := transparency.Open(cosigned, k.Public(), wv); err != nil || len(by) != 1 || by[0] != transparency.WitnessName("DEV1") {
		t.Fatalf("cosigned: %v, %v", by, err)
	}
	// Another log key, or an edited checkpoint, does not open.
	_, otherV, _ := transparency.GenerateLogKey("fieldcase-log.test")
	if _, _, err := transparency.Open(signed, otherV); !errors.Is(err, transparency.ErrSignature) {
		t.Errorf("another key opened it: %v", err)
	}
	edited := bytes.Replace(signed, []byte("\n12\n"), []byte("\n13\n"), 1)
	if _, _, err := transparency.Open(edited, k.Public()); err == nil {
		t.Error("an edited checkpoint opened")
	}
	// A witness signature alone is not the log's.
	onlyWitness, _ := transparency.Cosign(transparency.Signed(cp.Text()+"\n— x AAAAAAA=\n"), ws)
	if _, _, err := transparency.Open(onlyWitness, k.Public(), wv); err == nil {
		t.Error("a checkpoint the log did not sign opened")
	}
}

func TestReceipts(t *testing.T) {
	skey, vkey, _ := transparency.GenerateLogKey("fieldcase-log.test")
	k, _ := transparency.NewLogKey(skey, vkey)
	var rev record.RevID
	rand.Read(rev[:])
	r, err := k.SignReceipt(rev, 41, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(k.Public()); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]func(transparency.Receipt) transparency.Receipt{
		"another revision": func(r transparency.Receipt) transparency.Receipt { r.Rev[0] ^= 1; return r },
		"another index":    func(r transparency.Receipt) transparency.Receipt { r.Index++; return r },
		"another time":     func(r transparency.Receipt) transparency.Receipt { r.Time = r.Time.Add(time.Hour); return r },
	} {
		if err := bad(r).Verify(k.Public()); !errors.Is(err, transparency.ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, otherV, _ := transparency.GenerateLogKey("fieldcase-log.test")
	if err := r.Verify(otherV); !errors.Is(err, transparency.ErrSignature) {
		t.Errorf("another key: %v", err)
	}
}

func FuzzUnmarshalEntry(f *testing.F) {
	for i, e := range []transparency.Entry{revEntry(1), {Kind: transparency.KindStatement, Statement: "abc"},
		{Kind: transparency.KindAuditHead, CaseID: "C", Device: "D", Seq: 9, Head: [32]byte{1}, Sig: make([]byte, 64)}} {
		_ = i
		f.Add(e.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := transparency.UnmarshalEntry(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("%x decodes to an entry that re-encodes differently", b)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(transparency.Checkpoint{Origin: "fieldcase/x", Size: 3}.Text())
	f.Add("o\n-1\nAAAA\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := transparency.ParseCheckpoint(s)
		if err != nil {
			return
		}
		if c.Text() != s {
			t.Fatalf("%q parses to a checkpoint written %q", s, c.Text())
		}
	})
}

func FuzzParseLeaf(f *testing.F) {
	for _, e := range []transparency.Entry{revEntry(1), {Kind: transparency.KindStatement, Statement: "abc"},
		{Kind: transparency.KindAuditHead, CaseID: "C", Device: "D", Seq: 9, Head: [32]byte{1}, Sig: make([]byte, 64)}} {
		f.Add(e.Leaf())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := transparency.ParseLeaf(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Data(), b) {
			t.Fatalf("%x parses to a leaf written %x", b, l.Data())
		}
	})
}

// A leaf shows a case's entries to everyone by tag only; the details hash
// in it binds them, so whoever is shown them can check them against the
// tree, and nobody can pass one case's entry off as another's.
func TestLeafHidesDetailsButBindsThem(t *testing.T) {
	e := revEntry(1)
	l, err := transparency.ParseLeaf(e.Leaf())
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != transparency.KindRevision || l.Tag != transparency.CaseTag(e.CaseID) || l.Entry != nil {
		t.Fatalf("leaf %+v", l)
	}
	if bytes.Contains(e.Leaf(), []byte(e.CaseID)) || bytes.Contains(e.Leaf(), []byte(e.Device)) || bytes.Contains(e.Leaf(), e.Rev[:]) {
		t.Error("the leaf shows the case id, the device or the revision")
	}
	if tlog.RecordHash(l.Data()) != e.Hash() {
		t.Error("the leaf a device outside the case gets does not hash to the entry's leaf hash")
	}
	if h, err := transparency.LeafHash(e.Marshal()); err != nil || h != e.Hash() {
		t.Errorf("LeafHash of the full encoding: %v", err)
	}
	other := e
	other.Seq++
	if other.Hash() == e.Hash() {
		t.Error("two entries that differ in a detail hash alike")
	}
	other = e
	other.CaseID = "another-case"
	if ol, _ := transparency.ParseLeaf(other.Leaf()); ol.Tag == l.Tag {
		t.Error("two cases share a tag")
	}
	st := transparency.Entry{Kind: transparency.KindStatement, Statement: "stmt-id"}
	sl, err := transparency.ParseLeaf(st.Leaf())
	if err != nil || sl.Entry == nil || sl.Entry.Statement != "stmt-id" {
		t.Fatalf("a statement's leaf carries it: %+v, %v", sl, err)
	}
}

// Receipts checked in a batch agree with one at a time: the good pass, a
// tampered one and one under another key fail, each in its place.
func TestVerifyReceipts(t *testing.T) {
	skey, vkey, _ := transparency.GenerateLogKey("fieldcase-log.test")
	k, err := transparency.NewLogKey(skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	oskey, ovkey, _ := transparency.GenerateLogKey("fieldcase-log.test")
	other, _ := transparency.NewLogKey(oskey, ovkey)
	var rs []transparency.Receipt
	for i := range 300 {
		r, _ := k.SignReceipt(revEntry(i).Rev, int64(i), time.Now())
		rs = append(rs, r)
	}
	rs[7].Index++                                                // tampered
	rs[200], _ = other.SignReceipt(rs[200].Rev, 200, time.Now()) // another key
	ok, err := transparency.VerifyReceipts(vkey, rs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		one := r.Verify(vkey) == nil
		if ok[i] != one || ok[i] == (i == 7 || i == 200) {
			t.Errorf("receipt %d: batch %v, alone %v", i, ok[i], one)
		}
	}
	if _, err := transparency.VerifyReceipts("not a key", rs); err == nil {
		t.Error("a malformed log key verified receipts")
	}
}
