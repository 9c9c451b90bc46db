package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// team is a small agency: Ada (caseworker) owns a case, Sam supervises,
// Tia types, and Bob is another caseworker of the team.
type team struct {
	ag                 *testAgency
	ada, sam, tia, bob *Vault
	caseID, noteID     string
}

func newTeam(t *testing.T) *team {
	t.Helper()
	tm := &team{ag: newTestAgency(t), ada: MustCreate(t), sam: MustCreate(t), tia: MustCreate(t), bob: MustCreate(t)}
	tm.ag.enrol(tm.ada, "ada", trust.RoleCaseworker, "north")
	tm.ag.enrol(tm.sam, "sam", trust.RoleSupervisor, "north")
	tm.ag.enrol(tm.tia, "tia", trust.RoleTypist, "north")
	tm.ag.enrol(tm.bob, "bob", trust.RoleCaseworker, "north")
	tm.caseID = mustCase(t, tm.ada, "R-1", "Child A")
	tm.noteID = mustNote(t, tm.ada, tm.caseID, "the visit went well")
	pullAll(t, tm.ada, tm.sam, tm.tia, tm.bob)
	return tm
}

// forged is a revision as a hostile server can make it: it knows every
// public key, holds no device's private key.
func forged(t *testing.T, rev record.Revision) *record.Revision {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	rev.Seal()
	rev.Sign(func(m []byte) []byte { return ed25519.Sign(priv, m) })
	if err := rev.Validate(); err != nil {
		t.Fatal(err)
	}
	return &rev
}

