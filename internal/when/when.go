// Package when reads the dates and times caseworkers type — "14/12/2026",
// "today", "+7d", "mon", "14 dec", "2pm" — into the forms records store:
// an ISO date (record.Date) and a 24-hour "15:04" time. Every reading is
// deterministic given the clock it is passed and the agency's date order.
//
// The rules, for a date:
//
//   - ISO "2026-12-14" (also with / or .) is always read year first,
//     whatever the order.
//   - Numbers with / . or - between them follow the date order: DMY
//     "14/12/2026", MDY "12/14/2026", YMD "2026/12/14". A two-digit year is
//     this century unless that puts it more than 20 years ahead, then the
//     last ("14/12/85" is 1985). Day and month alone ("14/12") are in the
//     current year.
//   - "today", "tomorrow", "yesterday".
//   - "+7d", "-3d", "+2w", "+1m", "+1y" (also "+7", "+2 weeks"): days,
//     weeks, months or years from today. A month or year later on a day
//     the month lacks is the month's last day (31 Jan +1m is 28 Feb).
//   - A weekday, "mon" or "monday", also "next mon": the first such day
//     after today, so "mon" typed on a Monday is the Monday a week on.
//     "last mon" is the latest such day before today.
//   - A month by name with a day, any way round, a year optional: "14 dec",
//     "dec 14", "14 December 2026", "Dec 14, 2026", "14th dec". Without a
//     year it is the current year. A weekday in front ("Mon 14 Dec 2026",
//     as dates are shown) must be the date's.
//
// A time is "14:30", "14.30", "1430", "14", "2pm", "9.15am", "12am"
// (midnight), "noon" or "midnight".
package when

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// DateOrder is the order of day, month and year in an all-number date.
type DateOrder int

// The date orders. DMY is the default.
const (
	DMY DateOrder = iota // 14/12/2026
	MDY                  // 12/14/2026
	YMD                  // 2026/12/14
)

// Orders are the names of the date orders, as the settings file gives them.
var Orders = []string{"dmy", "mdy", "ymd"}

func (o DateOrder) String() string {
	if o < DMY || o > YMD {
		return "dmy"
	}
	return Orders[o]
}

// Example is 14 December 2026 written in the order.
func (o DateOrder) Example() string {
	switch o {
	case MDY:
		return "12/14/2026"
	case YMD:
		return "2026/12/14"
	}
	return "14/12/2026"
}

// Formats lists, for messages and help, what a date may be.
func (o DateOrder) Formats() string {
	return o.Example() + ", 2026-12-14, today, tomorrow, +7d, mon or 14 dec"
}

// ParseOrder reads a date order's name: dmy, mdy or ymd.
func ParseOrder(s string) (DateOrder, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "dmy":
		return DMY, nil
	case "mdy":
		return MDY, nil
	case "ymd":
		return YMD, nil
	}
	return DMY, fmt.Errorf("%q is not a date order: dmy (14/12/2026), mdy (12/14/2026) or ymd (2026/12/14)", s)
}

// LocaleOrder is the date order of the user's locale, read from LC_ALL,
// LC_TIME or LANG (the first set, as POSIX has it): MDY in the United
// States and the Philippines; YMD in Chinese, Japanese, Korean, Hungarian
// and Lithuanian; DMY everywhere else, and for C, POSIX or no locale. ISO
// dates are read whatever the order.
func LocaleOrder(getenv func(string) string) DateOrder {
	loc := ""
	for _, v := range []string{"LC_ALL", "LC_TIME", "LANG"} {
		if loc = getenv(v); loc != "" {
			break
		}
	}
	// language[_territory][.codeset][@modifier]
	if i := strings.IndexAny(loc, ".@"); i >= 0 {
		loc = loc[:i]
	}
	lang, territory, _ := strings.Cut(loc, "_")
	switch strings.ToUpper(territory) {
	case "US", "PH":
		return MDY
	}
	switch strings.ToLower(lang) {
	case "zh", "ja", "ko", "hu", "lt":
		return YMD
	}
	return DMY
}

