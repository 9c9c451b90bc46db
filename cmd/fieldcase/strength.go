package main

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/fieldcase/fieldcase/crypto"
)

// passphraseAdvice is what the prompt recommends; the estimator rates it
// strong (four random words from a list of 20,000 common words, separated
// by spaces, come out above 60 bits).
const passphraseAdvice = "Four or more random words, separated by spaces, are strong and easy to type."

// strength is a passphrase's estimated strength. Bits is log2 of the guesses
// zxcvbn estimates an attacker who knows common passwords, words, names,
// dates and keyboard patterns needs. A thief with the laptop can try
// guesses offline, each costing one scrypt (2^18), so the bar is higher
// than for a website's password.
type strength struct {
	Bits    float64
	Verdict string // one of the verdicts below
	Why     string // what makes it guessable, when something stands out
}

// Verdicts by estimated bits. Below minPassphraseBits the terminal prompt
// refuses the passphrase (crypto.MinPassphraseLen stays the hard floor for
// every path, scripts included).
const minPassphraseBits = 28

var verdicts = []struct {
	below   float64
	verdict string
}{
	{minPassphraseBits, "too weak"},
	{40, "weak"},
	{52, "fair"},
	{64, "good"},
	{math.Inf(1), "strong"},
}

// passphraseStrength rates p. userInputs are words an attacker would try
// first for this user (their name, the program's name).
func passphraseStrength(p string, userInputs []string) strength {
	if utf8.RuneCountInString(p) < crypto.MinPassphraseLen {
		return strength{Verdict: "too weak", Why: fmt.Sprintf("it is shorter than %d characters", crypto.MinPassphraseLen)}
	}
	var inputs []string
	for _, in := range userInputs {
		inputs = append(inputs, strings.Fields(strings.ToLower(in))...)
	}
	r := zxcvbn.PasswordStrength(p, inputs)
	s := strength{Bits: math.Log2(max(r.Guesses, 1))}
	for _, v := range verdicts {
		if s.Bits < v.below {
			s.Verdict = v.verdict
			break
		}
	}
	if s.Bits < 52 {
		s.Why = weakness(r.Sequence)
	}
	if s.Why == "" && !s.Acceptable() {
		s.Why = "a computer would guess it quickly"
	}
	return s
}

// Acceptable says whether the terminal prompt takes the passphrase.
func (s strength) Acceptable() bool { return s.Verdict != "too weak" }

// String is the hint shown after a new passphrase is typed.
func (s strength) String() string {
	msg := fmt.Sprintf("Strength: %s (about %d bits)", s.Verdict, int(s.Bits))
	if s.Why != "" {
		msg += ": " + s.Why
	}
	msg += "."
	if s.Verdict != "strong" && s.Verdict != "good" {
		msg += " " + passphraseAdvice
	}
	return msg
}

// weakness names the first guessable part zxcvbn found, in words, without
// repeating any of the passphrase.
func weakness(seq []*match.Match) string {
	for _, m := range seq {
		switch m.Pattern {
		case "dictionary":
			switch {
			case m.DictionaryName == "passwords":
				return "it is built on a commonly used password" // never echo any of it
			case m.DictionaryName == "user_inputs":
				return "it contains your name or the program's name"
			case strings.HasSuffix(m.DictionaryName, "names"):
				return "names are easy to guess"
			case m.L33t:
				return "swapping letters for look-alike symbols (@ for a) does not help much"
			}
		case "spatial":
			return "keyboard patterns are easy to guess"
		case "repeat", "sequence":
			return "repeats and sequences (aaa, abc, 123) are easy to guess"
		case "date", "regex":
			return "years and dates are easy to guess"
		}
	}
	return ""
}
