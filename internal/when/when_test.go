package when

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// now is Monday 7 December 2026, late in the evening west of UTC: in UTC
// it is already Tuesday, and every reading must still start from Monday.
var now = time.Date(2026, 12, 7, 22, 30, 0, 0, time.FixedZone("UTC-5", -5*3600))

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		order DateOrder
		want  record.Date
		err   string // a part of the error's reason; "" for none
	}{
		{"", DMY, "", ""},
		{"   ", DMY, "", ""},
		// ISO, in every order.
		{"2026-12-14", DMY, "2026-12-14", ""},
		{"2026-12-14", MDY, "2026-12-14", ""},
		{"2026-12-14", YMD, "2026-12-14", ""},
		{" 2026-02-03 ", DMY, "2026-02-03", ""},
		{"2026/12/14", DMY, "2026-12-14", ""},
		{"2026.1.5", MDY, "2026-01-05", ""},
		// The agency's order.
		{"14/12/2026", DMY, "2026-12-14", ""},
		{"14/12/26", DMY, "2026-12-14", ""},
		{"14.12.2026", DMY, "2026-12-14", ""},
		{"14-12-2026", DMY, "2026-12-14", ""},
		{"1/2/2027", DMY, "2027-02-01", ""},
		{"03/04/2026", DMY, "2026-04-03", ""},
		{"03/04/2026", MDY, "2026-03-04", ""},
		{"2026/03/04", YMD, "2026-03-04", ""},
		{"26/03/04", YMD, "2026-03-04", ""},
		{"12/14/2026", MDY, "2026-12-14", ""},
		{"12/14/2026", DMY, "", "there is no month 14 (the order is DMY: 14/12/2026)"},
		{"14/12/2026", MDY, "", "there is no month 14 (the order is MDY: 12/14/2026)"},
		{"14/12", DMY, "2026-12-14", ""},
		{"12/14", MDY, "2026-12-14", ""},
		{"12/14", YMD, "2026-12-14", ""},
		{"1/3", DMY, "2026-03-01", ""},
		// Two-digit years: this century up to 20 years ahead, else the last.
		{"14/12/85", DMY, "1985-12-14", ""},
		{"14/12/46", DMY, "2046-12-14", ""},
		{"14/12/47", DMY, "1947-12-14", ""},
		{"01/01/00", DMY, "2000-01-01", ""},
		// Dates that do not exist.
		{"31/02/2026", DMY, "", "there is no 31 February 2026"},
		{"29/02/2026", DMY, "", "there is no 29 February 2026"},
		{"29/02/2028", DMY, "2028-02-29", ""},
		{"02/31/2026", MDY, "", "there is no 31 February 2026"},
		{"2026-02-30", DMY, "", "there is no 30 February 2026"},
		{"2026-13-01", DMY, "", "there is no month 13"},
		{"0/12/2026", DMY, "", "there is no 0 December 2026"},
		{"00/00/0000", DMY, "", "there is no month 0"},
		{"1/1/0000", DMY, "", "the year must be from 1 to 9999"},
		{"31 apr", DMY, "", "there is no 31 April 2026"},
		// Words.
		{"today", DMY, "2026-12-07", ""},
		{"Today", MDY, "2026-12-07", ""},
		{"tomorrow", DMY, "2026-12-08", ""},
		{"yesterday", DMY, "2026-12-06", ""},
		// From today.
		{"+7d", DMY, "2026-12-14", ""},
		{"+7", DMY, "2026-12-14", ""},
		{"-3d", DMY, "2026-12-04", ""},
		{"+2w", DMY, "2026-12-21", ""},
		{"+ 2 weeks", DMY, "2026-12-21", ""},
		{"+1m", DMY, "2027-01-07", ""},
		{"-12m", DMY, "2025-12-07", ""},
		{"+1y", DMY, "2027-12-07", ""},
		{"+30d", DMY, "2027-01-06", ""},
		{"+0d", DMY, "2026-12-07", ""},
		{"+x", DMY, "", "not a date I can read; try 14/12/2026, 2026-12-14, today"},
		{"+7q", DMY, "", "not a date I can read"},
		{"+9999999d", DMY, "", "not a date I can read"},
		{"+99999y", DMY, "", "outside the years 1 to 9999"},
		{"-", DMY, "", "not a date I can read"},
		// Weekdays: the next one after today, a Monday.
		{"mon", DMY, "2026-12-14", ""},
		{"monday", DMY, "2026-12-14", ""},
		{"next mon", DMY, "2026-12-14", ""},
		{"tue", DMY, "2026-12-08", ""},
		{"Thursday", DMY, "2026-12-10", ""},
		{"thurs", DMY, "2026-12-10", ""},
		{"sun", DMY, "2026-12-13", ""},
		{"next sunday", DMY, "2026-12-13", ""},
		{"last fri", DMY, "2026-12-04", ""},
		{"last mon", DMY, "2026-11-30", ""},
		{"last tue", DMY, "2026-12-01", ""},
		{"this mon", DMY, "", "not a date I can read"},
		// Months by name.
		{"14 dec", DMY, "2026-12-14", ""},
		{"dec 14", DMY, "2026-12-14", ""},
		{"14 dec", MDY, "2026-12-14", ""},
		{"14 December 2026", DMY, "2026-12-14", ""},
		{"December 14, 2026", MDY, "2026-12-14", ""},
		{"Dec 14 2026", YMD, "2026-12-14", ""},
		{"14th dec", DMY, "2026-12-14", ""},
		{"1st march 2027", DMY, "2027-03-01", ""},
		{"22nd feb", DMY, "2026-02-22", ""},
		{"3rd jan 27", DMY, "2027-01-03", ""},
		{"14-dec-2026", DMY, "2026-12-14", ""},
		{"2026 dec 14", DMY, "2026-12-14", ""},
		{"sept 9", DMY, "2026-09-09", ""},
		{"Mon 14 Dec 2026", DMY, "2026-12-14", ""},
		{"Tue 14 Dec 2026", DMY, "", "14 December 2026 is a Monday, not a Tuesday"},
		{"1th dec", DMY, "", "not a date I can read"},
		{"dec", DMY, "", "not a date I can read"},
		{"dec 2026", DMY, "", "not a date I can read"},
		{"14 dec 2026 2027", DMY, "", "not a date I can read"},
		{"14 dec dec", DMY, "", "not a date I can read"},
		{"14 foo", DMY, "", "not a date I can read"},
		// Not dates.
		{"14", DMY, "", "not a date I can read"},
		{"20261214", DMY, "", "not a date I can read"},
		{"14/12/2026/1", DMY, "", "not a date I can read"},
		{"14/12-2026", DMY, "", "not a date I can read"},
		{"14//2026", DMY, "", "not a date I can read"},
		{"14/12/202", DMY, "", "not a date I can read"},
		{"014/12/2026", DMY, "", "not a date I can read"},
		{"14/12/2026", YMD, "", "not a date I can read; try 2026/12/14"},
		{"soon", MDY, "", "not a date I can read; try 12/14/2026, 2026-12-14"},
		{"tomorow", DMY, "", "not a date I can read"},
		{"١٤/١٢/٢٠٢٦", DMY, "", "not a date I can read"},
	} {
		got, err := ParseDate(tc.in, now, tc.order)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseDate(%q, %s) = error %v; want %s", tc.in, tc.order, err, tc.want)
		case tc.err == "" && got != tc.want:
			t.Errorf("ParseDate(%q, %s) = %q; want %q", tc.in, tc.order, got, tc.want)
		case tc.err != "" && err == nil:
			t.Errorf("ParseDate(%q, %s) = %q; want an error with %q", tc.in, tc.order, got, tc.err)
		case tc.err != "" && !strings.Contains(Reason(err), tc.err):
			t.Errorf("ParseDate(%q, %s): error %q; want it to say %q", tc.in, tc.order, Reason(err), tc.err)
		case err != nil && (!errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), `date "`+strings.TrimSpace(tc.in)+`"`)):
			t.Errorf("ParseDate(%q): error %q is not an invalid-record error naming the input", tc.in, err)
		}
		if err == nil && got != "" {
			if _, perr := record.ParseDate(string(got)); perr != nil {
				t.Errorf("ParseDate(%q) = %q, which record does not take: %v", tc.in, got, perr)
			}
		}
	}
}

