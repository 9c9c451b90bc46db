package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"unicode"

	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
)

var errNoPassphrase = errors.New("no passphrase given")

// passphraseFromEnv reads FIELDCASE_PASSPHRASE_FILE (like restic's
// RESTIC_PASSWORD_FILE) or FIELDCASE_PASSPHRASE. ok is false when neither is
// set.
func (a *app) passphraseFromEnv() (pass string, ok bool, err error) {
	if f := a.getenv("FIELDCASE_PASSPHRASE_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", true, fmt.Errorf("reading FIELDCASE_PASSPHRASE_FILE: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	}
	if p := a.getenv("FIELDCASE_PASSPHRASE"); p != "" {
		return p, true, nil
	}
	return "", false, nil
}

// tty opens the controlling terminal for prompts, so they work even when
// stdin or stdout is redirected.
func openTTY() (*os.File, error) {
	return os.OpenFile("/dev/tty", os.O_RDWR, 0)
}

func promptHidden(tty *os.File, prompt string) (string, error) {
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		// Not a terminal after all (e.g. /dev/tty exists but is not usable).
		line, rerr := bufio.NewReader(tty).ReadString('\n')
		if rerr != nil {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	return string(b), nil
}

// unlock opens and unlocks the vault, asking for the passphrase on the
// terminal (three tries) when the environment does not give one.
func (a *app) unlock(program string) (*store.Vault, error) {
	v, err := store.Open(a.vaultPath(), store.Options{Program: program})
	if err != nil {
		return nil, err
	}
	pass, ok, err := a.passphraseFromEnv()
	if err != nil {
		v.Close()
		return nil, err
	}
	if ok {
		if err := v.Unlock(pass); err != nil {
			v.Close()
			return nil, err
		}
		return v, nil
	}
	tty, err := openTTY()
	if err != nil {
		v.Close()
		return nil, cli.WithHint(errNoPassphrase, "set FIELDCASE_PASSPHRASE_FILE (or FIELDCASE_PASSPHRASE), or run in a terminal")
	}
	defer tty.Close()
	for try := 1; ; try++ {
		pass, err := promptHidden(tty, fmt.Sprintf("Passphrase for %s: ", v.Name()))
		if err != nil {
			v.Close()
			return nil, err
		}
		err = v.Unlock(pass)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, store.ErrWrongPassphrase) || try == 3 {
			v.Close()
			return nil, err
		}
		fmt.Fprintln(tty, "Wrong passphrase; try again.")
	}
}

// newPassphrase gets a passphrase for a new vault: from the environment, or
// asked twice on the terminal with a strength hint.
func (a *app) newPassphrase() (string, error) {
	pass, ok, err := a.passphraseFromEnv()
	if err != nil || ok {
		return pass, err
	}
	tty, err := openTTY()
	if err != nil {
		return "", cli.WithHint(errNoPassphrase, "set FIELDCASE_PASSPHRASE_FILE (or FIELDCASE_PASSPHRASE), or run in a terminal")
	}
	defer tty.Close()
	fmt.Fprintln(tty, "Choose a passphrase. Four or more random words are strong and easy to type.")
	for {
		p1, err := promptHidden(tty, "New passphrase: ")
		if err != nil {
			return "", err
		}
		fmt.Fprintln(tty, strengthHint(p1))
		p2, err := promptHidden(tty, "Repeat passphrase: ")
		if err != nil {
			return "", err
		}
		if p1 == p2 {
			return p1, nil
		}
		fmt.Fprintln(tty, "The two passphrases differ; try again.")
	}
}

// strengthHint is a rough, honest estimate: length times the alphabet the
// characters are drawn from, discounted for repeats and whole dictionary-ish
// words. It is a hint, not a guarantee.
func strengthHint(p string) string {
	bits := estimateBits(p)
	var verdict string
	switch {
	case bits < 40:
		verdict = "weak"
	case bits < 60:
		verdict = "fair"
	case bits < 80:
		verdict = "good"
	default:
		verdict = "strong"
	}
	return fmt.Sprintf("Strength: %s (about %d bits).", verdict, int(bits))
}

func estimateBits(p string) float64 {
	var lower, upper, digit, other bool
	seen := map[rune]int{}
	n := 0
	for _, r := range p {
		n++
		seen[r]++
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	alphabet := 0
	for _, c := range []struct {
		has  bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 20}} {
		if c.has {
			alphabet += c.size
		}
	}
	if alphabet == 0 {
		return 0
	}
	// Distinct characters bound what repeats can add.
	effective := math.Min(float64(n), float64(len(seen))*1.5)
	// Words: a passphrase of w words from a common vocabulary is worth about
	// 11 bits a word; use that when it is lower than the character estimate.
	bits := effective * math.Log2(float64(alphabet))
	if w := len(strings.Fields(p)); w >= 2 {
		bits = math.Min(bits, float64(w)*11+8)
	}
	return bits
}
