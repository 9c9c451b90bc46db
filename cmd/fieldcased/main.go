package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fieldcase/fieldcase/internal/cli"

	"github.com/alecthomas/kong"
)

// version, commit and date are set at build time with -ldflags "-X
// main.version=…" (the Makefile does); when not, cli.BuildStamp reads what
// Go recorded of the build.
var version, commit, date string

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// CLI is fieldcased's command line.
type CLI struct {
	Data    string           `help:"Data directory: the store, TLS files and admin socket. Required; there is no default. 'init' or 'serve' creates a store in it, other commands only use one that exists." env:"FIELDCASED_DATA" placeholder:"DIR" type:"path"`
	DB      string           `name:"db" help:"PostgreSQL database URL (postgres://…); without it the store is bbolt in the data directory. Prefer the environment variable or a ~/.pgpass file to a password in the URL." env:"FIELDCASED_DB" placeholder:"URL"`
	Version kong.VersionFlag `help:"Print the version."`

	Init       InitCmd       `cmd:"" help:"Create an empty store in the data directory (or prepare the --db database)."`
	Serve      ServeCmd      `cmd:"" help:"Run the case server (creates the store on first start)."`
	Agency     AgencyCmd     `cmd:"" help:"The agency's signing identity: the root every device trusts."`
	Team       TeamCmd       `cmd:"" help:"Manage teams."`
	User       UserCmd       `cmd:"" help:"Manage users."`
	EnrollCode EnrollCodeCmd `cmd:"" name:"enroll-code" help:"Make a one-time enrolment code for a user's new device."`
	Device     DeviceCmd     `cmd:"" help:"List or revoke devices."`
	Roster     RosterCmd     `cmd:"" help:"List the signed statements the server holds, and any it does not accept."`
	Rotations  RotationsCmd  `cmd:"" help:"List the cases owing a new key epoch after a device was revoked."`
	Log        LogCmd        `cmd:"" help:"The transparency log of everything the server stored: show it, or verify it after a restore."`
	Backup     BackupCmd     `cmd:"" help:"Write a consistent snapshot of the store (restored, it has a new epoch)."`
	Restore    RestoreCmd    `cmd:"" help:"Put a backup in place as the store of an empty data directory (or, with --db, into an empty PostgreSQL database)."`
	Recovery   RecoveryCmd   `cmd:"" help:"The agency recovery identity."`
	Escrow     EscrowCmd     `cmd:"" help:"The escrow service for per-case escrow keys: run it, name it (crypto-shredding)."`
	DueRules   DueRulesCmd   `cmd:"" name:"due-rules" help:"The agency's due-date rules for dictation (signed with the agency key)."`
	Retention  RetentionCmd  `cmd:"" help:"The retention policy, legal holds and approved destructions (signed with the agency key)."`
	Policy     PolicyCmd     `cmd:"" help:"The agency's caseload-weighting policy (signed with the agency key)."`
	Migrate    MigrateCmd    `cmd:"" help:"Copy a stopped bbolt server's store into an empty PostgreSQL database, and verify the copy."`
	Export     ExportCmd     `cmd:"" help:"Decrypt cases with the agency recovery identity, offline, to Markdown, JSON and Ogg Opus audio (court orders, subject access requests, a worker who left)."`
	NewEpoch   NewEpochCmd   `cmd:"" name:"new-epoch" help:"Give a PostgreSQL store a new epoch after restoring it with PostgreSQL's own tools (devices then re-sync)."`

	HelpCmd    cli.HelpCmd       `cmd:"" name:"help" help:"Show the help of a command, e.g. 'fieldcased help user add'."`
	Completion cli.CompletionCmd `cmd:"" help:"Print a shell completion script: bash, zsh or fish (e.g. add 'source <(fieldcased completion bash)' to ~/.bashrc)."`
	Man        cli.ManCmd        `cmd:"" hidden:"" help:"Write the man page (make man)."`
}

// app is what every command runs with.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cli    *CLI
}

// dataDir is --data or $FIELDCASED_DATA. There is no default: a store made
// in whoever's home directory ran the command is one nobody backs up, and
// the server would not find it.
func (a *app) dataDir() (string, error) {
	if a.cli.Data == "" {
		return "", cli.WithHint(errors.New("no data directory given"),
			"pass --data DIR or set FIELDCASED_DATA (e.g. /var/lib/fieldcased); 'fieldcased init --data DIR' creates a new store")
	}
	return filepath.Abs(a.cli.Data)
}

// program is fieldcased's command line and its one error path.
var program = cli.Program{
	Name:        "fieldcased",
	Description: "The fieldcase case server: stores ciphertext, enforces who sees which case.",
}

// run parses args and runs one command; every error reaches the user
// through program (see internal/cli).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var grammar CLI
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, cli: &grammar}
	p := program
	p.Options = []kong.Option{kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": cli.BuildStamp(version, commit, date).Line("fieldcased")}}
	return p.Run(&grammar, args, stdout, stderr, a, manInfo())
}
