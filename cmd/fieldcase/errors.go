package main

import (
	"errors"
	"strings"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// sentinels are the errors of other packages that reach the user often
// enough to be said in the user's language, with their messages.
var sentinels = []struct {
	err error
	id  string
}{
	{crypto.ErrWrongPassphrase, "err.wrong_passphrase"},
	{crypto.ErrWeakPassphrase, "err.weak_passphrase"},
	{store.ErrNoVault, "err.no_vault"},
	{store.ErrNotVault, "err.not_vault"},
	{store.ErrCorrupt, "err.corrupt"},
	{store.ErrInUse, "err.in_use"},
	{store.ErrExists, "err.exists"},
	{store.ErrLocked, "err.locked"},
	{store.ErrNotFound, "err.not_found"},
	{store.ErrNoKey, "err.no_key"},
	{store.ErrConflict, "err.conflict"},
	{store.ErrNewerFormat, "err.newer_format"},
	{store.ErrDiskFull, "err.disk_full"},
	{store.ErrReadOnly, "err.read_only"},
	{store.ErrNotAllowed, "err.not_allowed"},
	{store.ErrNotEnrolled, "err.not_enrolled"},
	{store.ErrReassigned, "err.reassigned"},
	{store.ErrDamaged, "err.damaged"},
	{record.ErrInvalid, "err.invalid"},
	{dictation.ErrNoRecogniser, "err.no_recogniser"},
	{dictation.ErrBusy, "err.busy"},
	{pedal.ErrNoDevice, "err.no_pedal"},
	{demo.ErrNothingHeld, "err.nothing_held"},
	{errNoSettingsFile, "config.no_home"},
}

// catalogueError is an error made where the run's language is not known
// (a flag's value parsed by kong): English as an error, said in the
// user's language by messageFor.
type catalogueError struct {
	id   string
	args []any
}

func (e catalogueError) Error() string { return i18n.English().T(e.id, e.args...) } // i18n: the id it was made with

// messageFor says err in l's language where it holds an error of another
// package that sentinels names: that sentinel's words are replaced by the
// catalogue's, the rest (a path, a record's id, the detail after it) kept.
// "" for English, and for an error it knows nothing of (its own text then).
func messageFor(l *i18n.Locale, err error) string {
	if l == nil || l.Tag() == i18n.Default {
		return ""
	}
	msg := err.Error()
	changed := false
	var ce catalogueError
	if errors.As(err, &ce) && strings.Contains(msg, ce.Error()) {
		msg = strings.Replace(msg, ce.Error(), l.T(ce.id, ce.args...), 1) // i18n: the id a catalogueError was made with
		changed = true
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) && strings.Contains(msg, s.err.Error()) {
			msg = strings.Replace(msg, s.err.Error(), l.T(s.id, "Min", crypto.MinPassphraseLen), 1) // i18n: the ids are the literals of sentinels
			changed = true
		}
	}
	if !changed {
		return ""
	}
	return msg
}

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
