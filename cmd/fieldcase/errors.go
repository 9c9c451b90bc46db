package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// hinted is an error with advice for the user on the next line.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func withHint(err error, hint string) error { return hinted{err, hint} }

// printError writes err the one way fieldcase reports errors:
// "fieldcase: <what went wrong>" and, where it helps, "hint: <what to do>".
func printError(w io.Writer, err error) {
	msg := err.Error()
	hint := ""
	var h hinted
	if errors.As(err, &h) {
		hint = h.hint
	}
	if hint == "" {
		hint = hintFor(err)
	}
	fmt.Fprintf(w, "fieldcase: %s\n", strings.TrimSpace(msg))
	if hint != "" {
		fmt.Fprintf(w, "hint: %s\n", hint)
	}
}

func hintFor(err error) string {
	var le *store.LineError
	switch {
	case errors.As(err, &le):
		return "nothing from this import was saved; fix the line and run the import again"
	case errors.Is(err, store.ErrWrongPassphrase):
		return "passphrases are case-sensitive; a forgotten passphrase cannot be reset on the device"
	case errors.Is(err, store.ErrNoVault):
		return "create one with 'fieldcase init', or try 'fieldcase demo' for a vault of fictional cases"
	case errors.Is(err, store.ErrInUse):
		return "close the other fieldcase (the TUI, or a running sync) and try again"
	case errors.Is(err, store.ErrNotVault):
		return "check the --vault path or FIELDCASE_VAULT"
	case errors.Is(err, store.ErrCorrupt):
		return "the file was not changed; restore it from a backup, or sync a new vault from the server"
	case errors.Is(err, store.ErrNewerFormat):
		return "upgrade fieldcase to open this vault"
	case errors.Is(err, store.ErrDiskFull):
		return "nothing was saved; free some disk space and try again"
	case errors.Is(err, store.ErrReadOnly):
		return "nothing was saved; the vault's disk or file is read-only"
	case errors.Is(err, crypto.ErrWeakPassphrase):
		return "use four or more random words"
	case errors.Is(err, record.ErrInvalid):
		return ""
	}
	return ""
}
