package client_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
)

// BenchmarkSupervisorFirstSync is the issue-5 figure: a supervisor's first
// sync of a team of 12 workers holding 5,000 cases and 100,000 notes, then
// the time from unlock to the team view on that vault (target < 1 s after
// unlock) and its memory. FIELDCASE_BENCH_TEAM_SCALE (default 1) scales the
// cases and notes down for a quick run.
//
// Reported: first-sync-s (pull of everything, keyrings opened), team-fetch-ms
// (the team view from the server), unlock-ms (open + unlock with the test's
// cheap scrypt; a real passphrase adds ~1.3 s of scrypt, measured in
// store's benchmark), teamview-ms (from an unlocked vault to the computed
// team view), cli-team-ms and cli-maxrss-MB (`fieldcase team --offline` in
// its own process: scrypt at the test work factor, unlock, team view,
// print; peak RSS, which includes the pages of the memory-mapped vault it
// read), heap-MB, rss-anon-MB and rss-file-MB (this process with only the
// supervisor's vault open: live heap, anonymous and file-backed resident
// memory) and vault-MB (the vault file's size).
func BenchmarkSupervisorFirstSync(b *testing.B) {
	scale := 1.0
	if s := os.Getenv("FIELDCASE_BENCH_TEAM_SCALE"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 || f > 1 {
			b.Fatalf("FIELDCASE_BENCH_TEAM_SCALE=%q: want a number in (0, 1]", s)
		}
		scale = f
	}
	for i := 0; i < b.N; i++ {
		benchTeam(b, 12, int(5000*scale), int(100000*scale))
	}
}

func benchTeam(b *testing.B, workers, cases, notes int) {
	ctx := context.Background()
	s := syncharness.StartServer(b, "--enroll-per-addr", "50/1s")
	// The supervisor enrols first, so every case's keyring is wrapped to
	// them, and syncs only once the team's data is on the server.
	sup := s.NewDevice("sup", s.URL, "sup", "supervisor", "north")
	text := demo.Prose(600, 7)
	stages := []string{"none", "pre-proceedings", "proceedings", "final"}
	risks := []string{"low", "medium", "high"}
	for w := 0; w < workers; w++ {
		d := s.NewDevice(fmt.Sprintf("w%02d", w), s.URL, fmt.Sprintf("worker%02d", w), "caseworker", "north")
		nc := cases / workers
		if w < cases%workers {
			nc++
		}
		nn := notes / workers
		if w < notes%workers {
			nn++
		}
		err := d.V.Update(func(tx *store.Tx) error {
			ids := make([]string, 0, nc)
			for c := 0; c < nc; c++ {
				k := w*1000 + c
				id, err := tx.NewCase(record.Case{Ref: fmt.Sprintf("W%02d-%04d", w, c), Subject: "Bench subject " + strconv.Itoa(k),
					Status: "open", Risk: risks[k%3], NextVisit: record.Date(fmt.Sprintf("2026-%02d-%02d", 10+k%3, 1+k%28)),
					Weights: record.Weights{Children: 1 + k%4, Complexity: 1 + k%3, CourtStage: stages[k%4], TravelMins: 10 * (k % 7)}})
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			for n := 0; n < nn; n++ {
				if _, err := tx.AddNote(ids[n%len(ids)], record.Note{Kind: "visit", Date: "2026-11-20", Text: strconv.Itoa(n) + " " + text}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if sum := d.MustSync(); sum.Pushed < nc+nn {
			b.Fatalf("%s pushed %d of %d", d.Name, sum.Pushed, nc+nn)
		}
		d.V.Close()
	}

	b.ResetTimer()
	t0 := time.Now()
	sum := sup.MustSync()
	firstSync := time.Since(t0)
	if sum.Pulled < cases+notes {
		b.Fatalf("supervisor pulled %d, want ≥ %d", sum.Pulled, cases+notes)
	}
	t0 = time.Now()
	tv, err := sup.Syncer.Team(ctx)
	if err != nil {
		b.Fatal(err)
	}
	teamFetch := time.Since(t0)
	b.StopTimer()

	// Unlock → team view, on the vault as it is after the sync.
	path := sup.V.Path()
	sup.V.Close()
	runtime.GC()
	debug.FreeOSMemory()
	t0 = time.Now()
	v, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock(syncharness.DevicePass); err != nil {
		b.Fatal(err)
	}
	unlock := time.Since(t0)
	t0 = time.Now()
	stored, err := client.StoredTeam(v)
	if err != nil || stored == nil {
		b.Fatalf("stored team view: %v", err)
	}
	rows, err := caseload.Build(v, stored, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	teamView := time.Since(t0)
	if len(rows) != workers {
		b.Fatalf("team view has %d rows, want %d", len(rows), workers)
	}
	open := 0
	for _, r := range rows {
		open += r.OpenCases
		if r.SealedCases != 0 {
			b.Fatalf("%s: %d cases the supervisor cannot read", r.Name, r.SealedCases)
		}
	}
	if open != cases || len(tv.Cases) != cases {
		b.Fatalf("team view: %d open cases, %d on the server, want %d", open, len(tv.Cases), cases)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	anon, file := rss(b)
	v.Close()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}

	// The same from the command line, in its own process, for peak RSS.
	bin := buildFieldcase(b)
	cmd := exec.Command(bin, "team", "--offline", "--vault", path)
	cmd.Env = append(os.Environ(), "FIELDCASE_PASSPHRASE="+syncharness.DevicePass)
	t0 = time.Now()
	out, err := cmd.CombinedOutput()
	cliTime := time.Since(t0)
	if err != nil {
		b.Fatalf("fieldcase team: %v\n%s", err, out)
	}
	lines := 0
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "worker") {
			lines++
		}
	}
	if lines != workers {
		b.Fatalf("fieldcase team printed %d worker rows:\n%s", lines, out)
	}
	maxrss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux

	b.ReportMetric(firstSync.Seconds(), "first-sync-s")
	b.ReportMetric(float64(teamFetch)/1e6, "team-fetch-ms")
	b.ReportMetric(float64(unlock)/1e6, "unlock-ms")
	b.ReportMetric(float64(teamView)/1e6, "teamview-ms")
	b.ReportMetric(float64(cliTime)/1e6, "cli-team-ms")
	b.ReportMetric(float64(maxrss)/1024, "cli-maxrss-MB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	b.ReportMetric(anon/1024, "rss-anon-MB")
	b.ReportMetric(file/1024, "rss-file-MB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "vault-MB")
	b.ReportMetric(float64(sum.Pulled)/firstSync.Seconds(), "pulled-rec/s")
}

// rss reads this process's resident anonymous and file-backed memory (KiB):
// bbolt maps the vault, so pages it reads count as file-backed residency
// that the kernel can drop, unlike the heap.
func rss(b *testing.B) (anon, file float64) {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			anon = n
		case "RssFile:":
			file = n
		}
	}
	return anon, file
}

// buildFieldcase builds the fieldcase binary once into the benchmark's
// temporary directory.
func buildFieldcase(b *testing.B) string {
	b.Helper()
	bin, err := testbin.Path("fieldcase", false)
	if err != nil {
		b.Fatal(err)
	}
	return bin
}
