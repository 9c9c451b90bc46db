package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkLoadSmall times the part of unlock after the passphrase: the
// keyring and the heads, then the case list, on the vault
// BenchmarkUnlockAndLoad keeps in FIELDCASE_BENCH_DIR (run that first with
// the variable set), or FIELDCASE_BENCH_VAULT=team.db for
// BenchmarkSupervisorVault's.
func BenchmarkLoadSmall(b *testing.B) {
	dir := os.Getenv("FIELDCASE_BENCH_DIR")
	name := "big.db"
	if n := os.Getenv("FIELDCASE_BENCH_VAULT"); n != "" {
		name = n // team.db: BenchmarkSupervisorVault's
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); dir == "" || err != nil {
		b.Skip("set FIELDCASE_BENCH_DIR to a directory holding " + name)
	}
	v, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if err := v.Unlock("benchmark passphrase for the big vault"); err != nil {
		b.Fatal(err)
	}
	id := v.id
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.mu.Lock()
		v.ws = nil
		v.mu.Unlock()
		if err := v.unlockWith(id); err != nil {
			b.Fatal(err)
		}
		if _, err := v.Cases(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time (all cores) is steadier than wall time on a shared machine.
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}
