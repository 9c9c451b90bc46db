package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed locales/*.toml
var files embed.FS

// Default is the language of a run that names none, and of the code's own
// wording: its catalogue is the reference the others are checked against.
var Default = language.English

// bundle holds every catalogue; built once (the files are part of the
// binary, so a broken one is a bug the tests catch, not a user's error).
var bundle, tags, bundleErr = load()

func load() (*goi18n.Bundle, []language.Tag, error) {
	b := goi18n.NewBundle(Default)
	b.RegisterUnmarshalFunc("toml", tomlUnmarshal)
	names, err := fs.Glob(files, "locales/*.toml")
	if err != nil {
		return nil, nil, err
	}
	var ts []language.Tag
	for _, name := range names {
		raw, err := files.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		mf, err := b.ParseMessageFileBytes(raw, path.Base(name))
		if err != nil {
			return nil, nil, fmt.Errorf("catalogue %s: %w", name, err) // i18n: a broken build, for its developers
		}
		if !slices.Contains(ts, mf.Tag) { // a language may span files: cy.toml, tui.cy.toml
			ts = append(ts, mf.Tag)
		}
	}
	return b, ts, nil
}

// Available lists the languages fieldcase has a catalogue for, English
// first.
func Available() []language.Tag {
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b language.Tag) int {
		switch {
		case a == Default:
			return -1
		case b == Default:
			return 1
		}
		return strings.Compare(a.String(), b.String())
	})
	return out
}

// ErrUnknownLanguage is a language asked for by name (--lang, the settings
// file) that fieldcase has no catalogue for.
var ErrUnknownLanguage = errors.New("no messages in that language") // i18n: said in English: there is no catalogue for the language asked for

// Locale is one language's messages and formats. The zero value is not
// usable; make one with New or Select.
type Locale struct {
	tag     language.Tag // the catalogue's language
	region  language.Region
	loc     *goi18n.Localizer
	printer *message.Printer
}

// New returns the locale for a language tag or POSIX locale name ("cy",
// "cy-GB", "cy_GB.UTF-8"); ErrUnknownLanguage when there is no catalogue
// for its language.
func New(name string) (*Locale, error) {
	if bundleErr != nil {
		return nil, bundleErr
	}
	t, err := parse(name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, ErrUnknownLanguage)
	}
	base, _ := t.Base()
	for _, have := range tags {
		if hb, _ := have.Base(); hb == base {
			region, conf := t.Region()
			if conf != language.Exact {
				// Not named (cy, en): the language's own week, not
				// the region x/text guesses for it (en → US).
				region = language.Region{}
			}
			return &Locale{tag: have, region: region, loc: goi18n.NewLocalizer(bundle, have.String()),
				printer: message.NewPrinter(t)}, nil
		}
	}
	return nil, fmt.Errorf("%q: %w", name, ErrUnknownLanguage)
}

// English is the default locale; it cannot fail while the catalogues load
// (a test makes sure they do).
func English() *Locale {
	l, err := New(Default.String())
	if err != nil {
		// The embedded catalogues are broken: a build that cannot pass
		// its tests. Say the ids rather than crash.
		return &Locale{tag: Default}
	}
	return l
}

// parse reads a BCP 47 tag or a POSIX locale name
// (language[_territory][.codeset][@modifier]).
func parse(name string) (language.Tag, error) {
	name = strings.TrimSpace(name)
	if i := strings.IndexAny(name, ".@"); i >= 0 {
		name = name[:i]
	}
	if name == "" || name == "C" || name == "POSIX" {
		return language.Und, errors.New("no language") // i18n: never shown (New wraps it as ErrUnknownLanguage)
	}
	return language.Parse(strings.ReplaceAll(name, "_", "-"))
}

// Select chooses a run's locale: flag (--lang), else setting (the settings
// file's lang), else the first of LC_ALL, LC_MESSAGES and LANG that is set
// (POSIX's order for messages). A flag or setting naming a language without
// a catalogue is an error (the user asked for it by name); a locale from
// the environment without one gives English, as every program does.
func Select(flag, setting string, getenv func(string) string) (*Locale, error) {
	for _, asked := range []string{flag, setting} {
		if strings.TrimSpace(asked) != "" {
			return New(asked)
		}
	}
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if env := getenv(v); env != "" {
			if l, err := New(env); err == nil {
				return l, nil
			}
			break // the first one set decides, as in POSIX
		}
	}
	return English(), nil
}

// Tag is the locale's language, as its catalogue names it ("en", "cy").
func (l *Locale) Tag() language.Tag { return l.tag }

// T is message id with its arguments, given as name, value pairs that the
// message's template reads as {{.Name}}.
func (l *Locale) T(id string, args ...any) string {
	return l.localize(id, nil, args)
}

// N is message id in the plural form for count, which its template reads
// as {{.Count}} (formatted as the locale writes numbers) beside the other
// arguments.
func (l *Locale) N(id string, count int, args ...any) string {
	return l.localize(id, count, append(args, "Count", l.Number(count)))
}

// Error is message id as an error.
func (l *Locale) Error(id string, args ...any) error {
	return errors.New(l.T(id, args...)) // i18n: passes on its caller's literal id
}

// Has reports whether the locale's own catalogue has message id (not
// English in its place).
func (l *Locale) Has(id string) bool {
	if l.loc == nil {
		return false
	}
	_, tag, err := l.loc.LocalizeWithTag(&goi18n.LocalizeConfig{MessageID: id})
	return err == nil && tag == l.tag
}

func (l *Locale) localize(id string, count any, args []any) string {
	if l.loc == nil {
		return id
	}
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if s == "" && err != nil {
		// A message no catalogue has: a bug the catalogue test catches.
		// Show its id rather than nothing.
		return id
	}
	return s
}

// Number is n as the locale writes numbers (1,234 in English and Welsh).
func (l *Locale) Number(n int) string {
	if l.printer == nil {
		return fmt.Sprint(n)
	}
	return l.printer.Sprintf("%d", n)
}

// Date is a day in running text, as the catalogue's date.prose says:
// English keeps ISO 8601 (what fieldcase has always printed), Welsh writes
// "14 Rhagfyr 2026".
func (l *Locale) Date(d time.Time) string {
	return l.T("date.prose", "ISO", d.Format(time.DateOnly), "Day", d.Day(),
		"Month", l.Month(d.Month()), "Year", d.Year())
}

// Month is a month's name.
func (l *Locale) Month(m time.Month) string {
	return l.T(monthIDs[m-1]) // i18n: the ids are the literals of monthIDs
}

// The month names' ids, spelled out so the catalogue test finds them.
var monthIDs = [12]string{"month.january", "month.february", "month.march", "month.april", "month.may",
	"month.june", "month.july", "month.august", "month.september", "month.october", "month.november",
	"month.december"}

// FirstWeekday is the first day of the week where the user is, CLDR's
// weekData: Sunday in the Americas' Sunday-first countries, Japan, Israel
// and others listed, Saturday in much of the Middle East, Monday elsewhere
// (the United Kingdom, Welsh, and a language named without a region: CLDR's
// world default). The region is the one the locale names (en_US, cy_GB).
func (l *Locale) FirstWeekday() time.Weekday {
	if l.region == (language.Region{}) {
		return time.Monday
	}
	r := l.region.String()
	switch {
	case slices.Contains(sundayFirst, r):
		return time.Sunday
	case slices.Contains(saturdayFirst, r):
		return time.Saturday
	}
	return time.Monday
}

// From CLDR supplemental weekData (firstDay), v46.
var (
	sundayFirst = strings.Fields("AG AS BD BR BS BT BW BZ CA CN CO DM DO ET GT GU HK HN ID IL IN JM JP KE KH KR LA " +
		"MH MM MO MT MX MZ NI NP PA PE PH PK PR PT PY SA SG SV TH TT TW UM US VE VI WS YE ZA ZW")
	saturdayFirst = strings.Fields("AE AF BH DJ DZ EG IQ IR JO KW LY OM QA SD SY")
)

// tomlUnmarshal reads a catalogue file.
var tomlUnmarshal goi18n.UnmarshalFunc = toml.Unmarshal

// IDs lists the ids of the locale's own catalogue, sorted.
func (l *Locale) IDs() []string {
	raw, err := files.ReadFile("locales/" + l.tag.String() + ".toml")
	if err != nil {
		return nil
	}
	msgs, err := goi18n.ParseMessageFileBytes(raw, l.tag.String()+".toml", map[string]goi18n.UnmarshalFunc{"toml": tomlUnmarshal})
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range msgs.Messages {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}
