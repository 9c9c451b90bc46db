package dictation_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// BenchmarkTeamTurnaround is the supervisor's turnaround screen on a vault
// holding a team's 5,000 dictations (500 cases of 12 workers, 3 typists;
// two in three transcribed, the rest waiting, some overdue), against the
// team view's own rows (caseload.Build) on the same vault in the same run.
//
// Reported: turnaround-ms (dictation.VaultTurnaround: every case's
// recordings read from the working set, the report computed), rows-ms
// (caseload.Build, the baseline), ratio (turnaround ÷ rows), compute-ms
// (TurnaroundOf alone on the 5,000 manifests in memory). Each is the median
// of 15 interleaved runs.
func BenchmarkTeamTurnaround(b *testing.B) {
	const workers, casesN, perCase, runs = 12, 500, 10, 15
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	v, err := store.Create(filepath.Join(b.TempDir(), "sup.db"), "bench passphrase", store.Profile{Name: "Sam", Role: "supervisor"},
		store.Options{WorkFactor: 10})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	tv := &protocol.TeamView{Team: "North"}
	for w := range workers {
		tv.Users = append(tv.Users, protocol.TeamUser{ID: fmt.Sprintf("u%02d", w), Name: fmt.Sprintf("Worker %02d", w), Role: protocol.RoleCaseworker})
	}
	var recs []record.Recording
	err = v.Update(func(tx *store.Tx) error {
		for c := range casesN {
			w := c % workers
			id, err := tx.NewCase(record.Case{Ref: fmt.Sprintf("N-%04d", c), Subject: "Bench subject", Status: "open",
				Workers: []string{tv.Users[w].Name}})
			if err != nil {
				return err
			}
			tv.Cases = append(tv.Cases, protocol.TeamCase{ID: id, Members: []string{tv.Users[w].ID}})
			for k := range perCase {
				i := c*perCase + k
				sub := now.Add(-time.Duration(1+i%400) * time.Hour)
				r := record.Recording{Title: "bench", WorkType: record.WorkTypes[i%len(record.WorkTypes)], Priority: record.Priorities[i%3],
					Status: "submitted", Codec: record.DefaultRecordCodec, SampleRate: 16000, Recorded: sub.Format(time.RFC3339),
					Author: tv.Users[w].Name, Submitted: sub.Format(time.RFC3339), Due: record.DateOf(sub.AddDate(0, 0, 5))}
				if i%3 != 0 {
					r.Status, r.Transcribed = "transcribed", sub.Add(time.Duration(1+i%50)*time.Hour).Format(time.RFC3339)
					r.TranscribedBy = fmt.Sprintf("Typist %d", (i/3)%3)
				}
				if _, err := tx.Put(store.Change{Kind: record.KindRecording, CaseID: id, Value: r}); err != nil {
					return err
				}
				recs = append(recs, r)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// A fresh unlock, as the supervisor's screen finds the vault.
	v.Lock()
	if err := v.Unlock("bench passphrase"); err != nil {
		b.Fatal(err)
	}

	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	b.ResetTimer()
	for range b.N {
		var rows, ta, compute []time.Duration
		var rep dictation.TurnaroundReport
		for range runs {
			t0 := time.Now()
			ws, err := caseload.Build(v, tv, now)
			rows = append(rows, time.Since(t0))
			if err != nil || len(ws) != workers {
				b.Fatalf("team rows: %d, %v", len(ws), err)
			}
			t0 = time.Now()
			rep, err = dictation.VaultTurnaround(v, now)
			ta = append(ta, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			t0 = time.Now()
			dictation.TurnaroundOf(recs, now)
			compute = append(compute, time.Since(t0))
		}
		if rep.All.Done+rep.All.Waiting != casesN*perCase || len(rep.Typists) != 3 || len(rep.Authors) != workers {
			b.Fatalf("report: %d done, %d waiting, %d typists, %d authors", rep.All.Done, rep.All.Waiting, len(rep.Typists), len(rep.Authors))
		}
		r, t := median(rows), median(ta)
		b.ReportMetric(t, "turnaround-ms")
		b.ReportMetric(r, "rows-ms")
		b.ReportMetric(t/r, "ratio")
		b.ReportMetric(median(compute), "compute-ms")
	}
}
