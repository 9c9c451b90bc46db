package client_test

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/trust"
)

// Clock is a wall clock a test moves forward (store.Options.Now): a
// device's days pass without sleeping.
type Clock struct{ offset atomic.Int64 }

// Now is the real time plus what the test added.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

const day = 24 * time.Hour

// BackupKeyrings reads the keyring revisions of a case from a server
// backup file (fieldcased backup): what an identity would have to open to
// read the case from that backup.
func BackupKeyrings(t *testing.T, path, caseID string) []*record.Revision {
	t.Helper()
	f, err := boltstore.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*record.Revision
	if err := f.Revisions(func(rev *record.Revision, _ []byte) error {
		if rev.CaseID == caseID && rev.Kind == record.KindKeyring {
			c := *rev
			c.Body = slices.Clone(rev.Body)
			out = append(out, &c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("the backup holds no keyring of case %s", caseID)
	}
	return out
}

// OpenedBy counts the keyring revisions whose case key d's vault can
// unwrap (its device identity and every pre-key it still holds); any error
// but ErrNotRecipient fails the test.
func OpenedBy(t *testing.T, d *syncharness.Device, revs []*record.Revision) int {
	t.Helper()
	n := 0
	for _, r := range revs {
		_, err := d.V.UnwrapKeyring(r.CaseID, r.Body)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, crypto.ErrNotRecipient):
			t.Fatalf("%s: keyring %s: %v", d.Name, r.Rev.Short(), err)
		}
	}
	return n
}

// newestKeyring is the keyring revision of a case at epoch that d wrote last.
func newestKeyring(t *testing.T, d *syncharness.Device, caseID string, epoch uint32) *record.Revision {
	t.Helper()
	var best *record.Revision
	for _, r := range revsOf(t, d, func(r *record.Revision) bool {
		return r.CaseID == caseID && r.RecordID == record.KeyringID(caseID, epoch) && r.Device == d.V.DeviceID()
	}) {
		if best == nil || r.Seq > best.Seq {
			best = r
		}
	}
	if best == nil {
		t.Fatalf("%s wrote no keyring of case %s at epoch %d", d.Name, caseID, epoch)
	}
	return best
}

// wrappedToLongTerm reports whether a keyring opens with a device's
// long-term identity alone (no pre-key).
func wrappedToLongTerm(t *testing.T, d *syncharness.Device, r *record.Revision) bool {
	t.Helper()
	id, err := d.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := sealed.DecodeKeyring(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, err = crypto.UnwrapKeyWith(kb.Wrapped, r.CaseID, kb.Epoch, id)
	return err == nil
}

// preKeyRefuser is a proxy in front of s that refuses every pre-key a
// device sends (403, as a server that will not take it) and passes the
// rest.
func preKeyRefuser(t *testing.T, s *syncharness.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	_, base := serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathPreKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"code":"forbidden","message":"not today"}`))
			return
		}
		rp.ServeHTTP(w, r)
	})})
	return base
}

// Issue 15, crypto-shredding part 2: a device publishes a pre-key at its
// enrolment and a new one once the newest is a rotation period old;
// other devices wrap its case keys to the newest they hold. A server that
// replays the older pre-key, or forges one in the device's name, is not
// believed; one that refuses (withholds) the new pre-key only delays it:
// keys go to the older one, which the device still holds.
func TestPreKeyRotation(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	clk := &Clock{}
	ada := s.NewDeviceWith("ada", s.URL, "ada", "caseworker", "north", store.Options{Now: clk.Now})
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	adaID := ada.V.DeviceID()

	if got := ada.V.Roster().PreKeys[adaID].Version; got != 1 {
		t.Fatalf("ada's enrolment published pre-key version %d, want 1", got)
	}
	c := newCase(t, ada, "PK-1")
	addNote(t, ada, c, "written under pre-key 1")
	syncRounds(t, ada, sam)
	pk1 := sam.V.Roster().PreKeys[adaID]
	if pk1.Version != 1 {
		t.Fatalf("sam's roster holds ada's pre-key version %d, want 1", pk1.Version)
	}
	k1 := newestKeyring(t, ada, c, 1)
	if wrappedToLongTerm(t, ada, k1) || OpenedBy(t, ada, []*record.Revision{k1}) != 1 {
		t.Errorf("ada's keyring of her case: not wrapped to her pre-key alone")
	}
	if sum := ada.MustSync(); sum.PreKeyPublished {
		t.Error("a second pre-key within the rotation period")
	}

	// A week and a day later: pre-key 2; Sam's next keyring goes to it.
	clk.Advance(8 * day)
	if sum := ada.MustSync(); !sum.PreKeyPublished {
		t.Fatalf("no rotation after 8 days: %+v", sum)
	}
	old, err := sam.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	sam.MustSync()
	if got := sam.V.Roster().PreKeys[adaID].Version; got != 2 {
		t.Fatalf("sam's roster holds ada's pre-key version %d after her rotation, want 2", got)
	}
	if _, err := sam.V.RotateCaseKey(c, nil); err != nil {
		t.Fatal(err)
	}
	sam.MustSync()
	ada.MustSync()
	k2 := newestKeyring(t, sam, c, 2)
	if wrappedToLongTerm(t, ada, k2) || OpenedBy(t, ada, []*record.Revision{k2}) != 1 {
		t.Error("sam's new keyring is not wrapped to ada's pre-key")
	}
	if !slices.Contains(ada.V.HeldCases(), c) {
		t.Error("ada lost her case")
	}
	infos, err := ada.V.PreKeys()
	if err != nil || len(infos) != 2 || infos[1].Recipient != sam.V.Roster().PreKeys[adaID].Recipient || infos[0].Superseded.IsZero() {
		t.Fatalf("ada's pre-keys: %+v, %v", infos, err)
	}

	// Replayed: a roster with pre-key 1 only, and a pre-key forged in
	// Ada's name by the operator. Neither is believed.
	op := syncharness.NewOperator(t)
	forged := op.SignAsDevice(adaID, trust.Statement{Kind: trust.KindPreKey, Issued: time.Now(), Device: adaID, Recipient: pk1.Recipient, Version: 9})
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged) })
	sam.UseURL(rosterReplayer(t, s, append(old, forged)))
	sam.Sync() // the forged statement's log entry, not in the log it was handed: findings expected
	if got := sam.V.Roster().PreKeys[adaID]; got.Version != 2 {
		t.Errorf("after a replayed and a forged pre-key, sam wraps to ada's version %d, want 2", got.Version)
	}
	sam.UseURL(s.URL)

	// Withheld: the server refuses pre-key 3. Ada keeps it and sends it
	// again; meanwhile keys go to pre-key 2, which she still opens.
	clk.Advance(8 * day)
	ada.UseURL(preKeyRefuser(t, s))
	sum := ada.MustSync()
	if sum.PreKeyPublished || sum.PreKeyRefused == "" {
		t.Fatalf("a refused pre-key: published %v, refused %q", sum.PreKeyPublished, sum.PreKeyRefused)
	}
	if _, err := sam.V.RotateCaseKey(c, nil); err != nil {
		t.Fatal(err)
	}
	sam.MustSync()
	ada.MustSync()
	if k3 := newestKeyring(t, sam, c, 3); OpenedBy(t, ada, []*record.Revision{k3}) != 1 {
		t.Error("with her new pre-key withheld, ada cannot open the case's new key")
	}
	ada.UseURL(s.URL)
	if sum := ada.MustSync(); !sum.PreKeyPublished {
		t.Errorf("the withheld pre-key was not sent again: %+v", sum)
	}
	sam.MustSync()
	if got := sam.V.Roster().PreKeys[adaID].Version; got != 3 {
		t.Errorf("sam's roster holds ada's pre-key version %d, want 3", got)
	}
}

// Issue 15, crypto-shredding part 2: once a pre-key was replaced longer
// ago than the backup retention, the device deletes it. A server backup
// taken before the rotation then holds keyrings of the case that Ada's
// vault, with its passphrase, can no longer open; she still reads the
// case from her sealed keyring cache. Kim's laptop, offline all that time,
// then wraps a new key to the deleted pre-key: Ada's round says so, with
// what to do, until a supervisor re-keys the case.
func TestPreKeyExpiry(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	clk := &Clock{}
	ada := s.NewDeviceWith("ada", s.URL, "ada", "caseworker", "north", store.Options{Now: clk.Now})
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	kim := s.NewDevice("kim", s.URL, "kim", "supervisor", "north")
	c := newCase(t, ada, "PK-2") // under pre-key 1, published at enrolment
	addNote(t, ada, c, "a note the backup keeps")
	syncRounds(t, ada, sam, kim)
	kimStatements, err := kim.V.Statements()
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "before.db")
	s.Admin("backup", "--out", backup)
	inBackup := BackupKeyrings(t, backup, c)
	if n := OpenedBy(t, ada, inBackup); n == 0 {
		t.Fatal("ada cannot open the backup's keyrings even before expiry: this test would prove nothing")
	}

	// Rotation, then the retention: pre-key 1 goes at the first clean
	// round 35 days after pre-key 2 replaced it, not before.
	clk.Advance(8 * day)
	ada.MustSync() // pre-key 2
	sam.MustSync()
	clk.Advance(34 * day)
	if sum := ada.MustSync(); sum.PreKeysExpired != 0 {
		t.Fatalf("a pre-key expired 34 days after it was replaced")
	}
	if OpenedBy(t, ada, inBackup) == 0 {
		t.Fatal("the backup's keyrings do not open before the expiry")
	}
	clk.Advance(2 * day)
	if sum := ada.MustSync(); sum.PreKeysExpired != 1 {
		t.Fatalf("round after 36 days: %d pre-keys expired, want 1", sum.PreKeysExpired)
	}
	if n := OpenedBy(t, ada, inBackup); n != 0 {
		t.Errorf("after expiry, ada's vault still opens %d of the backup's %d keyrings of the case", n, len(inBackup))
	}
	for _, r := range inBackup {
		if _, err := ada.V.UnwrapKeyring(r.CaseID, r.Body); !errors.Is(err, crypto.ErrNotRecipient) {
			t.Errorf("backup keyring %s: %v, want ErrNotRecipient", r.Rev.Short(), err)
		}
	}
	ada.ReopenWith(store.Options{Now: clk.Now}) // from the sealed keyring cache, with the passphrase
	if cv, err := ada.V.Case(c); err != nil || cv.Sealed {
		t.Fatalf("ada's case after expiry: %+v, %v", cv, err)
	}
	if notes, err := ada.V.Notes(c); err != nil || len(notes) != 1 {
		t.Errorf("ada's notes after expiry: %d, %v", len(notes), err)
	}

	// Kim, offline since before the rotation, wraps a new key of the case
	// to pre-key 1 and pushes it (her roster is held back, so she does
	// not rewrap it in the same round).
	if _, err := kim.V.RotateCaseKey(c, nil); err != nil {
		t.Fatal(err)
	}
	kim.UseURL(rosterReplayer(t, s, kimStatements))
	kim.Sync() // her roster lacks what the log holds: an alarm, expected
	_, err = ada.Sync()
	if !errors.Is(err, store.ErrKeyringExpired) || !strings.Contains(err.Error(), c) || !strings.Contains(err.Error(), "re-key") {
		t.Fatalf("ada's round with a key only her deleted pre-key opens: %v", err)
	}
	lost, err := ada.V.UnopenableKeyrings()
	if err != nil || len(lost) != 1 || lost[0].CaseID != c || lost[0].Epoch != 2 || lost[0].Writer != kim.V.DeviceID() {
		t.Fatalf("ada's unopenable keyrings: %+v, %v", lost, err)
	}
	// Sam, told, re-keys the case: every epoch wrapped again to the
	// pre-keys of now. The alarm ends.
	sam.MustSync()
	if n, err := sam.V.RewrapCase(c); err != nil || n != 2 {
		t.Fatalf("sam's re-key: %d keyrings, %v; want 2 (both epochs)", n, err)
	}
	sam.MustSync()
	if _, err := ada.Sync(); err != nil {
		t.Errorf("ada's round once the key was rewrapped: %v", err)
	}
	if lost, _ := ada.V.UnopenableKeyrings(); len(lost) != 0 {
		t.Errorf("still unopenable: %+v", lost)
	}
}