func mustQuarantine(t *testing.T, v *Vault, rev *record.Revision, reason string) {
	t.Helper()
	res, err := v.ApplyPage([]*record.Revision{rev}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Quarantined != 1 || res.New != 0 {
		t.Fatalf("ApplyPage = %+v, want the revision quarantined", res)
	}
	q, _ := v.Quarantine()
	for _, e := range q {
		if e.Rev == rev.Rev {
			if !strings.Contains(e.Reason, reason) {
				t.Errorf("quarantine reason %q, want it to say %q", e.Reason, reason)
			}
			return
		}
	}
	t.Fatalf("revision %s not in the quarantine %+v", rev.Rev.Short(), q)
}

func (tm *team) head(t *testing.T, v *Vault, recordID string) record.RevID {
	t.Helper()
	var rev record.RevID
	v.Update(func(tx *Tx) error {
		e, err := tx.heads(tm.caseID, recordID)
		if err == nil && len(e.Heads) > 0 {
			rev = e.Heads[0].Rev
		}
		return err
	})
	return rev
}

// Attack 1: the server writes a keyring of a new epoch, wrapped to the
// members' public recipients, so that later notes are sealed under a key it
// chose. The keyring is not signed by any trusted device: quarantined, and
// the member keeps writing under the key it trusts.
func TestForgedKeyEpochIsQuarantined(t *testing.T) {
	tm := newTeam(t)
	ada, _ := tm.ada.Identity()
	serverKey := crypto.NewCaseKey(tm.caseID, 2)
	wrapped, err := crypto.WrapKey(serverKey, ada.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	body := sealed.Keyring{Epoch: 2, Wrapped: wrapped, Membership: trust.Membership{Team: "north", Members: []string{"ada"}}}.Marshal()
	for _, device := range []string{"server-made-device", tm.sam.DeviceID()} { // unknown, and a real device's name
		rev := forged(t, record.Revision{RecordID: record.KeyringID(tm.caseID, 2), Kind: record.KindKeyring, CaseID: tm.caseID,
			Generation: 1, HLC: record.HLC(1 << 40), Device: device, Seq: 99, Body: body})
		mustQuarantine(t, tm.ada, rev, map[bool]string{true: "not on the agency's signed roster", false: "signature"}[device == "server-made-device"])
	}
	noteID := mustNote(t, tm.ada, tm.caseID, "after the forged epoch")
	r, _ := tm.ada.Revision(tm.caseID, noteID, tm.head(t, tm.ada, noteID))
	if e, _ := crypto.SealedEpoch(r.Body); e != 1 {
		t.Fatalf("the next note is sealed under epoch %d, want the trusted epoch 1", e)
	}
}

// Attacks 2 and 3: an operator-enrolled device and a swapped recovery
// recipient, each with statements the server can make (a grant signed by a
// key of its own; a recovery recipient signed by it). No case key is ever
// wrapped to them.
func TestOperatorRecipientsGetNoKey(t *testing.T) {
	tm := newTeam(t)
	server, _ := trust.GenerateAgencyKey()
	evilDevice, _ := age.GenerateHybridIdentity()
	evilRecovery, _ := age.GenerateHybridIdentity()
	c := trust.NewCode(tm.ag.key.Public())
	grant := server.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	dev := trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "operators-laptop", Name: "Ada's new laptop",
		Recipient: evilDevice.Recipient().String(), Key: priv.Public().(ed25519.PublicKey), Grant: c.GrantID()})
	rec := server.Sign(trust.Statement{Kind: trust.KindRecovery, Recipient: evilRecovery.Recipient().String(), Version: 7})
	changes, err := tm.ada.AddStatements([]trust.Signed{grant, dev, rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes.NewDevices) != 0 || changes.NewRecovery != "" || len(changes.Problems) < 2 {
		t.Errorf("changes = %+v, want nothing trusted and the refusals named", changes)
	}
	if n, err := tm.ada.ExtendKeyrings(); err != nil || n != 0 {
		t.Errorf("ExtendKeyrings wrote %d keyrings (%v): nothing changed", n, err)
	}
	// A new case and a rotation: the keyrings open for Ada, never for them.
	caseID := mustCase(t, tm.ada, "R-2", "Child B")
	if _, err := tm.sam.RotateCaseKey(tm.caseID, nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*Vault{tm.ada, tm.sam} {
		revs, _ := v.Outbox(0)
		for _, r := range revs {
			if r.Kind != record.KindKeyring {
				continue
			}
			kb, _ := sealed.DecodeKeyring(r.Body)
			for _, id := range []*age.HybridIdentity{evilDevice, evilRecovery} {
				if _, err := age.Decrypt(strings.NewReader(string(kb.Wrapped)), id); err == nil {
					t.Fatalf("keyring %s of case %s opens for an operator's key", r.RecordID, caseID)
				}
			}
		}
	}
}

// Attacks 4 and 5, and the other writers who may not: each refused on the
// device, whatever the server did with it.
func TestUnauthorisedWritesAreQuarantined(t *testing.T) {
	tm := newTeam(t)
	noteHead := tm.head(t, tm.ada, tm.noteID)

	// 4: a tombstone attributed to a device that does not exist.
	key := crypto.NewCaseKey(tm.caseID, 1) // the server has no case key; any sealed body will do
	body, _ := sealed.Seal(key, tm.caseID, tm.noteID, record.KindNote, struct{}{})
	tomb := forged(t, record.Revision{RecordID: tm.noteID, Kind: record.KindNote, CaseID: tm.caseID, Parents: []record.RevID{noteHead},
		Generation: 2, HLC: record.HLC(1 << 45), Device: "ghost", Seq: 1, Deleted: true, Body: body})
	mustQuarantine(t, tm.sam, tomb, "not on the agency's signed roster")
	// A tombstone of the old format, with no sealed body, even in a real
	// device's name.
	bare := forged(t, record.Revision{RecordID: tm.noteID, Kind: record.KindNote, CaseID: tm.caseID, Parents: []record.RevID{noteHead},
		Generation: 2, HLC: record.HLC(1 << 45), Device: tm.ada.DeviceID(), Seq: 50, Deleted: true})
	mustQuarantine(t, tm.sam, bare, "signature")

	// 5: the typist deletes and edits Ada's note (the case is open to her).
	if _, err := tm.ada.ShareCase(tm.caseID, nil, []string{"tia"}); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.ada, tm.tia, tm.sam)
	if err := tm.tia.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tm.tia.Delete(tm.caseID, tm.noteID); err != nil {
		t.Fatal(err)
	}
	n, _ := tm.tia.Note(tm.noteID)
	_ = n
	typistRevs, _ := tm.tia.Outbox(0)
	mustQuarantine(t, tm.sam, typistRevs[len(typistRevs)-1], "typist")

	// Bob is a caseworker of the team but not in the case.
	if err := tm.bob.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Bob holds no key (he is no member), so he cannot seal anything: a
	// server that gives him Ada's key (it has none) is not the threat; his
	// device signing a note sealed under a key he got some other way is.
	_, err := tm.bob.AddNote(tm.caseID, record.Note{Kind: "visit", Date: "2026-11-02", Text: "bob was here"})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("bob wrote into a case he holds no key of: %v", err)
	}

	// The typist's new note (a transcript) is fine.
	if _, err := tm.tia.AddNote(tm.caseID, record.Note{Kind: "court", Date: "2026-11-02", Text: "transcript"}); err != nil {
		t.Fatal(err)
	}
	all, _ := tm.tia.Outbox(0)
	res, err := tm.sam.ApplyPage(all[len(all)-1:], "", 0)
	if err != nil || res.New != 1 {
		t.Fatalf("a typist's transcript: %+v, %v", res, err)
	}
	// Nothing of this hid Ada's note on the supervisor's laptop.
	tm.sam.LoadAll(context.Background())
	if got, err := tm.sam.Note(tm.noteID); err != nil || got.Value.Text != "the visit went well" {
		t.Fatalf("Ada's note on Sam's laptop: %+v, %v", got, err)
	}
}

