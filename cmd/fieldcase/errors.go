package main

import (
	"errors"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// hintFor gives advice for the errors of the packages fieldcase uses.
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
