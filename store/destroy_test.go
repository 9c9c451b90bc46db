package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// destroyAgency is a supervisor's vault (sam, team north) under an agency
// whose retention policy (version 1) keeps a case one year after closing
// and one after its last contact, and needs one approval.
func destroyAgency(t *testing.T) (*testAgency, *Vault) {
	t.Helper()
	a := newTestAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	v := MustCreate(t)
	a.enrol(v, "sam", "supervisor", "north")
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 1,
		Doc: []byte(`{"approvals":1,"default":[{"from":"closed","years":1},{"from":"last-contact","years":1}]}`)})
	a.share()
	if v.Roster().Retention.Policy == nil {
		t.Fatalf("no retention policy proven: %+v", v.Roster().Problems)
	}
	return a, v
}

// approveAsSam signs sam's approval to destroy caseID under policy 1, as
// his laptop's key (what a supervisor's laptop, or one that is made to
// lie, sends) and gives it to v.
func approveAsSam(t *testing.T, v *Vault, caseID string) {
	t.Helper()
	id, err := v.Identity()
	if err != nil {
		t.Fatal(err)
	}
	sg := trust.SignAsDevice(v.DeviceID(), id.Sign, trust.Statement{Kind: trust.KindDestroy, Case: caseID, Team: "north",
		Version: 1, Due: time.Date(2021, 1, 10, 0, 0, 0, 0, time.UTC), Reason: "past retention", Issued: time.Now()})
	if _, err := v.AddStatements([]trust.Signed{sg}); err != nil {
		t.Fatal(err)
	}
	if v.Roster().Retention.Destroyed[caseID].Case != caseID {
		t.Fatalf("the roster does not prove %s destroyed: %+v", caseID, v.Roster().Problems)
	}
}

// fragments are 32-byte pieces of every sealed value of a case in the
// vault file: its revisions (bodies end with their AEAD tag) and the
// sealed keyring cache, which holds its key.
func fragments(t *testing.T, v *Vault, caseID string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	piece := func(b []byte) []byte { return bytes.Clone(b[len(b)-40 : len(b)-8]) }
	if err := v.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketRevs).Cursor()
		p := []byte(caseID + "/")
		for k, val := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, val = c.Next() {
			out[fmt.Sprintf("revision %x", k[len(k)-32:len(k)-26])] = piece(val)
		}
		out["keyring cache"] = piece(btx.Bucket(bucketMeta).Get(metaKeyring))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) < 4 {
		t.Fatalf("only %d sealed values of the case", len(out))
	}
	return out
}

// lingering names the fragments found in the vault's file as it is on disk.
func lingering(t *testing.T, v *Vault, frags map[string][]byte) []string {
	t.Helper()
	raw, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, f := range frags {
		if bytes.Contains(raw, f) {
			out = append(out, name)
		}
	}
	return out
}

// Issue 15: after a destruction no sealed copy of the case stays in the
// vault file — not its revisions, not the sealed keyring cache that held
// its key (which the laptop's passphrase opens) — though bbolt does not
// clear the pages it frees. The other case is untouched.
func TestDestroyLeavesNoCiphertextInFile(t *testing.T) {
	_, v := destroyAgency(t)
	c, err := v.CreateCase(record.Case{Ref: "OLD-1", Subject: "Closed adult case", Status: "closed", CaseType: "adult",
		Opened: "2017-03-01", Closed: "2020-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := v.AddNote(c, record.Note{Kind: "visit", Date: record.Date(fmt.Sprintf("2019-11-%02d", i+1)),
			Text: "a visit before the case closed, written up at some length to fill a page or two"}); err != nil {
			t.Fatal(err)
		}
	}
	keep := mustCase(t, v, "OPEN-1", "An open case")
	mustNote(t, v, keep, "still open")
	frags := fragments(t, v, c)
	if found := lingering(t, v, frags); len(found) != len(frags) {
		t.Fatalf("only %d of %d fragments are in the file before destruction", len(found), len(frags))
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	approveAsSam(t, v, c)
	done, err := v.DestroyApproved()
	if err != nil || len(done) != 1 || done[0].CaseID != c {
		t.Fatalf("DestroyApproved: %+v, %v", done, err)
	}
	if found := lingering(t, v, frags); len(found) > 0 {
		t.Errorf("after the destruction the vault file still holds %d sealed values of the case: %v", len(found), found)
	}
	v = reopen(t, v)
	if _, err := v.Case(c); !errors.Is(err, ErrNotFound) {
		t.Errorf("the destroyed case after reopening: %v", err)
	}
	if cv, err := v.Case(keep); err != nil || cv.Value.Ref != "OPEN-1" {
		t.Errorf("the other case after reopening: %+v, %v", cv, err)
	}
}
