package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// snapVocab are the words test notes are made of: short and long ones,
// shared prefixes, letters outside ASCII.
var snapVocab = []string{"visit", "visitor", "visits", "school", "schooling", "ab", "abcdefgh", "abcdefghi",
	"école", "écoles", "straße", "12", "123456789012", "kitchen", "garden", "gardener", "benefit", "benefits"}

func snapText(rng *rand.Rand, extra ...string) string {
	ws := slices.Clone(extra)
	for range 3 + rng.IntN(12) {
		w := snapVocab[rng.IntN(len(snapVocab))]
		if rng.IntN(4) == 0 {
			w = strings.ToUpper(w)
		}
		ws = append(ws, w)
	}
	rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
	return strings.Join(ws, " ")
}

// snapQueries are the queries answers compares: every word, prefixes, and
// pairs.
func snapQueries(extra ...string) []string {
	qs := slices.Clone(extra)
	for _, w := range snapVocab {
		qs = append(qs, w, w[:2])
	}
	qs = append(qs, "visit school", "abcdefghi gar", "école be", "12 kit", "nothing-here")
	return qs
}

// answers is everything a vault says about its notes: each note's heads as
// the working set holds them (revision, device, sequence, the note without
// text, error), each case's notes with their text, and the hits of every
// query, in order.
func answers(t *testing.T, v *Vault, queries []string) string {
	t.Helper()
	var b strings.Builder
	var cases []string
	v.mu.RLock()
	ids := make([]string, 0, len(v.ws.records))
	for id, e := range v.ws.records {
		if e.kind == record.KindNote {
			ids = append(ids, id)
		}
		if e.kind == record.KindCase {
			cases = append(cases, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := v.ws.records[id]
		fmt.Fprintf(&b, "note %s case %s\n", id, e.caseID)
		for _, h := range e.heads {
			n, _ := h.Value.(*record.Note)
			fmt.Fprintf(&b, "  head %s gen %d hlc %d dev %s seq %d del %v loaded %v err %v note %+v\n",
				h.Rev.Short(), h.Gen, h.HLC, h.Device, h.Seq, h.Deleted, h.loaded, h.Err, n)
		}
	}
	v.mu.RUnlock()
	slices.Sort(cases)
	for _, c := range cases {
		ns, err := v.Notes(c)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "case %s notes %+v\n", c, ns)
	}
	for _, q := range queries {
		hits, err := v.Search(q, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "query %q:", q)
		for _, h := range hits {
			fmt.Fprintf(&b, " %s", h.NoteID)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// freshAnswers are the answers of a copy of the vault at path without its
// search snapshot: every note decrypted and indexed, as before snapshots.
func freshAnswers(t *testing.T, path string, queries []string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "fresh.db")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	setSnapshotBucket(t, cp, nil)
	v, err := Open(cp, Options{WorkFactor: testOpts.WorkFactor, LockWait: testOpts.LockWait, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return answers(t, v, queries)
}

// snapshotBucket copies the stored snapshot's values (nil: none).
func snapshotBucket(t *testing.T, v *Vault) map[string][]byte {
	t.Helper()
	var out map[string][]byte
	if err := v.view(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketSearchIndex)
		if b == nil {
			return nil
		}
		out = map[string][]byte{}
		return b.ForEach(func(k, val []byte) error {
			out[string(k)] = bytes.Clone(val)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// setSnapshotBucket replaces the snapshot in the closed vault file at path
// with vals (nil: removes it), as a crash between checkpoints, or an edit
// of the file, would leave it.
func setSnapshotBucket(t *testing.T, path string, vals map[string][]byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(btx *bolt.Tx) error {
		if btx.Bucket(bucketSearchIndex) != nil {
			if err := btx.DeleteBucket(bucketSearchIndex); err != nil {
				return err
			}
		}
		if vals == nil {
			return nil
		}
		b, err := btx.CreateBucket(bucketSearchIndex)
		if err != nil {
			return err
		}
		for k, val := range vals {
			if err := b.Put([]byte(k), val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// reopenFrom opens and unlocks the vault file at path and loads its notes.
func reopenFrom(t *testing.T, path string) *Vault {
	t.Helper()
	v, err := Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, v) })
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return v
}

// decrypted is how many notes the last LoadNotes decrypted: the snapshot
// lacked them.
func decrypted(v *Vault) int { return v.Timings().NotesDecrypted }

// A vault unlocked with its search snapshot answers exactly as one that
// decrypts and indexes every note: after writes, edits, conflicts, deletes,
// pulled revisions and a case's destruction, with the newest snapshot, an
// older one (a crash between checkpoints), and a damaged one.
func TestSnapshotAnswersAsFresh(t *testing.T) {
	defer func(n int) { snapCheckpointEvery = n }(snapCheckpointEvery)
	snapCheckpointEvery = 16 // checkpoints in the background as the test writes
	rng := rand.New(rand.NewPCG(7, 8))
	a, b := MustCreate(t), MustCreate(t)
	ag := newTestAgency(t)
	ag.enrol(a, "ada", trust.RoleCaseworker, "north")
	ag.enrol(b, "sam", trust.RoleSupervisor, "north")
	var cases, notes []string
	for i := range 3 {
		c := mustCase(t, a, fmt.Sprintf("R-%d", i), "case")
		cases = append(cases, c)
		extra := []string{}
		if i == 0 {
			extra = append(extra, "zanzibarite") // only in the case destroyed below
		}
		for range 12 {
			id, err := a.AddNote(c, record.Note{Kind: "visit", Date: "2026-11-02", Place: "home kitchen",
				Attendees: []string{"Cara Gardener"}, Text: snapText(rng, extra...)})
			if err != nil {
				t.Fatal(err)
			}
			notes = append(notes, id)
		}
	}
	queries := snapQueries("zanzibarite", "zanz", "cara", "kitchen home")
	edit := func(v *Vault, id string, parents []record.RevID) {
		t.Helper()
		if err := v.EditNote(id, parents, record.Note{Kind: "phone", Date: "2026-11-03", Text: snapText(rng)}); err != nil {
			t.Fatal(err)
		}
	}
	// Edits, two conflicting edits of one version, deletions.
	for _, id := range notes[:6] {
		n, _ := a.Note(id)
		edit(a, id, n.Parents())
	}
	n, _ := a.Note(notes[6])
	edit(a, notes[6], n.Parents())
	edit(a, notes[6], n.Parents())
	for _, id := range notes[30:33] {
		if err := a.Delete(cases[2], id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.checkpoint(); err != nil {
		t.Fatal(err)
	}
	older := snapshotBucket(t, a)
	if older == nil {
		t.Fatal("no snapshot after a checkpoint")
	}
	// Pulled both ways: sam edits and deletes ada's notes, ada pulls.
	pullAll(t, a, b)
	if err := b.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range notes[8:12] {
		n, _ := b.Note(id)
		edit(b, id, n.Parents())
	}
	if err := b.Delete(cases[1], notes[13]); err != nil {
		t.Fatal(err)
	}
	n2, _ := a.Note(notes[14])
	edit(b, notes[14], n2.Parents())
	edit(a, notes[14], n2.Parents()) // a conflict made of a pull and a local edit
	pullAll(t, b, a)

	// The newest snapshot, and an older one.
	if err := a.checkpoint(); err != nil {
		t.Fatal(err)
	}
	path := a.Path()
	b.Close()
	want := freshAnswers(t, path, queries)
	a.Close()
	for _, tc := range []struct {
		name string
		vals map[string][]byte
	}{{"newest", nil}, {"older", older}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.vals != nil {
				setSnapshotBucket(t, path, tc.vals)
			}
			v := reopenFrom(t, path)
			if got := answers(t, v, queries); got != want {
				t.Errorf("answers with the %s snapshot differ from a fresh index:\n%s", tc.name, diffLines(got, want))
			}
			if tc.vals == nil && decrypted(v) != 0 {
				t.Errorf("the newest snapshot left %d notes to decrypt, want 0", decrypted(v))
			}
			if tc.vals != nil && (decrypted(v) == 0 || decrypted(v) >= len(notes)) {
				t.Errorf("an older snapshot left %d notes to decrypt, want some but not all %d", decrypted(v), len(notes))
			}
			v.Close()
		})
	}

	// A destruction: the case's words leave memory, the stored snapshot
	// at once (deleted in the same transaction) and the next one.
	a = reopenFrom(t, path)
	err := a.Update(func(tx *Tx) error {
		_, err := tx.destroyCase(&trust.Roster{}, trust.Destruction{Case: cases[0]})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a.dropCaseKeys(cases[0])
	if hits, _ := a.Search("zanzibarite", 0); len(hits) != 0 {
		t.Errorf("a destroyed case's note still found: %v", hits)
	}
	a.snapWG.Wait()
	if err := a.checkpoint(); err != nil {
		t.Fatal(err)
	}
	snap := storedSnapshot(t, a)
	if snap == nil {
		t.Fatal("no snapshot after the destruction's checkpoint")
	}
	if slices.ContainsFunc(snap.seg.words, func(w string) bool { return strings.HasPrefix(w, "zanz") }) {
		t.Error("the destroyed case's word is in the snapshot")
	}
	for _, e := range snap.entries {
		if slices.Contains(notes[:12], e.id) {
			t.Errorf("the destroyed case's note %s is in the snapshot", e.id)
		}
	}
	want = answers(t, a, queries)
	a.Close()
	if fresh := freshAnswers(t, path, queries); fresh != want {
		t.Errorf("after the destruction the working set differs from a fresh load:\n%s", diffLines(want, fresh))
	}
	v := reopenFrom(t, path)
	if got := answers(t, v, queries); got != want {
		t.Errorf("after the destruction, loaded answers differ:\n%s", diffLines(got, want))
	}
	if decrypted(v) != 0 {
		t.Errorf("%d notes decrypted after the destruction's snapshot, want 0", decrypted(v))
	}
	v.Close()

	// A damaged snapshot is ignored, and the next checkpoint replaces it.
	v = reopenFrom(t, path)
	vals := snapshotBucket(t, v)
	v.Close()
	for k, val := range vals {
		if k != string(snapHeadKey) {
			val[len(val)/2] ^= 0x40
		}
	}
	setSnapshotBucket(t, path, vals)
	v = reopenFrom(t, path)
	if got := answers(t, v, queries); got != want {
		t.Errorf("with a damaged snapshot, answers differ:\n%s", diffLines(got, want))
	}
	if decrypted(v) == 0 {
		t.Error("a damaged snapshot was used")
	}
	v.Close()
	v = reopenFrom(t, path)
	if decrypted(v) != 0 {
		t.Errorf("the damaged snapshot was not replaced: %d notes decrypted", decrypted(v))
	}
}

// storedSnapshot opens and decodes v's stored snapshot (nil: none).
func storedSnapshot(t *testing.T, v *Vault) *snapshot {
	t.Helper()
	var snap *snapshot
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			plain, err := readSnapshot(btx, vk, v.vaultID)
			if err != nil || plain == nil {
				return err
			}
			snap, err = decodeSnapshot(plain, func(b []byte) string { return string(b) })
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d:\n  got  %s\n  want %s\n", i, gl, wl)
			if b.Len() > 4000 {
				break
			}
		}
	}
	return b.String()
}

// The stored snapshot holds every note word, sealed: no word appears in
// the file in any common encoding.
func TestSnapshotNoPlaintext(t *testing.T) {
	v := MustCreate(t)
	c := mustCase(t, v, "R-1", "x")
	words := []string{"quixotically", "brontosaurus", "zephyrwind", "marmalades", "kwyjibo", "xylograph"}
	for i := range 20 {
		mustNote(t, v, c, fmt.Sprintf("%s %s and %s", words[i%len(words)], words[(i+1)%len(words)], words[(i+2)%len(words)]))
	}
	if err := v.checkpoint(); err != nil {
		t.Fatal(err)
	}
	snap := storedSnapshot(t, v)
	if snap == nil || !slices.Contains(snap.seg.words, "kwyjibo") {
		t.Fatal("the snapshot does not hold the notes' words")
	}
	path := v.Path()
	v.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range words {
		for name, enc := range encodings(w) {
			if bytes.Contains(bytes.ToLower(data), bytes.ToLower(enc)) {
				t.Errorf("note word %q found on disk (%s)", w, name)
			}
		}
	}
}

// A case removed between a checkpoint's capture and its write: the
// snapshot captured with the case's words is not written, and the next
// one is, without them.
func TestSnapshotRacedByRemoval(t *testing.T) {
	v := MustCreate(t)
	gone, kept := mustCase(t, v, "R-1", "x"), mustCase(t, v, "R-2", "y")
	mustNote(t, v, gone, "zanzibarite kitchen")
	mustNote(t, v, kept, "garden kitchen")
	if err := v.checkpoint(); err != nil {
		t.Fatal(err)
	}
	mustNote(t, v, kept, "another garden")
	snapAfterCapture = func() {
		snapAfterCapture = nil
		if err := v.Update(func(tx *Tx) error {
			_, err := tx.destroyCase(&trust.Roster{}, trust.Destruction{Case: gone})
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	defer func() { snapAfterCapture = nil }()
	if err := v.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if snap := storedSnapshot(t, v); snap != nil && slices.Contains(snap.seg.words, "zanzibarite") {
		t.Fatal("a snapshot captured before the removal was written after it")
	}
	v.snapWG.Wait()
	if err := v.checkpoint(); err != nil {
		t.Fatal(err)
	}
	snap := storedSnapshot(t, v)
	if snap == nil || slices.Contains(snap.seg.words, "zanzibarite") || !slices.Contains(snap.seg.words, "another") {
		t.Fatalf("after the removal, the snapshot is %v", snap)
	}
}

// Lock writes the snapshot when it lacks enough changes, or any while none
// is stored; a few are left to the next unlock to decrypt.
func TestSnapshotAtLock(t *testing.T) {
	v := MustCreate(t)
	c := mustCase(t, v, "R-1", "x")
	mustNote(t, v, c, "kitchen garden")
	v.Lock()
	if snapshotBucket(t, v) != nil {
		t.Fatal("Lock wrote a snapshot for one note")
	}
	path := v.Path()
	v.Close()
	v = reopenFrom(t, path) // decrypts the note; no snapshot is stored
	v.Lock()
	if snapshotBucket(t, v) == nil {
		t.Fatal("Lock wrote no snapshot while none is stored")
	}
	stored := snapshotBucket(t, v)
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustNote(t, v, c, "one more")
	v.Lock()
	if got := snapshotBucket(t, v); !bytes.Equal(got[string(snapHeadKey)], stored[string(snapHeadKey)]) {
		t.Error("Lock rewrote the snapshot for one change")
	}
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if decrypted(v) != 1 {
		t.Errorf("%d notes decrypted, want the one the snapshot lacks", decrypted(v))
	}
	fillNotes(t, v, c, snapLockMin, "many more")
	v.Lock()
	if got := snapshotBucket(t, v); bytes.Equal(got[string(snapHeadKey)], stored[string(snapHeadKey)]) {
		t.Errorf("Lock kept the snapshot with %d changes", snapLockMin+1)
	}
}
