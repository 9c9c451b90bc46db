package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// run runs one of the built binaries with a clean environment.
func runBin(t *testing.T, env []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Run()
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func needTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (make deps installs it)", tool)
		}
		t.Skipf("%s not installed", tool)
	}
}

// --version says version, commit and build date, from -ldflags or, without
// them, from what Go recorded of the build.
func TestVersionLine(t *testing.T) {
	for _, bin := range []string{"fieldcase", "fieldcased"} {
		out, _, code := runBin(t, nil, bin, "--version")
		if !regexp.MustCompile(`^`+bin+` \S+ \(commit \S+, built \S+\)\n$`).MatchString(out) || code != 0 {
			t.Errorf("%s --version: %q (exit %d)", bin, out, code)
		}
	}
	dir := t.TempDir()
	ldflags := "-X main.version=0.9.0 -X main.commit=59c2ea9 -X main.date=2026-12-07"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", dir+"/", "../fieldcased").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "fieldcased"), "--version").Output()
	if want := "fieldcased 0.9.0 (commit 59c2ea9, built 2026-12-07)\n"; err != nil || string(out) != want {
		t.Errorf("with ldflags: %q, %v; want %q", out, err, want)
	}
}

// 'help [command...]' is --help.
func TestHelpCommand(t *testing.T) {
	for _, tt := range []struct {
		bin  string
		args []string
	}{
		{"fieldcase", nil}, {"fieldcase", []string{"case", "add"}}, {"fieldcase", []string{"config"}},
		{"fieldcased", nil}, {"fieldcased", []string{"user", "add"}},
	} {
		got, _, code := runBin(t, nil, tt.bin, append([]string{"help"}, tt.args...)...)
		want, _, _ := runBin(t, nil, tt.bin, append(tt.args, "--help")...)
		if code != 0 || got != want || !strings.HasPrefix(got, "Usage: "+tt.bin) {
			t.Errorf("%s help %v (exit %d):\n%s\nwant:\n%s", tt.bin, tt.args, code, got, want)
		}
	}
	// A mistyped command still gets a suggestion, though unknown words now
	// reach the TUI's default command first.
	if _, errOut, code := runBin(t, nil, "fieldcase", "cse", "list"); code != 2 || !strings.Contains(errOut, "hint: did you mean 'fieldcase case'?") {
		t.Errorf("mistyped command: exit %d %q", code, errOut)
	}
	_, errOut, code := runBin(t, nil, "fieldcase", "help", "frobnicate")
	if code != 1 || errOut != "fieldcase: no command \"frobnicate\"\nhint: 'fieldcase help' lists the commands\n" {
		t.Errorf("help for no such command: exit %d %q", code, errOut)
	}
}

// The main commands' --help ends with examples of themselves.
func TestExamplesInHelp(t *testing.T) {
	for _, tt := range []struct {
		bin string
		cmd []string
	}{
		{"fieldcase", []string{"init"}}, {"fieldcase", []string{"enroll"}}, {"fieldcase", []string{"sync"}},
		{"fieldcase", []string{"case"}}, {"fieldcase", []string{"note"}}, {"fieldcase", []string{"consent"}},
		{"fieldcase", []string{"task"}}, {"fieldcase", []string{"record"}}, {"fieldcase", []string{"recording"}},
		{"fieldcase", []string{"export"}}, {"fieldcase", []string{"import"}}, {"fieldcase", []string{"search"}},
		{"fieldcased", []string{"serve"}}, {"fieldcased", []string{"user"}}, {"fieldcased", []string{"enroll-code"}},
	} {
		out, _, _ := runBin(t, nil, tt.bin, append(tt.cmd, "--help")...)
		prefix := "    " + tt.bin + " " + tt.cmd[0]
		if !strings.Contains(out, "Examples:\n") || !strings.Contains(out, prefix) {
			t.Errorf("%s %s --help has no examples starting %q:\n%s", tt.bin, tt.cmd[0], prefix, out)
		}
	}
}

