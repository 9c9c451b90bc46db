package trust_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func writer(id string, role trust.Role, team string) trust.Writer {
	return trust.Writer{User: trust.User{ID: id, Name: id, Role: role, Team: team}, Device: trust.Device{ID: id + "-laptop", User: id}}
}

func TestMayWrite(t *testing.T) {
	m := trust.Membership{Team: "north", Members: []string{"ada"}, Typists: []string{"tia"}}
	ada := writer("ada", trust.RoleCaseworker, "north")
	bob := writer("bob", trust.RoleCaseworker, "north")
	sam := writer("sam", trust.RoleSupervisor, "north")
	sue := writer("sue", trust.RoleSupervisor, "south")
	tia := writer("tia", trust.RoleTypist, "north")
	tom := writer("tom", trust.RoleTypist, "north") // not open to him
	adm := writer("root", trust.RoleAdmin, "")
	revoked := writer("ada", trust.RoleCaseworker, "north")
	revoked.Device.Revoked, revoked.Device.AfterSeq = true, 10

	note := func(gen uint64, deleted bool) trust.Write {
		return trust.Write{Kind: record.KindNote, Generation: gen, Deleted: deleted, Seq: 11}
	}
	cases := []struct {
		name string
		wr   trust.Writer
		w    trust.Write
		ok   bool
	}{
		{"member writes a note", ada, note(1, false), true},
		{"member edits a note", ada, note(3, false), true},
		{"member deletes a note", ada, note(2, true), true},
		{"non-member caseworker", bob, note(1, false), false},
		{"team supervisor deletes", sam, note(2, true), true},
		{"other team's supervisor", sue, note(1, false), false},
		{"typist adds a transcript", tia, note(1, false), true},
		{"typist edits a note", tia, note(2, false), false},
		{"typist deletes a note", tia, note(2, true), false},
		{"typist updates a recording", tia, trust.Write{Kind: record.KindRecording, Generation: 2}, true},
		{"typist deletes a recording", tia, trust.Write{Kind: record.KindRecording, Generation: 2, Deleted: true}, false},
		{"typist makes a recording", tia, trust.Write{Kind: record.KindRecording, Generation: 1}, false},
		{"typist edits the case", tia, trust.Write{Kind: record.KindCase, Generation: 2}, false},
		{"typist writes a consent", tia, trust.Write{Kind: record.KindConsent, Generation: 1}, false},
		{"typist logs reading", tia, trust.Write{Kind: record.KindAudit, Generation: 1}, true},
		{"typist the case is not open to", tom, note(1, false), false},
		{"admin", adm, note(1, false), false},
		{"audit event edited", sam, trust.Write{Kind: record.KindAudit, Generation: 2}, false},
		{"audit event deleted", ada, trust.Write{Kind: record.KindAudit, Generation: 1, Deleted: true}, false},
		{"revoked device, before its cutoff", revoked, trust.Write{Kind: record.KindNote, Generation: 1, Seq: 10}, true},
		{"revoked device, after its cutoff", revoked, trust.Write{Kind: record.KindNote, Generation: 1, Seq: 11}, false},
		{"keyring through the general rule", sam, trust.Write{Kind: record.KindKeyring, Generation: 1}, false},
		{"typist's first version in Ada's note (a second root)", tia, trust.Write{Kind: record.KindNote, Generation: 1,
			RecordID: trust.NewRecordID(ada.Device.ID, time.Now())}, false},
		{"typist's first version in a record with a plain id", tia, trust.Write{Kind: record.KindNote, Generation: 1, RecordID: record.NewID()}, false},
	}
	for _, c := range cases {
		c.w.Device = c.wr.Device.ID
		if c.w.RecordID == "" {
			c.w.RecordID = trust.NewRecordID(c.wr.Device.ID, time.Now()) // a record the writer made
		}
		err := trust.MayWrite(c.wr, c.w, m)
		if (err == nil) != c.ok {
			t.Errorf("%s: MayWrite = %v, want allowed=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, trust.ErrNotAllowed) {
			t.Errorf("%s: error %v is not ErrNotAllowed", c.name, err)
		}
	}
}

func TestMayWriteKeyring(t *testing.T) {
	ada := writer("ada", trust.RoleCaseworker, "north")
	bob := writer("bob", trust.RoleCaseworker, "north")
	sam := writer("sam", trust.RoleSupervisor, "north")
	tia := writer("tia", trust.RoleTypist, "north")
	caseID, salt := trust.NewCaseID(ada.Device.ID, time.Now())
	kr := func(wr trust.Writer, gen uint64) trust.Write {
		return trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: gen, Device: wr.Device.ID, Seq: 5}
	}
	created := trust.Membership{Team: "north", Members: []string{"ada"}, Salt: salt}
	cases := []struct {
		name string
		wr   trust.Writer
		w    trust.Write
		prev *trust.Membership
		next trust.Membership
		ok   bool
	}{
		{"creator's first keyring", ada, kr(ada, 1), nil, created, true},
		{"first keyring before enrolment (no team yet)", ada, kr(ada, 1), nil, trust.Membership{Salt: salt}, true},
		{"creator claims it for the team at enrolment", ada, kr(ada, 2), &trust.Membership{Salt: salt}, trust.Membership{Team: "north", Members: []string{"ada"}}, true},
		{"someone else claims an unclaimed case", bob, kr(bob, 2), &trust.Membership{Salt: salt}, trust.Membership{Team: "north", Members: []string{"bob"}}, false},
		{"someone else's first keyring for the case", bob, kr(bob, 1), nil, trust.Membership{Team: "north", Members: []string{"bob"}, Salt: salt}, false},
		{"first keyring naming other members", ada, kr(ada, 1), nil, trust.Membership{Team: "north", Members: []string{"ada", "bob"}, Salt: salt}, false},
		{"first keyring for another team", ada, kr(ada, 1), nil, trust.Membership{Team: "south", Members: []string{"ada"}, Salt: salt}, false},
		{"member rewraps, same members", ada, kr(ada, 2), &created, created, true},
		{"member opens the case to a typist", ada, kr(ada, 2), &created, trust.Membership{Team: "north", Members: []string{"ada"}, Typists: []string{"tia"}}, true},
		{"member adds a member", ada, kr(ada, 2), &created, trust.Membership{Team: "north", Members: []string{"ada", "bob"}}, false},
		{"member sets a cutoff", ada, kr(ada, 2), &created, trust.Membership{Team: "north", Members: []string{"ada"}, Cutoffs: map[string]uint64{"x": 1}}, false},
		{"non-member rewraps", bob, kr(bob, 2), &created, created, false},
		{"supervisor reassigns", sam, kr(sam, 1), &created, trust.Membership{Team: "north", Members: []string{"bob"}, Cutoffs: map[string]uint64{"ada-laptop": 9}}, true},
		{"supervisor moves the case to another team", sam, kr(sam, 2), &created, trust.Membership{Team: "south", Members: []string{"ada"}}, false},
		{"typist writes a keyring", tia, kr(tia, 2), &created, created, false},
		{"keyring deleted", sam, trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: 2, Deleted: true, Device: sam.Device.ID}, &created, created, false},
	}
	for _, c := range cases {
		err := trust.MayWriteKeyring(c.wr, c.w, c.prev, c.next)
		if (err == nil) != c.ok {
			t.Errorf("%s: MayWriteKeyring = %v, want allowed=%v", c.name, err, c.ok)
		}
	}
}