// A member removed from a case keeps the old key; what they write under it
// after the removal is refused by every device, and a revoked laptop's
// writes after its cutoff too.
func TestRemovedMemberAndRevokedDevice(t *testing.T) {
	tm := newTeam(t)
	// Sam adds Bob, then removes Ada (a new epoch with a cutoff).
	if _, err := tm.sam.ShareCase(tm.caseID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.sam, tm.ada, tm.bob)
	if _, err := tm.sam.RotateCaseKey(tm.caseID, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	// Ada, offline, has not seen the rotation and writes under epoch 1.
	late := mustNote(t, tm.ada, tm.caseID, "written after I was taken off the case")
	pullAll(t, tm.sam, tm.bob)
	revs, _ := tm.ada.Outbox(0)
	var lateRev *record.Revision
	for _, r := range revs {
		if r.RecordID == late {
			lateRev = r
		}
	}
	mustQuarantine(t, tm.bob, lateRev, "removed")

	// Bob's laptop is lost; Sam revokes it: nothing it writes from now on counts.
	sam, _ := tm.sam.Identity()
	rv := trust.SignAsDevice(tm.sam.DeviceID(), sam.Sign, trust.Statement{Kind: trust.KindRevoke, Device: tm.bob.DeviceID(), AfterSeq: 0, Issued: time.Now()})
	tm.ag.statements = append(tm.ag.statements, rv)
	tm.ag.share()
	if !tm.ada.Roster().Devices[tm.bob.DeviceID()].Revoked {
		t.Fatal("revocation not in force")
	}
	if err := tm.bob.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	thief := mustNote(t, tm.bob, tm.caseID, "written by whoever has the laptop")
	brevs, _ := tm.bob.Outbox(0)
	for _, r := range brevs {
		if r.RecordID == thief {
			mustQuarantine(t, tm.sam, r, "revoked")
		}
	}
}

// A server that stops offering statements (a replayed older roster) takes
// nothing back: the vault keeps every statement it verified.
func TestOlderRosterTakesNothingBack(t *testing.T) {
	tm := newTeam(t)
	before := len(tm.ada.Roster().Devices)
	if _, err := tm.ada.AddStatements(tm.ag.statements[:2]); err != nil {
		t.Fatal(err)
	}
	if got := len(tm.ada.Roster().Devices); got != before {
		t.Errorf("devices %d → %d after an older roster", before, got)
	}
}

// A revision from a device the vault has not heard of yet waits in the
// quarantine and is applied once the statement enrolling it arrives.
func TestQuarantineReleasedByNewStatement(t *testing.T) {
	tm := newTeam(t)
	newcomer := MustCreate(t)
	// Sam's second laptop, enrolled after the others last heard.
	ag2 := *tm.ag
	ag2.vaults = []*Vault{newcomer}
	ag2.device(newcomer, "sam")
	if err := newcomer.SetProfile(Profile{Name: "sam", UserID: "sam", Team: "north", Role: trust.RoleSupervisor}); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.ada, newcomer)
	if err := newcomer.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Nobody wrapped the case key to the new laptop yet: Ada's laptop does
	// when it hears of it.
	tm.ag.statements = ag2.statements
	tm.ag.share()
	if n, err := tm.ada.ExtendKeyrings(); err != nil || n != 1 {
		t.Fatalf("ExtendKeyrings = %d, %v: the supervisor's new laptop should get the key", n, err)
	}
	pullAll(t, tm.ada, newcomer)
	newcomer.LoadAll(context.Background())
	note := mustNote(t, newcomer, tm.caseID, "from sam's new laptop")
	revs, _ := newcomer.Outbox(0)
	var nr *record.Revision
	for _, r := range revs {
		if r.RecordID == note {
			nr = r
		}
	}
	// Bob's vault never got the newcomer's statement: quarantined …
	fresh := MustCreate(t)
	ag3 := &testAgency{t: t, key: tm.ag.key, statements: slices.Clone(tm.ag.statements[:len(tm.ag.statements)-2])}
	ag3.vaults = []*Vault{fresh}
	ag3.enrol(fresh, "sue", trust.RoleSupervisor, "north")
	pullAll(t, tm.ada, fresh)
	mustQuarantine(t, fresh, nr, "not on the agency's signed roster")
	// … until it does.
	if _, err := fresh.AddStatements(tm.ag.statements); err != nil {
		t.Fatal(err)
	}
	applied, left, err := fresh.RecheckQuarantine()
	if err != nil || applied != 1 || left != 0 {
		t.Fatalf("RecheckQuarantine = %d applied, %d left, %v", applied, left, err)
	}
}

