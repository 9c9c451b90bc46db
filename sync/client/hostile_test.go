package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/synctest"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// Issue 11, end to end: whoever runs fieldcased is hostile. It holds the
// server's data directory, process, admin socket, backups and TLS keys, but
// not the agency's signing key and no device's private keys. Each test runs
// a real fieldcased on 127.0.0.1 and real vaults, lets the operator do what
// it can (write into the stopped server's store, run fieldcased without the
// agency key, lie through a proxy or its admin socket, sign with keys of
// its own), and checks what every device makes of it.

// syncRounds syncs every device, in order, twice.
func syncRounds(t *testing.T, ds ...*synctest.Device) {
	t.Helper()
	for range 2 {
		for _, d := range ds {
			d.MustSync()
		}
	}
}

// revsOf lists the revisions a device holds that match keep.
func revsOf(t *testing.T, d *synctest.Device, keep func(*record.Revision) bool) []*record.Revision {
	t.Helper()
	var out []*record.Revision
	if err := d.V.AllRevisions(func(r *record.Revision) error {
		if keep(r) {
			c := *r
			c.Body = append([]byte(nil), r.Body...)
			c.Parents = append([]record.RevID(nil), r.Parents...)
			out = append(out, &c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// headOf is a device's only head of a record.
func headOf(t *testing.T, d *synctest.Device, recordID string) *record.Revision {
	t.Helper()
	heads, err := d.V.Heads()
	if err != nil {
		t.Fatal(err)
	}
	hs := heads[recordID]
	if len(hs) != 1 {
		t.Fatalf("%s: record %s has %d heads, want 1", d.Name, recordID, len(hs))
	}
	revs := revsOf(t, d, func(r *record.Revision) bool { return r.Rev == hs[0] })
	if len(revs) != 1 {
		t.Fatalf("%s: head %s of %s not found", d.Name, hs[0].Short(), recordID)
	}
	return revs[0]
}

// caseKey unwraps a case key a device holds, from its keyring revisions,
// as a test that holds the device's identity can.
func caseKey(t *testing.T, d *synctest.Device, caseID string, epoch uint32) *crypto.CaseKey {
	t.Helper()
	id, err := d.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revsOf(t, d, func(r *record.Revision) bool { return r.RecordID == record.KeyringID(caseID, epoch) }) {
		kb, err := sealed.DecodeKeyring(r.Body)
		if err != nil {
			continue
		}
		if k, err := crypto.UnwrapKey(kb.Wrapped, id, caseID, epoch); err == nil {
			return k
		}
	}
	t.Fatalf("%s holds no key of case %s at epoch %d", d.Name, caseID, epoch)
	return nil
}

// wrappedTo counts the keyring revisions, among every device's, whose case
// key id can unwrap: none, for an identity the operator holds.
func wrappedTo(t *testing.T, id *crypto.Identity, ds ...*synctest.Device) int {
	t.Helper()
	n := 0
	for _, d := range ds {
		for _, r := range revsOf(t, d, func(r *record.Revision) bool { return r.Kind == record.KindKeyring }) {
			kb, err := sealed.DecodeKeyring(r.Body)
			if err != nil {
				continue
			}
			if _, err := crypto.UnwrapKey(kb.Wrapped, id, r.CaseID, kb.Epoch); err == nil {
				n++
			}
		}
	}
	return n
}

// mustQuarantine checks that each device refused rev and names it, with a
// reason containing why.
func mustQuarantine(t *testing.T, rev record.RevID, why string, ds ...*synctest.Device) {
	t.Helper()
	for _, d := range ds {
		qs, err := d.V.Quarantine()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(qs, func(q store.Quarantined) bool { return q.Rev == rev })
		if i < 0 {
			t.Errorf("%s did not quarantine %s (quarantine: %+v)", d.Name, rev.Short(), qs)
			continue
		}
		if !strings.Contains(qs[i].Reason, why) {
			t.Errorf("%s quarantined %s for %q, want a reason with %q", d.Name, rev.Short(), qs[i].Reason, why)
		}
		if d.V.HasRevision(qs[i].CaseID, qs[i].RecordID, rev) {
			t.Errorf("%s applied %s although it quarantined it", d.Name, rev.Short())
		}
	}
}

// mustNotHold checks that no device applied rev.
func mustNotHold(t *testing.T, rev *record.Revision, ds ...*synctest.Device) {
	t.Helper()
	for _, d := range ds {
		if d.V.HasRevision(rev.CaseID, rev.RecordID, rev.Rev) {
			t.Errorf("%s applied forged revision %s", d.Name, rev.Rev.Short())
		}
	}
}

// noteText is a note's text on a device, failing when it is not readable.
func noteText(t *testing.T, d *synctest.Device, id string) string {
	t.Helper()
	n := note(t, d, id)
	if n.Sealed || n.Deleted {
		t.Errorf("%s: note %s sealed=%v deleted=%v", d.Name, id, n.Sealed, n.Deleted)
	}
	return n.Value.Text
}

// rawClient is a device's own HTTP client, with its token: what a modified
// laptop (a malicious typist, a thief) pushes with.
func rawClient(t *testing.T, d *synctest.Device) *client.Client {
	t.Helper()
	sc, err := d.V.SyncConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Server: sc.Server, Token: sc.Token, RetryMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// written is a revision a device signs with its own key, outside its vault
// (a modified client): body sealed under key for recordID.
func written(t *testing.T, d *synctest.Device, key *crypto.CaseKey, rev record.Revision, value any) *record.Revision {
	t.Helper()
	body, err := sealed.Seal(key, rev.CaseID, rev.RecordID, rev.Kind, value)
	if err != nil {
		t.Fatal(err)
	}
	rev.Body = body
	rev.Device = d.V.DeviceID()
	rev.Seal()
	id, err := d.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	rev.Sign(id.Sign)
	if err := rev.Validate(); err != nil {
		t.Fatal(err)
	}
	return &rev
}

func inject(s *synctest.Server, revs ...*record.Revision) {
	s.Tamper(func(tx server.Tx) error {
		for _, r := range revs {
			if err := synctest.InjectRevision(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Attack 1: the operator writes a keyring of a new key epoch into the store,
// wrapped to the members' public recipients (it knows them from the
// roster), in a member's and in the supervisor's name. Every device
// quarantines it and names it; new notes stay sealed under the trusted
// epoch, and the key the operator chose opens none of them.
func TestHostileForgedKeyEpoch(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's first visit")
	syncRounds(t, ada, sam)
	addNote(t, sam, c, "sam's remark")
	syncRounds(t, sam, ada)

	op := synctest.NewOperator(t)
	r := ada.V.Roster()
	var recipients []string
	for _, d := range r.Devices {
		recipients = append(recipients, d.Recipient)
	}
	k2 := crypto.NewCaseKey(c, 2)
	wrapped, err := crypto.WrapKey(k2, append(recipients, op.ID.Recipient())...)
	if err != nil {
		t.Fatal(err)
	}
	m, epoch, err := ada.V.Membership(c)
	if err != nil || epoch != 1 {
		t.Fatalf("membership: epoch %d, %v", epoch, err)
	}
	body := sealed.Keyring{Epoch: 2, Wrapped: wrapped, Membership: trust.Membership{Team: m.Team, Members: m.Members}}.Marshal()
	hlc := headOf(t, ada, c).HLC + 1<<20
	var forged []*record.Revision
	for _, in := range []*synctest.Device{ada, sam} {
		forged = append(forged, op.Forge(record.Revision{RecordID: record.KeyringID(c, 2), Kind: record.KindKeyring, CaseID: c,
			Generation: 1, HLC: hlc, Device: in.V.DeviceID(), Seq: 1, Body: body}))
	}
	s.Tamper(func(tx server.Tx) error {
		for _, f := range forged {
			if err := synctest.InjectRevision(tx, f); err != nil {
				return err
			}
		}
		cs, err := tx.Case(c)
		if err != nil {
			return err
		}
		cs.KeyEpoch = 2
		return tx.PutCase(cs)
	})
	// The server never sends a device what it holds in that device's own
	// name (a low sequence number keeps it from looking like a restored
	// vault's: see TestHostileDeviceMaxSeq): each gets the other's.
	for _, d := range []*synctest.Device{ada, sam} {
		if sum := d.MustSync(); sum.Quarantined != 1 {
			t.Errorf("%s: sync quarantined %d, want 1", d.Name, sum.Quarantined)
		}
	}
	mustQuarantine(t, forged[1].Rev, "signature is not the signature of device", ada)
	mustQuarantine(t, forged[0].Rev, "signature is not the signature of device", sam)
	for _, f := range forged {
		mustNotHold(t, f, ada, sam)
	}
	if _, epoch, _ := ada.V.Membership(c); epoch != 1 {
		t.Errorf("ada's trusted epoch is %d after the forgery, want 1", epoch)
	}

	// Ada's next note: sealed under epoch 1, and the operator's key opens
	// nothing of it; the supervisor reads it.
	n2 := addNote(t, ada, c, "ada's visit after the forged epoch")
	syncRounds(t, ada, sam)
	for _, rev := range revsOf(t, ada, func(r *record.Revision) bool { return r.RecordID == n2 }) {
		if e, err := crypto.SealedEpoch(rev.Body); err != nil || e != 1 {
			t.Errorf("ada's new note is sealed under epoch %d (%v), want 1", e, err)
		}
		if _, err := sealed.Open(k2, c, n2, record.KindNote, rev.Body); err == nil {
			t.Errorf("the operator's key opens ada's new note")
		}
	}
	if got := noteText(t, sam, n2); got != "ada's visit after the forged epoch" {
		t.Errorf("sam reads %q", got)
	}
	if n := wrappedTo(t, op.ID, ada, sam); n != 0 {
		t.Errorf("%d keyrings on the devices are wrapped to the operator", n)
	}
}

// Attack 2, first part: with server access only, the operator tries to get a
// laptop of its own trusted for Ada.
func TestHostileOperatorEnrolment(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)
	op := synctest.NewOperator(t)

	// fieldcased enroll-code without the agency key, and with an agency key
	// of the operator's own making: refused.
	if out, err := s.AdminWithout("enroll-code", "ada"); err == nil || !strings.Contains(out, "agency-key") {
		t.Errorf("enroll-code without the agency key: %v\n%s", err, out)
	}
	opKey := t.TempDir() + "/op-agency.key"
	pass := t.TempDir() + "/pass"
	writeFile(t, pass, "operator's own passphrase\n")
	env := []string{"FIELDCASED_AGENCY_PASSPHRASE_FILE=" + pass}
	if out, err := s.RunFieldcased(env, "agency", "init", "--out", opKey, "--work-factor", "10"); err != nil {
		t.Fatalf("agency init: %v\n%s", err, out)
	}
	if out, err := s.RunFieldcased(env, "enroll-code", "ada", "--agency-key", opKey, "--data", s.Dir); err == nil || !strings.Contains(out, "not this server's") {
		t.Errorf("enroll-code with the operator's own agency key: %v\n%s", err, out)
	}

	// The operator writes a grant signed by a key of its own (as the agency,
	// and in the name of Ada's laptop) and a device statement under it.
	userID := ada.V.Profile().UserID
	forged := op.OwnDevice(userID, ada.V.DeviceID())
	s.Tamper(func(tx server.Tx) error { return synctest.InjectStatements(tx, forged...) })
	for _, d := range []*synctest.Device{ada, sam} {
		sum := d.MustSync()
		if len(sum.Trust.NewDevices) != 0 {
			t.Errorf("%s: new devices trusted: %+v", d.Name, sum.Trust.NewDevices)
		}
		// Ada is told: every forged statement is among the problems her
		// sync reports and her roster shows.
		for _, f := range forged {
			if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
				t.Errorf("%s: sync did not report forged statement %s; problems %v", d.Name, f.ID()[:12], sum.Trust.Problems)
			}
			if !slices.ContainsFunc(d.V.Roster().Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
				t.Errorf("%s: roster does not show forged statement %s", d.Name, f.ID()[:12])
			}
		}
		if _, ok := d.V.Roster().Devices["operator-laptop"]; ok {
			t.Errorf("%s trusts the operator's laptop", d.Name)
		}
	}
	// New cases and keyrings after it: none wrapped to the operator.
	c2 := newCase(t, ada, "A-2")
	addNote(t, ada, c2, "a case made after the forgery")
	syncRounds(t, ada, sam)
	if n := wrappedTo(t, op.ID, ada, sam); n != 0 {
		t.Errorf("%d keyrings are wrapped to the operator's laptop", n)
	}
}

// Attack 2, second part: the operator replaces the server's agency key with
// one of its own (fieldcased agency set-key --force) and issues codes with
// it. Laptops enrolled under the real agency refuse a server presenting
// another key; a new laptop whose code carries the real agency's
// fingerprint refuses to enrol.
func TestHostileAgencyKeySwap(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	ada.MustSync()
	realCode := s.EnrollCode("bob", "caseworker", "north") // handed to Bob, not used yet
	op := synctest.NewOperator(t)

	// A server that answers the enrolment of a laptop whose code the real
	// agency made with a roster under another agency key (every statement
	// signed again with it, so the roster itself holds together): the
	// laptop refuses before it keeps anything.
	p := agencySwapper(t, s, op.Agency)
	if _, err := enrol(newVault(t, "cat"), p, s.EnrollCode("cat", "caseworker", "north")); !errors.Is(err, client.ErrWrongAgency) {
		t.Errorf("enrolling with the real agency's code, answered under another agency key: %v, want ErrWrongAgency", err)
	}

	pinned := ada.V.Agency()
	// First as a hostile operator would do it quietly: the store's agency
	// key replaced, the devices' tokens kept, a roster of its own.
	s.Tamper(func(tx server.Tx) error {
		if err := tx.SetAgency(op.Agency.Public()); err != nil {
			return err
		}
		return synctest.InjectStatements(tx, op.OwnDevice(ada.V.Profile().UserID, ada.V.DeviceID())...)
	})
	if _, err := ada.Sync(); !errors.Is(err, store.ErrAgencyMismatch) {
		t.Errorf("ada's sync with a server presenting another agency key: %v, want ErrAgencyMismatch", err)
	}
	if !ada.V.Agency().Equal(pinned) {
		t.Errorf("ada's pinned agency key moved")
	}

	// Then with fieldcased itself: set-key --force with the operator's key,
	// its own team and user signed with it, and a code of its own.
	opKey := t.TempDir() + "/op-agency.key"
	pass := t.TempDir() + "/pass"
	writeFile(t, pass, "operator's own passphrase\n")
	env := []string{"FIELDCASED_AGENCY_PASSPHRASE_FILE=" + pass}
	out, err := s.RunFieldcased(env, "agency", "init", "--out", opKey, "--work-factor", "10")
	if err != nil {
		t.Fatalf("agency init: %v\n%s", err, out)
	}
	pub := strings.Fields(out)[0]
	if out, err := s.RunFieldcased(env, "agency", "set-key", pub, "--force", "--data", s.Dir); err != nil {
		t.Fatalf("set-key --force: %v\n%s", err, out)
	}
	env = append(env, "FIELDCASED_AGENCY_KEY="+opKey)
	for _, args := range [][]string{{"team", "add", "north"}, {"user", "add", "bob", "--role", "caseworker", "--team", "north"}} {
		s.RunFieldcased(env, append(args, "--data", s.Dir)...) // a name the old roster had may be taken
	}
	if _, err := ada.Sync(); err == nil {
		t.Errorf("ada synced with a server whose agency key was replaced")
	}

	// Bob's laptop, with the code the real agency made, at the swapped
	// server: refused, nothing pinned.
	bob := newVault(t, "bob")
	if _, err := enrol(bob, s.URL, realCode); err == nil {
		t.Errorf("bob enrolled with the real agency's code at a server with another agency key")
	}
}

// newVault makes an unenrolled vault.
func newVault(t *testing.T, name string) *store.Vault {
	t.Helper()
	v, err := store.Create(filepath.Join(t.TempDir(), name+".db"), synctest.DevicePass, store.Profile{Name: name}, store.Options{WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if v.Agency() != nil || v.Enrolled() {
			t.Errorf("%s's vault pinned an agency key or enrolled after a refused enrolment", name)
		}
		v.Close()
	})
	return v
}

// enrol enrols v at url with code.
func enrol(v *store.Vault, url, code string) (*client.Enrolment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return client.EnrollVault(ctx, v, client.Config{Server: url, RetryMax: 2}, code, v.Name())
}

// agencySwapper is a proxy in front of s whose enrolment answers present
// the roster under another agency key: every agency statement signed again
// with it.
func agencySwapper(t *testing.T, s *synctest.Server, other *trust.AgencyKey) string {
	t.Helper()
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if r.URL.Path != protocol.PathEnroll || status != http.StatusOK {
				return body
			}
			var resp protocol.EnrollResponse
			if json.Unmarshal(body, &resp) != nil {
				return body
			}
			resp.Roster.Agency = trust.FormatAgencyKey(other.Public())
			for i, st := range resp.Roster.Statements {
				if o, err := st.Open(); err == nil && st.Signer == trust.SignerAgency {
					resp.Roster.Statements[i] = other.Sign(o)
				}
			}
			out, _ := json.Marshal(resp)
			return out
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Attack 3: the operator swaps the recovery recipient for one of its own,
// signed by a key of its own (as the agency, and in a laptop's name), and
// tries fieldcased recovery set without the agency key. No device wraps a
// case key to it, and its identity opens nothing in a backup.
func TestHostileRecoveryRecipient(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	setRecovery(t, s) // the agency's real one
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)
	op := synctest.NewOperator(t)
	opRecipient := op.ID.Recipient()

	if out, err := s.AdminWithout("recovery", "set", opRecipient); err == nil || !strings.Contains(out, "agency-key") {
		t.Errorf("recovery set without the agency key: %v\n%s", err, out)
	}
	forged := []trust.Signed{
		op.Agency.Sign(trust.Statement{Kind: trust.KindRecovery, Issued: time.Now(), Recipient: opRecipient, Version: 99}),
		op.SignAsDevice(ada.V.DeviceID(), trust.Statement{Kind: trust.KindRecovery, Issued: time.Now(), Recipient: opRecipient, Version: 100}),
	}
	s.Tamper(func(tx server.Tx) error {
		if err := tx.SetRecovery(opRecipient); err != nil {
			return err
		}
		return synctest.InjectStatements(tx, forged...)
	})
	for _, d := range []*synctest.Device{ada, sam} {
		sum := d.MustSync()
		if sum.Trust.NewRecovery != "" {
			t.Errorf("%s: sync reports a new recovery recipient %s", d.Name, sum.Trust.NewRecovery)
		}
		if d.V.Roster().Recovery == opRecipient {
			t.Errorf("%s trusts the operator's recovery recipient", d.Name)
		}
		for _, f := range forged {
			if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
				t.Errorf("%s: forged recovery statement %s not reported; problems %v", d.Name, f.ID()[:12], sum.Trust.Problems)
			}
		}
	}
	c2 := newCase(t, ada, "A-2")
	addNote(t, ada, c2, "a case made after the swap")
	if _, err := sam.Syncer.Assign(context.Background(), c, []string{"bob"}, []string{"ada"}); err != nil && !strings.Contains(err.Error(), "bob") {
		t.Logf("assign: %v", err)
	}
	syncRounds(t, ada, sam)
	if n := wrappedTo(t, op.ID, ada, sam); n != 0 {
		t.Errorf("%d keyrings are wrapped to the operator's recovery recipient", n)
	}

	// The operator exports a backup with its identity: nothing opens.
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)
	idFile := filepath.Join(t.TempDir(), "op-recovery.key")
	writeFile(t, idFile, op.ID.Export())
	out, err := recoveryExport(s, "--identity", idFile, "--all", "--out", filepath.Join(t.TempDir(), "x"), "--from", backup)
	if err == nil || !strings.Contains(out, "opens none") {
		t.Errorf("export with the operator's identity: %v\n%s", err, out)
	}
}

// Attack 4: a tombstone of Ada's note forged in Ada's name, in her
// supervisor's, in a device's that does not exist, and one without a
// sealed body. Every device quarantines each it is sent; the note stays.
func TestHostileForgedTombstone(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	ada2 := s.NewDevice("ada2", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	all := []*synctest.Device{ada, ada2, sam}
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	syncRounds(t, all...)
	addNote(t, sam, c, "sam's remark") // so that sam has numbers of its own
	syncRounds(t, all...)

	op := synctest.NewOperator(t)
	head := headOf(t, ada, n)
	tomb := func(device string, body []byte) *record.Revision {
		return op.Forge(record.Revision{RecordID: n, Kind: record.KindNote, CaseID: c, Parents: []record.RevID{head.Rev},
			Generation: head.Generation + 1, HLC: head.HLC + 1<<20, Device: device, Seq: 1, Deleted: true, Body: body})
	}
	inAda := tomb(ada.V.DeviceID(), head.Body)
	inSam := tomb(sam.V.DeviceID(), head.Body)
	ghost := tomb("ghost-device", head.Body)
	bare := tomb(sam.V.DeviceID(), nil)
	inject(s, inAda, inSam, ghost, bare)
	syncRounds(t, all...)

	mustQuarantine(t, inAda.Rev, "signature is not the signature of device", ada2, sam)
	mustQuarantine(t, inSam.Rev, "signature is not the signature of device", ada, ada2)
	mustQuarantine(t, ghost.Rev, "not on the agency's signed roster", all...)
	mustQuarantine(t, bare.Rev, "signature is not the signature of device", ada, ada2)
	for _, d := range all {
		if got := noteText(t, d, n); got != "ada's visit" {
			t.Errorf("%s: note reads %q after forged tombstones", d.Name, got)
		}
		if dels, err := d.V.Deletions(c); err != nil || len(dels) != 0 {
			t.Errorf("%s: deletions %+v, %v", d.Name, dels, err)
		}
	}
}

// openToTypists makes a case whose dictation waits for typing, so that the
// team's typist holds its key and the server lets her write in it. It
// returns the case, a note of Ada's and the recording.
func openToTypists(t *testing.T, ref string, ada *synctest.Device, others ...*synctest.Device) (c, n, rec string) {
	t.Helper()
	c = newCase(t, ada, ref)
	n = addNote(t, ada, c, "ada's assessment")
	rec, err := ada.V.PutRecording(c, "", nil, record.Recording{Title: "visit", WorkType: "visit note", Priority: "normal", Status: "submitted"}, true)
	if err != nil {
		t.Fatal(err)
	}
	syncRounds(t, append([]*synctest.Device{ada}, others...)...)
	return c, n, rec
}

// Attack 5: a typist (a modified client) deletes and edits a caseworker's
// note. The server refuses both for good; when a hostile server stores
// them anyway, every device quarantines them. A typist's transcript and
// recording status update still go through; an update that changes more of
// the recording than its status is quarantined.
func TestHostileTypistWrites(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	tia := s.NewDevice("tia", s.URL, "tia", "typist", "north")
	c, n, recID := openToTypists(t, "A-1", ada, sam, tia)
	key := caseKey(t, tia, c, 1)
	head := headOf(t, ada, n)

	seq := tia.V.LastSeq()
	del := written(t, tia, key, record.Revision{RecordID: n, Kind: record.KindNote, CaseID: c, Parents: []record.RevID{head.Rev},
		Generation: head.Generation + 1, HLC: head.HLC + 1<<20, Seq: seq + 1, Deleted: true}, struct{}{})
	edit := written(t, tia, key, record.Revision{RecordID: n, Kind: record.KindNote, CaseID: c, Parents: []record.RevID{head.Rev},
		Generation: head.Generation + 1, HLC: head.HLC + 1<<20, Seq: seq + 2}, &record.Note{Kind: "visit", Text: "rewritten by the typist"})
	if err := tia.V.RaiseSeq(seq + 2); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := rawClient(t, tia).Push(ctx, []*record.Revision{del, edit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != protocol.StatusRejected || !r.Permanent {
			t.Errorf("typist's push %d: %+v, want a permanent rejection", i, r)
		}
	}

	// The hostile server stores them anyway.
	inject(s, del, edit)
	syncRounds(t, ada, sam)
	mustQuarantine(t, del.Rev, "a typist adds transcripts and updates recordings", ada, sam)
	mustQuarantine(t, edit.Rev, "a typist adds transcripts and updates recordings", ada, sam)
	for _, d := range []*synctest.Device{ada, sam} {
		if got := noteText(t, d, n); got != "ada's assessment" {
			t.Errorf("%s: ada's note reads %q", d.Name, got)
		}
	}

	// The typist's own work: a transcript and the recording marked
	// transcribed, applied everywhere; a title changed with it is not.
	tia.MustSync()
	transcript, err := tia.V.AddNote(c, record.Note{Kind: "court", Text: "Transcript of ada's dictation"})
	if err != nil {
		t.Fatal(err)
	}
	item, err := tia.V.Recording(recID)
	if err != nil {
		t.Fatal(err)
	}
	r := item.Value
	r.Status, r.Transcript = "transcribed", transcript
	if _, err := tia.V.PutRecording(c, recID, []record.RevID{item.Rev}, r, false); err != nil {
		t.Fatal(err)
	}
	tia.MustSync()
	ada.MustSync()
	if got := noteText(t, ada, transcript); got != "Transcript of ada's dictation" {
		t.Errorf("ada reads the transcript as %q", got)
	}
	if got, err := ada.V.Recording(recID); err != nil || got.Value.Status != "transcribed" || got.Value.Transcript != transcript {
		t.Errorf("ada's recording: %+v, %v", got.Value, err)
	}
	syncRounds(t, ada, sam, tia) // ada closes the case to typists again

	// A title changed along with the status: the server cannot see it, the
	// devices can.
	c2, _, rec2 := openToTypists(t, "A-2", ada, sam, tia)
	item, err = tia.V.Recording(rec2)
	if err != nil {
		t.Fatal(err)
	}
	r = item.Value
	r.Status, r.Title = "transcribed", "renamed by the typist"
	if _, err := tia.V.PutRecording(c2, rec2, []record.RevID{item.Rev}, r, false); err != nil {
		t.Fatal(err)
	}
	tia.MustSync()
	bad := headOf(t, tia, rec2)
	syncRounds(t, ada, sam)
	mustQuarantine(t, bad.Rev, "a typist changed more of a recording than its status", ada, sam)
}

// Attack 6: Ada's vault is restored from a copy of its file taken earlier.
// The next sync says so, takes her later revisions back, and never gives a
// number the server held again; what she writes afterwards reaches the
// others.
func TestHostileRollback(t *testing.T) {
	t.Parallel()
	rollback(t, 0)
}

// Attack 6, with a note written after the restore and before the first
// sync: it reaches the others, and the revisions the restore lost still come
// back, though the offline note took one of their numbers again.
func TestHostileRollbackOfflineWrite(t *testing.T) {
	t.Parallel()
	t.Skip("known hole: a restored vault that writes before its first sync takes back only its revisions numbered above its counter then (restoreOwn asks /v1/sync/own after LastSeq, which the offline write already raised): the lost revision whose number the offline write took again never comes back to this vault")
	rollback(t, 1)
}

// Attack 6, with more notes written after the restore and before the first
// sync than the restore lost: the vault's counter then passes the server's
// highest number, yet the rollback must still be found and the lost
// revisions taken back.
func TestHostileRollbackMoreOfflineWrites(t *testing.T) {
	t.Parallel()
	t.Skip("known hole: a restored vault that writes more revisions before its first sync than the restore lost is never found behind the server (its counter is not below DeviceMaxSeq): it is not told, and its lost revisions never come back to it; the numbers are given twice")
	rollback(t, 3)
}

func rollback(t *testing.T, offlineWrites int) {
	s := synctest.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "before the copy")
	syncRounds(t, ada, sam)

	path := ada.V.Path()
	backup := filepath.Join(t.TempDir(), "ada-copy.db")
	ada.V.Close()
	copyFile(t, path, backup)
	ada.Reopen()
	later := []string{addNote(t, ada, c, "after the copy, one"), addNote(t, ada, c, "after the copy, two")}
	syncRounds(t, ada, sam)
	serverMax := ada.V.LastSeq()
	held := ada.Revs() // what the server holds of hers

	ada.V.Close()
	copyFile(t, backup, path)
	ada.Reopen()
	if ada.V.LastSeq() >= serverMax {
		t.Fatalf("the restored vault's counter is %d, the server holds %d", ada.V.LastSeq(), serverMax)
	}
	var notes []string
	for i := range offlineWrites {
		notes = append(notes, addNote(t, ada, c, fmt.Sprintf("written after the restore, before syncing, %d", i)))
	}
	before := ada.Revs()

	sum := ada.MustSync()
	if sum.Restored < len(later) {
		t.Errorf("Summary.Restored = %d, want at least %d", sum.Restored, len(later))
	}
	locals, err := ada.V.Locals(client.RollbackKey)
	if err != nil {
		t.Fatal(err)
	}
	var rb client.RollbackNote
	if err := json.Unmarshal(locals[client.RollbackKey], &rb); err != nil || rb.ServerSeq != serverMax || rb.Restored != sum.Restored {
		t.Errorf("rollback note %+v (%v), want server seq %d", rb, err, serverMax)
	}
	for _, id := range later {
		if _, err := ada.V.Note(id); err != nil {
			t.Errorf("ada did not take back her note %s: %v", id, err)
		}
	}
	notes = append(notes, addNote(t, ada, c, "written after the rollback was found"))
	syncRounds(t, ada, sam)
	for _, r := range revsOf(t, ada, func(r *record.Revision) bool { return r.Device == ada.V.DeviceID() && !before[r.Rev] && !held[r.Rev] }) {
		if r.Seq <= serverMax {
			t.Errorf("ada wrote %s (%s) with number %d after the rollback was found; the server held up to %d", r.Rev.Short(), r.Kind, r.Seq, serverMax)
		}
	}
	for _, id := range notes {
		if got := noteText(t, sam, id); got == "" {
			t.Errorf("sam lacks ada's note %s", id)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
