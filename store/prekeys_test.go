package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// A pre-key's secret leaves the file when it expires: not in the bucket,
// not in a free page. Keyrings wrapped to it no longer open; the case keys
// it brought stay in the sealed keyring cache; keyrings wrapped to the
// newer one open.
func TestPreKeyExpiryLeavesNoSecret(t *testing.T) {
	var offset atomic.Int64
	opts := testOpts
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	v, err := Create(filepath.Join(t.TempDir(), "vault.db"), testPass, Profile{Name: "ada"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, v) })
	a := newTestAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.enrol(v, "ada", trust.RoleCaseworker, "north")
	const week, retain = 7 * 24 * time.Hour, 35 * 24 * time.Hour

	publish := func(want uint64) {
		t.Helper()
		sg, send, err := v.RotatePreKey(week)
		if err != nil || !send {
			t.Fatalf("rotation: send %v, %v", send, err)
		}
		if st, _ := sg.Open(); st.Version != want {
			t.Fatalf("pre-key version %d, want %d", st.Version, want)
		}
		if _, err := v.AddStatements([]trust.Signed{sg}); err != nil {
			t.Fatal(err)
		}
		if v.Roster().PreKeys[v.DeviceID()].Version != want {
			t.Fatalf("the roster does not take pre-key %d: %v", want, v.Roster().Problems)
		}
	}
	keyringOf := func(caseID string) []byte {
		t.Helper()
		var body []byte
		if err := v.AllRevisions(func(r *record.Revision) error {
			if r.CaseID == caseID && r.Kind == record.KindKeyring {
				body = slices.Clone(r.Body)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return body
	}
	publish(1)
	if _, send, _ := v.RotatePreKey(week); send {
		t.Error("a second pre-key within the week")
	}
	c1, err := v.CreateCase(record.Case{Ref: "PK-1", Subject: "under pre-key 1"})
	if err != nil {
		t.Fatal(err)
	}
	var sealed1 []byte
	v.view(func(btx *bolt.Tx) error {
		sealed1 = slices.Clone(btx.Bucket(bucketPreKeys).Get(preKeyKey('k', 1)))
		return nil
	})
	if len(sealed1) < 64 {
		t.Fatalf("sealed pre-key 1: %d bytes", len(sealed1))
	}

	offset.Add(int64(8 * 24 * time.Hour))
	publish(2)
	c2, err := v.CreateCase(record.Case{Ref: "PK-2", Subject: "under pre-key 2"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := v.ExpirePreKeys(retain); err != nil || n != 0 {
		t.Fatalf("expiry on the day it was replaced: %d, %v", n, err)
	}
	if _, err := v.UnwrapKeyring(c1, keyringOf(c1)); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	v.view(func(btx *bolt.Tx) error { // as it is now, superseded: what the expiry deletes
		sealed1 = slices.Clone(btx.Bucket(bucketPreKeys).Get(preKeyKey('k', 1)))
		return nil
	})
	inFile := func() bool {
		t.Helper()
		raw, err := os.ReadFile(v.Path())
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(raw, sealed1[len(sealed1)-40:len(sealed1)-8])
	}
	if !inFile() {
		t.Fatal("pre-key 1's sealed secret is not in the file before expiry: this test would prove nothing")
	}
	offset.Add(int64(36 * 24 * time.Hour))
	if n, err := v.ExpirePreKeys(retain); err != nil || n != 1 {
		t.Fatalf("expiry after 36 days: %d, %v", n, err)
	}
	if _, err := v.UnwrapKeyring(c1, keyringOf(c1)); !errors.Is(err, crypto.ErrNotRecipient) {
		t.Errorf("pre-key 1's keyring after expiry: %v, want ErrNotRecipient", err)
	}
	if _, err := v.UnwrapKeyring(c2, keyringOf(c2)); err != nil {
		t.Errorf("pre-key 2's keyring: %v", err)
	}
	if !slices.Contains(v.HeldCases(), c1) {
		t.Error("the case whose keyring went to pre-key 1 is no longer held")
	}
	infos, err := v.PreKeys()
	if err != nil || len(infos) != 2 || infos[0].Expired.IsZero() || !infos[1].Expired.IsZero() || !infos[1].Published {
		t.Errorf("pre-keys after expiry: %+v, %v", infos, err)
	}
	if inFile() {
		t.Error("the expired pre-key's sealed secret is still in the file")
	}
	v2 := reopen(t, v)
	v = v2
	if cv, err := v.Case(c1); err != nil || cv.Sealed {
		t.Errorf("case after reopening: %+v, %v", cv, err)
	}
}

// A case made before the enrolment is wrapped to a pre-key made for it,
// not to the long-term recipient; the enrolment publishes that pre-key.
func TestPreKeyBeforeEnrolment(t *testing.T) {
	v := MustCreate(t)
	c, err := v.CreateCase(record.Case{Ref: "OFF-1", Subject: "made offline"})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	v.AllRevisions(func(r *record.Revision) error {
		if r.CaseID == c && r.Kind == record.KindKeyring {
			body = slices.Clone(r.Body)
		}
		return nil
	})
	id, _ := v.Identity()
	kb, err := sealed.DecodeKeyring(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.UnwrapKeyWith(kb.Wrapped, c, kb.Epoch, id); !errors.Is(err, crypto.ErrNotRecipient) {
		t.Errorf("the offline case's keyring opens with the long-term identity: %v", err)
	}
	if _, err := v.UnwrapKeyring(c, body); err != nil {
		t.Fatalf("with the vault's pre-key: %v", err)
	}
	infos, _ := v.PreKeys()
	a := newTestAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.enrol(v, "ada", trust.RoleCaseworker, "north")
	sg, send, err := v.RotatePreKey(7 * 24 * time.Hour)
	st, _ := sg.Open()
	if err != nil || !send || len(infos) != 1 || st.Version != 1 || st.Recipient != infos[0].Recipient {
		t.Fatalf("at enrolment: send %v, version %d, %v; want the offline pre-key %+v", send, st.Version, err, infos)
	}
	if _, err := v.AddStatements([]trust.Signed{sg}); err != nil || v.Roster().PreKeys[v.DeviceID()].Recipient != infos[0].Recipient {
		t.Fatalf("the offline pre-key is not on the roster: %v %v", err, v.Roster().Problems)
	}
}