func TestRecordIDBinding(t *testing.T) {
	id := trust.NewRecordID("dev-1", time.Now())
	if err := record.ValidID(id); err != nil || len(id) != 40 {
		t.Fatalf("record id %q: %v", id, err)
	}
	if !trust.BindsRecord(id, "dev-1") || trust.BindsRecord(id, "dev-2") {
		t.Error("record id binding")
	}
	// Another last character (never the same one: a fixed "0" flaked one
	// run in 32, when the binding ended in "0" already).
	last := "0"
	if id[39] == '0' {
		last = "1"
	}
	for _, bad := range []string{record.NewID(), id[:26], id[:39] + last, "X" + id[1:]} {
		if trust.BindsRecord(bad, "dev-1") {
			t.Errorf("%q binds", bad)
		}
	}
	if trust.NewRecordID("dev-1", time.Now()) == id {
		t.Error("two record ids are equal")
	}
}

func TestCaseIDBinding(t *testing.T) {
	id, salt := trust.NewCaseID("dev-1", time.Now())
	if err := record.ValidID(id); err != nil || len(id) != 26 {
		t.Fatalf("case id %q: %v", id, err)
	}
	if !trust.BindsCase(id, "dev-1", salt) {
		t.Error("case id does not bind its creator")
	}
	if trust.BindsCase(id, "dev-2", salt) {
		t.Error("case id binds another device")
	}
	if trust.BindsCase(id, "dev-1", append([]byte{salt[0] ^ 1}, salt[1:]...)) { // never the same salt
		t.Error("case id binds another salt")
	}
	if trust.BindsCase(record.NewID(), "dev-1", salt) {
		t.Error("a random id binds")
	}
	id2, _ := trust.NewCaseID("dev-1", time.Now())
	if id2 == id {
		t.Error("two case ids are equal")
	}
}

