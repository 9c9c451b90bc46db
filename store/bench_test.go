package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// The issue-2 targets, on a vault of 200 cases and ~50,000 notes of 2 KB:
// unlock ≤ 1 s (scrypt reported apart), case list ≤ 100 ms after the key is
// unwrapped, save-note p99 ≤ 10 ms (fsync'd, as a ratio against plain bbolt
// writes of the same bytes), index of every note ≤ 1 s, search ≤ 50 ms,
// ≤ 4.5 KB of file per note, RSS ≤ 250 MB.

const benchPass = "benchmark passphrase for the big vault"

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// bigVault builds the 50,000-note vault once per process, at the real scrypt
// work factor.
func bigVault(b *testing.B) string {
	bigOnce.Do(func() {
		// FIELDCASE_BENCH_DIR keeps the built vault between runs (profiling);
		// by default every run builds its own and removes it.
		dir := os.Getenv("FIELDCASE_BENCH_DIR")
		if dir != "" {
			bigPath = filepath.Join(dir, "big.db")
			if _, err := os.Stat(bigPath); err == nil {
				return
			}
		} else {
			var err error
			if dir, err = os.MkdirTemp("", "fieldcase-bench-"); err != nil {
				bigErr = err
				return
			}
			store.AfterTests = append(store.AfterTests, func() { os.RemoveAll(dir) })
		}
		bigPath = filepath.Join(dir, "big.db")
		v, err := store.Create(bigPath, benchPass, store.Profile{}, store.Options{})
		if err != nil {
			bigErr = err
			return
		}
		defer v.Close()
		bigErr = demo.Populate(v, demo.Options{Cases: 200, NotesPerCase: 250, NoteBytes: 2000, Seed: 42, Prose: true})
		if bigErr == nil {
			bigErr = v.Check() // every benchmark measures a vault that passes its own check
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func BenchmarkUnlockAndLoad(b *testing.B) {
	path := bigVault(b)
	for i := 0; i < b.N; i++ {
		scan := scanRevs(b, path)
		v, err := store.Open(path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := v.Unlock(benchPass); err != nil {
			b.Fatal(err)
		}
		unlocked, cpu0 := time.Now(), cpuTime()
		unlock := unlocked.Sub(t0)
		t1 := time.Now()
		cases, err := v.Cases()
		if err != nil || len(cases) != 200 {
			b.Fatalf("cases %d %v", len(cases), err)
		}
		caseList := time.Since(t1)
		t2 := time.Now()
		if err := v.LoadNotes(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		loadNotes := time.Since(t2)
		searchable, searchableCPU := time.Since(unlocked), cpuTime()-cpu0
		st, _ := v.Stats()

		// Queries drawn from a real note: frequent and rare words, two
		// words, and a three-letter prefix (which matches many terms).
		notes, _ := v.Notes(cases[0].ID)
		w := strings.Fields(strings.ToLower(strings.Map(func(r rune) rune {
			if r == '.' {
				return ' '
			}
			return r
		}, notes[0].Value.Text)))
		queries := []string{w[0], w[len(w)-1], w[1] + " " + w[2], w[3][:3], "zzzz-nothing"}
		var searches []time.Duration
		hits := 0
		for _, q := range queries {
			t := time.Now()
			h, err := v.Search(q, 50)
			if err != nil {
				b.Fatal(err)
			}
			searches = append(searches, time.Since(t))
			hits += len(h)
		}
		if hits == 0 {
			b.Fatalf("queries %q found nothing", queries)
		}
		// Measured as the process stands: no forced collection here (the
		// store itself returns memory after unlock and after loading).
		time.Sleep(500 * time.Millisecond)
		rss, anon, file := rssMB()
		fi, _ := os.Stat(path)

		tm := v.Timings()
		b.ReportMetric(ms(tm.Passphrase), "scrypt-ms")
		b.ReportMetric(ms(unlock), "unlock-ms") // scrypt + keyring + cases, consents, tasks
		b.ReportMetric(ms(tm.Keyring), "keyring-ms")
		b.ReportMetric(ms(tm.Load+caseList), "caselist-ms") // after the key is unwrapped
		b.ReportMetric(ms(loadNotes), "notes+index-ms")
		b.ReportMetric(ms(searchable), "searchable-ms")        // from Unlock's return: case list, then every note indexed
		b.ReportMetric(ms(searchableCPU), "searchable-cpu-ms") // the CPU time it took, all cores: steadier on a busy machine
		// The baseline, in the same run: one walk of every stored revision
		// with bbolt alone (no checks, no decryption, no decoding).
		b.ReportMetric(ms(scan), "scan-ms")
		b.ReportMetric(float64(tm.Load+caseList)/float64(scan), "caselist/scan")
		b.ReportMetric(float64(searchable)/float64(scan), "searchable/scan")
		b.ReportMetric(ms(slices.Max(searches)), "search-max-ms")
		b.ReportMetric(float64(st.Notes), "notes")
		b.ReportMetric(float64(fi.Size())/float64(st.Notes), "file-bytes/note")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(anon, "rss-anon-MB") // the decrypted working set and index
		b.ReportMetric(file, "rss-file-MB") // vault pages bbolt maps: clean page cache
		v.Close()
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scanRevs walks every value of the vault's revs bucket with bbolt alone:
// the floor under loading it, measured in the same run.
func scanRevs(b *testing.B, path string) time.Duration {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	var sum, n int
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("revs")).ForEach(func(k, v []byte) error {
			sum += int(v[len(v)-1]) + len(k)
			n++
			return nil
		})
	})
	d := time.Since(t0)
	if err != nil || n == 0 {
		b.Fatalf("scanning revs: %d values, %v", n, err)
	}
	return d
}

// BenchmarkUnlockMemory measures the memory of a process that unlocks the
// big vault, shows the case list, loads and indexes every note and searches
// (what the TUI holds after unlock), in a child process of its own so that
// its peak is honest. Reported in MB: peak-kdf (VmHWM with scrypt's 256 MiB
// work buffer), peak (VmHWM from after the passphrase: the vault's own
// peak), rss, rss-anon, rss-file (resident, a second after loading, no
// forced collection), heapinuse and sys (runtime.MemStats); and the same
// process stopped after the passphrase (bare-rss), the baseline in the same
// run, with rss/bare the ratio.
func BenchmarkUnlockMemory(b *testing.B) {
	path := bigVault(b)
	for i := 0; i < b.N; i++ {
		bare, err := store.MeasureMemory(path, benchPass, "bare")
		if err != nil {
			b.Fatal(err)
		}
		r, err := store.MeasureMemory(path, benchPass, "")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.PeakKDF, "peak-kdf-MB")
		b.ReportMetric(r.Peak, "peak-MB")
		b.ReportMetric(r.RSS, "rss-MB")
		b.ReportMetric(r.Anon, "rss-anon-MB")
		b.ReportMetric(r.File, "rss-file-MB")
		b.ReportMetric(r.HeapInuse, "heapinuse-MB")
		b.ReportMetric(r.Sys, "sys-MB")
		b.ReportMetric(bare.RSS, "bare-rss-MB")
		b.ReportMetric(r.RSS/bare.RSS, "rss/bare")
	}
}

var (
	teamOnce  sync.Once
	teamPath  string
	teamErr   error
	teamBuild time.Duration
)

// teamVault builds, once per process, a vault the size of a supervisor's
// (issue 16: 110,000 records): 5,000 cases of 20 notes of 600 bytes, with
// their consents, tasks and keyrings. FIELDCASE_BENCH_DIR keeps it between
// runs, as for bigVault. Building it takes about a minute on a quiet
// 2-core machine (reported as build-s when it was built in this run).
func teamVault(b *testing.B) string {
	teamOnce.Do(func() {
		dir := os.Getenv("FIELDCASE_BENCH_DIR")
		if dir != "" {
			teamPath = filepath.Join(dir, "team.db")
			if _, err := os.Stat(teamPath); err == nil {
				return
			}
		} else {
			var err error
			if dir, err = os.MkdirTemp("", "fieldcase-bench-"); err != nil {
				teamErr = err
				return
			}
			store.AfterTests = append(store.AfterTests, func() { os.RemoveAll(dir) })
		}
		t0 := time.Now()
		path := filepath.Join(dir, "team.db")
		v, err := store.Create(path+".building", benchPass, store.Profile{Role: "supervisor"}, store.Options{})
		if err != nil {
			teamErr = err
			return
		}
		teamErr = demo.Populate(v, demo.Options{Cases: 5000, NotesPerCase: 20, NoteBytes: 600, Seed: 43, Prose: true})
		if teamErr == nil {
			teamErr = v.Check()
		}
		if err := v.Close(); teamErr == nil {
			teamErr = err
		}
		if teamErr == nil {
			teamErr = os.Rename(path+".building", path)
		}
		teamPath, teamBuild = path, time.Since(t0)
	})
	if teamErr != nil {
		b.Fatal(teamErr)
	}
	return teamPath
}

// BenchmarkSupervisorVault is the issue-16 supervisor figure without a
// server: on a vault of 5,000 cases and ~110,000 records, the offline team
// view (caseload.Build over the case list, for 12 workers sharing the
// cases) from the key unwrapped (teamview-ms: unlock's load and the view),
// against the bbolt-only walk of the revs bucket in the same run
// (teamview/scan); and in a child process, unlock and the case list's peak
// RSS after the passphrase (peak-MB; peak-kdf-MB with scrypt's buffer) and
// what stays resident (rss-MB).
func BenchmarkSupervisorVault(b *testing.B) {
	path := teamVault(b)
	for i := 0; i < b.N; i++ {
		scan := scanRevs(b, path)
		v, err := store.Open(path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Unlock(benchPass); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		cases, err := v.Cases()
		if err != nil || len(cases) != 5000 {
			b.Fatalf("cases %d %v", len(cases), err)
		}
		tv := &protocol.TeamView{Team: "north"}
		for w := 0; w < 12; w++ {
			tv.Users = append(tv.Users, protocol.TeamUser{ID: fmt.Sprintf("u%02d", w), Name: fmt.Sprintf("worker%02d", w), Role: "caseworker"})
		}
		for k, c := range cases {
			tv.Cases = append(tv.Cases, protocol.TeamCase{ID: c.ID, Members: []string{tv.Users[k%12].ID}})
		}
		rows, err := caseload.Build(v, tv, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
		teamView := v.Timings().Load + time.Since(t0)
		if err != nil || len(rows) != 12 {
			b.Fatalf("team view: %d rows, %v", len(rows), err)
		}
		st, _ := v.Stats()
		v.Close()
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := store.MeasureMemory(path, benchPass, "cases")
		if err != nil {
			b.Fatal(err)
		}
		if teamBuild > 0 {
			b.ReportMetric(teamBuild.Seconds(), "build-s")
		}
		b.ReportMetric(float64(st.Cases+st.Notes+st.Consents+st.Tasks), "records") // keyrings and audit events besides
		b.ReportMetric(float64(fi.Size())/(1<<20), "vault-MB")
		b.ReportMetric(ms(teamView), "teamview-ms")
		b.ReportMetric(ms(scan), "scan-ms")
		b.ReportMetric(float64(teamView)/float64(scan), "teamview/scan")
		b.ReportMetric(r.PeakKDF, "peak-kdf-MB")
		b.ReportMetric(r.Peak, "peak-MB")
		b.ReportMetric(r.RSS, "rss-MB")
		b.ReportMetric(r.Anon, "rss-anon-MB")
		b.ReportMetric(r.HeapInuse, "heapinuse-MB")
	}
}

// rssMB reads VmRSS and its anonymous and file-backed parts.
func rssMB() (rss, anon, file float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:":
			file = kb / 1024
		}
	}
	return rss, anon, file
}

// BenchmarkSaveNote times saving a 2 KB note (seal, revision, heads, outbox,
// one fsync'd commit) on the big vault against plain bbolt writing the same
// number of bytes, also fsync'd, in the same run.
func BenchmarkSaveNote(b *testing.B) {
	path := bigVault(b)
	v, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(benchPass); err != nil {
		b.Fatal(err)
	}
	cases, _ := v.Cases()
	// A 2 KB note of realistic entropy, like the big vault's own notes.
	text := demo.Prose(2000, 7)
	const n = 300
	var enc, plain []time.Duration
	var size int
	pdb, err := bolt.Open(filepath.Join(filepath.Dir(path), fmt.Sprintf("plain-%d.db", time.Now().UnixNano())), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { os.Remove(pdb.Path()); pdb.Close() }()
	pdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < n; j++ {
			t := time.Now()
			id, err := v.AddNote(cases[j%len(cases)].ID, record.Note{Kind: "visit", Date: "2026-11-22", Text: text})
			if err != nil {
				b.Fatal(err)
			}
			enc = append(enc, time.Since(t))
			if size == 0 {
				it, _ := v.Note(id)
				r, _ := v.Revision(it.CaseID, id, it.Rev)
				rb, _ := r.MarshalBinary()
				size = len(rb)
			}
			val := bytes.Repeat([]byte{byte(j)}, size)
			t = time.Now()
			err = pdb.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("b")).Put([]byte(record.NewID()), val)
			})
			if err != nil {
				b.Fatal(err)
			}
			plain = append(plain, time.Since(t))
		}
	}
	b.StopTimer()
	if err := v.Check(); err != nil { // 300 saves later, the vault still checks
		b.Fatal(err)
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	b.ReportMetric(ms(p(enc, 0.5)), "save-p50-ms")
	b.ReportMetric(ms(p(enc, 0.99)), "save-p99-ms")
	b.ReportMetric(ms(p(plain, 0.5)), "plainbolt-p50-ms")
	b.ReportMetric(ms(p(plain, 0.99)), "plainbolt-p99-ms")
	b.ReportMetric(float64(p(enc, 0.5))/float64(p(plain, 0.5)), "p50-ratio")
	b.ReportMetric(float64(p(enc, 0.99))/float64(p(plain, 0.99)), "p99-ratio")
	b.ReportMetric(float64(size), "revision-bytes")
}

// BenchmarkSearchableAfterUnlock is issue 16's "every note searchable ≤
// 0.8 s after unlock": from Unlock's return, the case list and LoadNotes,
// on the big vault with its sealed search snapshot (loaded-ms) and on a
// copy without one (built-ms: every note decrypted and indexed, as before
// snapshots), both opened read-only so neither writes one, in the same
// run; loaded/built is the ratio. Each side's CPU time (all cores) is
// steadier on a busy machine. In child processes, the resident memory
// after loading each way (rss-loaded-MB, rss-built-MB), and the peaks.
func BenchmarkSearchableAfterUnlock(b *testing.B) {
	path := bigVault(b)
	// The big vault gets its snapshot when it is closed after building;
	// one kept from before snapshots gets it here.
	v, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Unlock(benchPass); err != nil {
		b.Fatal(err)
	}
	if err := v.LoadNotes(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	v.Close()
	bare := filepath.Join(b.TempDir(), "nosnapshot.db")
	snapBytes := copyWithout(b, path, bare)

	searchable := func(path string) (wall, cpu time.Duration, hits int, tm store.UnlockTimings) {
		v, err := store.Open(path, store.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		if err := v.Unlock(benchPass); err != nil {
			b.Fatal(err)
		}
		t0, cpu0 := time.Now(), cpuTime()
		if cs, err := v.Cases(); err != nil || len(cs) == 0 {
			b.Fatalf("cases %d %v", len(cs), err)
		}
		if err := v.LoadNotes(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		wall, cpu = time.Since(t0), cpuTime()-cpu0
		for _, q := range []string{"the", "visit", "sch"} {
			h, err := v.Search(q, 0)
			if err != nil {
				b.Fatal(err)
			}
			hits += len(h)
		}
		return wall, cpu, hits, v.Timings()
	}
	for i := 0; i < b.N; i++ {
		builtWall, builtCPU, builtHits, builtTm := searchable(bare)
		loadedWall, loadedCPU, loadedHits, loadedTm := searchable(path)
		if builtHits != loadedHits || builtHits == 0 {
			b.Fatalf("hits: %d built, %d loaded", builtHits, loadedHits)
		}
		if loadedTm.NotesDecrypted != 0 || builtTm.NotesFromSnapshot != 0 {
			b.Fatalf("loaded decrypted %d notes, built took %d from a snapshot", loadedTm.NotesDecrypted, builtTm.NotesFromSnapshot)
		}
		b.ReportMetric(ms(builtWall), "built-ms")
		b.ReportMetric(ms(loadedWall), "loaded-ms")
		b.ReportMetric(float64(loadedWall)/float64(builtWall), "loaded/built")
		b.ReportMetric(ms(builtCPU), "built-cpu-ms")
		b.ReportMetric(ms(loadedCPU), "loaded-cpu-ms")
		b.ReportMetric(float64(loadedCPU)/float64(builtCPU), "loaded/built-cpu")
		b.ReportMetric(float64(loadedTm.NotesFromSnapshot), "notes")
		built, err := store.MeasureMemory(bare, benchPass, "readonly")
		if err != nil {
			b.Fatal(err)
		}
		loaded, err := store.MeasureMemory(path, benchPass, "readonly")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(built.RSS, "rss-built-MB")
		b.ReportMetric(loaded.RSS, "rss-loaded-MB")
		b.ReportMetric(built.Peak, "peak-built-MB")
		b.ReportMetric(loaded.Peak, "peak-loaded-MB")
	}
	b.ReportMetric(float64(snapBytes)/(1<<20), "snapshot-MB") // sealed, as stored
}

// copyWithout copies the vault at from to to, without its search
// snapshot, and returns the size of the snapshot.
func copyWithout(b *testing.B, from, to string) (size int) {
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := bolt.Open(to, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket([]byte("searchindex"))
		if sb == nil {
			return fmt.Errorf("the big vault has no search snapshot")
		}
		sb.ForEach(func(_, v []byte) error {
			size += len(v)
			return nil
		})
		return tx.DeleteBucket([]byte("searchindex"))
	}); err != nil {
		b.Fatal(err)
	}
	return size
}
