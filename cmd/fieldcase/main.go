// Command fieldcase is the caseworker's tool: a terminal UI over an
// encrypted offline vault, plus a scriptable command line for the same data.
//
// Run with no command to open the TUI; see `fieldcase --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

// version, commit and date are set at build time with -ldflags "-X
// main.version=…" (the Makefile does); when not, cli.BuildStamp reads what
// Go recorded of the build.
var version, commit, date string

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// app is what every command runs with: the I/O streams and the vault path.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	cli    *CLI
	// l is the language of this run (--lang, the settings file's lang,
	// the locale): every message to the user comes from its catalogue.
	l *i18n.Locale
	// config is the settings file, read before parsing; configErr says
	// why it could not be (reported before any command but 'config').
	config    *config
	configErr error
}

// program is fieldcase's command line and its one error path.
var program = cli.Program{
	Name:        "fieldcase",
	Description: "Case notes, consents and visits for social caseworkers: encrypted, offline first.",
	Hint:        func(err error) string { return hintFor(i18n.English(), err) },
}

// programWith is program with its kong options: help layout, variables
// interpolated into help, and where flags get their values when not given:
// the settings file (through settings, may be nil), then the environment
// getenv reads (the last resolver that answers wins).
func programWith(getenv func(string) string, settings kong.Resolver) cli.Program {
	return programIn(i18n.English(), getenv, settings)
}

// programIn is programWith speaking l: its messages, hints and help.
func programIn(l *i18n.Locale, getenv func(string) string, settings kong.Resolver) cli.Program {
	p := program
	p.Locale = l
	p.Hint = func(err error) string { return hintFor(l, err) }
	p.Message = func(err error) string { return messageFor(l, err) }
	vars := kong.Vars{"version": cli.BuildStamp(version, commit, date).Line("fieldcase"), "default_vault": defaultVaultHelp()}
	resolvers := []kong.Resolver{envResolver(getenv)}
	if settings != nil {
		resolvers = []kong.Resolver{settings, envResolver(getenv)}
	}
	p.Options = []kong.Option{
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Help(cli.HelpPrinter(l, helpPrinter)),
		kong.ExplicitGroups([]kong.Group{tuiGroup}),
		vars,
		kong.Resolvers(resolvers...),
		cli.TranslateHelp(l, vars),
		// After the translation, which replaces the flags' help.
		kong.PostBuild(markPersonalFlags(l.T("form.visible_note"))),
	}
	return p
}

// run parses args and runs one command; every error reaches the user
// through program (see internal/cli).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var grammar CLI
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, cli: &grammar}
	a.loadSettings(i18n.English())
	l, err := a.chooseLocale(args)
	if err != nil {
		program.PrintError(stderr, err)
		return 2
	}
	a.l = l
	if a.configErr != nil && l.Tag() != i18n.Default {
		a.loadSettings(l) // say what is wrong with it in the run's language
	}
	p := programIn(l, getenv, configResolver(a))
	p.BeforeRun = func(kctx *kong.Context) error {
		a.warnPersonalFlags(kctx)
		return a.checkSettings(kctx)
	}
	return p.Run(&grammar, args, stdout, stderr, a, manInfo())
}

// chooseLocale picks the run's language before the command line is parsed
// (kong's help and errors need it): --lang, else the settings file's lang,
// else the environment's locale (see i18n.Select).
func (a *app) chooseLocale(args []string) (*i18n.Locale, error) {
	flag := langFlag(args)
	setting := ""
	if a.config != nil && a.config.Lang != nil {
		setting = *a.config.Lang
	}
	l, err := i18n.Select(flag, setting, a.getenv)
	if errors.Is(err, i18n.ErrUnknownLanguage) {
		var names []string
		for _, t := range i18n.Available() {
			names = append(names, t.String())
		}
		where := "--lang"
		if flag == "" {
			where = "settings file: lang"
		}
		return nil, cli.WithHint(fmt.Errorf("%s: %w", where, err), i18n.English().T("cli.lang_hint", "Languages", strings.Join(names, ", ")))
	}
	return l, err
}

// langFlag is the value of --lang in args ("" when not given), found before
// kong parses them; what follows "--" is not a flag.
func langFlag(args []string) string {
	for i, arg := range args {
		switch {
		case arg == "--":
			return ""
		case arg == "--lang" && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(arg, "--lang="):
			return strings.TrimPrefix(arg, "--lang=")
		}
	}
	return ""
}
