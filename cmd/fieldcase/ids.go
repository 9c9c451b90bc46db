package main

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/store"
)

// Records are addressed by 26-character ULIDs. Like git's object names, a
// unique prefix of at least minIDPrefix characters will do, and lists show
// them shortened to abbrevLen, lengthened until they tell every record of
// their kind apart.
const (
	minIDPrefix = 4
	abbrevLen   = 8
	ulidLen     = 26
)

// abbrevLength is the shortest length, at least abbrevLen, at which the
// prefixes of ids are all different.
func abbrevLength(ids []string) int {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	n := abbrevLen
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		common := 0
		for common < len(a) && common < len(b) && a[common] == b[common] {
			common++
		}
		n = max(n, common+1)
	}
	return n
}

// abbrev shortens id to n characters.
func abbrev(id string, n int) string {
	if len(id) <= n {
		return id
	}
	return id[:n]
}

// resolveID finds the one id among ids that input names: the whole id or
// a prefix of at least minIDPrefix characters, in either case. what names
// the kind of record ("note", "task", "recording") in errors, which are in
// l's language; describe, when not nil, adds a few words to each candidate
// of an ambiguous prefix. It returns store.ErrNotFound (wrapped) when
// nothing matches.
func resolveID(l *i18n.Locale, what, input string, ids []string, describe func(id string) string) (string, error) {
	one, many := recordKind(l, what)
	in := strings.ToUpper(strings.TrimSpace(input))
	if len(in) < minIDPrefix {
		return "", cli.WithHint(l.Error("ids.too_short", "What", one, "Input", strconv.Quote(input)),
			l.T("ids.too_short_hint", "Min", minIDPrefix))
	}
	var found []string
	for _, id := range ids {
		if id == in {
			return id, nil
		}
		if strings.HasPrefix(id, in) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", idNotFound{l.T("ids.none", "What", one, "Input", strconv.Quote(input))}
	case 1:
		return found[0], nil
	}
	sort.Strings(found)
	var b strings.Builder
	b.WriteString(l.T("ids.ambiguous", "What", one, "Input", strconv.Quote(input), "N", len(found), "Whats", many))
	const show = 10
	for _, id := range found[:min(show, len(found))] {
		b.WriteString("\n  " + id)
		if describe != nil {
			if d := describe(id); d != "" {
				b.WriteString("  " + d)
			}
		}
	}
	if len(found) > show {
		b.WriteString("\n  " + l.T("ids.more", "N", len(found)-show))
	}
	return "", cli.WithHint(errors.New(b.String()), l.T("ids.more_hint")) // i18n: made of the catalogue's messages above
}

// recordKind names a kind of record, one and many, in l's language.
func recordKind(l *i18n.Locale, what string) (one, many string) {
	switch what {
	case "note":
		return l.T("ids.note"), l.T("ids.notes")
	case "task":
		return l.T("ids.task"), l.T("ids.tasks")
	case "recording":
		return l.T("ids.recording"), l.T("ids.recordings")
	}
	return what, what
}

// idNotFound is resolveID's error when no record matches; it is
// store.ErrNotFound to errors.Is.
type idNotFound struct{ msg string }

func (e idNotFound) Error() string        { return e.msg }
func (e idNotFound) Is(target error) bool { return target == store.ErrNotFound }

// allNoteIDs lists the id of every note in the vault (notes loaded).
func allNoteIDs(v *store.Vault) ([]string, error) {
	cases, err := v.Cases()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cases {
		notes, err := v.Notes(c.ID)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			ids = append(ids, n.ID)
		}
	}
	return ids, nil
}

// allRecordingIDs lists the id of every recording in the vault.
func allRecordingIDs(v *store.Vault) ([]string, error) {
	cases, err := v.Cases()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range cases {
		recs, err := v.Recordings(c.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// recordingID resolves a recording id or prefix given on the command line.
// openRecording unlocks the vault (as program) and opens the recording
// input names (an id or a unique prefix). The caller closes the vault.
func (a *app) openRecording(program, input string) (*store.Vault, *dictation.Recording, error) {
	v, err := a.unlock(program)
	if err != nil {
		return nil, nil, err
	}
	id, err := recordingID(a.l, v, input)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	r, err := dictation.Open(v, id)
	if err != nil {
		v.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, cli.WithHint(a.l.Error("ids.none", "What", a.l.T("ids.recording"), "Input", strconv.Quote(input)), a.l.T("ids.recording_hint"))
		}
		return nil, nil, err
	}
	return v, r, nil
}

func recordingID(l *i18n.Locale, v *store.Vault, input string) (string, error) {
	ids, err := allRecordingIDs(v)
	if err != nil {
		return "", err
	}
	id, err := resolveID(l, "recording", input, ids, nil)
	if errors.Is(err, store.ErrNotFound) {
		return "", cli.WithHint(err, l.T("ids.recording_hint"))
	}
	return id, err
}
