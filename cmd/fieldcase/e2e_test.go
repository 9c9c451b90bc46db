package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

// The vault file must never hold a name, a note, a consent or the passphrase,
// in any common encoding, after the real binary wrote them.
func TestCanaryNeverOnDisk(t *testing.T) {
	dir := t.TempDir()
	pass := secret(t)
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "vault.db"), "FIELDCASE_PASSPHRASE=" + pass}
	canaries := []string{
		"Quillon Zephyrine-Marchbanks", "77 Canarywharf Crescent", "Ottoline Brackenbury",
		"CANARY7 disclosed the hidden bruise", "canary-capacity-statement", "Importina Canaryfield",
		"imported-canary-narrative", pass, "Canary Worker Name",
	}
	run := func(stdin string, args ...string) {
		t.Helper()
		if out, errOut, code := fc(t, env, stdin, args...); code != 0 {
			t.Fatalf("fieldcase %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	run("", "init", "--name", canaries[8])
	run("", "case", "add", "--ref", "R-C1", "--subject", canaries[0], "--address", canaries[1])
	run(canaries[3]+" "+strings.Repeat("and more words so the body compresses ", 20), "note", "add", "--case", "R-C1", "--attendee", canaries[2], "--text-file", "-")
	run("", "consent", "add", "--case", "R-C1", "--person", canaries[2], "--scope", "health", "--decision", "given", "--capacity-note", canaries[4])
	run(`{"type":"case","ref":"R-C2","subject":"`+canaries[5]+`"}`+"\n"+`{"type":"note","case":"R-C2","text":"`+canaries[6]+`"}`+"\n", "import", "-")

	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		low := bytes.ToLower(data)
		for _, c := range canaries {
			for name, enc := range canaryEncodings(c) {
				if bytes.Contains(low, bytes.ToLower(enc)) {
					t.Errorf("%s holds canary %q (%s)", e.Name(), c, name)
				}
			}
		}
	}
	// And the canaries are really in there, readable with the passphrase.
	out, _, _ := fc(t, env, "", "note", "list", "--case", "R-C1", "--json")
	if !strings.Contains(out, "CANARY7 disclosed") {
		t.Fatalf("note not readable back: %s", out)
	}
}

func canaryEncodings(s string) map[string][]byte {
	encs := map[string][]byte{"utf-8": []byte(s), "hex": []byte(hex.EncodeToString([]byte(s)))}
	u := utf16.Encode([]rune(s))
	le, be := make([]byte, 0, 2*len(u)), make([]byte, 0, 2*len(u))
	for _, c := range u {
		le = append(le, byte(c), byte(c>>8))
		be = append(be, byte(c>>8), byte(c))
	}
	encs["utf-16le"], encs["utf-16be"] = le, be
	// base64 at each of the three alignments, without the partial edges.
	for shift := 0; shift < 3; shift++ {
		b := base64.StdEncoding.EncodeToString(append(make([]byte, shift), s...))
		start := (shift*4 + 2) / 3
		end := len(b) - 4
		if end > start+8 {
			encs["base64+"+string(rune('0'+shift))] = []byte(b[start+2 : end])
		}
	}
	return encs
}

// prepVault makes a vault with a cheap work factor through the store, for
// tests of how the binary reads existing vaults.
func prepVault(t *testing.T, pass string, fill func(v *store.Vault)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vault.db")
	v := storetest.Create(t, path, pass, store.Profile{}, store.Options{})
	defer v.Close()
	fill(v)
	return path
}

func TestConflictShownInTextAndJSON(t *testing.T) {
	pass := secret(t)
	path := prepVault(t, pass, func(v *store.Vault) {
		id, _ := v.CreateCase(record.Case{Ref: "R-X", Subject: "Conflicted Case"})
		n, _ := v.AddNote(id, record.Note{Text: "original"})
		base, _ := v.Note(n)
		v.EditNote(n, []record.RevID{base.Rev}, record.Note{Text: "version from laptop A"})
		v.EditNote(n, []record.RevID{base.Rev}, record.Note{Text: "version from laptop B"})
	})
	env := []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass}
	out, errOut, code := fc(t, env, "", "note", "list", "--case", "R-X")
	if code != 0 || !strings.Contains(out, "conflict") {
		t.Fatalf("text output lacks conflict (exit %d):\n%s%s", code, out, errOut)
	}
	out, _, _ = fc(t, env, "", "note", "list", "--case", "R-X", "--json")
	var notes []struct {
		ID       string `json:"id"`
		Conflict bool   `json:"conflict"`
		Versions []struct {
			Value struct{ Text string } `json:"value"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(out), &notes); err != nil || len(notes) != 1 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if !notes[0].Conflict || len(notes[0].Versions) != 2 {
		t.Fatalf("json conflict=%v versions=%d", notes[0].Conflict, len(notes[0].Versions))
	}
	// Editing without --resolve refuses; with it, a merge ends the conflict.
	if _, errOut, code := fc(t, env, "merged", "note", "edit", notes[0].ID, "--text-file", "-"); code == 0 || !strings.Contains(errOut, "in conflict") {
		t.Fatalf("edit of a conflicted note without --resolve: exit %d %s", code, errOut)
	}
	if _, errOut, code := fc(t, env, "A and B merged", "note", "edit", notes[0].ID, "--text-file", "-", "--resolve"); code != 0 {
		t.Fatalf("resolve: %s", errOut)
	}
	out, _, _ = fc(t, env, "", "note", "list", "--case", "R-X")
	if strings.Contains(out, "conflict") || !strings.Contains(out, "A and B merged") {
		t.Errorf("after resolve:\n%s", out)
	}
}

func TestVaultProblemsAreClearErrors(t *testing.T) {
	pass := secret(t)
	path := prepVault(t, pass, func(v *store.Vault) {
		v.CreateCase(record.Case{Ref: "R-1", Subject: "x"})
	})
	env := []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass}

	// Held by another process: named, not hung.
	holder := storetest.Open(t, path, store.Options{Program: "fieldcase tui"})
	_, errOut, code := fc(t, env, "", "case", "list")
	holder.Close()
	if code == 0 || !strings.Contains(errOut, "vault is open in another fieldcase process (fieldcase tui, pid") || !strings.Contains(errOut, "hint: close the other fieldcase") {
		t.Errorf("in use: exit %d\n%s", code, errOut)
	}

	data, _ := os.ReadFile(path)
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"truncated", string(data[:len(data)/3]), "fieldcase: vault is damaged"},
		{"not a vault", "just some notes\n", "fieldcase: not a fieldcase vault"},
		{"empty", "", "fieldcase: vault is damaged"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".db")
		os.WriteFile(p, []byte(c.content), 0o600)
		_, errOut, code := fc(t, []string{"FIELDCASE_VAULT=" + p, "FIELDCASE_PASSPHRASE=" + pass}, "", "case", "list")
		if code != 1 || !strings.HasPrefix(errOut, c.want) || strings.Contains(errOut, "goroutine") {
			t.Errorf("%s: exit %d, stderr:\n%s", c.name, code, errOut)
		}
		after, _ := os.ReadFile(p)
		if string(after) != c.content {
			t.Errorf("%s: the damaged file was changed", c.name)
		}
	}
	// No passphrase and no terminal: a hint, not a hang.
	cmd := exec.Command(filepath.Join(binDir, "fieldcase"), "case", "list")
	cmd.Env = []string{"FIELDCASE_VAULT=" + path, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = detachedFromTTY()
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "no passphrase given") || !strings.Contains(string(out), "FIELDCASE_PASSPHRASE_FILE") {
		t.Errorf("no passphrase:\n%s", out)
	}
}

// A full disk on save: a clear error, nothing half-written, the vault intact.
// RLIMIT_FSIZE stands in for a full disk (the write fails with EFBIG the way
// it fails with ENOSPC), without needing a small filesystem to fill.
func TestFullDiskOnSave(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	pass := secret(t)
	path := prepVault(t, pass, func(v *store.Vault) {
		v.CreateCase(record.Case{Ref: "R-1", Subject: "Before The Disk Filled"})
	})
	st, _ := os.Stat(path)
	var big strings.Builder
	big.WriteString(`{"type":"case","ref":"R-2","subject":"Big Import"}` + "\n")
	for i := 0; i < 3000; i++ {
		big.WriteString(`{"type":"note","case":"R-2","text":"` + strings.Repeat("x", 2000) + `"}` + "\n")
	}
	cmd := exec.Command("prlimit", "--fsize="+strconv.FormatInt(st.Size(), 10), filepath.Join(binDir, "fieldcase"), "import", "-")
	cmd.Env = []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass, "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(big.String())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "fieldcase: import: disk is full") || !strings.Contains(string(out), "hint: nothing was saved") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	v := storetest.Open(t, path, store.Options{})
	defer v.Close()
	if err := v.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	cs, _ := v.Cases()
	if len(cs) != 1 || cs[0].Value.Subject != "Before The Disk Filled" {
		t.Errorf("cases after failed import: %+v", cs)
	}
}

// The scanner must find each encoding it looks for, or the canary test
// above could pass on a leaking vault.
func TestCanaryEncodingsDetect(t *testing.T) {
	c := "Quillon Zephyrine-Marchbanks"
	for name, enc := range canaryEncodings(c) {
		var hay []byte
		switch {
		case name == "utf-8", name == "utf-16le", name == "utf-16be", name == "hex":
			hay = append([]byte("xx"), enc...)
		case strings.HasPrefix(name, "base64"):
			shift := int(name[len(name)-1] - '0')
			for pre := 0; pre < 3; pre++ { // the canary at any offset in a base64 blob
				hay = append(hay, base64.StdEncoding.EncodeToString(append(make([]byte, pre*3+shift), c...))...)
			}
		}
		if !bytes.Contains(bytes.ToLower(hay), bytes.ToLower(enc)) {
			t.Errorf("encoding %s does not detect its own form", name)
		}
	}
	if len(canaryEncodings(c)) < 7 {
		t.Errorf("expected utf-8, hex, utf-16le/be and three base64 alignments")
	}
}
