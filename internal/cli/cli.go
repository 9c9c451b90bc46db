// Package cli is the one user-facing error path and command-line skeleton
// the fieldcase binaries share: parse with kong, run the chosen command, and
// report every error as "<name>: <what went wrong>", a "hint:" line where one
// helps, and a non-zero exit — never a stack trace.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// hinted is an error with advice for the user on the next line.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// WithHint attaches advice to err.
func WithHint(err error, hint string) error { return hinted{err, hint} }

// ErrCancelled is returned by a command the user cancelled (Ctrl+C, or
// Ctrl+D at a prompt). The program says "<name>: cancelled" and exits 130,
// the status a shell reports for an interrupted command.
var ErrCancelled = errors.New("cancelled") // i18n: the sentinel; Run prints cli.cancelled

// ExitCancelled is the exit status of a cancelled command.
const ExitCancelled = 130

// ExitCode is an error that ends the program with a status and no message
// (e.g. a search that found nothing).
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) } // i18n: never shown: the status is the message

// Program is one binary's command line.
type Program struct {
	Name        string
	Description string
	Options     []kong.Option // vars, resolvers, help settings
	// Hint gives advice for errors that carry none (sentinels of the
	// packages the binary uses); nil for none.
	Hint func(error) string
	// BeforeRun, when not nil, runs after parsing and before the command;
	// its error is reported like the command's.
	BeforeRun func(*kong.Context) error
	// Locale is the language the program speaks (nil: English). Its
	// messages, and help texts through TranslateHelp, come from the one
	// catalogue, internal/i18n.
	Locale *i18n.Locale
	// Message, when not nil, says an error in the program's language in
	// place of its own (English) text: for errors made by the packages the
	// binary uses. "" keeps the error's text.
	Message func(error) string
}

// say is err as the program reports it.
func (p Program) say(err error) string {
	if p.Message != nil {
		if m := p.Message(err); m != "" {
			return m
		}
	}
	return err.Error()
}

// locale is the program's language.
func (p Program) locale() *i18n.Locale {
	if p.Locale == nil {
		return i18n.English()
	}
	return p.Locale
}

// Parser builds the kong parser for grammar (a pointer to the command
// struct) with the program's name, description and options. exit is called
// instead of os.Exit when --help or --version has printed. Tests, shell
// completion and man pages walk its Model.
func (p Program) Parser(grammar any, stdout, stderr io.Writer, exit func(int)) (*kong.Kong, error) {
	opts := append([]kong.Option{
		kong.Name(p.Name),
		kong.Description(p.Description),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
	}, p.Options...)
	return kong.New(grammar, opts...)
}

// Run parses args into grammar (a pointer to the command struct) and runs the
// chosen command's Run method with binds. It returns the exit status.
func (p Program) Run(grammar any, args []string, stdout, stderr io.Writer, binds ...any) (code int) {
	l := p.locale()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "%s: %s\n%s\n", p.Name, l.T("cli.internal_error", "Panic", fmt.Sprint(r)),
				l.T("cli.hint", "Hint", l.T("cli.internal_error_hint")))
			code = 70
		}
	}()
	exited := -1
	parser, err := p.Parser(grammar, stdout, stderr, func(c int) { exited = c })
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 70
	}
	if done, err := answerCompletion(parser); done {
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", p.Name, l.T("cli.completion_failed", "Err", err))
			return 1
		}
		return 0
	}
	kctx, err := parser.Parse(args)
	if exited >= 0 { // --help or --version printed and asked to exit
		return exited
	}
	if err != nil {
		hint := l.T("cli.usage_hint", "Name", p.Name)
		if s := suggest(parser.Model.Node, err); s != "" {
			hint = l.T("cli.did_you_mean", "Name", p.Name, "Command", s)
		}
		msg := p.say(err) // the binary's own words first (its flags' values), then kong's
		if msg == err.Error() {
			msg = parseError(l, msg)
		}
		fmt.Fprintf(stderr, "%s: %s\n%s\n", p.Name, msg, l.T("cli.hint", "Hint", hint))
		return 2
	}
	err = nil
	if p.BeforeRun != nil {
		err = p.BeforeRun(kctx)
	}
	if err == nil {
		err = kctx.Run(append(binds, l)...)
	}
	if err != nil {
		var ec ExitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		if errors.Is(err, ErrCancelled) {
			fmt.Fprintf(stderr, "%s: %s\n", p.Name, l.T("cli.cancelled"))
			return ExitCancelled
		}
		p.PrintError(stderr, err)
		return 1
	}
	return 0
}

// PrintError writes err the one way the binary reports errors.
func (p Program) PrintError(w io.Writer, err error) {
	fmt.Fprintf(w, "%s: %s\n", p.Name, strings.TrimSpace(p.say(err)))
	hint := ""
	var h hinted
	if errors.As(err, &h) {
		hint = h.hint
	}
	if hint == "" && p.Hint != nil {
		hint = p.Hint(err)
	}
	if hint != "" {
		fmt.Fprintf(w, "%s\n", p.locale().T("cli.hint", "Hint", hint))
	}
}

// suggest names the command a mistyped one was probably meant to be, for
// "unexpected argument X" at the top level (kong routes unknown words to a
// "withargs" default command, which has no suggestions to give).
func suggest(root *kong.Node, err error) string {
	word, ok := strings.CutPrefix(err.Error(), "unexpected argument ")
	if !ok || strings.ContainsAny(word, " ,") {
		return ""
	}
	best, bestDist := "", 3 // at most two edits
	for _, c := range root.Children {
		if c.Hidden {
			continue
		}
		if d := editDistance(word, c.Name); d < bestDist {
			best, bestDist = c.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