// The completion scripts parse in their shells, and the bash one, sourced,
// really completes: bash asks the binary (COMP_LINE), which walks the same
// kong model as the parser.
func TestCompletion(t *testing.T) {
	needTool(t, "bash")
	for _, bin := range []string{"fieldcase", "fieldcased"} {
		script, errOut, code := runBin(t, nil, bin, "completion", "bash")
		if code != 0 || !strings.Contains(script, "complete -C ") {
			t.Fatalf("%s completion bash: exit %d %s%s", bin, code, script, errOut)
		}
		f := filepath.Join(t.TempDir(), bin+".bash")
		os.WriteFile(f, []byte(script), 0o600)
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, out)
		}
	}
	// Source the script, find what bash will run, and run it as bash does.
	tests := []struct{ bin, line, want string }{
		{"fieldcase", "fieldcase ca", "case"},
		{"fieldcase", "fieldcase case a", "add\nassign"},
		{"fieldcase", "fieldcase --idle", "--idle-lock"},
		{"fieldcase", "fieldcase note add --ki", "--kind"},
		{"fieldcase", "fieldcase completion ", "bash\nfish\nzsh"},
		{"fieldcased", "fieldcased enroll", "enroll-code"},
	}
	for _, tt := range tests {
		sh := `source <("$BIN" completion bash) || exit 1
spec=$(complete -p ` + tt.bin + `) || exit 1
eval "set -- ${spec#complete }"   # -C COMMAND NAME
[ "$1" = -C ] && [ "$3" = ` + tt.bin + ` ] || { echo "bad spec: $spec"; exit 1; }
COMP_LINE="$LINE" COMP_POINT=${#LINE} "$2" ` + tt.bin + ` "${LINE##* }" | sort`
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", sh)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BIN=" + filepath.Join(binDir, tt.bin), "LINE=" + tt.line, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("completing %q: %q (%v), want %q", tt.line, out, err, tt.want)
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			needTool(t, shell)
			for _, bin := range []string{"fieldcase", "fieldcased"} {
				script, _, code := runBin(t, nil, bin, "completion", shell)
				f := filepath.Join(t.TempDir(), bin+"."+shell)
				os.WriteFile(f, []byte(script), 0o600)
				if out, err := exec.Command(shell, "-n", f).CombinedOutput(); code != 0 || err != nil {
					t.Errorf("%s -n on %s's script: exit %d, %v\n%s\n%s", shell, bin, code, err, out, script)
				}
			}
		})
	}
	if _, errOut, code := runBin(t, nil, "fieldcase", "completion", "tcsh"); code != 2 || !strings.Contains(errOut, `must be one of "bash","zsh","fish"`) {
		t.Errorf("unknown shell: exit %d %s", code, errOut)
	}
}

// The man pages, generated from the kong model, render with man(1) and
// mandoc without a warning.
func TestManPages(t *testing.T) {
	needTool(t, "man")
	for _, bin := range []string{"fieldcase", "fieldcased"} {
		page := filepath.Join(t.TempDir(), bin+".1")
		if _, errOut, code := runBin(t, nil, bin, "man", "-o", page); code != 0 {
			t.Fatalf("%s man: %s", bin, errOut)
		}
		cmd := exec.Command("man", "-l", page)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "MANWIDTH=80", "LANG=C.UTF-8", "PAGER=cat", "MANPAGER=cat"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || errb.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", bin, err, errb.String())
		}
		text := out.String()
		for _, want := range []string{"NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "Examples:", "EXIT STATUS", bin + " help"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s(1) lacks %q", bin, want)
			}
		}
		if bin == "fieldcase" && !strings.Contains(text, "--idle-lock") {
			t.Errorf("fieldcase(1) lacks the TUI's flags")
		}
		if _, err := exec.LookPath("mandoc"); err == nil {
			if out, _ := exec.Command("mandoc", "-T", "lint", "-W", "all", page).CombinedOutput(); len(out) > 0 {
				t.Errorf("mandoc -T lint %s:\n%s", bin, out)
			}
		}
		if _, err := exec.LookPath("groff"); err == nil {
			if out, _ := exec.Command("groff", "-ww", "-man", "-Tutf8", "-z", page).CombinedOutput(); len(out) > 0 {
				t.Errorf("groff -ww %s:\n%s", bin, out)
			}
		}
	}
}
