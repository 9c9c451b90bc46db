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

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// CLI is fieldcased's command line.
type CLI struct {
	Data    string           `help:"Data directory (store, TLS files, admin socket)." env:"FIELDCASED_DATA" placeholder:"DIR" type:"path"`
	DB      string           `name:"db" help:"PostgreSQL database URL (postgres://…); without it the store is bbolt in the data directory. Prefer the environment variable or a ~/.pgpass file to a password in the URL." env:"FIELDCASED_DB" placeholder:"URL"`
	Version kong.VersionFlag `help:"Print the version."`

	Serve      ServeCmd      `cmd:"" help:"Run the case server."`
	Agency     AgencyCmd     `cmd:"" help:"The agency's signing identity: the root every device trusts."`
	Team       TeamCmd       `cmd:"" help:"Manage teams."`
	User       UserCmd       `cmd:"" help:"Manage users."`
	EnrollCode EnrollCodeCmd `cmd:"" name:"enroll-code" help:"Make a one-time enrolment code for a user's new device."`
	Device     DeviceCmd     `cmd:"" help:"List or revoke devices."`
	Roster     RosterCmd     `cmd:"" help:"List the signed statements the server holds, and any it does not accept."`
	Rotations  RotationsCmd  `cmd:"" help:"List the cases owing a new key epoch after a device was revoked."`
	Backup     BackupCmd     `cmd:"" help:"Write a consistent snapshot of the store (restored, it has a new epoch)."`
	Restore    RestoreCmd    `cmd:"" help:"Put a backup in place as the store of an empty data directory (or, with --db, into an empty PostgreSQL database)."`
	Recovery   RecoveryCmd   `cmd:"" help:"The agency recovery identity."`
	Migrate    MigrateCmd    `cmd:"" help:"Copy a stopped bbolt server's store into an empty PostgreSQL database, and verify the copy."`
	Export     ExportCmd     `cmd:"" help:"Decrypt cases with the agency recovery identity, offline, to Markdown, JSON and Ogg Opus audio (court orders, subject access requests, a worker who left)."`
	NewEpoch   NewEpochCmd   `cmd:"" name:"new-epoch" help:"Give a PostgreSQL store a new epoch after restoring it with PostgreSQL's own tools (devices then re-sync)."`
}

// app is what every command runs with.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cli    *CLI
}

// dataDir is --data, $FIELDCASED_DATA, or the default under the user's data
// home.
func (a *app) dataDir() (string, error) {
	if a.cli.Data != "" {
		return filepath.Abs(a.cli.Data)
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "fieldcased"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", cli.WithHint(errors.New("no data directory"), "pass --data DIR or set FIELDCASED_DATA")
	}
	return filepath.Join(home, ".local", "share", "fieldcased"), nil
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
	p.Options = []kong.Option{kong.ConfigureHelp(kong.HelpOptions{Compact: true}), kong.Vars{"version": version}}
	return p.Run(&grammar, args, stdout, stderr, a)
}
