package tui

import (
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
)

// lineAfter is the line of screen after the first one holding marker, ""
// when there is none.
func lineAfter(screen, marker string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, marker) && i+1 < len(lines) {
			return lines[i+1]
		}
	}
	return ""
}

// TestDateFieldError: a date that does not exist is said to be wrong under
// its field, not at the top of the screen, and nothing is saved; a word
// such as "tomorrow" is read, shown back beside the field, and saved as
// the date it means.
func TestDateFieldError(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 24)
	p.unlock()
	p.key(keyEnter)
	p.waitText("People")
	p.key(runeKey('t'))
	p.waitText("Tasks & visits ·")
	p.key(runeKey('a'))
	p.waitText("New task or visit")
	p.typeText("Home visit")
	p.key(keyTab)
	p.key(keyTab)
	p.waitText("▸ Due", "e.g. 14/12/2026, tomorrow, +7d, mon")
	p.typeText("31/02/2026")
	p.key(keyEnter) // the last field: adds the task
	s := p.waitText("✗ there is no 31 February 2026")
	if l := lineAfter(s, "▸ Due"); !strings.Contains(l, "✗ there is no 31 February 2026") {
		t.Errorf("the error is not under the due date; the line after it is %q, the screen:\n%s", l, s)
	}
	if top := strings.Split(s, "\n"); len(top) < 3 || strings.Contains(strings.Join(top[:3], "\n"), "February") {
		t.Errorf("the error is at the top of the screen:\n%s", s)
	}
	if strings.Contains(s, "Added:") {
		t.Fatalf("a task with a bad date was added:\n%s", s)
	}

	// An edit clears the error; the date read is shown beside the field.
	for range len("31/02/2026") {
		p.key(keyBackspace)
	}
	p.typeText("tomorrow")
	s = p.waitText("tomorrow", "Tue 3 Nov 2026")
	if strings.Contains(s, "✗") {
		t.Errorf("the error stayed after an edit:\n%s", s)
	}
	p.key(keyEnter)
	p.waitText("Added: Home visit", "2026-11-03  Home visit")
	p.quit()
}

// TestFormDateFields: a date field reads in the env's date order, shows
// what it read beside the input, and says what is wrong under the field
// when it is left or read; a time field the same.
func TestFormDateFields(t *testing.T) {
	e := &env{l: i18n.English(), keys: newKeyMap(nil), st: newStyles(themeNoColor, true), now: fixedNow, dateOrder: when.MDY}
	f := newForm(e)
	title := f.text("Title", "", "")
	due := f.date("Due", "")
	at := f.clock("Time", "")
	f.setSize(80, 10)
	f.start()

	if got := f.view(10); !strings.Contains(got, "e.g. 12/14/2026, tomorrow, +7d, mon") || !strings.Contains(got, "e.g. 14:30 or 2pm") {
		t.Errorf("empty date and time fields do not say what to type:\n%s", got)
	}
	due.input.SetValue("12/14/2026")
	at.input.SetValue("2pm")
	if got := ansiStrip(f.view(10)); !strings.Contains(got, "Mon 14 Dec 2026") || !strings.Contains(got, "14:00") {
		t.Errorf("the date or time read is not shown:\n%s", got)
	}
	if d, err := f.read(due); err != nil || d != "2026-12-14" {
		t.Errorf("read = %q, %v; want 2026-12-14", d, err)
	}

	// Day first in an MDY agency: the month is wrong, said at the field
	// once it is left.
	due.input.SetValue("14/12/2026")
	f.setFocus(1)
	if strings.Contains(ansiStrip(f.view(10)), "✗") {
		t.Errorf("an error before the field was left")
	}
	f.setFocus(2)
	got := ansiStrip(f.view(10))
	if l := lineAfter(got, "Due"); !strings.Contains(l, "✗ there is no month 14 (the order is MDY: 12/14/2026)") {
		t.Errorf("no error under the date; after it: %q\n%s", l, got)
	}
	if f.lines() != 4 {
		t.Errorf("lines() = %d; want 4 (three fields and an error)", f.lines())
	}
	at.input.SetValue("25:00")
	_, err := f.read(at)
	if cmd, ok := f.focusBad(err); !ok || f.focus != 2 {
		t.Errorf("focusBad(%v) = %v, %v; focus %d", err, cmd, ok, f.focus)
	}
	if got := ansiStrip(f.view(10)); !strings.Contains(lineAfter(got, "Time"), "✗ there is no hour 25 in a day") {
		t.Errorf("no error under the time:\n%s", got)
	}
	if _, ok := f.focusBad(record.ErrInvalid); ok {
		t.Errorf("focusBad took an error not of a field")
	}
	_ = title
}

// TestCaseFormPeopleDates: a date of birth on a line of People is read
// like any date; a wrong one is said under the People area, with its line.
func TestCaseFormPeopleDates(t *testing.T) {
	e := &env{l: i18n.English(), keys: newKeyMap(nil), st: newStyles(themeNoColor, true), now: fixedNow}
	c := newCaseEdit(e, "", nil)
	c.SetSize(100, 40)
	c.fs.ref.input.SetValue("T-1")
	c.fs.subject.input.SetValue("Robin Testcase")
	c.fs.dob.input.SetValue("3 march 2015")
	c.fs.nextVisit.input.SetValue("+7d")
	c.fs.people.area.SetValue("Robin Testcase | child | 3/3/2015\nAlex Testcase | carer | 30/2/1990")
	c.fs.court.area.SetValue("fri | first hearing | Ashbury")
	if _, err := c.value(); err == nil {
		t.Fatal("a person born on 30 February was taken")
	}
	got := ansiStrip(c.View())
	if !strings.Contains(got, `✗ line 2: date of birth "30/2/1990": there is no 30 February 1990`) {
		t.Errorf("no error under People:\n%s", got)
	}
	c.fs.people.area.SetValue("Robin Testcase | child | 3/3/2015\nAlex Testcase | carer | 28/2/1990")
	v, err := c.value()
	if err != nil {
		t.Fatal(err)
	}
	if v.DOB != "2015-03-03" || v.NextVisit != "2026-11-09" || v.People[1].DOB != "1990-02-28" || v.CourtDates[0].Date != "2026-11-06" {
		t.Errorf("case read as %+v", v)
	}
	if strings.Contains(ansiStrip(c.View()), "✗") {
		t.Errorf("the error stayed once mended:\n%s", ansiStrip(c.View()))
	}
}