func TestMembershipUnion(t *testing.T) {
	a := trust.Membership{Team: "north", Members: []string{"ada"}, Cutoffs: map[string]uint64{"d1": 9}}
	b := trust.Membership{Team: "north", Members: []string{"bob", "ada"}, Typists: []string{"tia"}, Cutoffs: map[string]uint64{"d1": 4, "d2": 7}}
	u := a.Union(b)
	if len(u.Members) != 2 || len(u.Typists) != 1 || u.Cutoffs["d1"] != 4 || u.Cutoffs["d2"] != 7 {
		t.Errorf("union = %+v", u)
	}
	if a.Cutoffs["d1"] != 9 {
		t.Error("union changed its receiver")
	}
}

// A removal that names the log's size cuts a removed device off by its
// checked place in the log, not only by the number it claims.
func TestCutoffByLog(t *testing.T) {
	later := trust.Membership{Team: "north", Members: []string{"ada"}, Cutoffs: map[string]uint64{"bob1": 12}, CutoffLog: 300}
	for _, c := range []struct {
		device string
		seq    uint64
		index  int64
		blocks bool
	}{
		{"bob1", 13, 10, true},     // past the number
		{"bob1", 5, 299, false},    // before both
		{"bob1", 5, 300, true},     // a number from before, logged after: backdated
		{"bob1", 5, -1, true},      // place not checked yet: waits
		{"ada1", 999, 9999, false}, // not removed
	} {
		w := trust.Write{Device: c.device, Seq: c.seq, LogIndex: c.index}
		if got := trust.CutoffBlocks(later, w); got != c.blocks {
			t.Errorf("%s seq %d at %d: blocks %v, want %v", c.device, c.seq, c.index, got, c.blocks)
		}
	}
	// Without a log size, the number alone decides (as before the log).
	old := trust.Membership{Cutoffs: map[string]uint64{"bob1": 12}}
	if trust.CutoffBlocks(old, trust.Write{Device: "bob1", Seq: 5, LogIndex: -1}) {
		t.Error("a removal without a log size blocks a revision within the number")
	}
	// The union keeps the strictest size; a caseworker cannot change it.
	u := later.Union(trust.Membership{Team: "north", CutoffLog: 200})
	if u.CutoffLog != 200 {
		t.Errorf("union cutoff log %d, want 200", u.CutoffLog)
	}
	if u := later.Union(trust.Membership{Team: "north"}); u.CutoffLog != 300 {
		t.Errorf("union with none: %d, want 300", u.CutoffLog)
	}
	ada := writer("ada1", trust.RoleCaseworker, "north")
	ada.User.ID = "ada"
	kw := trust.Write{Kind: record.KindKeyring, Generation: 2, Device: "ada1"}
	if err := trust.MayWriteKeyring(ada, kw, &later, later); err != nil {
		t.Fatalf("a member's keyring that changes nothing: %v", err)
	}
	next := later
	next.CutoffLog = 10_000
	if err := trust.MayWriteKeyring(ada, kw, &later, next); err == nil || !strings.Contains(err.Error(), "removes members") {
		t.Errorf("a caseworker moved a removal's log size: %v", err)
	}
}
