package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

// TestAgendaGolden: the agenda of the demo vault (seed 1, pinned to Mon 2
// Nov 2026) at each size, at its top and on its This week section, in
// testdata/TestAgendaGolden/<size>/ (-update rewrites).
func TestAgendaGolden(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			v := openVault(t, demoVaultFile(t))
			p := start(t, testOptions(t, v), sz.w, sz.h)
			check := goldenCheck(t, sz.w, sz.h)
			p.unlock()
			p.notesLoaded()
			p.key(runeKey('a'))
			check("agenda", p.waitText("Cases › Agenda", "Overdue · ", "this week", "1/"))
			p.key(keyTab)
			p.key(keyTab)
			check("agenda-week", p.waitFor("the week's first item selected", func(s string) bool {
				return strings.Contains(s, "This week · ") && strings.Contains(s, "▸ Tue 3 Nov")
			}))
			p.key(runeKey('?'))
			check("agenda-help", p.waitText("Keys: Agenda", "Everywhere"))
			p.key(keyEsc)
			p.waitText("This week · ")
			p.key(keyEsc)
			p.waitText("cases · sorted by next due")
			p.quit()
		})
	}
}

// agendaVault is a small vault with one thing of each kind due, pinned to
// testNow (Mon 2 Nov 2026); empty makes one with nothing due.
func agendaVault(t *testing.T, empty bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agenda.db")
	v := storetest.Create(t, path, testPass, store.Profile{Name: "Test Worker"}, store.Options{})
	defer v.Close() // the program opens it next
	later, err := v.CreateCase(record.Case{Ref: "R-2", Subject: "Ben Fictional", NextVisit: "2026-12-20"})
	if err != nil {
		t.Fatal(err)
	}
	if empty {
		return path
	}
	id, err := v.CreateCase(record.Case{Ref: "R-1", Subject: "Amelia Testcase", NextVisit: "2026-10-30", Workers: []string{"J. Okafor"},
		CourtDates: []record.CourtDate{{Date: "2026-11-04", Hearing: "Case management hearing", Court: "Ashbury Family Court"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []record.Task{
		{Title: "Call school", Kind: "task", Due: "2026-11-02"},
		{Title: "Chase housing referral", Kind: "task", Due: "2026-10-01"},
		{Title: "Done already", Kind: "task", Due: "2026-11-02", Done: true},
	} {
		if _, err := v.AddTask(id, tk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.AddTask(later, record.Task{Title: "Statutory visit", Kind: "visit", Due: "2026-11-06"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddConsent(id, record.Consent{Person: "Mum", Scope: []string{"health"}, Decision: "given", Date: "2026-01-01", ReviewDate: "2026-11-03"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// unlockSmall unlocks a vault that is not the demo's and waits for its list.
func (p *program) unlockSmall(cases int) {
	p.t.Helper()
	p.waitText("Passphrase")
	p.typeText(testPass)
	p.key(keyEnter)
	p.waitText(plural(cases, "case", "cases") + " · sorted by")
}

// TestAgendaOpens: a opens the agenda from the case list; enter on a visit
// opens its case, on a task the case's tasks with that task selected; esc
// comes back to the agenda each time.
func TestAgendaOpens(t *testing.T) {
	v := openVault(t, agendaVault(t, false))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlockSmall(2)
	p.key(runeKey('a'))
	s := p.waitText("Overdue · 2", "Today · 1", "This week · 3")
	for _, want := range []string{
		"▸ Thu 1 Oct  task    R-1       ", // the oldest first, selected
		"Fri 30 Oct visit   R-1",
		"Mon 2 Nov  task    R-1       Amelia Testcase",
		"Tue 3 Nov  review  R-1",
		"Wed 4 Nov  hearing R-1",
		"Fri 6 Nov  visit   R-2",
		"2 overdue · 1 today · 3 this week",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("agenda lacks %q:\n%s", want, s)
		}
	}
	for _, gone := range []string{"Done already", "2026-12-20", "Sun 20 Dec"} {
		if strings.Contains(s, gone) {
			t.Errorf("agenda shows %q:\n%s", gone, s)
		}
	}

	// A task: its case's tasks, the task selected.
	p.key(keyEnter)
	p.waitFor("the task selected", func(s string) bool {
		return strings.Contains(s, "Tasks & visits · R-1") && strings.Contains(s, "▸") && selectedLine(s, "Chase housing referral")
	})
	p.key(keyEsc)
	p.waitText("Overdue · 2")

	// The next visit: the case.
	p.key(runeKey('j'))
	p.waitText("▸ Fri 30 Oct")
	p.key(keyEnter)
	p.waitText("Cases › Agenda › R-1", "People")
	p.key(keyEsc)
	p.waitText("▸ Fri 30 Oct")

	// tab to This week; a task of kind visit opens the other case's tasks.
	p.key(keyTab)
	p.waitText("▸ Mon 2 Nov")
	p.key(keyTab)
	p.waitText("▸ Tue 3 Nov")
	p.key(runeKey('G'))
	p.waitText("▸ Fri 6 Nov", "6/6")
	p.key(keyEnter)
	p.waitFor("R-2's visit selected", func(s string) bool {
		return strings.Contains(s, "Tasks & visits · R-2") && selectedLine(s, "Statutory visit")
	})
	p.key(keyEsc)
	p.waitText("▸ Fri 6 Nov")
	p.key(runeKey('g'))
	p.waitText("▸ Thu 1 Oct")
	p.key(keyEsc)
	p.waitText("2 cases · sorted by")
	p.quit()
}

// selectedLine reports whether the line with the cursor mark holds text.
func selectedLine(screen, text string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "▸") && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// TestAgendaEmpty: with nothing due, the agenda says so, at 80×24.
func TestAgendaEmpty(t *testing.T) {
	v := openVault(t, agendaVault(t, true))
	p := start(t, testOptions(t, v), 80, 24)
	p.unlockSmall(1)
	p.key(runeKey('a'))
	s := p.waitText("Nothing overdue, nothing today or this week.")
	assertFits(t, "agenda-empty", s, 80, 24)
	if !strings.Contains(s, "0 overdue · 0 today · 0 this week") {
		t.Errorf("agenda counts missing:\n%s", s)
	}
	p.key(keyEnter) // nothing to open: stays
	p.key(keyTab)
	p.waitText("Nothing overdue")
	p.quit()
}

// TestAgendaResize: the agenda fits the window as it changes size, its rows
// cut to the width, never wrapped.
func TestAgendaResize(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 24)
	p.unlock()
	p.key(runeKey('a'))
	p.waitText("Overdue · ")
	p.key(runeKey('G'))
	for _, sz := range []struct{ w, h int }{{100, 30}, {60, 20}, {40, 12}, {30, 8}, {132, 50}, {80, 24}} {
		p.tm.Send(tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
		s := p.waitFor(fmt.Sprintf("agenda at %d×%d", sz.w, sz.h), func(s string) bool {
			return len(strings.Split(s, "\n")) == sz.h && strings.Contains(s, "Agenda")
		})
		assertFits(t, "agenda", s, sz.w, sz.h)
		if !strings.Contains(s, "▸") {
			t.Errorf("agenda at %d×%d lost its cursor:\n%s", sz.w, sz.h, s)
		}
	}
	p.quit()
}
