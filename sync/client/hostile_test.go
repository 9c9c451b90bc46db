package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
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
// (Device.MustSync: log findings fail it only while the operator has not
// written into the server's store.)
func syncRounds(t *testing.T, ds ...*syncharness.Device) {
	t.Helper()
	for range 2 {
		for _, d := range ds {
			d.MustSync()
		}
	}
}

// revsOf lists the revisions a device holds that match keep.
func revsOf(t *testing.T, d *syncharness.Device, keep func(*record.Revision) bool) []*record.Revision {
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
func headOf(t *testing.T, d *syncharness.Device, recordID string) *record.Revision {
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
// as a test that holds the device's vault (its identity and pre-keys) can.
func caseKey(t *testing.T, d *syncharness.Device, caseID string, epoch uint32) *crypto.CaseKey {
	t.Helper()
	for _, r := range revsOf(t, d, func(r *record.Revision) bool { return r.RecordID == record.KeyringID(caseID, epoch) }) {
		if k, err := d.V.UnwrapKeyring(caseID, r.Body); err == nil {
			return k
		}
	}
	t.Fatalf("%s holds no key of case %s at epoch %d", d.Name, caseID, epoch)
	return nil
}

// wrappedTo counts the keyring revisions, among every device's, whose case
// key id can unwrap: none, for an identity the operator holds.
func wrappedTo(t *testing.T, id *crypto.Identity, ds ...*syncharness.Device) int {
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
func mustQuarantine(t *testing.T, rev record.RevID, why string, ds ...*syncharness.Device) {
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
func mustNotHold(t *testing.T, rev *record.Revision, ds ...*syncharness.Device) {
	t.Helper()
	for _, d := range ds {
		if d.V.HasRevision(rev.CaseID, rev.RecordID, rev.Rev) {
			t.Errorf("%s applied forged revision %s", d.Name, rev.Rev.Short())
		}
	}
}

// noteText is a note's text on a device, failing when it is not readable.
func noteText(t *testing.T, d *syncharness.Device, id string) string {
	t.Helper()
	n := note(t, d, id)
	if n.Sealed || n.Deleted {
		t.Errorf("%s: note %s sealed=%v deleted=%v", d.Name, id, n.Sealed, n.Deleted)
	}
	return n.Value.Text
}

// rawClient is a device's own HTTP client, with its token: what a modified
// laptop (a malicious typist, a thief) pushes with.
func rawClient(t *testing.T, d *syncharness.Device) *client.Client {
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
func written(t *testing.T, d *syncharness.Device, key *crypto.CaseKey, rev record.Revision, value any) *record.Revision {
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

func inject(s *syncharness.Server, revs ...*record.Revision) {
	s.Tamper(func(tx server.Tx) error {
		for _, r := range revs {
			if err := syncharness.InjectRevision(tx, r); err != nil {
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
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's first visit")
	syncRounds(t, ada, sam)
	addNote(t, sam, c, "sam's remark")
	syncRounds(t, sam, ada)

	op := syncharness.NewOperator(t)
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
	for _, in := range []*syncharness.Device{ada, sam} {
		forged = append(forged, op.Forge(record.Revision{RecordID: record.KeyringID(c, 2), Kind: record.KindKeyring, CaseID: c,
			Generation: 1, HLC: hlc, Device: in.V.DeviceID(), Seq: 1, Body: body}))
	}
	s.Tamper(func(tx server.Tx) error {
		for _, f := range forged {
			if err := syncharness.InjectRevision(tx, f); err != nil {
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
	for _, d := range []*syncharness.Device{ada, sam} {
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
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)
	op := syncharness.NewOperator(t)

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
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged...) })
	for _, d := range []*syncharness.Device{ada, sam} {
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
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	ada.MustSync()
	realCode := s.EnrollCode("bob", "caseworker", "north") // handed to Bob, not used yet
	op := syncharness.NewOperator(t)

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
		return syncharness.InjectStatements(tx, op.OwnDevice(ada.V.Profile().UserID, ada.V.DeviceID())...)
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
	v := storetest.Create(t, filepath.Join(t.TempDir(), name+".db"), syncharness.DevicePass, store.Profile{Name: name}, store.Options{})
	t.Cleanup(func() {
		if v.Agency() != nil || v.Enrolled() {
			t.Errorf("%s's vault pinned an agency key or enrolled after a refused enrolment", name)
		}
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
func agencySwapper(t *testing.T, s *syncharness.Server, other *trust.AgencyKey) string {
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
	s := syncharness.StartServer(t)
	setRecovery(t, s) // the agency's real one
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)
	op := syncharness.NewOperator(t)
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
		return syncharness.InjectStatements(tx, forged...)
	})
	for _, d := range []*syncharness.Device{ada, sam} {
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
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	ada2 := s.NewDevice("ada2", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	all := []*syncharness.Device{ada, ada2, sam}
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	syncRounds(t, all...)
	addNote(t, sam, c, "sam's remark") // so that sam has numbers of its own
	syncRounds(t, all...)

	op := syncharness.NewOperator(t)
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
func openToTypists(t *testing.T, ref string, ada *syncharness.Device, others ...*syncharness.Device) (c, n, rec string) {
	t.Helper()
	c = newCase(t, ada, ref)
	n = addNote(t, ada, c, "ada's assessment")
	rec, err := ada.V.PutRecording(c, "", nil, record.Recording{Title: "visit", WorkType: "visit note", Priority: "normal", Status: "submitted"}, true)
	if err != nil {
		t.Fatal(err)
	}
	syncRounds(t, append([]*syncharness.Device{ada}, others...)...)
	return c, n, rec
}

// Attack 5: a typist (a modified client) deletes and edits a caseworker's
// note. The server refuses both for good; when a hostile server stores
// them anyway, every device quarantines them. A typist's transcript and
// recording status update still go through; an update that changes more of
// the recording than its status is quarantined.
func TestHostileTypistWrites(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
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
	for _, d := range []*syncharness.Device{ada, sam} {
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
	rollback(t, 1)
}

// Attack 6, with more notes written after the restore and before the first
// sync than the restore lost: the vault's counter then passes the server's
// highest number, yet the rollback must still be found and the lost
// revisions taken back.
func TestHostileRollbackMoreOfflineWrites(t *testing.T) {
	t.Parallel()
	rollback(t, 3)
}

func rollback(t *testing.T, offlineWrites int) {
	s := syncharness.StartServer(t)
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
	// The note names at least the highest number the server held before
	// (more when the numbers the vault gave again were pushed first).
	if err := json.Unmarshal(locals[client.RollbackKey], &rb); err != nil || rb.ServerSeq < serverMax || rb.Restored != sum.Restored {
		t.Errorf("rollback note %+v (%v), want server seq at least %d", rb, err, serverMax)
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

// Attack 7, an unknown device: the operator adds a device row of its own for
// Ada to the server's store (with a token it knows) and pushes a note into
// her case through the real API. The server stores it (its own rows say
// the device is Ada's); every device quarantines it: the device is not on
// the agency's signed roster.
func TestHostileUnknownDevice(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)

	op := syncharness.NewOperator(t)
	const token = "the operator's own token for its own laptop"
	s.Tamper(func(tx server.Tx) error {
		return tx.InsertDevice(server.Device{ID: "operator-laptop", UserID: ada.V.Profile().UserID, Name: "ada's other laptop",
			Recipient: op.ID.Recipient(), SigningKey: op.Key.Public().(ed25519.PublicKey), TokenHash: server.TokenHash(token),
			Enrolled: time.Now(), Grant: op.Code.GrantID()})
	})
	head := headOf(t, ada, n)
	forged := op.Forge(record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: c, Generation: 1,
		HLC: head.HLC + 1<<20, Device: "operator-laptop", Seq: 1, Body: head.Body})
	sc, _ := ada.V.SyncConfig()
	cl, err := client.New(client.Config{Server: sc.Server, Token: token, RetryMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Push(context.Background(), []*record.Revision{forged}, nil)
	if err != nil || resp.Results[0].Status != protocol.StatusStored {
		t.Fatalf("the operator's push: %+v, %v (the server trusts its own device rows)", resp, err)
	}
	syncRounds(t, ada, sam)
	mustQuarantine(t, forged.Rev, "not on the agency's signed roster", ada, sam)
}

// revoker revokes target: with by's vault (a device of the same user), or
// with the agency key.
type revoker struct {
	name   string
	revoke func(t *testing.T, s *syncharness.Server, by, target *syncharness.Device)
}

var revokers = []revoker{
	{"by her other laptop", func(t *testing.T, _ *syncharness.Server, by, target *syncharness.Device) {
		if _, err := by.Syncer.RevokeDevice(context.Background(), by.V, target.V.DeviceID(), "stolen"); err != nil {
			t.Fatal(err)
		}
	}},
	{"by fieldcased device revoke --agency-key", func(t *testing.T, s *syncharness.Server, _, target *syncharness.Device) {
		s.Admin("device", "revoke", target.V.DeviceID(), "--reason", "stolen")
	}},
}

// cutoff is the revocation of target as d's roster proves it.
func cutoff(t *testing.T, d, target *syncharness.Device) uint64 {
	t.Helper()
	dev := d.V.Roster().Devices[target.V.DeviceID()]
	if !dev.Revoked {
		t.Fatalf("%s is not revoked on %s's roster", target.Name, d.Name)
	}
	return dev.AfterSeq
}

// A team whose case A-1 Ada holds on two laptops; ada2 is about to be
// stolen. It has written in the case.
func stolenLaptopTeam(t *testing.T) (s *syncharness.Server, ada, ada2, sam *syncharness.Device, c string) {
	s = syncharness.StartServer(t)
	ada = s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	ada2 = s.NewDevice("ada2", s.URL, "ada", "caseworker", "north")
	sam = s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c = newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, ada2, sam)
	addNote(t, ada2, c, "written on the second laptop")
	addNote(t, ada2, c, "and again")
	syncRounds(t, ada2, ada, sam)
	return s, ada, ada2, sam, c
}

// Attack 7, a revoked laptop: after its revocation (by a device of its
// user, and by the agency through fieldcased), the thief's next write is
// refused by the server and, stored anyway by a hostile one, quarantined by
// every device.
func TestHostileRevokedDevice(t *testing.T) {
	t.Parallel()
	for _, rv := range revokers {
		t.Run(rv.name, func(t *testing.T) {
			t.Parallel()
			s, ada, ada2, sam, c := stolenLaptopTeam(t)
			rv.revoke(t, s, ada, ada2)
			syncRounds(t, ada, sam)
			after := cutoff(t, sam, ada2)

			n := addNote(t, ada2, c, "the thief's note")
			if _, err := ada2.Sync(); !errors.Is(err, client.ErrRevoked) {
				t.Errorf("the stolen laptop's sync: %v, want ErrRevoked", err)
			}
			late := revsOf(t, ada2, func(r *record.Revision) bool { return r.RecordID == n })
			if len(late) != 1 || late[0].Seq <= after {
				t.Fatalf("the thief's note: %d revisions, cutoff %d", len(late), after)
			}
			inject(s, late...)
			syncRounds(t, ada, sam)
			mustQuarantine(t, late[0].Rev, "was revoked", ada, sam)
		})
	}
}

// Attack 7, a removed member: Bob is taken off a case; offline, under the
// old key, he writes in it. The server refuses it for good; stored anyway,
// every device quarantines it.
func TestHostileExMember(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, bob, sam)
	if _, err := sam.Syncer.Assign(context.Background(), c, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	syncRounds(t, sam, ada, bob)
	addNote(t, bob, c, "bob's visit while a member")
	syncRounds(t, bob, sam, ada)

	if _, err := sam.Syncer.Assign(context.Background(), c, nil, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	syncRounds(t, sam, ada)
	n := addNote(t, bob, c, "bob's note after his removal, offline")
	sum := bob.MustSync()
	if sum.Rejected != 1 {
		t.Errorf("bob's late note: %d refused by the server, want 1", sum.Rejected)
	}
	late := revsOf(t, bob, func(r *record.Revision) bool { return r.RecordID == n })
	inject(s, late...)
	syncRounds(t, ada, sam)
	mustQuarantine(t, late[0].Rev, "after they were removed from the case", ada, sam)
}

// Attack 7, a replayed roster: after a laptop's revocation the server serves
// its older roster again (without the revocation, under a new version).
// Devices that hold the revocation keep it: the thief's late write stays
// quarantined and no new key goes to the laptop.
func TestHostileReplayedRoster(t *testing.T) {
	t.Parallel()
	s, ada, ada2, sam, c := stolenLaptopTeam(t)
	ss, err := ada.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	revokers[0].revoke(t, s, ada, ada2)
	syncRounds(t, ada, sam)
	rv := cutoff(t, sam, ada2)
	p := rosterReplayer(t, s, ss)
	ada.UseURL(p)
	sam.UseURL(p)

	n := addNote(t, ada2, c, "the thief's note")
	late := revsOf(t, ada2, func(r *record.Revision) bool { return r.RecordID == n })
	if late[0].Seq <= rv {
		t.Fatalf("cutoff %d, thief's number %d", rv, late[0].Seq)
	}
	before := map[record.RevID]bool{}
	for r := range ada.Revs() {
		before[r] = true
	}
	inject(s, late...)
	c2 := newCase(t, ada, "A-2")
	addNote(t, ada, c2, "a case made after the revocation")
	syncRounds(t, ada, sam)
	for _, d := range []*syncharness.Device{ada, sam} {
		if !d.V.Roster().Devices[ada2.V.DeviceID()].Revoked {
			t.Errorf("%s forgot the revocation after a replayed roster", d.Name)
		}
	}
	mustQuarantine(t, late[0].Rev, "was revoked", ada, sam)
	if n := wrappedToSince(t, ada2, before, ada, sam); n != 0 {
		t.Errorf("%d keyrings written after the revocation are wrapped to the revoked laptop", n)
	}
}

// rosterReplayer is a proxy in front of s that answers roster requests (and
// enrolments) with the statements old only, under a version of its own.
func rosterReplayer(t *testing.T, s *syncharness.Server, old []trust.Signed) string {
	t.Helper()
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if status != http.StatusOK {
				return body
			}
			switch r.URL.Path {
			case protocol.PathRoster:
				var ro protocol.Roster
				if json.Unmarshal(body, &ro) != nil {
					return body
				}
				ro.Statements, ro.Version = old, ro.Version+1000
				out, _ := json.Marshal(ro)
				return out
			case protocol.PathEnroll:
				var resp protocol.EnrollResponse
				if json.Unmarshal(body, &resp) != nil {
					return body
				}
				keep := map[string]bool{}
				for _, s := range old {
					keep[s.ID()] = true
				}
				// The new laptop's own grant and device must be there for it
				// to enrol: keep what is not a revocation.
				var out []trust.Signed
				for _, s := range resp.Roster.Statements {
					if st, err := s.Open(); keep[s.ID()] || (err == nil && st.Kind != trust.KindRevoke) {
						out = append(out, s)
					}
				}
				resp.Roster.Statements = out
				b, _ := json.Marshal(resp)
				return b
			case protocol.PathPull:
				var hdr protocol.PullHeader
				revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPullLimit)
				if err != nil {
					return body
				}
				hdr.RosterVersion += 1000
				b, err := protocol.EncodeBatch(hdr, revs)
				if err != nil {
					return body
				}
				return b
			}
			return body
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}

// wrappedToSince counts keyring revisions, not in before, that the
// revoked laptop's vault unwraps (its identity and every pre-key it holds).
func wrappedToSince(t *testing.T, revoked *syncharness.Device, before map[record.RevID]bool, ds ...*syncharness.Device) int {
	t.Helper()
	n := 0
	seen := map[record.RevID]bool{}
	for _, d := range ds {
		for _, r := range revsOf(t, d, func(r *record.Revision) bool { return r.Kind == record.KindKeyring && !before[r.Rev] && !seen[r.Rev] }) {
			seen[r.Rev] = true
			if _, err := revoked.V.UnwrapKeyring(r.CaseID, r.Body); err == nil {
				n++
			}
		}
	}
	return n
}

// Attack 8: after a signed revocation (by a device of its user, and by the
// agency), the server owes its cases a new key epoch; the next member
// device to sync starts it. The revoked laptop, handed what is written
// afterwards, cannot read it, and no keyring written after the revocation
// is wrapped to it.
func TestHostileRevocationRotates(t *testing.T) {
	t.Parallel()
	for _, rv := range revokers {
		t.Run(rv.name, func(t *testing.T) {
			t.Parallel()
			s, ada, ada2, sam, c := stolenLaptopTeam(t)
			before := ada.Revs()
			rv.revoke(t, s, ada, ada2)
			if out := s.Admin("rotations", "--json"); !strings.Contains(out, c) {
				t.Errorf("fieldcased rotations does not list %s:\n%s", c, out)
			}
			sum := ada.MustSync()
			if sum.Rotated != 1 {
				t.Errorf("ada's sync rotated %d cases, want 1", sum.Rotated)
			}
			if _, epoch, _ := ada.V.Membership(c); epoch != 2 {
				t.Errorf("case key epoch %d after the rotation, want 2", epoch)
			}
			syncRounds(t, sam, ada)
			if out := s.Admin("rotations", "--json"); strings.Contains(out, c) {
				t.Errorf("the rotation is still owed after it was done:\n%s", out)
			}
			n := addNote(t, ada, c, "after the revocation")
			c2 := newCase(t, ada, "A-2") // a key made after the revocation
			addNote(t, ada, c2, "in a case made after the revocation")
			syncRounds(t, ada, sam)
			cannotOpen(t, ada, ada2, n)
			if n := wrappedToSince(t, ada2, before, ada, sam); n != 0 {
				t.Errorf("%d keyrings written after the revocation are wrapped to the revoked laptop", n)
			}
		})
	}
}

// Attack 8, a key made while the revocation was on its way: the agency
// revokes the stolen laptop; before Ada's laptop hears of it, she opens a
// case, whose first key is wrapped to every laptop of hers, the stolen one
// included. The server owes no rotation for it (the case was not there when
// the revocation came), and Ada's laptop starts none when it learns of the
// revocation: what she writes in that case afterwards, the thief reads
// when handed the revisions.
func TestHostileKeyWrappedWhileRevocationTravels(t *testing.T) {
	t.Parallel()
	s, ada, ada2, sam, _ := stolenLaptopTeam(t)
	revokers[1].revoke(t, s, ada, ada2)
	c2 := newCase(t, ada, "A-2") // offline: ada has not heard of the revocation
	addNote(t, ada, c2, "written before ada's laptop heard of the revocation")
	syncRounds(t, ada, sam)
	if !ada.V.Roster().Devices[ada2.V.DeviceID()].Revoked {
		t.Fatal("ada's laptop did not learn of the revocation")
	}
	n := addNote(t, ada, c2, "written after ada's laptop learned of the revocation")
	syncRounds(t, ada, sam)
	cannotOpen(t, ada, ada2, n)
}

// The sequence number a revision carries is its writer's word. A revoked
// laptop's key, or a removed member's, signs a revision with a number at or
// below its cutoff (a number it used before, or one the reader never saw):
// written after the revocation or the removal, it passes for one written
// before.

// Attack 7, a thief with the revoked laptop's key and a hostile server: a
// note backdated to a number below the revocation's cutoff.
func TestHostileRevokedDeviceBackdated(t *testing.T) {
	t.Parallel()
	// Closed by the log (issue 12): the revocation names the log's size its
	// signer had read, and the backdated note is logged after it.
	s, ada, ada2, sam, c := stolenLaptopTeam(t)
	revokers[0].revoke(t, s, ada, ada2)
	syncRounds(t, ada, sam)
	head := headOf(t, ada, c)
	forged := written(t, ada2, caseKey(t, ada2, c, 1), record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: c,
		Generation: 1, HLC: head.HLC + 1<<20, Seq: 1}, &record.Note{Kind: "visit", Text: "the thief's backdated note"})
	inject(s, forged)
	syncRounds(t, ada, sam)
	mustQuarantine(t, forged.Rev, "revoked", ada, sam)
}

// Attack 7, a removed member's backdated note, stored by a hostile server.
func TestHostileExMemberBackdated(t *testing.T) {
	t.Parallel()
	// Closed by the log (issue 12): the removal names the log's size the
	// supervisor had read, and the backdated note is logged after it.
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	syncRounds(t, ada, bob, sam)
	if _, err := sam.Syncer.Assign(context.Background(), c, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	syncRounds(t, sam, ada, bob)
	addNote(t, bob, c, "bob's visit while a member")
	syncRounds(t, bob, sam, ada)
	if _, err := sam.Syncer.Assign(context.Background(), c, nil, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	syncRounds(t, sam, ada)
	head := headOf(t, ada, c)
	forged := written(t, bob, caseKey(t, bob, c, 1), record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: c,
		Generation: 1, HLC: head.HLC + 1<<20, Seq: 1}, &record.Note{Kind: "visit", Text: "bob's backdated note after his removal"})
	inject(s, forged)
	syncRounds(t, ada, sam)
	mustQuarantine(t, forged.Rev, "removed", ada, sam)
}

// Attack 7 through the administrator: fieldcased device revoke
// --agency-key signs a revocation whose cutoff is the number the server's
// admin socket says it acknowledged. A server that says a huge number gets
// a revocation that lets every later write of the thief's stand.
func TestHostileAgencyRevocationCutoff(t *testing.T) {
	t.Parallel()
	t.Skip("known hole: 'fieldcased device revoke --agency-key' signs AfterSeq and LogSize as the (hostile) server's admin socket reports them; huge ones make the signed revocation stop no write of the thief's (both are printed, nothing checks them): revoke from a supervisor's laptop where the server may be compromised")
	s, ada, ada2, sam, c := stolenLaptopTeam(t)
	dir := s.HostileAdmin(func(req server.AdminRequest, res json.RawMessage) json.RawMessage {
		if req.Op != server.OpDeviceRevoke {
			return res
		}
		var d server.DeviceInfo
		if json.Unmarshal(res, &d) != nil {
			return res
		}
		d.AckedSeq = 1 << 40
		out, _ := json.Marshal(d)
		return out
	})
	if out, err := s.RunFieldcased(s.AgencyEnv(), "device", "revoke", ada2.V.DeviceID(), "--data", dir); err != nil {
		t.Fatalf("device revoke: %v\n%s", err, out)
	}
	syncRounds(t, ada, sam)
	n := addNote(t, ada2, c, "the thief's note")
	late := revsOf(t, ada2, func(r *record.Revision) bool { return r.RecordID == n })
	inject(s, late...)
	syncRounds(t, ada, sam)
	mustQuarantine(t, late[0].Rev, "revoked", ada, sam)
}

// Attack 5, through a gap in the rules: a typist (a modified client) writes a
// first version (generation 1, no parents) in the record of a note that
// exists. The rules allow a typist new notes; her version would become a
// head of Ada's note, and, newer, its winner. The server must refuse it.
func TestHostileTypistSecondRoot(t *testing.T) {
	t.Parallel()
	s, ada, sam, root, n := typistSecondRoot(t)
	resp, err := rawClient(t, s.tia).Push(context.Background(), []*record.Revision{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; r.Status != protocol.StatusRejected || !r.Permanent {
		t.Errorf("the server took the typist's second first version of ada's note: %+v", r)
	}
	syncRounds(t, ada, sam)
	for _, d := range []*syncharness.Device{ada, sam} {
		nt := note(t, d, n)
		if nt.Value.Text != "ada's assessment" || nt.Conflict {
			t.Errorf("%s: ada's note reads %q (conflict %v)", d.Name, nt.Value.Text, nt.Conflict)
		}
	}
}

// The same first version in an existing record, stored by a hostile server:
// the devices must not take it either.
func TestHostileTypistSecondRootStored(t *testing.T) {
	t.Parallel()
	s, ada, sam, root, n := typistSecondRoot(t)
	inject(s.Server, root)
	syncRounds(t, ada, sam)
	for _, d := range []*syncharness.Device{ada, sam} {
		nt := note(t, d, n)
		if nt.Value.Text != "ada's assessment" || nt.Conflict {
			t.Errorf("%s: ada's note reads %q (conflict %v)", d.Name, nt.Value.Text, nt.Conflict)
		}
	}
}

type typistServer struct {
	*syncharness.Server
	tia *syncharness.Device
}

// typistSecondRoot is a team whose typist holds a case's key, and her
// generation-1 revision in the record of Ada's note n, signed, not pushed.
func typistSecondRoot(t *testing.T) (s typistServer, ada, sam *syncharness.Device, root *record.Revision, n string) {
	t.Helper()
	s.Server = syncharness.StartServer(t)
	ada = s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam = s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	s.tia = s.NewDevice("tia", s.URL, "tia", "typist", "north")
	c, n, _ := openToTypists(t, "A-1", ada, sam, s.tia)
	head := headOf(t, ada, n)
	seq := s.tia.V.LastSeq() + 1
	root = written(t, s.tia, caseKey(t, s.tia, c, 1), record.Revision{RecordID: n, Kind: record.KindNote, CaseID: c,
		Generation: 1, HLC: head.HLC + 1<<20, Seq: seq}, &record.Note{Kind: "visit", Text: "the typist's version of ada's note"})
	if err := s.tia.V.RaiseSeq(seq); err != nil {
		t.Fatal(err)
	}
	return s, ada, sam, root, n
}

// Attack 2 through the administrator: 'fieldcased enroll-code NAME' finds the
// user's id in the directory the server's admin socket answers. A server
// that answers its own account's name with Ada's id gets a code, made for
// "its" user, that enrols a laptop as Ada's.
func TestHostileEnrollCodeForAnotherUser(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	ada.MustSync()
	s.Admin("user", "add", "otto", "--role", "typist", "--team", "north") // the operator's own account
	adaID := ada.V.Profile().UserID
	dir := s.HostileAdmin(func(req server.AdminRequest, res json.RawMessage) json.RawMessage {
		if req.Op != server.OpDirectory {
			return res
		}
		var d server.Directory
		if json.Unmarshal(res, &d) != nil {
			return res
		}
		for i, u := range d.Users {
			if u.Name == "otto" {
				d.Users[i].ID = adaID
			}
		}
		out, _ := json.Marshal(d)
		return out
	})
	out, err := s.RunFieldcased(s.AgencyEnv(), "enroll-code", "otto", "--data", dir)
	code := regexp.MustCompile(`[0-9A-Z]{4}(-[0-9A-Z]{4}){7}`).FindString(out)
	if err == nil || code != "" {
		t.Errorf("enroll-code otto, with a directory that names otto with ada's id: made a code (%v)\n%s", err, out)
	}
	if code == "" {
		// Otto's own code, through the honest socket, still works.
		if out, err := s.RunFieldcased(s.AgencyEnv(), "enroll-code", "otto", "--data", s.Dir); err != nil {
			t.Fatalf("enroll-code otto: %v\n%s", err, out)
		}
		return
	}
	v := newVault(t, "otto")
	e, err := enrol(v, s.URL, code)
	if err == nil && e.User.ID == adaID {
		t.Errorf("the code the administrator made for otto enrolled a laptop as %s", e.User.Name)
	}
	ada.MustSync()
	id, _ := v.Identity()
	if k := wrappedTo(t, id, ada); k != 0 {
		t.Errorf("%d of ada's keyrings are wrapped to the laptop enrolled with otto's code", k)
	}
	if err != nil {
		return
	}
	sy, err := client.NewVaultSyncer(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sy.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	v.LoadAll(context.Background())
	if got, err := v.Note(n); err == nil && !got.Sealed {
		t.Errorf("the laptop enrolled with otto's code reads ada's note: %q", got.Value.Text)
	}
}

// A hostile server's pull answer claims the device wrote a number far beyond
// any it gave: the device takes it as a restore from a backup and raises
// its counter past it. At 2^63-1 every later write is refused by the
// (honest again) server for good; at 2^64-1 the counter wraps and the
// vault can write nothing.
func TestHostileDeviceMaxSeq(t *testing.T) {
	t.Parallel()
	for _, max := range []uint64{math.MaxInt64, math.MaxUint64} {
		t.Run(strconv.FormatUint(max, 10), func(t *testing.T) {
			s := syncharness.StartServer(t)
			ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
			sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
			c := newCase(t, ada, "A-1")
			syncRounds(t, ada, sam)
			p := pullRewriter(t, s, func(h *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
				h.DeviceMaxSeq = max
				return revs
			})
			ada.UseURL(p)
			ada.Sync() // whatever it makes of it
			ada.UseURL(s.URL)
			id, err := ada.V.AddNote(c, record.Note{Kind: "visit", Text: "after the lie"})
			if err != nil {
				t.Fatalf("ada cannot write after one lying answer: %v", err)
			}
			if sum := ada.MustSync(); sum.Rejected != 0 {
				t.Errorf("%d of ada's revisions refused after one lying answer", sum.Rejected)
			}
			sam.MustSync()
			noteText(t, sam, id)
		})
	}
}

// pullRewriter is a proxy in front of s whose pull answers fn edits.
func pullRewriter(t *testing.T, s *syncharness.Server, fn func(*protocol.PullHeader, []*record.Revision) []*record.Revision) string {
	t.Helper()
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if status != http.StatusOK || r.URL.Path != protocol.PathPull {
				return body
			}
			var hdr protocol.PullHeader
			revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPullLimit)
			if err != nil {
				return body
			}
			revs = fn(&hdr, revs)
			out, err := protocol.EncodeBatch(hdr, revs)
			if err != nil {
				return body
			}
			return out
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}

// A revision forged in a device's own name with a number above its counter
// looks to it like its own revision lost in a restore: it refuses it, and
// its sync stops with that error (shown) while the server keeps it.
func TestHostileOwnNameForgery(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	ada.MustSync()
	op := syncharness.NewOperator(t)
	head := headOf(t, ada, n)
	forged := op.Forge(record.Revision{RecordID: n, Kind: record.KindNote, CaseID: c, Parents: []record.RevID{head.Rev},
		Generation: head.Generation + 1, HLC: head.HLC + 1<<20, Device: ada.V.DeviceID(), Seq: ada.V.LastSeq() + 100, Deleted: true, Body: head.Body})
	inject(s, forged)
	if _, err := ada.Sync(); !errors.Is(err, store.ErrQuarantined) || !strings.Contains(err.Error(), "did not sign") {
		t.Errorf("ada's sync with a forgery in her name: %v", err)
	}
	mustNotHold(t, forged, ada)
	if got := noteText(t, ada, n); got != "ada's visit" {
		t.Errorf("ada's note reads %q", got)
	}
}

// Attack 9: statements that would conflict with genuine ones, if the
// operator could sign them: a second user statement of Ada's version
// (making her a supervisor) and a second device statement under her
// laptop's grant. Neither verifies, so neither cancels the genuine one:
// Ada stays a caseworker with her laptop trusted, and both are reported.
func TestHostileConflictingStatements(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam)
	op := syncharness.NewOperator(t)
	me := ada.V.Roster().Devices[ada.V.DeviceID()]
	u := ada.V.Roster().Users[me.User]
	forged := []trust.Signed{
		op.Agency.Sign(trust.Statement{Kind: trust.KindUser, Issued: time.Now(), User: u.ID, Name: u.Name, Role: trust.RoleSupervisor, Team: u.Team, Version: u.Version}),
		trust.Signed{Body: trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: "operator-laptop", Name: "ada's other laptop",
			Recipient: op.ID.Recipient(), Key: op.Key.Public().(ed25519.PublicKey), Grant: me.Grant}.Marshal(),
			Signer: trust.SignerGrant(me.Grant), Sig: make([]byte, ed25519.SignatureSize)},
	}
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged...) })
	for _, d := range []*syncharness.Device{ada, sam} {
		sum := d.MustSync()
		r := d.V.Roster()
		if got := r.Users[u.ID]; got.Role != trust.RoleCaseworker {
			t.Errorf("%s: ada is a %q after a conflicting forged statement", d.Name, got.Role)
		}
		if dev, ok := r.Devices[ada.V.DeviceID()]; !ok || dev.Revoked {
			t.Errorf("%s: ada's laptop lost its trust after a forged second device under its grant", d.Name)
		}
		for _, f := range forged {
			if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
				t.Errorf("%s: forged statement %s not reported; problems %v", d.Name, f.ID()[:12], sum.Trust.Problems)
			}
		}
	}
	n := addNote(t, ada, c, "ada's visit after the forged statements")
	syncRounds(t, ada, sam)
	noteText(t, sam, n)
	if n := wrappedTo(t, op.ID, ada, sam); n != 0 {
		t.Errorf("%d keyrings wrapped to the operator", n)
	}
}

// Attack 9: a caseworker of another team (a genuine signature) writes
// keyrings for a case of north that name her own team: a new epoch, and a
// first keyring claiming the case id. The server refuses both; stored
// anyway, every device quarantines them.
func TestHostileKeyringForAnotherTeam(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	zed := s.NewDevice("zed", s.URL, "zed", "caseworker", "south")
	c := newCase(t, ada, "A-1")
	n := addNote(t, ada, c, "ada's visit")
	syncRounds(t, ada, sam, zed)
	zp := zed.V.Profile()
	zrec, _ := zed.V.Recipient()
	keyring := func(epoch uint32, m trust.Membership, seq uint64) *record.Revision {
		k := crypto.NewCaseKey(c, epoch)
		wrapped, err := crypto.WrapKey(k, zrec)
		if err != nil {
			t.Fatal(err)
		}
		rev := record.Revision{RecordID: record.KeyringID(c, epoch), Kind: record.KindKeyring, CaseID: c, Generation: 1,
			HLC: headOf(t, ada, n).HLC + 1<<20, Seq: seq, Body: sealed.Keyring{Epoch: epoch, Wrapped: wrapped, Membership: m}.Marshal()}
		rev.Device = zed.V.DeviceID()
		rev.Seal()
		id, _ := zed.V.Identity()
		rev.Sign(id.Sign)
		return &rev
	}
	seq := zed.V.LastSeq()
	_, salt := trust.NewCaseID(zed.V.DeviceID(), time.Now())
	revs := []*record.Revision{
		keyring(2, trust.Membership{Team: zp.Team, Members: []string{zp.UserID}}, seq+1),
		keyring(1, trust.Membership{Team: zp.Team, Members: []string{zp.UserID}, Salt: salt}, seq+2),
	}
	zed.V.RaiseSeq(seq + 2)
	resp, err := rawClient(t, zed).Push(context.Background(), revs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != protocol.StatusRejected {
			t.Errorf("zed's keyring %d for north's case: %+v, want refused", i, r)
		}
	}
	inject(s, revs...)
	syncRounds(t, ada, sam)
	mustQuarantine(t, revs[0].Rev, "a keyring cannot move a case to another team", ada, sam)
	mustQuarantine(t, revs[1].Rev, "the case id was not made by the device", ada, sam)
	if m, epoch, _ := sam.V.Membership(c); epoch != 1 || m.Team != ada.V.Profile().Team {
		t.Errorf("case membership on sam: epoch %d team %s", epoch, m.Team)
	}
}

// Attack 9: a revision of one case replayed into another case id: with its
// id kept (it no longer matches its content) and with a new id (its
// signature no longer verifies). Neither is applied in the other case.
func TestHostileCrossCaseReplay(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c1 := newCase(t, ada, "A-1")
	n := addNote(t, ada, c1, "written in A-1")
	c2 := newCase(t, ada, "A-2")
	syncRounds(t, ada, sam)
	orig := headOf(t, ada, n)
	sameID := *orig
	sameID.CaseID = c2
	newID := sameID
	newID.Seal() // the id follows the content; the signature is the old id's
	inject(s, &newID)
	syncRounds(t, ada, sam)
	mustQuarantine(t, newID.Rev, "signature is not the signature of device", sam)
	// The store keys revisions by id: the one that kept its id goes out in
	// the pull answers themselves. The page is refused whole, loudly.
	p := pullRewriter(t, s, func(_ *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
		return append(revs, &sameID)
	})
	for _, d := range []*syncharness.Device{ada, sam} {
		d.UseURL(p)
		if _, err := d.Sync(); err == nil || !strings.Contains(err.Error(), "does not match its content") {
			t.Errorf("%s: sync with a moved revision in the page: %v", d.Name, err)
		}
	}
	for _, d := range []*syncharness.Device{ada, sam} {
		if d.V.HasRevision(c2, n, orig.Rev) || d.V.HasRevision(c2, n, newID.Rev) {
			t.Errorf("%s applied ada's note in the other case", d.Name)
		}
		if ns, _ := d.V.Notes(c2); len(ns) != 0 {
			t.Errorf("%s lists %d notes in A-2", d.Name, len(ns))
		}
		if got := noteText(t, d, n); got != "written in A-1" {
			t.Errorf("%s: the note reads %q", d.Name, got)
		}
	}
}

// Attack 9: guessing an enrolment code. A code's secret is 80 random bits;
// the server holds only the grant: the public half of an Ed25519 key derived
// from the secret by HKDF. Offline, a guess costs an HKDF and an Ed25519 key
// derivation (some 20 µs on one core): 2^79 guesses on average is about 4·10^5
// core-years per code, within a code's life of at most 30 days. Online,
// every guess is one enrolment request, limited per address. Here: guesses
// carrying the real agency's fingerprint enrol nothing and pin nothing.
func TestHostileEnrolmentCodeGuessing(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	s.EnrollCode("bob", "caseworker", "north") // a live grant to hit
	for i := range 3 {                         // more meet the server's enrolment rate limit, and waits
		guess := trust.NewCode(ada.V.Agency())
		if _, err := enrol(newVault(t, fmt.Sprintf("guess%d", i)), s.URL, guess.String()); err == nil {
			t.Fatalf("a guessed code enrolled a laptop")
		}
	}
}

// Attack 9: the server drops a device's revisions for one peer. It logged
// them (Ada holds its receipts, and proves them), so Sam's laptop, which
// reads the whole log, finds a note of a case it reads that never came,
// and says so.
func TestHostileDroppedForOnePeer(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	syncRounds(t, ada, sam)
	sam.UseURL(pullRewriter(t, s, func(hdr *protocol.PullHeader, revs []*record.Revision) []*record.Revision {
		var keep []*record.Revision
		var idx []int64
		for i, r := range revs {
			if r.Device == ada.V.DeviceID() && r.Kind == record.KindNote {
				continue // and its place in the log with it: the server lies consistently
			}
			keep = append(keep, r)
			if len(hdr.Indexes) == len(revs) {
				idx = append(idx, hdr.Indexes[i])
			}
		}
		hdr.Indexes = idx
		return keep
	}))
	n := addNote(t, ada, c, "ada's note, kept from sam")
	ada.MustSync()
	var err error
	for range 2 {
		_, err = sam.Sync()
	}
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "has not handed over") {
		t.Fatalf("sam's sync: %v, want the withheld note told", err)
	}
	rev := headOf(t, ada, n)
	if !strings.Contains(err.Error(), rev.Rev.Short()) {
		t.Errorf("the alarm does not name the withheld revision %s: %v", rev.Rev.Short(), err)
	}
	if _, err := sam.V.Note(n); err == nil {
		t.Fatal("sam has the note: the rewriter did not drop it")
	}
	// Through the honest server, it comes, and the finding clears.
	sam.UseURL(s.URL)
	sam.MustSync()
	if _, err := sam.V.Note(n); err != nil {
		t.Errorf("sam still lacks ada's note: %v", err)
	}
}

// Attack 9: a server that acknowledges a push and stores nothing. It gives
// no receipt (it cannot give one that the log then bears out): Ada's
// laptop keeps the note in its outbox and says so, and a server that keeps
// it later passes it on.
func TestHostileAcknowledgedNotStored(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c := newCase(t, ada, "A-1")
	syncRounds(t, ada, sam)
	target, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	_, front := serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != protocol.PathPush {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		revs, err := protocol.DecodeBatch(body, nil, protocol.MaxPushRevisions)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := protocol.PushResponse{Results: make([]protocol.PushResult, len(revs))}
		for i, rev := range revs {
			resp.Results[i] = protocol.PushResult{Rev: rev.Rev, Status: protocol.StatusStored}
			resp.AckedSeq = max(resp.AckedSeq, rev.Seq)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})})
	ada.UseURL(front)
	n := addNote(t, ada, c, "ada's note, acknowledged and dropped")
	if _, err := ada.Sync(); !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "without a signed receipt") {
		t.Fatalf("ada's sync through the dropping server: %v, want the missing receipt told", err)
	}
	if ada.V.OutboxLen() == 0 {
		t.Fatal("the note left ada's outbox on an acknowledgement without a receipt")
	}
	ada.UseURL(s.URL)
	syncRounds(t, ada, sam)
	if _, err := sam.V.Note(n); err != nil {
		t.Errorf("sam never receives ada's note: %v", err)
	}
}

// Attack 7, a replayed roster to a laptop that never saw the revocation: the
// server withholds a stolen laptop's revocation from the supervisor's new
// laptop (documented: a server can withhold statements). The new laptop
// trusts the stolen one, and the keyrings it writes for its cases wrap
// their keys to it again.
func TestHostileWithheldRevocationNewLaptop(t *testing.T) {
	t.Parallel()
	// Closed by the log (issue 12): the new laptop reads the whole log
	// before it trusts the roster, finds the revocation logged and missing
	// from what it was handed, says so, and wraps no key until it has it.
	s, ada, ada2, sam, c := stolenLaptopTeam(t)
	ss, err := ada.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	revokers[0].revoke(t, s, ada, ada2)
	syncRounds(t, ada, sam)
	before := ada.Revs()
	p := rosterReplayer(t, s, ss)
	sam2 := s.NewDevice("sam2", p, "sam", "supervisor", "north")
	sam2Sync := func() {
		t.Helper()
		if _, err := sam2.Sync(); !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), "left off the roster") {
			t.Fatalf("sam2's sync: %v, want the withheld revocation told", err)
		}
	}
	syncRounds(t, ada, sam)
	sam2Sync()
	addNote(t, ada, c, "after sam's new laptop came")
	syncRounds(t, ada, sam)
	sam2Sync()
	syncRounds(t, ada, sam)
	if n := wrappedToSince(t, ada2, before, ada, sam, sam2); n != 0 {
		t.Errorf("%d keyrings written after the revocation are wrapped to the revoked laptop", n)
	}
}
