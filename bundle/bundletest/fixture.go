package bundletest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Fixture is a case as a producer would hand it to Write, made of real
// signed revisions (bodies are opaque here: random bytes stand for the
// sealed ciphertext), an agency with real statements, and a real log.
type Fixture struct {
	T      testing.TB
	Agency *trust.AgencyKey
	Src    *bundle.Source
	Log    *Log
	devs   map[string]ed25519.PrivateKey
	seqs   map[string]uint64
	clock  time.Time
	audit  map[string]*record.AuditEvent // device's last event
}

// NewFixture is an agency with one team, an empty case and a log.
func NewFixture(t testing.TB) *Fixture {
	t.Helper()
	ak, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	lg, err := NewLog("test-log")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture{T: t, Agency: ak, Log: lg, devs: map[string]ed25519.PrivateKey{}, seqs: map[string]uint64{},
		clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), audit: map[string]*record.AuditEvent{}}
	f.Src = &bundle.Source{CaseID: "CASE1", Ref: "GAL-2026-0142", Agency: ak.Public(), Producer: "the test",
		Now: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	f.Src.Statements = append(f.Src.Statements, ak.Sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North team"}))
	return f
}

// Enrol makes a user with one laptop, as the agency and the code would sign.
func (f *Fixture) Enrol(user, name string, role trust.Role, device string) {
	f.T.Helper()
	f.Src.Statements = append(f.Src.Statements, f.Agency.Sign(trust.Statement{Kind: trust.KindUser, User: user, Name: name, Role: role, Team: "north", Version: 1}))
	f.Device(user, device)
}

// Device enrols a further laptop of user.
func (f *Fixture) Device(user, device string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.T.Fatal(err)
	}
	c := trust.NewCode(f.Agency.Public())
	f.Src.Statements = append(f.Src.Statements,
		f.Agency.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: user, Key: c.Key().Public().(ed25519.PublicKey), Expires: f.clock.Add(time.Hour)}),
		trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: device, Name: user + "'s laptop", Recipient: "age1pq1test" + device,
			Key: pub, Grant: c.GrantID(), Issued: f.clock}))
	f.devs[device] = priv
}

// Rogue makes a device with a key but no statement at all.
func (f *Fixture) Rogue(device string) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	f.devs[device] = priv
}

// Rev makes a signed revision by device.
func (f *Fixture) Rev(device, recordID string, kind record.Kind, deleted bool, parents ...record.RevID) *record.Revision {
	f.T.Helper()
	f.seqs[device]++
	f.clock = f.clock.Add(time.Minute)
	body := make([]byte, 96)
	rand.Read(body)
	r := &record.Revision{RecordID: recordID, Kind: kind, CaseID: f.Src.CaseID, Parents: parents, Generation: uint64(1 + len(parents)),
		HLC: record.HLC(uint64(f.clock.UnixMilli()) << 16), Device: device, Seq: f.seqs[device], Deleted: deleted, Body: body}
	r.Seal()
	r.Sign(func(m []byte) []byte { return ed25519.Sign(f.devs[device], m) })
	return r
}

// Add makes a new record of kind with value v, signed by device, and puts
// it in the source.
func (f *Fixture) Add(device string, kind record.Kind, v any) *record.Revision {
	f.T.Helper()
	id := record.NewID()
	if kind == record.KindCase {
		id = f.Src.CaseID
	}
	r := f.Rev(device, id, kind, false)
	f.Src.Records = append(f.Src.Records, bundle.Record{Rev: r, Value: v, Versions: 1})
	return r
}

// Event adds a signed audit event to device's chain.
func (f *Fixture) Event(device, action, detail string) *record.Revision {
	prev := f.audit[device]
	e := &record.AuditEvent{Action: action, Detail: detail, At: f.clock.Add(time.Minute), Actor: device, Device: device, Seq: 1}
	if prev != nil {
		e.Seq, e.Prev = prev.Seq+1, prev.Hash()
	}
	e.Sign(func(m []byte) []byte { return ed25519.Sign(f.devs[device], m) })
	f.audit[device] = e
	return f.Add(device, record.KindAudit, e)
}

