package i18n

import (
	"errors"
	"testing"
	"time"
)

func mustNew(t *testing.T, name string) *Locale {
	t.Helper()
	l, err := New(name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return l
}

func TestAvailable(t *testing.T) {
	if bundleErr != nil {
		t.Fatal(bundleErr)
	}
	var got []string
	for _, tag := range Available() {
		got = append(got, tag.String())
	}
	if len(got) != 2 || got[0] != "en" || got[1] != "cy" {
		t.Errorf("Available() = %v, want [en cy]", got)
	}
}

// Welsh has six plural forms; each count must pick its own, with the
// mutation the numeral causes (2 beth, 3 pheth, 6 pheth).
func TestWelshPlurals(t *testing.T) {
	cy, en := mustNew(t, "cy"), mustNew(t, "en")
	for _, tt := range []struct {
		n      int
		cy, en string
	}{
		{0, "dim byd yn hwyr", "0 overdue"},
		{1, "1 peth yn hwyr", "1 overdue"},
		{2, "2 beth yn hwyr", "2 overdue"},
		{3, "3 pheth yn hwyr", "3 overdue"},
		{4, "4 peth yn hwyr", "4 overdue"},
		{6, "6 pheth yn hwyr", "6 overdue"},
		{7, "7 peth yn hwyr", "7 overdue"},
		{16, "16 peth yn hwyr", "16 overdue"},
		{1234, "1,234 peth yn hwyr", "1,234 overdue"},
	} {
		if got := cy.N("agenda.summary.overdue", tt.n); got != tt.cy {
			t.Errorf("cy %d: got %q, want %q", tt.n, got, tt.cy)
		}
		if got := en.N("agenda.summary.overdue", tt.n); got != tt.en {
			t.Errorf("en %d: got %q, want %q", tt.n, got, tt.en)
		}
	}
	if got, want := cy.N("agenda.summary.more_until", 2, "Date", "20 Rhagfyr 2026"), "2 beth arall hyd at 20 Rhagfyr 2026"; got != want {
		t.Errorf("plural with an argument: got %q, want %q", got, want)
	}
}

func TestDatesAndNumbers(t *testing.T) {
	d := time.Date(2026, time.December, 14, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ lang, date, march, number string }{
		{"en", "2026-12-14", "March", "1,234,567"},
		{"cy_GB.UTF-8", "14 Rhagfyr 2026", "Mawrth", "1,234,567"},
	} {
		l := mustNew(t, tt.lang)
		if got := l.Date(d); got != tt.date {
			t.Errorf("%s Date: got %q, want %q", tt.lang, got, tt.date)
		}
		if got := l.Month(time.March); got != tt.march {
			t.Errorf("%s Month: got %q, want %q", tt.lang, got, tt.march)
		}
		if got := l.Number(1234567); got != tt.number {
			t.Errorf("%s Number: got %q, want %q", tt.lang, got, tt.number)
		}
	}
	cy := mustNew(t, "cy")
	for m := time.January; m <= time.December; m++ {
		if name := cy.Month(m); name == "" || name == monthIDs[m-1] {
			t.Errorf("cy has no name for %v: %q", m, name)
		}
	}
}

func TestFirstWeekday(t *testing.T) {
	for _, tt := range []struct {
		lang string
		want time.Weekday
	}{
		{"cy", time.Monday},
		{"cy_GB.UTF-8", time.Monday},
		{"en", time.Monday}, // no region: CLDR's world default, not x/text's guess (US)
		{"en_GB.UTF-8", time.Monday},
		{"en_US.UTF-8", time.Sunday},
		{"en-CA", time.Sunday},
		{"en_AE", time.Saturday},
	} {
		if got := mustNew(t, tt.lang).FirstWeekday(); got != tt.want {
			t.Errorf("%s: first weekday %v, want %v", tt.lang, got, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	for _, tt := range []struct {
		name           string
		flag, setting  string
		env            map[string]string
		want           string
		wantErrUnknown bool
	}{
		{name: "nothing", want: "en"},
		{name: "LANG", env: map[string]string{"LANG": "cy_GB.UTF-8"}, want: "cy"},
		{name: "LC_MESSAGES beats LANG", env: map[string]string{"LANG": "cy_GB.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, want: "en"},
		{name: "LC_ALL beats LC_MESSAGES", env: map[string]string{"LC_ALL": "cy_GB", "LC_MESSAGES": "en_GB.UTF-8"}, want: "cy"},
		{name: "C is English", env: map[string]string{"LANG": "C.UTF-8"}, want: "en"},
		{name: "a locale without a catalogue is English", env: map[string]string{"LANG": "fr_FR.UTF-8"}, want: "en"},
		{name: "the first set decides", env: map[string]string{"LC_ALL": "fr_FR", "LANG": "cy_GB"}, want: "en"},
		{name: "setting beats the environment", setting: "cy", env: map[string]string{"LANG": "en_GB"}, want: "cy"},
		{name: "flag beats the setting", flag: "en", setting: "cy", env: map[string]string{"LANG": "cy_GB"}, want: "en"},
		{name: "flag as a POSIX name", flag: "cy_GB.UTF-8", want: "cy"},
		{name: "unknown flag", flag: "fr", wantErrUnknown: true},
		{name: "unknown setting", setting: "xx", wantErrUnknown: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Select(tt.flag, tt.setting, func(k string) string { return tt.env[k] })
			if tt.wantErrUnknown {
				if !errors.Is(err, ErrUnknownLanguage) {
					t.Fatalf("got %v, %v; want ErrUnknownLanguage", l, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Tag().String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// A message no catalogue has shows its id, never an empty line or a panic.
func TestMissingMessage(t *testing.T) {
	cy := mustNew(t, "cy")
	if got := cy.T("no.such.message"); got != "no.such.message" {
		t.Errorf("got %q", got)
	}
	if cy.Has("no.such.message") || !cy.Has("agenda.header") {
		t.Error("Has is wrong")
	}
	if en := mustNew(t, "en"); en.Has("help.cmd.agenda") {
		t.Error("English has help.* keys: they are the struct tags")
	}
}
