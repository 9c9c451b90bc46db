package main

import (
	"errors"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// hintFor gives advice, in l's language, for the errors of the packages
// fieldcase uses.
func hintFor(l *i18n.Locale, err error) string {
	var le *store.LineError
	switch {
	case errors.As(err, &le):
		return l.T("hint.line_error")
	case errors.Is(err, store.ErrWrongPassphrase):
		return l.T("hint.wrong_passphrase")
	case errors.Is(err, store.ErrNoVault):
		return l.T("hint.no_vault")
	case errors.Is(err, store.ErrInUse):
		return l.T("hint.in_use")
	case errors.Is(err, store.ErrNotVault):
		return l.T("hint.not_vault")
	case errors.Is(err, store.ErrCorrupt):
		return l.T("hint.corrupt")
	case errors.Is(err, store.ErrNewerFormat):
		return l.T("hint.newer_format")
	case errors.Is(err, store.ErrDiskFull):
		return l.T("hint.disk_full")
	case errors.Is(err, store.ErrReadOnly):
		return l.T("hint.read_only")
	case errors.Is(err, crypto.ErrWeakPassphrase):
		return l.T("hint.weak_passphrase")
	case errors.Is(err, record.ErrInvalid):
		return ""
	}
	return ""
}