// TestParseDateMonthEnds: a month later on a day the month lacks is its
// last day, never a day of the month after.
func TestParseDateMonthEnds(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		in   string
		want record.Date
	}{
		{time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC), "+1m", "2027-02-28"},
		{time.Date(2028, 1, 31, 9, 0, 0, 0, time.UTC), "+1m", "2028-02-29"},
		{time.Date(2027, 3, 31, 9, 0, 0, 0, time.UTC), "-1m", "2027-02-28"},
		{time.Date(2028, 2, 29, 9, 0, 0, 0, time.UTC), "+1y", "2029-02-28"},
		{time.Date(2026, 12, 31, 9, 0, 0, 0, time.UTC), "+2m", "2027-02-28"},
		{time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), "-13m", "2024-12-15"},
	} {
		if got, err := ParseDate(tc.in, tc.now, DMY); err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) on %s = %q, %v; want %q", tc.in, tc.now.Format("2006-01-02"), got, err, tc.want)
		}
	}
}

// TestWeekdayOnEachDay: "fri" is 1 to 7 days ahead, "last fri" 1 to 7
// behind, and always a Friday, whatever day it is.
func TestWeekdayOnEachDay(t *testing.T) {
	for i := range 7 {
		day := now.AddDate(0, 0, i)
		today := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		for in, back := range map[string]bool{"fri": false, "last fri": true} {
			d, err := ParseDate(in, day, DMY)
			if err != nil {
				t.Fatal(err)
			}
			gap := int(d.Time().Sub(today).Hours() / 24)
			if back {
				gap = -gap
			}
			if d.Time().Weekday() != time.Friday || gap < 1 || gap > 7 {
				t.Errorf("%q on %s = %s (%s)", in, day.Format("Mon 2006-01-02"), d, d.Time().Weekday())
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"14:30", "14:30", ""},
		{"14.30", "14:30", ""},
		{"1430", "14:30", ""},
		{"930", "09:30", ""},
		{"9:05", "09:05", ""},
		{"14", "14:00", ""},
		{"0", "00:00", ""},
		{"2pm", "14:00", ""},
		{"2 PM", "14:00", ""},
		{"9.15am", "09:15", ""},
		{"9:15 a.m.", "09:15", ""},
		{"12am", "00:00", ""},
		{"12pm", "12:00", ""},
		{"12:30am", "00:30", ""},
		{"11:59pm", "23:59", ""},
		{"noon", "12:00", ""},
		{"Midnight", "00:00", ""},
		{"23:59", "23:59", ""},
		{"24:00", "", "there is no hour 24 in a day"},
		{"25:99", "", "there is no hour 25 in a day"},
		{"2:99pm", "", "there is no minute 99 in an hour"},
		{"14:60", "", "there is no minute 60 in an hour"},
		{"13pm", "", "with am or pm the hour is 1 to 12"},
		{"0am", "", "with am or pm the hour is 1 to 12"},
		{"14:3", "", "not a time I can read; try 14:30, 2pm or 9.15am"},
		{"14:30:00", "", "not a time I can read"},
		{"+5", "", "not a time I can read"},
		{"1:+5", "", "not a time I can read"},
		{"12345", "", "not a time I can read"},
		{"pm", "", "not a time I can read"},
		{"half two", "", "not a time I can read"},
		{"2p", "", "not a time I can read"},
	} {
		got, err := ParseTime(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseTime(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && err == nil:
			t.Errorf("ParseTime(%q) = %q; want an error with %q", tc.in, got, tc.err)
		case tc.err != "" && (!strings.Contains(Reason(err), tc.err) || !errors.Is(err, record.ErrInvalid)):
			t.Errorf("ParseTime(%q): error %v; want it to say %q", tc.in, err, tc.err)
		}
		if err == nil && got != "" {
			if _, perr := time.Parse("15:04", got); perr != nil {
				t.Errorf("ParseTime(%q) = %q, not HH:MM", tc.in, got)
			}
		}
	}
}

func TestLocaleOrder(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want DateOrder
	}{
		{nil, DMY},
		{map[string]string{"LANG": "C"}, DMY},
		{map[string]string{"LANG": "POSIX"}, DMY},
		{map[string]string{"LANG": "C.UTF-8"}, DMY},
		{map[string]string{"LANG": "en_US.UTF-8"}, MDY},
		{map[string]string{"LANG": "en_US"}, MDY},
		{map[string]string{"LANG": "es_US.utf8"}, MDY},
		{map[string]string{"LANG": "en_GB.UTF-8"}, DMY},
		{map[string]string{"LANG": "de_DE.UTF-8"}, DMY},
		{map[string]string{"LANG": "fr_FR.UTF-8@euro"}, DMY},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, YMD},
		{map[string]string{"LANG": "hu_HU"}, YMD},
		// LC_ALL beats LC_TIME, which beats LANG.
		{map[string]string{"LANG": "en_GB.UTF-8", "LC_TIME": "en_US.UTF-8"}, MDY},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_TIME": "en_GB.UTF-8"}, DMY},
		{map[string]string{"LC_ALL": "en_US.UTF-8", "LC_TIME": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"}, MDY},
		{map[string]string{"LC_ALL": "", "LC_TIME": "", "LANG": "en_US.UTF-8"}, MDY},
	} {
		if got := LocaleOrder(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("LocaleOrder(%v) = %s; want %s", tc.env, got, tc.want)
		}
	}
}

func TestParseOrder(t *testing.T) {
	for in, want := range map[string]DateOrder{"dmy": DMY, "MDY": MDY, " ymd ": YMD} {
		if got, err := ParseOrder(in); err != nil || got != want {
			t.Errorf("ParseOrder(%q) = %s, %v; want %s", in, got, err, want)
		}
		if got, _ := ParseOrder(want.String()); got != want {
			t.Errorf("%s does not read back", want)
		}
	}
	if _, err := ParseOrder("dym"); err == nil || !strings.Contains(err.Error(), "dmy (14/12/2026), mdy (12/14/2026) or ymd (2026/12/14)") {
		t.Errorf("ParseOrder(dym): %v", err)
	}
}

func TestShow(t *testing.T) {
	for d, want := range map[record.Date]string{"2026-12-14": "Mon 14 Dec 2026", "2027-01-01": "Fri 1 Jan 2027", "": "", "14/12/2026": ""} {
		if got := Show(d); got != want {
			t.Errorf("Show(%q) = %q; want %q", d, got, want)
		}
	}
	// What Show writes, ParseDate reads back.
	if d, err := ParseDate(Show("2026-12-14"), now, MDY); err != nil || d != "2026-12-14" {
		t.Errorf("Show's form does not read back: %q, %v", d, err)
	}
}

// FuzzParseDate: no input panics, and every date read is one record
// takes.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"14/12/2026", "+7d", "next mon", "14th dec 2026", "2pm", "-99999y", "1/1/0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, o := range []DateOrder{DMY, MDY, YMD} {
			d, err := ParseDate(s, now, o)
			if err == nil && d != "" {
				if _, perr := record.ParseDate(string(d)); perr != nil {
					t.Fatalf("ParseDate(%q) = %q: %v", s, d, perr)
				}
			}
		}
		if tm, err := ParseTime(s); err == nil && tm != "" {
			if _, perr := time.Parse("15:04", tm); perr != nil {
				t.Fatalf("ParseTime(%q) = %q", s, tm)
			}
		}
	})
}
