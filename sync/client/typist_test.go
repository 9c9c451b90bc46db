package client_test

import (
	"testing"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/syncharness"
)

// A typist enrolled after a dictation was submitted and synced gets it:
// the caseworker's next round shares the case key with the typist devices
// that exist by then, and the typist's next round can read and type it.
func TestTypistEnrolledLate(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c, _, rec := openToTypists(t, "A-1", ada, sam)
	syncRounds(t, ada, sam) // opened to typists while the team has none

	tia := s.NewDevice("tia", s.URL, "tia", "typist", "north")
	tia.MustSync()
	ada.MustSync()
	tia.MustSync()
	waiting, err := caseload.CasesWaitingTranscription(tia.V)
	if err != nil || len(waiting) != 1 || waiting[0] != c {
		t.Fatalf("typist enrolled late: waiting %v, %v; want [%s]", waiting, err, c)
	}
	item, err := tia.V.Recording(rec)
	if err != nil || item.Value.Status != "submitted" {
		t.Fatalf("typist enrolled late reads the recording as %+v, %v", item.Value, err)
	}

	// A second laptop of the same typist, enrolled later still, gets it too.
	tia2 := s.NewDevice("tia-2", s.URL, "tia", "typist", "north")
	tia2.MustSync()
	ada.MustSync()
	tia2.MustSync()
	if _, err := tia2.V.Recording(rec); err != nil {
		t.Fatalf("typist's second laptop: %v", err)
	}
}
