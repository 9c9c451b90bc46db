package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
)

// passphraseFromEnv reads FIELDCASE_PASSPHRASE_FILE (like restic's
// RESTIC_PASSWORD_FILE) or FIELDCASE_PASSPHRASE. ok is false when neither is
// set.
func (a *app) passphraseFromEnv() (pass string, ok bool, err error) {
	if f := a.getenv("FIELDCASE_PASSPHRASE_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", true, fmt.Errorf("%s: %w", a.l.T("pass.reading_file"), err)
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

// promptHidden asks for a passphrase on tty without echoing it. Ctrl+C, and
// Ctrl+D on an empty line, cancel at once with cli.ErrCancelled, as does a
// SIGINT from elsewhere (it cancels a.ctx); the terminal is restored either
// way.
func (a *app) promptHidden(tty *os.File, prompt string) (string, error) {
	fd := int(tty.Fd())
	fmt.Fprint(tty, prompt)
	if !term.IsTerminal(fd) {
		// /dev/tty opened but is not a terminal: read a plain line.
		line, err := bufio.NewReader(tty).ReadString('\n')
		fmt.Fprintln(tty)
		if err != nil && line == "" {
			if errors.Is(err, io.EOF) {
				return "", cli.ErrCancelled
			}
			return "", fmt.Errorf("%s: %w", a.l.T("pass.reading"), err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	// Raw mode, not term.ReadPassword: that leaves Ctrl+C to a SIGINT which
	// main catches (so the read goes on), and reads past Ctrl+D. Here the
	// keys arrive as bytes and readSecretLine decides.
	state, err := term.MakeRaw(fd)
	if err != nil {
		return "", fmt.Errorf("%s: %w", a.l.T("pass.reading"), err)
	}
	type result struct {
		pass string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, err := readSecretLine(tty)
		done <- result{p, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-a.ctx.Done(): // a signal: the reader is left blocked; the process is ending
		r.err = cli.ErrCancelled
	}
	term.Restore(fd, state)
	fmt.Fprintln(tty)
	if r.err != nil && !errors.Is(r.err, cli.ErrCancelled) {
		r.err = fmt.Errorf("%s: %w", a.l.T("pass.reading"), r.err)
	}
	return r.pass, r.err
}

// Control characters a raw terminal sends.
const (
	keyCtrlC     = 0x03
	keyCtrlD     = 0x04
	keyBackspace = 0x08
	keyCtrlU     = 0x15
	keyDelete    = 0x7f
)

// readSecretLine reads one line typed on a terminal in raw mode: Enter ends
// it, Backspace deletes a character, Ctrl+U the whole line; Ctrl+C, or
// Ctrl+D on an empty line, cancels with cli.ErrCancelled. Other control
// characters are ignored.
func readSecretLine(r io.Reader) (string, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 0 {
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				return "", cli.ErrCancelled
			}
			return "", err // promptHidden says what was being read
		}
		switch c := b[0]; {
		case c == '\r' || c == '\n':
			return string(line), nil
		case c == keyCtrlC:
			return "", cli.ErrCancelled
		case c == keyCtrlD:
			if len(line) == 0 {
				return "", cli.ErrCancelled
			}
		case c == keyBackspace || c == keyDelete:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
			}
		case c == keyCtrlU:
			line = line[:0]
		case c >= 0x20: // printable, and the bytes of UTF-8 characters
			line = append(line, c)
		}
	}
}

// unlock opens and unlocks the vault, asking for the passphrase on the
// terminal (three tries) when the environment does not give one.
func (a *app) unlock(program string) (*store.Vault, error) {
	v, err := store.Open(a.vaultPath(), store.Options{Program: program})
	if err != nil {
		return nil, err
	}
	if a.unlockFromAgent(v) {
		return v, nil
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
		return nil, cli.WithHint(a.l.Error("pass.none"), a.l.T("pass.none_hint"))
	}
	defer tty.Close()
	for try := 1; ; try++ {
		pass, err := a.promptHidden(tty, a.l.T("pass.prompt", "Vault", v.Name())+" ")
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
		fmt.Fprintln(tty, a.l.T("pass.wrong_try_again"))
	}
}

// newPassphrase gets a passphrase for a new vault: from the environment, or
// asked twice on the terminal with a strength hint. On the terminal a
// passphrase the estimator rates too weak is refused; userInputs are words
// an attacker would try first (the user's name).
func (a *app) newPassphrase(userInputs ...string) (string, error) {
	pass, ok, err := a.passphraseFromEnv()
	if err != nil || ok {
		return pass, err
	}
	tty, err := openTTY()
	if err != nil {
		return "", cli.WithHint(a.l.Error("pass.none"), a.l.T("pass.none_hint"))
	}
	defer tty.Close()
	userInputs = append(userInputs, "fieldcase")
	fmt.Fprintln(tty, a.l.T("pass.choose", "Advice", a.l.T("pass.advice")))
	for {
		p1, err := a.promptHidden(tty, a.l.T("pass.new")+" ")
		if err != nil {
			return "", err
		}
		st := passphraseStrength(p1, userInputs)
		if !st.Acceptable() {
			fmt.Fprintln(tty, a.l.T("pass.too_easy", "Why", st.reason(a.l)))
			continue
		}
		fmt.Fprintln(tty, st.In(a.l))
		p2, err := a.promptHidden(tty, a.l.T("pass.repeat")+" ")
		if err != nil {
			return "", err
		}
		if p1 == p2 {
			return p1, nil
		}
		fmt.Fprintln(tty, a.l.T("pass.differ"))
	}
}
