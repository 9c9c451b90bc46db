package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
)

// The child side of BenchmarkUnlockMemory: when memChildEnv names a vault,
// the test binary unlocks it (passphrase in memChildPassEnv) as the TUI
// does, loads every note, searches, and prints one line, "memchild " and a
// MemReport in JSON. Its own process gives an honest peak RSS (VmHWM).
const (
	memChildEnv     = "FIELDCASE_MEM_CHILD_VAULT"
	memChildPassEnv = "FIELDCASE_MEM_CHILD_PASS"
	// memChildModeEnv "bare" stops after the passphrase: the process
	// without a working set, for comparison.
	memChildModeEnv = "FIELDCASE_MEM_CHILD_MODE"
)

// MemReport is what the memory child measured, in MiB.
type MemReport struct {
	PeakKDF   float64 // VmHWM with scrypt's work buffer
	Peak      float64 // VmHWM from after the passphrase to the end
	RSS       float64 // VmRSS once settled
	Anon      float64 // RssAnon
	File      float64 // RssFile: vault pages still mapped
	HeapInuse float64
	Sys       float64
	Notes     int
}

func memChild(path string) {
	if err := runMemChild(path); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
}

func runMemChild(path string) error {
	mode := os.Getenv(memChildModeEnv)
	// "readonly" loads everything from a file opened read-only: no
	// search snapshot is written (the index is built as without one).
	v, err := Open(path, Options{ReadOnly: mode == "readonly"})
	if err != nil {
		return err
	}
	defer v.Close()
	var locked []byte
	if err := v.view(func(tx *bolt.Tx) error {
		locked = append([]byte(nil), tx.Bucket(bucketMeta).Get(metaIdentity)...)
		return nil
	}); err != nil {
		return err
	}
	id, err := crypto.UnlockIdentity(locked, os.Getenv(memChildPassEnv))
	if err != nil {
		return err
	}
	var r MemReport
	st := procStatus()
	r.PeakKDF = st["VmHWM:"]
	runtime.GC()
	debug.FreeOSMemory()
	// From here on VmHWM is the peak of the vault's own work: writing 5
	// to clear_refs resets it (Linux ≥ 4.0).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS: %w", err)
	}
	switch mode {
	case "bare":
	case "cases": // unlock and the case list, as `fieldcase team --offline`
		if err := v.unlockWith(id); err != nil {
			return err
		}
		cs, err := v.Cases()
		if err != nil {
			return err
		}
		r.Notes = len(cs)
	default:
		if err := v.unlockWith(id); err != nil {
			return err
		}
		cs, err := v.Cases()
		if err != nil {
			return err
		}
		if err := v.LoadNotes(context.Background(), nil); err != nil {
			return err
		}
		if _, err := v.Search("the", 50); err != nil {
			return err
		}
		if len(cs) > 0 {
			notes, err := v.Notes(cs[0].ID)
			if err != nil {
				return err
			}
			r.Notes = len(notes)
		}
		if r.Notes == 0 {
			return errors.New("no notes loaded")
		}
	}
	// As the process stands a moment later, as the TUI would: no forced
	// collection (the store returns memory itself after loading).
	time.Sleep(time.Second)
	st = procStatus()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.Peak, r.RSS, r.Anon, r.File = st["VmHWM:"], st["VmRSS:"], st["RssAnon:"], st["RssFile:"]
	r.HeapInuse, r.Sys = float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20)
	if p := os.Getenv("FIELDCASE_MEM_CHILD_HEAP"); p != "" { // a heap profile of what the child holds, for pprof
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return err
		}
		f.Close()
	}
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Printf("memchild %s\n", js)
	runtime.KeepAlive(v)
	return nil
}

// procStatus reads /proc/self/status's kB figures, in MiB.
func procStatus() map[string]float64 {
	out := map[string]float64{}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb / 1024
		}
	}
	return out
}

// MeasureMemory runs the memory child on the vault at path in its own
// process (mode "" loads everything; "readonly" too, from the file opened
// read-only; "cases" stops after the case list; "bare" after the
// passphrase).
func MeasureMemory(path, pass, mode string) (MemReport, error) {
	var r MemReport
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memChildEnv+"="+path, memChildPassEnv+"="+pass, memChildModeEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "memchild "); ok {
			return r, json.Unmarshal([]byte(js), &r)
		}
	}
	return r, fmt.Errorf("memory child: %v: %s", err, out)
}
