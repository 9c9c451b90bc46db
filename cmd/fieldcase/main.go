// Command fieldcase is the caseworker's tool: a terminal UI over an
// encrypted offline vault, plus a scriptable command line for the same data.
//
// Run with no command to open the TUI; see `fieldcase --help`.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
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
	// config is the settings file, read before parsing; configErr says
	// why it could not be (reported before any command but 'config').
	config    *config
	configErr error
}

// program is fieldcase's command line and its one error path.
var program = cli.Program{
	Name:        "fieldcase",
	Description: "Case notes, consents and visits for social caseworkers: encrypted, offline first.",
	Hint:        hintFor,
}

// programWith is program with its kong options: help layout, variables
// interpolated into help, and where flags get their values when not given:
// the settings file (through settings, may be nil), then the environment
// getenv reads (the last resolver that answers wins).
func programWith(getenv func(string) string, settings kong.Resolver) cli.Program {
	p := program
	resolvers := []kong.Resolver{envResolver(getenv)}
	if settings != nil {
		resolvers = []kong.Resolver{settings, envResolver(getenv)}
	}
	p.Options = []kong.Option{
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Help(helpPrinter),
		kong.ExplicitGroups([]kong.Group{tuiGroup}),
		kong.Vars{"version": cli.BuildStamp(version, commit, date).Line("fieldcase"), "default_vault": defaultVaultHelp()},
		kong.Resolvers(resolvers...),
		kong.PostBuild(markPersonalFlags),
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
	a.loadSettings()
	p := programWith(getenv, configResolver(a))
	p.BeforeRun = func(kctx *kong.Context) error {
		a.warnPersonalFlags(kctx)
		return a.checkSettings(kctx)
	}
	return p.Run(&grammar, args, stdout, stderr, a, manInfo())
}
