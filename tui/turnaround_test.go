package tui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
)

// turnaroundFixture writes dictation manifests with known times into a
// supervisor's (unlocked) vault, relative to testNow (Mon 2 Nov 2026
// 09:30). The figures they give:
//
//	typist      done  median  p90        (waits 2, 4, 10, 30 h; 1 h)
//	Ray Typist     1   1.0 h   1.0 h
//	Tia Typist     4   4.0 h  30.0 h
//	author      done  median  p90    waiting  oldest  overdue
//	J. Okafor      2   1.0 h  30.0 h     2    3.0 d     1  (due Fri 30 Oct)
//	M. Doherty     3   4.0 h  10.0 h     0      —       0
//	S. Patel       0     —      —        1   30.0 h     0  (due today: not overdue)
func turnaroundFixture(t *testing.T, v *store.Vault) {
	t.Helper()
	at := func(h int) string { return testNow.Add(time.Duration(h) * time.Hour).UTC().Format(time.RFC3339) }
	caseID := caseByRef(t, v, "DEMO-0042")
	put := func(r record.Recording) {
		t.Helper()
		r.WorkType, r.Priority, r.Codec, r.SampleRate = "court report", "normal", record.DefaultRecordCodec, 16000
		r.Recorded = r.Submitted
		if _, err := v.PutRecording(caseID, record.NewID(), nil, r, true); err != nil {
			t.Fatal(err)
		}
	}
	done := func(author, typist string, subH, doneH int) {
		put(record.Recording{Title: "done", Author: author, Status: "transcribed", Submitted: at(subH), Due: "2026-11-06",
			Transcribed: at(doneH), TranscribedBy: typist})
	}
	done("M. Doherty", "Tia Typist", -100, -98)
	done("M. Doherty", "Tia Typist", -100, -96)
	done("M. Doherty", "Tia Typist", -100, -90)
	done("J. Okafor", "Tia Typist", -50, -20)
	done("J. Okafor", "Ray Typist", -50, -49)
	put(record.Recording{Title: "waiting long", Author: "J. Okafor", Status: "submitted", Submitted: at(-72), Due: "2026-10-30"})
	put(record.Recording{Title: "waiting", Author: "J. Okafor", Status: "submitted", Submitted: at(-5), Due: "2026-11-04"})
	put(record.Recording{Title: "due today", Author: "S. Patel", Status: "submitted", Submitted: at(-30), Due: "2026-11-02"})
	put(record.Recording{Title: "a draft", Author: "S. Patel", Status: "draft"})
}

// The supervisor opens the turnaround from the team view (t): the figures
// of the fixture, exactly, offline (no team service answers), and the due
// rules in force with where they come from.
func TestTeamTurnaround(t *testing.T) {
	v, ft, opts := supervisorSetup(t)
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	turnaroundFixture(t, v)
	v.Lock()
	ft.refreshErr = fmt.Errorf("%w: dial tcp: connection refused", client.ErrOffline) // the screen needs no server
	p := start(t, opts, 120, 40)
	p.unlock()
	p.notesLoaded()
	p.key(runeKey('T'))
	p.waitText("Team caseloads", "offline")
	p.key(runeKey('?'))
	p.waitText("dictation turnaround", "Keys: Team")
	p.key(keyEsc)
	p.waitText("Team caseloads")
	p.key(runeKey('t'))
	s := p.waitText("Dictation turnaround", "3 waiting · 1 overdue · oldest 3.0 d", "Due dates")
	for _, want := range []string{
		`Ray Typist +1 +1\.0 h +1\.0 h`,
		`Tia Typist +4 +4\.0 h +30\.0 h`,
		`J\. Okafor +2 +1\.0 h +30\.0 h +2 +3\.0 d +1 !`,
		`M\. Doherty +3 +4\.0 h +10\.0 h +0 +— +0`,
		`S\. Patel +0 +— +— +1 +30\.0 h +0`,
		`urgent 1, high 2, normal 5 working days \(the defaults: the agency has set no due rules\)`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("turnaround lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "Ray Typist") > strings.Index(s, "Tia Typist") || strings.Index(s, "J. Okafor") > strings.Index(s, "S. Patel") {
		t.Errorf("rows not by name:\n%s", s)
	}
	p.key(keyEsc)
	p.waitText("Team caseloads")
	p.quit()
}

// The settings say which due rules a submission goes by: here, with no
// agency rules on this laptop, its own turnaround setting.
func TestSettingsDueRules(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	opts := testOptions(t, v)
	opts.DueRules = record.DueRules{"urgent": 2, "high": 3, "normal": 7, "court report": 4}
	p := start(t, opts, 120, 40)
	p.unlock()
	p.notesLoaded()
	p.key(runeKey(','))
	p.waitText("Due dates for dictation", "urgent 2, high 3, normal 7 working days; court report at most 4 (this laptop's turnaround setting")
	p.key(keyEsc)
	p.quit()
}