// Error is a date or time that cannot be read. Reason says why, without
// the input: it is what a form shows next to the field.
type Error struct {
	What   string // "date" or "time"
	Input  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%v: %s %q: %s", record.ErrInvalid, e.What, e.Input, e.Reason)
}

// Unwrap makes every Error a record.ErrInvalid.
func (e *Error) Unwrap() error { return record.ErrInvalid }

// Reason is the reason of a date or time error, or err's text for any
// other error (less record.ErrInvalid's prefix).
func Reason(err error) string {
	var we *Error
	if errors.As(err, &we) {
		return we.Reason
	}
	return strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": ")
}

// ParseDate reads a date typed by a person, relative to now (in now's
// location) and in the date order; "" is no date.
func ParseDate(input string, now time.Time, order DateOrder) (record.Date, error) {
	s := strings.ToLower(strings.Join(strings.Fields(input), " "))
	if s == "" {
		return "", nil
	}
	unreadable := &Error{What: "date", Input: strings.TrimSpace(input), Reason: "not a date I can read; try " + order.Formats()}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var (
		t   time.Time
		err error
	)
	switch {
	case s == "today":
		t = today
	case s == "tomorrow":
		t = today.AddDate(0, 0, 1)
	case s == "yesterday":
		t = today.AddDate(0, 0, -1)
	case s[0] == '+' || s[0] == '-':
		t, err = relative(s, today)
	default:
		t, err = absolute(s, today, order)
	}
	if err != nil {
		if we := (*Error)(nil); errors.As(err, &we) {
			we.Input = strings.TrimSpace(input)
			return "", we
		}
		return "", unreadable
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return "", &Error{What: "date", Input: strings.TrimSpace(input), Reason: "that is outside the years 1 to 9999"}
	}
	return record.DateOf(t), nil
}

// errUnreadable is any input of no form ParseDate knows; it becomes an
// Error listing the forms.
var errUnreadable = errors.New("unreadable")

// maxOffset bounds "+N…" so that a date stays within reach of time.Time.
const maxOffset = 100000

// relative reads "+7d", "-2w", "+1m", "+1y", "+7", "+2 weeks".
func relative(s string, today time.Time) (time.Time, error) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = strings.TrimSpace(s[1:])
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 6 {
		return time.Time{}, errUnreadable
	}
	n, _ := strconv.Atoi(s[:i])
	if n > maxOffset {
		return time.Time{}, errUnreadable
	}
	n *= sign
	switch strings.TrimSpace(s[i:]) {
	case "", "d", "day", "days":
		return today.AddDate(0, 0, n), nil
	case "w", "wk", "wks", "week", "weeks":
		return today.AddDate(0, 0, 7*n), nil
	case "m", "mo", "mon", "month", "months":
		return addMonths(today, n), nil
	case "y", "yr", "yrs", "year", "years":
		return addMonths(today, 12*n), nil
	}
	return time.Time{}, errUnreadable
}

// addMonths moves t n months, to the month's last day when it is shorter.
func addMonths(t time.Time, n int) time.Time {
	y, m := t.Year(), int(t.Month())-1+n
	y += m / 12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	d := min(t.Day(), daysIn(y, time.Month(m+1)))
	return time.Date(y, time.Month(m+1), d, 0, 0, 0, 0, time.UTC)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "weds": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

var months = map[string]time.Month{
	"jan": time.January, "january": time.January,
	"feb": time.February, "february": time.February,
	"mar": time.March, "march": time.March,
	"apr": time.April, "april": time.April,
	"may": time.May,
	"jun": time.June, "june": time.June,
	"jul": time.July, "july": time.July,
	"aug": time.August, "august": time.August,
	"sep": time.September, "sept": time.September, "september": time.September,
	"oct": time.October, "october": time.October,
	"nov": time.November, "november": time.November,
	"dec": time.December, "december": time.December,
}

// absolute reads a weekday, an all-number date or a date with a month's
// name.
func absolute(s string, today time.Time, order DateOrder) (time.Time, error) {
	words := strings.Fields(s)
	if len(words) <= 2 {
		dir, name := "next", words[0]
		if len(words) == 2 {
			dir, name = words[0], words[1]
		}
		if wd, ok := weekdays[name]; ok {
			switch dir {
			case "next":
				return today.AddDate(0, 0, 1+(int(wd)-int(today.Weekday())+6)%7), nil
			case "last":
				return today.AddDate(0, 0, -1-(int(today.Weekday())-int(wd)+6)%7), nil
			}
			return time.Time{}, errUnreadable
		}
	}
	if len(words) == 1 && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) > 0 {
		if t, err, ok := numeric(s, today, order); ok {
			return t, err
		}
	}
	return named(s, today)
}