// LogAll logs every revision and attaches the evidence.
func (f *Fixture) LogAll() {
	f.T.Helper()
	for _, r := range f.Src.Records {
		if err := f.Log.AppendRevisions(r.Rev); err != nil {
			f.T.Fatal(err)
		}
	}
	for _, r := range f.Src.Deletions {
		if err := f.Log.AppendRevisions(r); err != nil {
			f.T.Fatal(err)
		}
	}
	ev, err := f.Log.Evidence()
	if err != nil {
		f.T.Fatal(err)
	}
	f.Src.Evidence = ev
}

// FakeOgg stands in for a recording's audio at this level (the real audio
// path is tested in cmd/fieldcase).
func FakeOgg(_ context.Context, r bundle.Record, w io.Writer) error {
	_, err := fmt.Fprintf(w, "OggS not really: audio of %s", r.Rev.RecordID)
	return err
}

// StandardCase is a case with every kind of record, names in several
// scripts, a transcript, a recording, a deletion and access events.
func StandardCase(t testing.TB) *Fixture {
	f := NewFixture(t)
	f.Enrol("ada", "Ada Lovelace", trust.RoleCaseworker, "ada-laptop")
	f.Enrol("zoe", "Zoë Ångström-Ødegård", trust.RoleSupervisor, "zoe-laptop")
	f.Enrol("kat", "Катерина Σοφία", trust.RoleTypist, "kat-laptop")
	f.Add("ada-laptop", record.KindCase, &record.Case{Ref: "GAL-2026-0142", Subject: "Amélie Núñez", DOB: "2015-04-01", Status: "open", Risk: "high",
		Address: "4 Kiln Lane, Ashbury", Opened: "2026-01-05", Summary: "Referred by the school nurse.\nTwo younger siblings at home.",
		CourtDates: []record.CourtDate{{Date: "2026-05-20", Hearing: "IRH", Court: "Ashbury Family Court"}},
		People:     []record.Person{{Name: "Łucja Núñez", Role: "mother"}, {Name: "יוסף", Role: "father"}}})
	f.Add("ada-laptop", record.KindNote, &record.Note{Kind: "visit", Date: "2026-03-04", Time: "14:00", Place: "Home", Attendees: []string{"Amélie", "Łucja"},
		Text: "Visited at home. Amélie showed me her drawings 🎨 and said she felt safe.\n\nThe flat was warm; food in the fridge."})
	f.Add("zoe-laptop", record.KindNote, &record.Note{Kind: "supervision", Date: "2026-03-06", Text: "Discussed the plan with Ada."})
	f.Add("ada-laptop", record.KindConsent, &record.Consent{Person: "Łucja Núñez", Scope: []string{"health", "school"}, Decision: "given", Date: "2026-03-04", ReviewDate: "2027-03-04"})
	f.Add("ada-laptop", record.KindTask, &record.Task{Title: "Home visit", Kind: "visit", Due: "2026-03-18"})
	transcript := record.NewID()
	tr := f.Rev("kat-laptop", transcript, record.KindNote, false)
	f.Src.Records = append(f.Src.Records, bundle.Record{Rev: tr, Versions: 1, Value: &record.Note{Kind: "court", Date: "2026-03-08", Text: "Transcript: the child said she wants to stay with her grandmother."}})
	f.Add("ada-laptop", record.KindRecording, &record.Recording{Title: "Court report dictation", WorkType: "court report", Priority: "normal", Status: "transcribed",
		Recorded: "2026-03-07T10:00:00Z", DurationMS: 95000, Codec: "opus", SampleRate: 16000, Timeline: []byte{1}, Transcript: transcript})
	gone := f.Add("ada-laptop", record.KindNote, &record.Note{Kind: "phone", Date: "2026-03-05", Text: "Wrong case."})
	f.Src.Records = f.Src.Records[:len(f.Src.Records)-1]
	f.Src.Deletions = append(f.Src.Deletions, f.Rev("ada-laptop", gone.RecordID, record.KindNote, true, gone.Rev))
	f.Event("ada-laptop", record.AuditOpen, "")
	f.Event("ada-laptop", record.AuditExport, "recording exported to report.ogg")
	f.Event("zoe-laptop", record.AuditOpen, "")
	f.Src.Audio = FakeOgg
	return f
}
