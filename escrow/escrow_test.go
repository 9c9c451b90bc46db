package escrow_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/trust"
)

// world is an agency with one enrolled laptop, an escrow service on
// 127.0.0.1 and a client of it.
type world struct {
	agency     *trust.AgencyKey
	statements []trust.Signed
	device     string
	dev        *crypto.Identity
	store      *escrow.Store
	client     *escrow.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ak, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{agency: ak, device: "dev-ada", dev: dev}
	now := time.Now()
	sign := func(st trust.Statement) { st.Issued = now; w.statements = append(w.statements, ak.Sign(st)) }
	sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	sign(trust.Statement{Kind: trust.KindUser, User: "ada", Name: "Ada", Role: trust.RoleCaseworker, Team: "north", Version: 1})
	c := trust.NewCode(ak.Public())
	sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey), Expires: now.Add(time.Hour)})
	w.statements = append(w.statements, trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: w.device, Name: "ada's laptop",
		Recipient: dev.Recipient(), Key: dev.SigningPublicKey(), Grant: c.GrantID(), Issued: now}))
	st, err := escrow.Open(filepath.Join(t.TempDir(), "escrow.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	srv := httptest.NewServer(&escrow.Service{Store: st, Agency: ak.Public(), Key: priv})
	t.Cleanup(srv.Close)
	w.store = st
	w.client = &escrow.Client{URL: srv.URL, Key: pub}
	return w
}

// deposit makes a signed deposit of a new case of w's laptop.
func (w *world) deposit(t *testing.T) (escrow.Deposit, *crypto.Identity) {
	t.Helper()
	caseID, salt := trust.NewCaseID(w.device, time.Now())
	rc, _ := crypto.NewIdentity()
	rec, _ := crypto.NewIdentity()
	wrapped, err := crypto.WrapEscrow(rc, caseID, rec.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	d := escrow.Deposit{CaseID: caseID, Device: w.device, Salt: salt, Recipient: rc.Recipient(), Wrapped: wrapped}
	d.Sign(w.dev.Sign)
	return d, rc
}

func TestDepositOnceAndVerified(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d, _ := w.deposit(t)
	// A service that has been shown no statements knows no laptop.
	if err := w.client.Deposit(ctx, d, nil); !errors.Is(err, escrow.ErrNotTrusted) {
		t.Errorf("no statements: %v, want ErrNotTrusted", err)
	}
	if err := w.client.Deposit(ctx, d, w.statements); err != nil {
		t.Fatal(err)
	}
	if err := w.client.Deposit(ctx, d, w.statements); err != nil {
		t.Errorf("the same deposit again (a lost answer): %v", err)
	}
	got, err := w.store.Get(d.CaseID)
	if err != nil || !got.Same(d) {
		t.Fatalf("stored %+v, %v", got, err)
	}

	other, _ := w.deposit(t)
	second := d
	second.Recipient, second.Wrapped = other.Recipient, other.Wrapped
	second.Sign(w.dev.Sign)
	notBound := other
	notBound.CaseID = d.CaseID[:20] + "ZZZZZZ" // a case id that does not bind the laptop
	notBound.Sign(w.dev.Sign)
	badSig := other
	badSig.Sig = bytes.Repeat([]byte{1}, ed25519.SignatureSize)
	stranger := other
	stranger.Device = "dev-eve"
	stranger.Sign(w.dev.Sign)
	for _, tc := range []struct {
		name string
		d    escrow.Deposit
		ss   []trust.Signed
		want error
	}{
		{"a different second deposit", second, w.statements, escrow.ErrExists},
		{"a case id the laptop did not make", notBound, w.statements, escrow.ErrNotTrusted},
		{"a signature not the laptop's", badSig, w.statements, escrow.ErrNotTrusted},
		{"a laptop not on the roster", stranger, w.statements, escrow.ErrNotTrusted},
		{"no signature", escrow.Deposit{CaseID: other.CaseID, Device: w.device, Recipient: other.Recipient, Wrapped: other.Wrapped}, w.statements, escrow.ErrMalformed},
	} {
		if err := w.client.Deposit(ctx, tc.d, tc.ss); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n, _ := w.store.Len(); n != 1 {
		t.Errorf("%d deposits stored, want 1", n)
	}
}

// A receipt not signed with the key the agency named is not a receipt.
func TestReceiptKey(t *testing.T) {
	w := newWorld(t)
	d, _ := w.deposit(t)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	c := *w.client
	c.Key = other
	if err := c.Deposit(context.Background(), d, w.statements); !errors.Is(err, escrow.ErrNotTrusted) {
		t.Errorf("a receipt under another key: %v, want ErrNotTrusted", err)
	}
	c.URL = "http://127.0.0.1:1"
	if err := c.Deposit(context.Background(), d, w.statements); !errors.Is(err, escrow.ErrUnavailable) {
		t.Errorf("nobody listening: %v, want ErrUnavailable", err)
	}
}

// Destroy deletes the deposit, leaves no byte of it in the file, and takes
// no deposit of the case again.
func TestStoreDestroyLeavesNoBytes(t *testing.T) {
	w := newWorld(t)
	var ds []escrow.Deposit
	for range 20 {
		d, _ := w.deposit(t)
		if err := w.store.Put(d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	gone := ds[7]
	had, err := w.store.Destroy(time.Now(), gone.CaseID)
	if err != nil || had != 1 {
		t.Fatalf("destroy: %v, %v", had, err)
	}
	raw, err := os.ReadFile(w.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(gone.Wrapped)
	if bytes.Contains(raw, []byte(b64[100:160])) {
		t.Error("the file still holds the destroyed deposit's bytes")
	}
	if !bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(ds[8].Wrapped)[100:160])) {
		t.Error("the check cannot see a deposit that is there")
	}
	if _, err := w.store.Get(gone.CaseID); !errors.Is(err, escrow.ErrDestroyed) {
		t.Errorf("get after destroy: %v", err)
	}
	if err := w.store.Put(gone); !errors.Is(err, escrow.ErrDestroyed) {
		t.Errorf("deposit after destroy: %v", err)
	}
	if _, err := w.store.Get(ds[8].CaseID); err != nil {
		t.Errorf("another case: %v", err)
	}
}

// The service's decoders never panic on what arrives, and refuse it.
func FuzzService(f *testing.F) {
	f.Add([]byte(`{"deposit":{"case_id":"x","device":"d","recipient":"age1pq1x","wrapped":"AA==","sig":"AA=="},"statements":[]}`), true)
	f.Add([]byte(`{"case_ids":["x"],"statements":[{"signer":"agency","body":"AQI=","sig":"AA=="}]}`), false)
	f.Add([]byte(`{`), true)
	st, err := escrow.Open(filepath.Join(f.TempDir(), "escrow.db"), false)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	ak, _ := trust.GenerateAgencyKey()
	svc := &escrow.Service{Store: st, Agency: ak.Public()}
	f.Fuzz(func(t *testing.T, body []byte, deposit bool) {
		path := escrow.PathDestroy
		if deposit {
			path = escrow.PathDeposit
		}
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		if rec.Code == http.StatusOK {
			var resp escrow.DestroyResponse
			if deposit || json.Unmarshal(rec.Body.Bytes(), &resp) != nil || len(resp.Receipts) != 0 {
				t.Fatalf("accepted without the agency's statements: %s → %s", body, rec.Body)
			}
			return // every case refused, each with its reason
		}
		var e struct{ Error string }
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Fatalf("answer without an error: %d %s", rec.Code, rec.Body)
		}
	})
}

// The service's own backups age out: a backup taken before a destruction
// holds the escrow key until it is older than keep, then it is deleted
// and no backup left holds it.
func TestBackupsAgeOut(t *testing.T) {
	w := newWorld(t)
	d, _ := w.deposit(t)
	if err := w.store.Put(d); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := 35 * 24 * time.Hour
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	before, _, err := w.store.BackupRotate(dir, t0, keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Destroy(t0.Add(time.Hour), d.CaseID); err != nil {
		t.Fatal(err)
	}
	holds := func(path string) bool {
		t.Helper()
		st, err := escrow.Open(path, true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.Get(d.CaseID)
		return err == nil
	}
	after, _, err := w.store.BackupRotate(dir, t0.Add(24*time.Hour), keep)
	if err != nil {
		t.Fatal(err)
	}
	if !holds(before) || holds(after) {
		t.Fatalf("backup before the destruction holds the key: %v (want true); after: %v (want false)", holds(before), holds(after))
	}
	_, n, err := w.store.BackupRotate(dir, t0.Add(keep+time.Minute), keep)
	if err != nil || n != 1 {
		t.Fatalf("rotation past the retention deleted %d, %v; want the one backup from before the destruction", n, err)
	}
	if _, err := os.Stat(before); err == nil {
		t.Error("the backup from before the destruction is still there")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "notes.txt" && holds(filepath.Join(dir, e.Name())) {
			t.Errorf("backup %s holds the destroyed case's escrow key", e.Name())
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file that is not a backup was deleted: %v", err)
	}
}

// A destruction proof cannot leave statements out. Sam, a supervisor,
// approved destroying a case under a one-approver policy; then a court's
// hold came. A sender who sends the service the approval without the hold
// proves the destruction to a service that never saw the hold — but not to
// one that a laptop's request has shown it: the service judges every
// statement it was ever shown that counted, not only the request's.
func TestDestroyProofCannotLeaveOutAHold(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	now := time.Now()
	sign := func(st trust.Statement) trust.Signed { st.Issued = now; return w.agency.Sign(st) }
	sam, err := crypto.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	c := trust.NewCode(w.agency.Public())
	base := slices.Concat(w.statements, []trust.Signed{
		sign(trust.Statement{Kind: trust.KindUser, User: "sam", Name: "Sam", Role: trust.RoleSupervisor, Team: "north", Version: 1}),
		sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "sam", Key: c.Key().Public().(ed25519.PublicKey), Expires: now.Add(time.Hour)}),
		trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "dev-sam", Name: "sam's laptop",
			Recipient: sam.Recipient(), Key: sam.SigningPublicKey(), Grant: c.GrantID(), Issued: now}),
		sign(trust.Statement{Kind: trust.KindRetention, Version: 1, Doc: []byte(`{"approvals":1,"default":[{"from":"closed","years":1}]}`)}),
	})
	d, _ := w.deposit(t)
	approval := trust.SignAsDevice("dev-sam", sam.Sign, trust.Statement{Kind: trust.KindDestroy, Case: d.CaseID, Team: "north",
		Version: 1, Due: now.Add(-time.Hour), Reason: "past retention", Issued: now})
	hold := sign(trust.Statement{Kind: trust.KindHold, Case: d.CaseID, Team: "north", Ref: "FD26P00123", Name: "Family Court"})
	withoutHold := append(slices.Clone(base), approval)
	if r := trust.Evaluate(w.agency.Public(), withoutHold); r.Retention.Destroyed[d.CaseID].Case == "" {
		t.Fatalf("the approval alone does not prove the destruction: the test proves nothing (%v)", r.Problems)
	}

	// A laptop deposits, sending everything it holds: the hold too.
	if err := w.client.Deposit(ctx, d, append(slices.Clone(withoutHold), hold)); err != nil {
		t.Fatal(err)
	}
	// Then someone sends the proof without the hold.
	if gone, err := w.client.Destroy(ctx, []string{d.CaseID}, withoutHold); !errors.Is(err, escrow.ErrNotTrusted) || len(gone) != 0 {
		t.Fatalf("destroyed %v, %v: the service forgot the hold it was shown", gone, err)
	}
	if _, err := w.store.Get(d.CaseID); err != nil {
		t.Errorf("the escrow key of the held case is gone: %v", err)
	}
	// The statements it was shown are kept across a restart (in its file).
	kept, err := w.store.Statements()
	if err != nil || !slices.ContainsFunc(kept, func(sg trust.Signed) bool { return sg.ID() == hold.ID() }) {
		t.Errorf("the hold is not kept in the escrow file: %d statements, %v", len(kept), err)
	}

	// A service never shown the hold is convinced by the same request:
	// what the ratchet cannot cover (docs/ARCHITECTURE.md).
	fresh := newWorld(t)
	fresh.agency, fresh.statements = w.agency, w.statements
	svc := httptest.NewServer(&escrow.Service{Store: fresh.store, Agency: w.agency.Public()})
	t.Cleanup(svc.Close)
	if err := fresh.store.Put(d); err != nil {
		t.Fatal(err)
	}
	fc := &escrow.Client{URL: svc.URL}
	if gone, err := fc.Destroy(ctx, []string{d.CaseID}, withoutHold); err != nil || len(gone) != 1 {
		t.Errorf("a service never shown the hold: destroyed %v, %v", gone, err)
	}
}