// numeric reads an all-number date: two or three numbers with one kind of
// separator between them. ok is false when s is not of that form.
func numeric(s string, today time.Time, order DateOrder) (t time.Time, err error, ok bool) {
	var sep string
	for _, c := range []string{"/", ".", "-"} {
		if strings.Contains(s, c) {
			if sep != "" {
				return t, nil, false
			}
			sep = c
		}
	}
	if sep == "" {
		return t, nil, false
	}
	parts := strings.Split(s, sep)
	if len(parts) < 2 || len(parts) > 3 {
		return t, nil, false
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return t, nil, false
		}
	}
	var ys, ms, ds string
	switch {
	case len(parts) == 3 && len(parts[0]) == 4: // ISO, whatever the order
		ys, ms, ds = parts[0], parts[1], parts[2]
	case len(parts) == 3 && order == YMD:
		ys, ms, ds = parts[0], parts[1], parts[2]
	case len(parts) == 3 && order == MDY:
		ms, ds, ys = parts[0], parts[1], parts[2]
	case len(parts) == 3:
		ds, ms, ys = parts[0], parts[1], parts[2]
	case order == DMY:
		ds, ms = parts[0], parts[1]
	default: // MDY and YMD both put the month before the day
		ms, ds = parts[0], parts[1]
	}
	if len(ds) > 2 || len(ms) > 2 {
		return t, nil, false
	}
	d, _ := strconv.Atoi(ds)
	m, _ := strconv.Atoi(ms)
	y := today.Year()
	if ys != "" {
		if y, err = year(ys, today); err != nil {
			return t, err, true
		}
	}
	if m < 1 || m > 12 {
		return t, &Error{What: "date", Reason: fmt.Sprintf("there is no month %d (the order is %s: %s)", m, strings.ToUpper(order.String()), order.Example())}, true
	}
	t, err = dayOf(y, time.Month(m), d)
	return t, err, true
}

// year reads a year of four digits, or two: this century unless that is
// more than 20 years ahead of today, then the last.
func year(s string, today time.Time) (int, error) {
	y, _ := strconv.Atoi(s)
	switch len(s) {
	case 4:
		return y, nil
	case 2:
		y += today.Year() / 100 * 100
		if y > today.Year()+20 {
			y -= 100
		}
		return y, nil
	}
	return 0, errUnreadable
}

