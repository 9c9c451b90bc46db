package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// testdata/vault-format1.db was written by the code before format 2
// (commit 59c2ea9, the last release before issue 11: revisions without
// signatures, heads without tags, bodies in formats 1 and 2, the
// profile and the sync token at their format-1 places), with testPass and
// work factor 10: two cases, notes (one in conflict, one deleted), a task, a
// consent, a draft, a local value, key recipients and a sync config.

func copyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vault-format1.db"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "vault.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileFormat(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ver uint64
	db.View(func(tx *bolt.Tx) error {
		ver = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaVersion))
		return nil
	})
	return ver
}

// checkFormat1Content checks what the fixture holds, through the public API.
func checkFormat1Content(t *testing.T, v *Vault) {
	t.Helper()
	if ds, err := v.Damaged(); err != nil || len(ds) != 0 {
		t.Errorf("Damaged() = %v, %v; want nothing", ds, err)
	}
	cases, err := v.Cases()
	if err != nil || len(cases) != 2 {
		t.Fatalf("Cases() = %d, %v", len(cases), err)
	}
	c1, _ := v.CaseByRef("R-100")
	c2, _ := v.CaseByRef("R-200")
	if c1.Value.Subject != "Olive Oldformat" || c1.Notes != 3 || c1.OpenTasks != 1 || c2.Notes != 1 || c2.Conflicts != 1 {
		t.Errorf("cases: %+v / %+v", c1, c2)
	}
	n1, err := v.Notes(c1.ID)
	if err != nil || len(n1) != 3 {
		t.Fatalf("Notes(R-100) = %d, %v", len(n1), err)
	}
	if !strings.Contains(n1[0].Value.Text, "housing officer about the damp") { // the newest: zstd-compressed in format 1
		t.Errorf("newest note = %.40q", n1[0].Value.Text)
	}
	n2, _ := v.Notes(c2.ID)
	if len(n2) != 1 || !n2[0].Conflict || len(n2[0].Versions) != 2 {
		t.Fatalf("Notes(R-200) = %+v", n2)
	}
	var texts []string
	for _, ver := range n2[0].Versions {
		texts = append(texts, ver.Value.Text)
	}
	slices.Sort(texts)
	if !slices.Equal(texts, []string{"phoned the school: edit A", "phoned the school: edit B"}) {
		t.Errorf("conflict versions = %q", texts)
	}
	if hits, _ := v.Search("garden", 0); len(hits) != 1 {
		t.Errorf("Search(garden) = %v", hits)
	}
	if hits, _ := v.Search("deleted", 0); len(hits) != 0 {
		t.Errorf("deleted note found: %v", hits)
	}
	if cs, _ := v.Consents(c1.ID); len(cs) != 1 {
		t.Errorf("consents = %v", cs)
	}
	if ds, err := v.Drafts(); err != nil || len(ds) != 1 || ds[0].Note.Text != "an unfinished draft" {
		t.Errorf("Drafts() = %+v, %v", ds, err)
	}
	if m, err := v.Locals("setting:"); err != nil || string(m["setting:x"]) != "local value" {
		t.Errorf("Locals = %q, %v", m, err)
	}
	sc, err := v.SyncConfig()
	if err != nil || sc.Token != "tok-123" || sc.Server != "https://cases.example" {
		t.Errorf("SyncConfig() = %+v, %v", sc, err)
	}
	if v.Profile().Name != "Format One" {
		t.Errorf("profile = %+v", v.Profile())
	}
	if out, err := v.Outbox(0); err != nil || len(out) == 0 || out[0].Seq != 4 {
		t.Errorf("Outbox = %d entries, %v", len(out), err)
	}
}

func TestMigrateFormat1(t *testing.T) {
	p := copyFixture(t)
	if got := fileFormat(t, p); got != 1 {
		t.Fatalf("fixture is format %d", got)
	}
	// Read-only, nothing is migrated, and everything reads.
	ro, err := Open(p, Options{ReadOnly: true, LockWait: testOpts.LockWait})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	ro.LoadAll(context.Background())
	if cs, _ := ro.Cases(); len(cs) != 2 {
		t.Errorf("read-only format-1 vault: %d cases", len(cs))
	}
	ro.Close()
	if got := fileFormat(t, p); got != 1 {
		t.Fatalf("a read-only open migrated the file to format %d", got)
	}

	v := mustOpenUnlock(t, p)
	checkFormat1Content(t, v)
	// Writes work after migration: key recipients are still honoured (the
	// tag was written), the counters go on.
	c1, _ := v.CaseByRef("R-100")
	id := mustNote(t, v, c1.ID, "after migration")
	if n, _ := v.Note(id); n.Value.Text != "after migration" {
		t.Errorf("new note = %+v", n)
	}
	if _, err := v.CreateCase(record.Case{Ref: "R-300", Subject: "New"}); err != nil {
		t.Errorf("new case after migration: %v", err)
	}
	v.Close()
	if got := fileFormat(t, p); got != formatVersion {
		t.Fatalf("after unlock the file is format %d, want %d", got, formatVersion)
	}
	v = mustOpenUnlock(t, p)
	if ds, _ := v.Damaged(); len(ds) != 0 {
		t.Errorf("Damaged() after reopen = %v", ds)
	}
	if cs, _ := v.Cases(); len(cs) != 3 {
		t.Errorf("%d cases after reopen", len(cs))
	}
}

