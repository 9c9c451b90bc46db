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
	"syscall"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

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
}

// exitError carries a specific exit status through the error path.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run parses args and runs one command. Every error reaches the user here and
// only here: "fieldcase: <what went wrong>", a hint line where one helps,
// and a non-zero exit status. No stack trace ever reaches a user.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "fieldcase: internal error: %v\nhint: this is a bug; your data was not changed by it. Please report it.\n", r)
			code = 70
		}
	}()
	var cli CLI
	exited := -1
	parser, err := kong.New(&cli,
		kong.Name("fieldcase"),
		kong.Description("Case notes, consents and visits for social caseworkers: encrypted, offline first."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited = c }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Vars{"version": version, "default_vault": defaultVaultHelp()},
		kong.Resolvers(envResolver(getenv)),
	)
	if err != nil {
		fmt.Fprintf(stderr, "fieldcase: %v\n", err)
		return 70
	}
	kctx, err := parser.Parse(args)
	if exited >= 0 { // --help or --version printed and asked to exit
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "fieldcase: %v\nhint: run 'fieldcase --help' for usage\n", err)
		return 2
	}
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, cli: &cli}
	if err := kctx.Run(a); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		printError(stderr, err)
		return 1
	}
	return 0
}
