// Command fieldcase-verify checks a court bundle made by fieldcase
// ('fieldcase bundle', 'fieldcased export --bundle') from its files alone:
// no vault, no case server, no network, no passphrase — and no cgo, so it
// builds anywhere Go does (CGO_ENABLED=0 go build ./cmd/fieldcase-verify).
//
// It reports every check and names each file, record or page that fails;
// it exits 0 when the bundle verifies, 1 when it does not (or cannot be
// read), 2 for a command line it does not understand. The format it checks
// is docs/BUNDLE.md.
//
// It depends on the standard library, the packages that define what it
// checks (bundle, record, trust, transparency) and their own dependencies,
// and nothing else — no command-line framework — so that whoever has to
// trust it can read all of it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/fieldcase/fieldcase/bundle"
)

// version is set at build time with -ldflags "-X main.version=…".
var version string

const usage = `usage: fieldcase-verify [--require-log] [--json] FOLDER

Check a fieldcase court bundle from its files alone: every file's SHA-256,
every revision's id and signature, the agency's signed statements that
prove each signing laptop, the case server's log (checkpoint, inclusion
proofs, receipts), the access events' chains, and that the PDF shows
exactly the signed records on the pages the manifest names.

Exit status: 0 the bundle verifies; 1 it does not, or cannot be read;
2 the command line is wrong.

  --require-log  fail, rather than note, a revision without log evidence
  --json         print the report as JSON
  --version      print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fieldcase-verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	requireLog := fs.Bool("require-log", false, "")
	asJSON := fs.Bool("json", false, "")
	showVersion := fs.Bool("version", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "fieldcase-verify: %v\nhint: run 'fieldcase-verify --help' for usage\n", err)
		return 2
	}
	switch {
	case *help:
		fmt.Fprint(stdout, usage)
		return 0
	case *showVersion:
		fmt.Fprintf(stdout, "fieldcase-verify %s\n", buildVersion())
		return 0
	case fs.NArg() != 1:
		fmt.Fprintf(stderr, "fieldcase-verify: name one bundle folder\nhint: run 'fieldcase-verify --help' for usage\n")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Check(ctx, stdout, fs.Arg(0), bundle.VerifyOptions{RequireLog: *requireLog}, *asJSON); err != nil {
		fmt.Fprintf(stderr, "fieldcase-verify: %v\n", err)
		if h := hintOf(err); h != "" {
			fmt.Fprintf(stderr, "hint: %s\n", h)
		}
		return 1
	}
	return 0
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// hinted is an error with advice on the next line, as the other fieldcase
// binaries give it.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func hintOf(err error) string {
	var h hinted
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// ErrNotVerified means the bundle was read and does not verify.
var ErrNotVerified = errors.New("the bundle does not verify")

// Check verifies dir and prints the report to w; it fails when the bundle
// does not verify. 'fieldcase verify-bundle' runs the same.
func Check(ctx context.Context, w io.Writer, dir string, opt bundle.VerifyOptions, asJSON bool) error {
	rep, err := bundle.Verify(ctx, dir, opt)
	if errors.Is(err, os.ErrNotExist) {
		return hinted{fmt.Errorf("no bundle at %s", dir), "name the folder that holds manifest.json"}
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(w, dir); err != nil {
		return err
	}
	if !rep.OK() {
		return hinted{fmt.Errorf("%w: %d problem(s)", ErrNotVerified, len(rep.Problems)),
			"each FAIL line names the file, record or page that fails and why; a bundle changed after it was made proves nothing"}
	}
	return nil
}