// Two laptops start the same key epoch at once (a rotation raced): each
// made its own key. Both are kept, and what either sealed opens on every
// member's device.
func TestRacedRotationKeepsBothKeys(t *testing.T) {
	tm := newTeam(t)
	sue := MustCreate(t)
	tm.ag.enrol(sue, "sue", trust.RoleSupervisor, "north")
	if _, err := tm.ada.ExtendKeyrings(); err != nil {
		t.Fatal(err)
	}
	pullAll(t, tm.ada, sue, tm.sam)
	for _, v := range []*Vault{tm.sam, sue} {
		if _, err := v.RotateCaseKey(tm.caseID, nil); err != nil {
			t.Fatal(err)
		}
	}
	fromSam := mustNote(t, tm.sam, tm.caseID, "sealed under sam's epoch-2 key")
	fromSue := mustNote(t, sue, tm.caseID, "sealed under sue's epoch-2 key")
	pullAll(t, tm.sam, tm.ada, sue)
	pullAll(t, sue, tm.ada, tm.sam)
	for _, v := range []*Vault{tm.ada, tm.sam, sue} {
		if err := v.LoadAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{fromSam, fromSue} {
			if n, err := v.Note(id); err != nil || n.Sealed || !strings.Contains(n.Value.Text, "epoch-2 key") {
				t.Errorf("note %s: %+v, %v", id, n.Value, err)
			}
		}
	}
	v := reopen(t, tm.ada)
	for _, id := range []string{fromSam, fromSue} {
		if n, err := v.Note(id); err != nil || n.Sealed {
			t.Errorf("after reopening, note %s: sealed=%v, %v", id, n.Sealed, err)
		}
	}
}
