package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// Examples formats example command lines for a command's Help method: kong
// shows them under the command's --help, and the man page in its entry.
func Examples(lines ...string) string {
	var b strings.Builder
	b.WriteString("Examples:\n")
	for _, l := range lines {
		b.WriteString("\n    " + l)
	}
	return b.String()
}

// HelpCmd is 'help [command...]': the same help as --help.
type HelpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to explain, e.g. 'case add' (default: the whole program)."`
}

func (c *HelpCmd) Run(kctx *kong.Context, l *i18n.Locale) error {
	hctx, err := kong.Trace(kctx.Kong, append(append([]string{}, c.Command...), "--help"))
	if err == nil {
		err = hctx.Error
	}
	if err != nil {
		return WithHint(l.Error("cli.no_command", "Command", strconv.Quote(strings.Join(c.Command, " "))),
			l.T("cli.no_command_hint", "Name", kctx.Model.Name))
	}
	return hctx.PrintUsage(false)
}

// CompletionCmd prints a script that makes the shell complete the
// program's commands and flags. The shell then asks the program itself
// (with COMP_LINE set; Program.Run answers), so completion never goes
// stale.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

var completionScripts = map[string]string{
	"bash": "complete -C %[2]s %[1]s\n",
	"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -o nospace -C %[2]s %[1]s\n",
	"fish": `function __complete_%[1]s
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %[2]s
end
complete -f -c %[1]s -a "(__complete_%[1]s)"
`,
}

func (c *CompletionCmd) Run(kctx *kong.Context) error {
	name := kctx.Model.Name
	_, err := fmt.Fprintf(kctx.Stdout, completionScripts[c.Shell], name, shellQuote(completer(name)))
	return err
}

// completer is how the shell should run the program to complete: its name
// when that finds this very binary on PATH (packaged installs), else its
// absolute path.
func completer(name string) string {
	self, err := os.Executable()
	if err != nil {
		return name
	}
	self, _ = filepath.EvalSymlinks(self)
	if found, err := exec.LookPath(name); err == nil {
		if found, err = filepath.EvalSymlinks(found); err == nil && found == self {
			return name
		}
	}
	return self
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// answerCompletion answers the shell's completion request (COMP_LINE is
// set, see CompletionCmd) and reports whether it did. kongplete turns the
// kong model into posener/complete's; the flags of a hidden default
// command (fieldcase's TUI) are offered at the top level, where they are
// given.
func answerCompletion(parser *kong.Kong) (bool, error) {
	if os.Getenv("COMP_LINE") == "" {
		return false, nil
	}
	cmd, err := kongplete.Command(parser)
	if err != nil {
		return true, err
	}
	if def := parser.Model.DefaultCmd; def != nil {
		for _, f := range def.Flags {
			if f.Hidden {
				continue
			}
			var p complete.Predictor = complete.PredictAnything
			if f.Value.IsBool() {
				p = complete.PredictNothing
			}
			cmd.GlobalFlags["--"+f.Name] = p
		}
	}
	c := complete.New(parser.Model.Name, cmd)
	c.Out = parser.Stdout
	return c.Complete(), nil
}