// dayOf is the date, or an error when the month has no such day.
func dayOf(y int, m time.Month, d int) (time.Time, error) {
	if y < 1 || y > 9999 {
		return time.Time{}, &Error{What: "date", Reason: "the year must be from 1 to 9999"}
	}
	if d < 1 || d > daysIn(y, m) {
		return time.Time{}, &Error{What: "date", Reason: fmt.Sprintf("there is no %d %s %d", d, m, y)}
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// named reads a date with a month's name, the day and an optional year
// around it: "14 dec", "dec 14", "14th december 2026", "dec 14, 2026",
// "14-dec-2026"; a weekday may come first.
func named(s string, today time.Time) (time.Time, error) {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '/' || r == '.' || r == '-' })
	var (
		wd      time.Weekday
		hasWD   bool
		month   time.Month
		day, yr string
	)
	if len(words) > 0 {
		if w, ok := weekdays[words[0]]; ok {
			wd, hasWD, words = w, true, words[1:]
		}
	}
	for _, w := range words {
		if m, ok := months[w]; ok && month == 0 {
			month = m
			continue
		}
		num := w
		if ordinal(w) {
			num = w[:len(w)-2]
		}
		if num == "" || strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return time.Time{}, errUnreadable
		}
		switch {
		case len(num) <= 2 && day == "":
			day = num
		case num != w: // only a day has an ordinal's suffix
			return time.Time{}, errUnreadable
		case len(num) == 4 && yr == "":
			yr = num
		case len(num) == 2 && yr == "" && month != 0: // "14 dec 26"
			yr = num
		default:
			return time.Time{}, errUnreadable
		}
	}
	if month == 0 || day == "" {
		return time.Time{}, errUnreadable
	}
	y := today.Year()
	if yr != "" {
		var err error
		if y, err = year(yr, today); err != nil {
			return time.Time{}, err
		}
	}
	d, _ := strconv.Atoi(day)
	t, err := dayOf(y, month, d)
	if err != nil {
		return t, err
	}
	if hasWD && t.Weekday() != wd {
		return time.Time{}, &Error{What: "date", Reason: fmt.Sprintf("%s is a %s, not a %s", t.Format("2 January 2006"), t.Weekday(), wd)}
	}
	return t, nil
}

// ordinal says whether w is a number with its English ordinal suffix:
// 1st, 2nd, 3rd, 4th, 11th, 21st…
func ordinal(w string) bool {
	if len(w) < 3 {
		return false
	}
	num, suf := w[:len(w)-2], w[len(w)-2:]
	n, err := strconv.Atoi(num)
	if err != nil {
		return false
	}
	want := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			want = "st"
		case 2:
			want = "nd"
		case 3:
			want = "rd"
		}
	}
	return suf == want
}

// Show is a date as a person reads it, "Mon 14 Dec 2026"; "" for none or
// a malformed one.
func Show(d record.Date) string {
	if d.IsZero() || d.Time().IsZero() {
		return ""
	}
	return d.Time().Format("Mon 2 Jan 2006")
}

// TimeFormats lists, for messages and help, what a time may be.
const TimeFormats = "14:30, 2pm or 9.15am"

// ParseTime reads a time of day typed by a person into "15:04"; "" is no
// time.
func ParseTime(input string) (string, error) {
	s := strings.ToLower(strings.Join(strings.Fields(input), ""))
	if s == "" {
		return "", nil
	}
	bad := func(reason string) (string, error) {
		return "", &Error{What: "time", Input: strings.TrimSpace(input), Reason: reason}
	}
	switch s {
	case "noon", "midday":
		return "12:00", nil
	case "midnight":
		return "00:00", nil
	}
	half := ""
	for _, suf := range []string{"am", "pm", "a.m.", "p.m."} {
		if rest, ok := strings.CutSuffix(s, suf); ok {
			s, half = rest, suf[:1]
			break
		}
	}
	var hs, ms string
	if i := strings.IndexAny(s, ":."); i >= 0 {
		hs, ms = s[:i], s[i+1:]
		if len(ms) != 2 {
			return bad("not a time I can read; try " + TimeFormats)
		}
	} else if len(s) >= 3 {
		hs, ms = s[:len(s)-2], s[len(s)-2:]
	} else {
		hs, ms = s, "00"
	}
	h, herr := strconv.Atoi(hs)
	m, merr := strconv.Atoi(ms)
	if herr != nil || merr != nil || len(hs) == 0 || len(hs) > 2 || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-' {
		return bad("not a time I can read; try " + TimeFormats)
	}
	switch {
	case half == "" && h > 23:
		return bad(fmt.Sprintf("there is no hour %d in a day", h))
	case half != "" && (h < 1 || h > 12):
		return bad(fmt.Sprintf("%d%sm is not a time: with am or pm the hour is 1 to 12", h, half))
	case m > 59:
		return bad(fmt.Sprintf("there is no minute %d in an hour", m))
	case half == "a" && h == 12:
		h = 0
	case half == "p" && h < 12:
		h += 12
	}
	return fmt.Sprintf("%02d:%02d", h, m), nil
}
