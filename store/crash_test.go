package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// The child side of TestCrashKeepsAcknowledgedNotes: when this env var names
// a vault, the test binary becomes a writer that never stops by itself.
const crashChildEnv = "FIELDCASE_CRASH_CHILD_VAULT"

// AfterTests run once every test and benchmark of the package is done
// (external test files append to it, e.g. to remove a benchmark vault).
var AfterTests []func()

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path, os.Getenv("FIELDCASE_CRASH_ROUND"))
		os.Exit(0)
	}
	if path := os.Getenv(migrateChildEnv); path != "" {
		migrateChild(path)
		os.Exit(0)
	}
	if path := os.Getenv(scrubChildEnv); path != "" {
		scrubChild(path)
		os.Exit(0)
	}
	if path := os.Getenv(memChildEnv); path != "" {
		memChild(path)
		os.Exit(0)
	}
	// Every test's vault unlocks on several workers, as a big vault does,
	// so the race detector and the damage tests see that path.
	minHeadsPerWorker = 2
	code := m.Run()
	for _, f := range AfterTests {
		f()
	}
	os.Exit(code)
}

// crashChild writes, for i = 1, 2, …: a draft of note i (then prints
// "draft i"), a longer draft (prints "draft2 i"), then commits the draft as a
// note (prints "ack i"). A line is printed only after its transaction
// committed: the parent trusts exactly what it was told.
func crashChild(path, round string) {
	v, err := Open(path, Options{LockWait: 10 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	if err := v.Unlock(testPass); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	cs, _ := v.Cases()
	caseID := cs[0].ID
	out := bufio.NewWriter(os.Stdout)
	for i := 1; ; i++ {
		text := noteText(round, i)
		d := Draft{CaseID: caseID, Note: record.Note{Kind: "visit", Text: text[:len(text)/2]}}
		if err := v.SaveDraft(d); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "draft %d\n", i)
		out.Flush()
		d.Note.Text = text
		if err := v.SaveDraft(d); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "draft2 %d\n", i)
		out.Flush()
		if _, err := v.CommitDraft(d); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
}

func noteText(round string, i int) string {
	return fmt.Sprintf("round %s note %d: %s", round, i, strings.Repeat("the visit went as planned. ", 20+i%7))
}

func TestCrashKeepsAcknowledgedNotes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real processes")
	}
	v := MustCreate(t)
	mustCase(t, v, "R-CRASH", "Crash Test")
	path := v.Path()
	v.Close()

	rounds := 25
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	want := map[string]bool{} // every acknowledged note text, over all rounds
	for r := 0; r < rounds; r++ {
		round := strconv.Itoa(r)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, "FIELDCASE_CRASH_ROUND="+round)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it write for a random number of lines (1–60), then kill it
		// mid-stride: the kill lands wherever the child happens to be.
		stopAfter := 1 + rng.IntN(60)
		sc := bufio.NewScanner(stdout)
		acked, lastDraft, lastDraftFull := 0, 0, 0
		lines := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if f[0] == "error" {
				t.Fatalf("round %d: child: %s", r, sc.Text())
			}
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "ack":
				acked = n
				want[noteText(round, n)] = true
			case "draft":
				lastDraft = n
			case "draft2":
				lastDraftFull = n
			}
			if lines++; lines == stopAfter {
				// A random pause so the kill falls inside a transaction as
				// often as between them.
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		cmd.Wait()

		v, err := Open(path, testOpts)
		if err != nil {
			t.Fatalf("round %d: vault does not open after SIGKILL: %v", r, err)
		}
		if err := v.Unlock(testPass); err != nil {
			t.Fatalf("round %d: unlock after SIGKILL: %v", r, err)
		}
		if err := v.LoadAll(context.Background()); err != nil {
			t.Fatalf("round %d: load after SIGKILL: %v", r, err)
		}
		cs, _ := v.Cases()
		notes, err := v.Notes(cs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, n := range notes {
			if n.Loading || n.Sealed {
				t.Fatalf("round %d: note %s unreadable after SIGKILL", r, n.ID)
			}
			have[n.Value.Text] = true
		}
		for text := range want {
			if !have[text] {
				t.Fatalf("round %d: acknowledged note lost: %.40q", r, text)
			}
		}
		// The note being written when the child died is a note or a draft.
		if lastDraft > acked {
			full := noteText(round, lastDraft)
			ds, err := v.Drafts()
			if err != nil {
				t.Fatal(err)
			}
			found := have[full]
			for _, d := range ds {
				if d.Note.Text == full || (lastDraftFull < lastDraft && d.Note.Text == full[:len(full)/2]) {
					found = true
				}
				v.DeleteDraft(d.Key)
			}
			if !found {
				t.Fatalf("round %d: note %d was neither saved nor recoverable as a draft", r, lastDraft)
			}
		}
		v.Close()
		t.Logf("round %d: killed after %d lines; %d notes acknowledged so far", r, lines, len(want))
	}
}
