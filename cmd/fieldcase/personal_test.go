package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// formCase is a data-entry command run with its personal fields only in a
// form.
type formCase struct {
	args []string // the command and its other flags: no personal data
	// form is the form, in TOML, with the personal values in it made
	// unique by tag; stored says whether the command saves them (record
	// has no microphone here, and fails after reading the form).
	form   func(tag string) (toml string, personal []string)
	env    []string
	stored bool
}

// The real process's arguments, as every user of the computer reads them
// in /proc/PID/cmdline (ps does), never hold personal data given in a
// form, from standard input or from a file: read while fieldcase waits on
// standard input, and again once it has read the form and waits for the
// passphrase (from a FIFO that this test writes last). The data is then in
// the vault.
func TestPersonalDataNotInArgv(t *testing.T) {
	pass := secret(t)
	vault := prepVault(t, pass, func(v *store.Vault) {
		for _, ref := range []string{"R-0", "E-stdin", "E-file"} {
			v.CreateCase(record.Case{Ref: ref, Subject: "Existing Case"})
		}
	})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "none.conf"), []byte("pcm.!default { type null }\n"), 0o600)
	noMicrophone := []string{"PULSE_SERVER=unix:" + filepath.Join(dir, "no-such-socket"), "ALSA_CONFIG_PATH=" + filepath.Join(dir, "none.conf")}
	cases := map[string]formCase{
		"case add": {args: []string{"case", "add", "--risk", "high"}, stored: true, form: func(tag string) (string, []string) {
			p := []string{"Quillon Zephyrine " + tag, "77 Canarywharf Crescent " + tag, "Referred after CANARY-DISCLOSURE-" + tag}
			return `subject = "` + p[0] + `"` + "\ndob = 2015-04-01\naddress = \"" + p[1] + "\"\nsummary = \"\"\"" + p[2] + "\nsecond line\"\"\"\n", p
		}},
		"case edit": {args: []string{"case", "edit", "E-?", "--risk", "low"}, stored: true, form: func(tag string) (string, []string) {
			p := []string{"Renamed Brackenbury " + tag, "12 Moved Mews " + tag}
			return `subject = "` + p[0] + `"` + "\naddress = \"" + p[1] + "\"\n", p
		}},
		"consent add": {args: []string{"consent", "add", "--case", "R-0", "--scope", "health", "--decision", "given"}, stored: true, form: func(tag string) (string, []string) {
			p := []string{"Ottoline Canary " + tag, "canary capacity statement " + tag}
			return `person = "` + p[0] + `"` + "\ncapacity_note = \"" + p[1] + "\"\n", p
		}},
		"task add": {args: []string{"task", "add", "--case", "R-0", "--kind", "visit"}, stored: true, form: func(tag string) (string, []string) {
			p := []string{"Visit Quillon at the canary refuge " + tag}
			return `title = "` + p[0] + `"` + "\n", p
		}},
		"note add": {args: []string{"note", "add", "--case", "R-0", "--kind", "visit"}, stored: true, form: func(tag string) (string, []string) {
			p := []string{"Canary Refuge Flat " + tag, "Importina Canaryfield " + tag, "CANARY7 disclosed the hidden bruise " + tag}
			return `place = "` + p[0] + `"` + "\nattendees = [\"" + p[1] + "\", \"Mum\"]\ntext = \"\"\"" + p[2] + "\"\"\"\n", p
		}},
		"record": {args: []string{"record", "--case", "R-0", "--seconds", "1s", "--device", "no-such-microphone"}, env: noMicrophone, form: func(tag string) (string, []string) {
			p := []string{"Court report on Quillon " + tag}
			return `title = "` + p[0] + `"` + "\n", p
		}},
	}
	for _, n := range dataEntryCommands(parserForTest(t).Model.Node) {
		if name := strings.Join(commandWords(n), " "); cases[name].form == nil {
			t.Errorf("%s takes personal data, and this test does not run it: add it to the table", name)
		}
	}
	var saved []string
	for _, name := range []string{"case add", "case edit", "consent add", "task add", "note add", "record"} {
		for _, how := range []string{"stdin", "file"} {
			t.Run(name+" "+how, func(t *testing.T) {
				c := cases[name]
				form, personal := c.form(strings.ToUpper(how[:1]) + how[1:])
				args := slices.Clone(c.args)
				switch name {
				case "case add":
					args = append(args, "--ref", "R-"+how)
				case "case edit":
					args[2] = "E-" + how
				}
				var stdin []byte
				if how == "stdin" {
					args, stdin = append(args, "--form", "-"), []byte(form)
				} else {
					f := filepath.Join(t.TempDir(), "form.toml")
					os.WriteFile(f, []byte(form), 0o600)
					args = append(args, "--form", f)
				}
				env := append([]string{"FIELDCASE_VAULT=" + vault}, c.env...)
				_, errOut, code := runWatched(t, env, pass, stdin, personal, args...)
				if c.stored && code != 0 {
					t.Fatalf("fieldcase %v: exit %d\n%s", args, code, errOut)
				}
				if !c.stored && !strings.Contains(errOut, "no audio device") {
					t.Fatalf("fieldcase %v: want it to fail for want of a microphone, after reading the form: exit %d\n%s", args, code, errOut)
				}
				if c.stored {
					saved = append(saved, personal...)
				}
			})
		}
	}
	// Everything given in the forms is in the vault.
	out, errOut, code := fc(t, []string{"FIELDCASE_VAULT=" + vault, "FIELDCASE_PASSPHRASE=" + pass}, "", "export", "--jsonl")
	if code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	for _, p := range saved {
		if !strings.Contains(out, p) {
			t.Errorf("%q is not in the vault", p)
		}
	}
	if len(saved) < 20 {
		t.Errorf("only %d personal values were saved; the table is broken", len(saved))
	}
}