// A heads entry damaged before migration is not blessed by it: it stays
// damaged, named, and the rest migrates.
func TestMigrateKeepsDamage(t *testing.T) {
	p := copyFixture(t)
	var victim string
	edit(t, p, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHeads)
		k, _ := b.Cursor().Last()
		_, victim, _ = splitRecordKey(k)
		return b.Put(bytes.Clone(k), []byte{9, 9, 9})
	})
	v := mustOpenUnlock(t, p)
	ds, _ := v.Damaged()
	if len(ds) != 1 || ds[0].RecordID != victim {
		t.Errorf("Damaged() = %v, want %s", ds, victim)
	}
	if cs, _ := v.Cases(); len(cs) < 1 {
		t.Errorf("no cases after migrating a damaged vault")
	}
}

// downgrade rewrites a format-2 vault in format 1's layout, as the code
// before format 2 wrote it (heads without tags, haskids as 1, the profile and
// the sync token at their format-1 places, no tags or signature in meta):
// how the crash test gets a format-1 vault large enough to kill mid-way.
func downgrade(t *testing.T, path string) {
	t.Helper()
	v, err := Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	vk := v.vaultKey
	err = v.update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		hb, kb := tx.Bucket(bucketHeads), tx.Bucket(bucketHasKids)
		type kv struct{ k, v []byte }
		var hs, ks []kv
		hb.ForEach(func(k, b []byte) error {
			e, err := unmarshalHeads(b[:len(b)-macSize], headsV2)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, kv{bytes.Clone(k), e.marshal(headsV1)})
			return nil
		})
		kb.ForEach(func(k, _ []byte) error { ks = append(ks, kv{bytes.Clone(k), []byte{1}}); return nil })
		for _, x := range hs {
			hb.Put(x.k, x.v)
		}
		for _, x := range ks {
			kb.Put(x.k, x.v)
		}
		pb, err := crypto.Open(vk, profilePlace(v.vaultID), mb.Get(metaProfile))
		if err != nil {
			t.Fatal(err)
		}
		mb.Put(metaProfile, crypto.Seal(vk, profilePlaceV1(v.vaultID), pb))
		for _, k := range [][]byte{metaTag, metaKeyringSig, metaAgencyTag} {
			mb.Delete(k)
		}
		return mb.Put(metaVersion, u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
}

// The child side of TestMigrationCrash: unlock (which migrates), then say so.
const migrateChildEnv = "FIELDCASE_MIGRATE_CHILD_VAULT"

func migrateChild(path string) {
	v, err := Open(path, Options{LockWait: 10 * time.Second})
	if err == nil {
		err = v.Unlock(testPass)
	}
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(3)
	}
	os.Stdout.WriteString("migrated\n")
	v.Close()
}

// A kill at any point of the migration leaves a vault that unlocks whole:
// format 1 untouched (migrated at the next unlock) or format 2 complete.
func TestMigrationCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real processes")
	}
	v := MustCreate(t)
	c := mustCase(t, v, "R-1", "x")
	fillNotes(t, v, c, 3000, strings.Repeat("migration filler ", 10))
	fresh := mustNote(t, v, c, "the newest note, quokka")
	path := v.Path()
	v.Close()
	downgrade(t, path)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	seen := map[uint64]int{}
	for r := 0; r < 12; r++ {
		p := filepath.Join(t.TempDir(), "vault.db")
		os.WriteFile(p, orig, 0o600)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), migrateChildEnv+"="+p)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(80_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		cmd.Wait()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("round %d: child: %s", r, line)
		}
		seen[fileFormat(t, p)]++
		v := mustOpenUnlock(t, p)
		if ds, _ := v.Damaged(); len(ds) != 0 {
			t.Fatalf("round %d: Damaged() = %v", r, ds)
		}
		cv, _ := v.Case(c)
		if cv.Notes != 3001 {
			t.Fatalf("round %d: %d notes", r, cv.Notes)
		}
		if n, err := v.Note(fresh); err != nil || n.Value.Text != "the newest note, quokka" {
			t.Fatalf("round %d: newest note %+v, %v", r, n, err)
		}
		v.Close()
	}
	t.Logf("formats found after the kill: %v", seen)
}
