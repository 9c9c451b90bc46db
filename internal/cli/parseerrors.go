package cli

import (
	"regexp"
	"strings"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// kong's parse errors are English sentences made inside kong. The common
// ones are said again in the locale's language from their parts; one this
// table does not know stays as kong wrote it.
var parseErrors = []struct {
	re *regexp.Regexp
	id string   // the message, reading the parts as {{.A}}, {{.B}}
	of []string // the parts' names, in the order of re's groups
}{
	{regexp.MustCompile(`^unknown flag (\S+)$`), "cli.parse.unknown_flag", []string{"Flag"}},
	{regexp.MustCompile(`^unexpected argument (.+)$`), "cli.parse.unexpected_argument", []string{"Arg"}},
	{regexp.MustCompile(`^missing flags: (.+)$`), "cli.parse.missing_flags", []string{"Flags"}},
	{regexp.MustCompile(`^missing positional arguments (.+)$`), "cli.parse.missing_arguments", []string{"Args"}},
	{regexp.MustCompile(`^expected one of (.+)$`), "cli.parse.expected_one_of", []string{"Args"}},
	{regexp.MustCompile(`^expected (.+)$`), "cli.parse.expected", []string{"Arg"}},
	{regexp.MustCompile(`^(\S+): (\S+) must be one of (.+) but got (.+)$`), "cli.parse.enum", []string{"Flag", "Name", "Values", "Got"}},
	{regexp.MustCompile(`^unexpected flag argument (.+)$`), "cli.parse.unexpected_flag_argument", []string{"Arg"}},
	{regexp.MustCompile(`^(\S+): expected (\w+) value but got (.+)$`), "cli.parse.expected_value", []string{"Flag", "Kind", "Got"}},
	{regexp.MustCompile(`^--(\S+) and --(\S+) can't be used together$`), "cli.parse.xor", []string{"A", "B"}},
}

// didYouMean is kong's suggestion after an unknown flag or argument.
var didYouMean = regexp.MustCompile(`^(.*), did you mean (one of )?(.+)\?$`)

// parseError is kong's parse error msg in l's language; English is kong's
// own text.
func parseError(l *i18n.Locale, msg string) string {
	if l == nil || l.Tag() == i18n.Default {
		return msg
	}
	suggestion := ""
	if m := didYouMean.FindStringSubmatch(msg); m != nil {
		msg, suggestion = m[1], m[3]
	}
	for _, pe := range parseErrors {
		m := pe.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		var args []any
		for i, name := range pe.of {
			args = append(args, name, m[i+1])
		}
		msg = l.T(pe.id, args...) // i18n: the ids are the literals of parseErrors
		break
	}
	if suggestion != "" {
		id := "cli.parse.did_you_mean"
		if strings.Contains(suggestion, ", ") {
			id = "cli.parse.did_you_mean_one_of"
		}
		msg = l.T(id, "Message", msg, "Suggestion", suggestion) // i18n: one of the two literals above
	}
	return msg
}
