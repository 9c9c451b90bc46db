package main

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

// The prompt recommends pass.advice, which the estimator rates strong
// (four random words from a list of 20,000 common words, separated by
// spaces, come out above 60 bits).

// strength is a passphrase's estimated strength. Bits is log2 of the guesses
// zxcvbn estimates an attacker who knows common passwords, words, names,
// dates and keyboard patterns needs. A thief with the laptop can try
// guesses offline, each costing one scrypt (2^18), so the bar is higher
// than for a website's password.
type strength struct {
	Bits    float64
	Verdict string   // one of the verdicts below
	Why     weakPart // what makes it guessable, when something stands out
}

// weakPart is what makes a passphrase guessable; its words are the
// catalogue's message weakParts[part].
type weakPart int

const (
	notWeak weakPart = iota
	tooShort
	guessedQuickly
	commonPassword
	hasName
	namesGuessed
	lookAlikes
	keyboardPattern
	sequence
	dates
)

// weakParts are the message ids, spelled out so the catalogue test finds
// them; in the order of the constants.
var weakParts = [...]string{"", "strength.why.short", "strength.why.quick", "strength.why.password",
	"strength.why.name", "strength.why.names", "strength.why.l33t", "strength.why.keyboard",
	"strength.why.sequence", "strength.why.date"}

// Verdicts by estimated bits. Below minPassphraseBits the terminal prompt
// refuses the passphrase (crypto.MinPassphraseLen stays the hard floor for
// every path, scripts included).
const minPassphraseBits = 28

var verdicts = []struct {
	below   float64
	verdict string
	id      string // its name in the catalogue
}{
	{minPassphraseBits, "too weak", "strength.too_weak"},
	{40, "weak", "strength.weak"},
	{52, "fair", "strength.fair"},
	{64, "good", "strength.good"},
	{math.Inf(1), "strong", "strength.strong"},
}

// passphraseStrength rates p. userInputs are words an attacker would try
// first for this user (their name, the program's name).
func passphraseStrength(p string, userInputs []string) strength {
	if utf8.RuneCountInString(p) < crypto.MinPassphraseLen {
		return strength{Verdict: "too weak", Why: tooShort}
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
	if s.Why == notWeak && !s.Acceptable() {
		s.Why = guessedQuickly
	}
	return s
}

// Acceptable says whether the terminal prompt takes the passphrase.
func (s strength) Acceptable() bool { return s.Verdict != "too weak" }

// String is the hint shown after a new passphrase is typed, in English.
func (s strength) String() string { return s.In(i18n.English()) }

// In is the hint shown after a new passphrase is typed, in l's language.
func (s strength) In(l *i18n.Locale) string {
	verdict := s.Verdict
	for _, v := range verdicts {
		if v.verdict == s.Verdict {
			verdict = l.T(v.id) // i18n: the ids are the literals of verdicts
		}
	}
	msg := l.T("strength.line", "Verdict", verdict, "Bits", l.Number(int(s.Bits)))
	if s.Why != notWeak {
		msg = l.T("strength.line_why", "Verdict", verdict, "Bits", l.Number(int(s.Bits)), "Why", s.reason(l))
	}
	if s.Verdict != "strong" && s.Verdict != "good" {
		msg += " " + l.T("pass.advice")
	}
	return msg
}

// reason is what makes the passphrase guessable, in l's language.
func (s strength) reason(l *i18n.Locale) string {
	if s.Why == notWeak {
		return ""
	}
	return l.T(weakParts[s.Why], "Min", crypto.MinPassphraseLen) // i18n: the ids are the literals of weakParts
}

// weakness names the first guessable part zxcvbn found, by a message that
// does not repeat any of the passphrase.
func weakness(seq []*match.Match) weakPart {
	for _, m := range seq {
		switch m.Pattern {
		case "dictionary":
			switch {
			case m.DictionaryName == "passwords":
				return commonPassword // never echo any of it
			case m.DictionaryName == "user_inputs":
				return hasName
			case strings.HasSuffix(m.DictionaryName, "names"):
				return namesGuessed
			case m.L33t:
				return lookAlikes
			}
		case "spatial":
			return keyboardPattern
		case "repeat", "sequence":
			return sequence
		case "date", "regex":
			return dates
		}
	}
	return notWeak
}
