package main

import (
	"errors"
	"fmt"
	"github.com/fieldcase/fieldcase/dictation"
	"sort"
	"strings"

	"github.com/fieldcase/fieldcase/internal/cli"
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
// the kind of record ("note") in errors; describe, when not nil, adds a few
// words to each candidate of an ambiguous prefix. It returns
// store.ErrNotFound (wrapped) when nothing matches.
func resolveID(what, input string, ids []string, describe func(id string) string) (string, error) {
	in := strings.ToUpper(strings.TrimSpace(input))
	if len(in) < minIDPrefix {
		return "", cli.WithHint(fmt.Errorf("%s id %q is too short", what, input),
			fmt.Sprintf("give at least %d characters of the id, as lists show it", minIDPrefix))
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
		return "", idNotFound{what, input}
	case 1:
		return found[0], nil
	}
	sort.Strings(found)
	var b strings.Builder
	fmt.Fprintf(&b, "%s id %q is ambiguous: %d %ss start with it:", what, input, len(found), what)
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
		fmt.Fprintf(&b, "\n  … and %d more", len(found)-show)
	}
	return "", cli.WithHint(fmt.Errorf("%s", b.String()), "give more characters of the id")
}

// idNotFound is resolveID's error when no record matches; it is
// store.ErrNotFound to errors.Is.
type idNotFound struct{ what, input string }

func (e idNotFound) Error() string        { return fmt.Sprintf("no %s %q", e.what, e.input) }
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
	id, err := recordingID(v, input)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	r, err := dictation.Open(v, id)
	if err != nil {
		v.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, cli.WithHint(fmt.Errorf("no recording %q", input), "list recordings with 'fieldcase recording list --case REF'")
		}
		return nil, nil, err
	}
	return v, r, nil
}

func recordingID(v *store.Vault, input string) (string, error) {
	ids, err := allRecordingIDs(v)
	if err != nil {
		return "", err
	}
	id, err := resolveID("recording", input, ids, nil)
	if errors.Is(err, store.ErrNotFound) {
		return "", cli.WithHint(err, "list recordings with 'fieldcase recording list --case REF'")
	}
	return id, err
}