// runWatched runs fieldcase with args, the form (if any) on standard input
// and the passphrase from a FIFO, and checks the process's arguments as the
// kernel shows them to everyone while it waits: for standard input, and
// then for the passphrase, with the form read.
func runWatched(t *testing.T, env []string, pass string, stdin []byte, personal []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "passphrase")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "fieldcase"), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FIELDCASE_PASSPHRASE_FILE=" + fifo}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	checkArgv(t, cmd.Process.Pid, args, personal, "waiting on standard input")
	in.Write(stdin)
	in.Close()
	// Opening the FIFO to write waits until fieldcase opens it to read the
	// passphrase: it has read its form by then, and waits for this test.
	opened := make(chan *os.File, 1)
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			opened <- f
		}
	}()
	select {
	case f := <-opened:
		checkArgv(t, cmd.Process.Pid, args, personal, "holding the form, waiting for the passphrase")
		f.WriteString(pass + "\n")
		f.Close()
		<-exited
	case <-exited:
		if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil { // lets the opener go
			defer r.Close()
		}
		t.Fatalf("fieldcase %v ended before it asked for the passphrase:\n%s", args, errOut.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("fieldcase %v never asked for the passphrase:\n%s", args, errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// checkArgv reads a running process's /proc/PID/cmdline: it must be the
// program and args (a process that has ended shows none), and hold none of
// the personal values.
func checkArgv(t *testing.T, pid int, args, personal []string, when string) {
	t.Helper()
	var b []byte
	// Just after exec (when Start returns) the new program's arguments
	// may not be in place yet: the kernel then shows none for a moment.
	for start := time.Now(); len(b) == 0 && time.Since(start) < 5*time.Second; time.Sleep(time.Millisecond) {
		var err error
		if b, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if len(argv) == 0 || filepath.Base(argv[0]) != "fieldcase" || !slices.Equal(argv[1:], args) {
		t.Fatalf("%s: /proc/%d/cmdline is %q, want fieldcase %q (has it ended?)", when, pid, argv, args)
	}
	for _, p := range personal {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(p))) {
			t.Errorf("%s: /proc/%d/cmdline holds %q", when, pid, p)
		}
	}
}

// exampleLines are the command lines in text (a README's code blocks, or
// --help's examples) that run fieldcase with words (e.g. "case add").
func exampleLines(text string, words []string) []string {
	re := regexp.MustCompile(`(^|[|;&(]\s*)fieldcase( --vault \S+)? ` + regexp.QuoteMeta(strings.Join(words, " ")) + `(\s|$)`)
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// usesFlag says whether a command line (before its comment) gives one of
// the flags.
func usesFlag(line string, flags []string) bool {
	line, _, _ = strings.Cut(line, " #")
	for _, f := range flags {
		if regexp.MustCompile(`\s--` + regexp.QuoteMeta(f) + `(\s|=|$)`).MatchString(line) {
			return true
		}
	}
	return false
}

// personalFirst finds what is wrong with one text's examples of a
// data-entry command: the first must use none of its personal flags, and
// one with --form must come before any that does. needForm: a form example
// must be there.
func personalFirst(where, text string, words, personal []string, needForm bool) []string {
	lines := exampleLines(text, words)
	name := strings.Join(words, " ")
	if len(lines) == 0 {
		if needForm {
			return []string{where + " has no example of fieldcase " + name}
		}
		return nil
	}
	var bad []string
	if usesFlag(lines[0], personal) {
		bad = append(bad, where+": the first example of fieldcase "+name+" gives personal data as a flag: "+lines[0])
	}
	formAt := slices.IndexFunc(lines, func(l string) bool { return usesFlag(l, []string{"form"}) })
	flagAt := slices.IndexFunc(lines, func(l string) bool { return usesFlag(l, personal) })
	if needForm && formAt < 0 {
		bad = append(bad, where+" has no example of fieldcase "+name+" --form:\n"+strings.Join(lines, "\n"))
	}
	if flagAt >= 0 && (formAt < 0 || formAt > flagAt) {
		bad = append(bad, where+" shows fieldcase "+name+" with a personal flag before (or without) --form:\n"+strings.Join(lines, "\n"))
	}
	return bad
}

// The README and every data-entry command's --help (and its group's) show
// the form, or the prompt, before any personal data as a flag.
func TestPersonalDataExamplesFirst(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder // the README's code blocks
	in := false
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if in {
			code.WriteString(l + "\n")
		}
	}
	if !strings.Contains(code.String(), "--form") {
		t.Errorf("README's examples never show --form")
	}
	cmds := dataEntryCommands(parserForTest(t).Model.Node)
	for _, n := range cmds {
		words := commandWords(n)
		personal := personalFlags(n)
		bad := personalFirst("README", code.String(), words, personal, words[0] == "case" && words[1] == "add")
		help, _, _ := runBin(t, nil, "fieldcase", append(slices.Clone(words), "--help")...)
		_, examples, ok := strings.Cut(help, "Examples:")
		if !ok {
			t.Errorf("fieldcase %s --help has no examples", strings.Join(words, " "))
			continue
		}
		examples, _, _ = strings.Cut(examples, "\nFlags:")
		bad = append(bad, personalFirst("fieldcase "+strings.Join(words, " ")+" --help", examples, words, personal, true)...)
		if len(words) > 1 {
			group, _, _ := runBin(t, nil, "fieldcase", words[0], "--help")
			bad = append(bad, personalFirst("fieldcase "+words[0]+" --help", group, words, personal, false)...)
		}
		for _, b := range bad {
			t.Error(b)
		}
		// The flags themselves say they are visible.
		_, flags, _ := strings.Cut(help, "\nFlags:")
		for _, entry := range regexp.MustCompile(`\n\s+(-\w, )?--`).Split(flags, -1) {
			name, _, _ := strings.Cut(entry, "=")
			if slices.Contains(personal, name) && !strings.Contains(strings.Join(strings.Fields(entry), " "), visibleNote) {
				t.Errorf("fieldcase %s --help does not mark --%s as visible: %q", strings.Join(words, " "), name, entry)
			}
			personal = slices.DeleteFunc(personal, func(f string) bool { return f == name })
		}
		if len(personal) > 0 {
			t.Errorf("fieldcase %s --help does not list %v", strings.Join(words, " "), personal)
		}
	}
	// No --text flag anywhere (note text comes from --text-file or a form).
	for _, l := range strings.Split(code.String(), "\n") {
		if usesFlag(l, []string{"text"}) {
			t.Errorf("README shows --text: %s", l)
		}
	}
}

// The example checker itself: it must catch a personal flag shown first.
func TestPersonalFirstCatches(t *testing.T) {
	tests := []struct {
		text string
		bad  int
	}{
		{"fieldcase case add --ref R-1 --form r.toml\nfieldcase case add --ref R-1 --subject X", 0},
		{"  fieldcase case add --ref R-1   # asks for the subject\n  fieldcase case add --ref R-1 --form r.toml", 0},
		{"fieldcase case add --ref R-1 --form - < r.json   # JSON: --subject in a comment", 0},
		{"fieldcase case add --ref R-1 --subject X\nfieldcase case add --ref R-1 --form r.toml", 2},
		{"fieldcase case add --ref R-1   # asks\nfieldcase case add --ref R-1 --subject=X", 2}, // no form before the flag
		{"fieldcase case list\nfieldcase case add --ref R-1 --dob 2001-01-01 --form f", 1},
		{"fieldcase case list", 1}, // no example at all
		{"echo x | fieldcase case add --ref R-1 --form -", 0},
	}
	for _, tt := range tests {
		if bad := personalFirst("text", tt.text, []string{"case", "add"}, []string{"subject", "dob"}, true); len(bad) != tt.bad {
			t.Errorf("%q: %d problems %q, want %d", tt.text, len(bad), bad, tt.bad)
		}
	}
}

// scrollback is the pane's screen and the lines scrolled off it (tmux
// sometimes scrolls a line off as a pane dies).
func (s *tmuxSession) scrollback() string { return s.run("capture-pane", "-p", "-S", "-", "-t", "S") }

// promptShell runs a shell script in tmux, on a real terminal, with the
// vault and its passphrase in the environment (so only fields are asked).
func promptShell(t *testing.T, vault, pass, script string) *tmuxSession {
	t.Helper()
	return newTmuxCmd(t, 200, 40, "env -i PATH="+binDir+":/usr/bin:/bin TERM=xterm HOME="+t.TempDir()+
		" FIELDCASE_VAULT="+vault+" FIELDCASE_PASSPHRASE="+pass+" bash --norc --noprofile -c '"+script+"; echo \"exit=$?\"'")
}

// On a terminal, a data-entry command without its required field asks
// for it, and for the personal fields not given, after unlocking: typed
// at a prompt, they reach neither the command line nor the shell's
// history. A wrong date or choice is asked again; Ctrl+C or Ctrl+D
// cancels with nothing saved.
func TestPromptForPersonalData(t *testing.T) {
	pass := secret(t)
	vault := prepVault(t, pass, func(v *store.Vault) {
		id, _ := v.CreateCase(record.Case{Ref: "R-0", Subject: "Existing Case"})
		v.AddNote(id, record.Note{Text: "Grandma Searchable offered respite."})
	})
	env := []string{"FIELDCASE_VAULT=" + vault, "FIELDCASE_PASSPHRASE=" + pass}

	t.Run("case add, in an interactive shell with history", func(t *testing.T) {
		dir := t.TempDir()
		history := filepath.Join(dir, "history")
		s := newTmuxCmd(t, 200, 40, "env -i PATH="+binDir+":/usr/bin:/bin TERM=xterm HOME="+dir+" HISTFILE="+history+
			" PS1='$ ' FIELDCASE_VAULT="+vault+" FIELDCASE_PASSPHRASE="+pass+" bash --norc --noprofile -i")
		s.waitFor("$") // tmux's capture drops trailing spaces
		s.typeText(`fieldcase case add --ref R-P --risk high; echo "exit=$?"`)
		s.key("Enter")
		s.waitFor("Subject (the child or adult the case is about):")
		s.typeText("Promptina Historyless")
		s.key("Enter")
		s.waitFor("Date of birth, e.g. 14/12/2026 or 2026-12-14 (Enter skips):")
		s.typeText("31/02/2003")
		s.key("Enter")
		s.waitFor(`Date of birth, e.g. 14/12/2026 or 2026-12-14: there is no 31 February 2003; try again.`)
		s.typeText("1/4/2015") // day first: no locale, no setting
		s.key("Enter")
		s.waitFor("Address (Enter skips):")
		s.typeText("5 Unlisted Lane")
		s.key("Enter")
		s.waitFor("Summary (several lines; an empty line ends it, or skips it):")
		s.typeText("Seen at school.")
		s.key("Enter")
		s.typeText("Settled at home.")
		s.key("Enter")
		s.key("Enter")
		s.waitFor("exit=0") // the command line typed shows "exit=$?"
		screen := s.scrollback()
		if !strings.Contains(screen, "added case R-P") || !strings.Contains(screen, "exit=0") || strings.Contains(screen, "warning") {
			t.Fatalf("case add at the prompts:\n%s", screen)
		}
		s.typeText("history -w")
		s.key("Enter")
		var hist []byte
		for start := time.Now(); !bytes.Contains(hist, []byte("history -w")) && time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
			hist, _ = os.ReadFile(history)
		}
		if !bytes.Contains(hist, []byte("case add --ref R-P")) {
			t.Fatalf("the shell's history lacks the command: %q", hist)
		}
		for _, p := range []string{"Promptina", "Unlisted", "Seen at school"} {
			if bytes.Contains(hist, []byte(p)) {
				t.Errorf("the shell's history holds %q: %q", p, hist)
			}
		}
		out, errOut, _ := fc(t, env, "", "case", "show", "R-P", "--json")
		for _, want := range []string{`"subject": "Promptina Historyless"`, `"dob": "2015-04-01"`, `"address": "5 Unlisted Lane"`,
			`"summary": "Seen at school.\nSettled at home."`, `"risk": "high"`} {
			if !strings.Contains(out, want) {
				t.Errorf("case R-P lacks %s:\n%s%s", want, out, errOut)
			}
		}
	})

	t.Run("consent add, a wrong choice asked again", func(t *testing.T) {
		s := promptShell(t, vault, pass, "fieldcase consent add --case R-0 --review-date 2027-06-01")
		s.waitFor("Whose decision it is (a name, or e.g. Mum):")
		s.typeText("Nana Promptwell")
		s.key("Enter")
		s.waitFor("What sharing it covers (health, school, court, police, housing, family, other; commas between):")
		s.typeText("health, school")
		s.key("Enter")
		s.waitFor("Decision (given, refused or withdrawn):")
		s.typeText("maybe")
		s.key("Enter")
		s.waitFor(`must be one of "given","refused","withdrawn" but got "maybe"; try again.`)
		s.typeText("given")
		s.key("Enter")
		s.waitFor("Note on their capacity to decide (several lines; an empty line ends it, or skips it):")
		s.key("Enter")
		s.waitFor("exit=0")
		out, _, _ := fc(t, env, "", "consent", "list", "--case", "R-0")
		if !regexp.MustCompile(`Nana Promptwell +health,school +given +2027-06-01`).MatchString(out) {
			t.Errorf("consent list:\n%s", out)
		}
	})

	for _, key := range []string{"C-c", "C-d"} {
		t.Run("cancel with "+key, func(t *testing.T) {
			s := promptShell(t, vault, pass, "fieldcase task add --case R-0 --due 2030-01-01")
			s.waitFor("What is to be done:")
			s.typeText("Half typed")
			if key == "C-d" { // Ctrl+D cancels on an empty line, as at the passphrase prompt
				s.key("C-u")
			}
			s.key(key)
			s.waitFor("exit=")
			if screen := s.scrollback(); !strings.Contains(screen, "fieldcase: cancelled") || !strings.Contains(screen, "exit=130") || strings.Contains(screen, "goroutine") {
				t.Errorf("after %s:\n%s", key, screen)
			}
			if out, _, _ := fc(t, env, "", "task", "list", "--case", "R-0"); strings.Contains(out, "2030-01-01") {
				t.Errorf("a cancelled task was saved:\n%s", out)
			}
		})
	}

	t.Run("search, the words asked for", func(t *testing.T) {
		s := promptShell(t, vault, pass, "fieldcase search")
		s.waitFor("Search for:")
		s.typeText("grandma searchable")
		s.key("Enter")
		s.waitFor("exit=0")
		if screen := s.scrollback(); !regexp.MustCompile(`R-0 .*Grandma Searchable offered respite`).MatchString(screen) {
			t.Errorf("search:\n%s", screen)
		}
	})

	t.Run("--form - on a terminal", func(t *testing.T) {
		s := promptShell(t, vault, pass, "fieldcase case add --ref R-T --form -")
		s.waitFor("exit=")
		screen := s.scrollback()
		for _, want := range []string{"fieldcase: --form -: standard input is a terminal, not a form\n",
			"hint: redirect a form into it (--form - < form.toml)", "exit=1"} {
			if !strings.Contains(screen, want) {
				t.Errorf("screen lacks %q:\n%s", want, screen)
			}
		}
	})

	t.Run("a personal flag typed on a terminal", func(t *testing.T) {
		s := promptShell(t, vault, pass, `fieldcase task add --case R-0 --title "Flagged Title" --due 2031-01-01`)
		s.waitFor("exit=")
		screen := s.scrollback()
		want := "fieldcase: warning: --title " + exposure(i18n.English(), processesHidden(readMountinfo())) + "\nhint: give personal data in a form instead"
		if !strings.Contains(screen, want) || !strings.Contains(screen, "exit=0") {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	})
}
