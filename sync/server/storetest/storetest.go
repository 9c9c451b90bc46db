package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// RunTests runs the suite. open must return a new empty store each call; the
// suite closes it.
func RunTests(t *testing.T, open func(t *testing.T) server.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st server.Store)
	}{
		{"Meta", testMeta},
		{"Teams", testTeams},
		{"Users", testUsers},
		{"Devices", testDevices},
		{"ReplaceUserAndDevice", testReplace},
		{"Statements", testStatements},
		{"CasesAndRecords", testCasesAndRecords},
		{"TeamPolicy", testTeamPolicy},
		{"TeamCases", testTeamCases},
		{"Revisions", testRevisions},
		{"PushPrefetch", testPushPrefetch},
		{"ChangeLog", testChangeLog},
		{"Rollback", testRollback},
		{"ConcurrentAppendsNeverSkip", testConcurrentAppends},
		{"AckState", testAckState},
		{"DeviceRevisions", testDeviceRevisions},
		{"DeviceMaxSeq", testDeviceMaxSeq},
		{"Rotations", testRotations},
		{"Blobs", testBlobs},
		{"DestroyCase", testDestroyCase},
		{"Backup", testBackup},
		{"Log", testLog},
		{"LogKey", testLogKey},
		{"Cosignatures", testCosignatures},
		{"RevisionCount", testRevisionCount},
		{"ConcurrentLogAppends", testConcurrentLog},
		{"CancelledContext", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			tc.fn(t, st)
		})
	}
}

func update(t *testing.T, st server.Store, fn func(server.Tx) error) {
	t.Helper()
	if err := st.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, st server.Store, fn func(server.Tx) error) {
	t.Helper()
	if err := st.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// ts is a UTC time with the precision every backend keeps (microseconds).
func ts(sec int) time.Time { return time.Date(2026, 3, 1, 9, 0, sec, 123000, time.UTC) }

func testMeta(t *testing.T, st server.Store) {
	var m server.Meta
	view(t, st, func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	if record.ValidID(m.ServerID) != nil || record.ValidID(m.Epoch) != nil || bytes.ContainsRune([]byte(m.Epoch), '.') {
		t.Fatalf("server id %q / epoch %q: want valid ids without '.'", m.ServerID, m.Epoch)
	}
	if m.Recovery != "" || m.Agency != nil {
		t.Errorf("new store recovery = %q, agency = %x; want neither", m.Recovery, m.Agency)
	}
	agency := ed25519.PublicKey(bytes.Repeat([]byte{7}, ed25519.PublicKeySize))
	var v1, v2 uint64
	update(t, st, func(tx server.Tx) (err error) {
		if err := tx.SetRecovery("age1pq1example"); err != nil {
			return err
		}
		if err := tx.SetAgency(agency); err != nil {
			return err
		}
		if v1, err = tx.BumpRosterVersion(); err != nil {
			return err
		}
		v2, err = tx.BumpRosterVersion()
		return err
	})
	if v2 <= v1 || v1 <= m.RosterVersion {
		t.Errorf("roster versions %d, %d after %d: want increasing", v1, v2, m.RosterVersion)
	}
	var m2 server.Meta
	view(t, st, func(tx server.Tx) (err error) { m2, err = tx.Meta(); return })
	if m2.Recovery != "age1pq1example" || m2.RosterVersion != v2 || m2.Epoch != m.Epoch || m2.ServerID != m.ServerID || !m2.Agency.Equal(agency) {
		t.Errorf("meta after update = %+v", m2)
	}
	// A new agency key replaces the old one.
	other := ed25519.PublicKey(bytes.Repeat([]byte{9}, ed25519.PublicKeySize))
	update(t, st, func(tx server.Tx) error { return tx.SetAgency(other) })
	view(t, st, func(tx server.Tx) (err error) { m2, err = tx.Meta(); return })
	if !m2.Agency.Equal(other) {
		t.Errorf("agency after replacing = %x, want %x", m2.Agency, other)
	}
}

// signed makes a distinct, well-formed signed statement (the store checks
// no signature: the server does).
func signed(i int) trust.Signed {
	st := trust.Statement{Kind: trust.KindTeam, Issued: ts(i), Team: fmt.Sprintf("T%d", i), Name: fmt.Sprintf("team %d", i)}
	return trust.Signed{Body: st.Marshal(), Signer: trust.SignerAgency, Sig: bytes.Repeat([]byte{byte(i)}, ed25519.SignatureSize)}
}

// testStatements: stored once each by their ID, listed in the order stored.
func testStatements(t *testing.T, st server.Store) {
	view(t, st, func(tx server.Tx) error {
		if got, err := tx.Statements(); err != nil || len(got) != 0 {
			t.Errorf("Statements of a new store = %v, %v", got, err)
		}
		return nil
	})
	var want []trust.Signed
	update(t, st, func(tx server.Tx) error {
		for _, i := range []int{3, 1, 2} {
			s := signed(i)
			ok, err := tx.InsertStatement(s)
			if err != nil || !ok {
				t.Errorf("InsertStatement(%d) = %v, %v; want inserted", i, ok, err)
			}
			want = append(want, s)
		}
		// The same statement again: nothing.
		if ok, err := tx.InsertStatement(signed(1)); ok || err != nil {
			t.Errorf("InsertStatement(again) = %v, %v; want not inserted, no error", ok, err)
		}
		return nil
	})
	// Another signature of the same body is another statement.
	resigned := signed(1)
	resigned.Sig = bytes.Repeat([]byte{0xee}, ed25519.SignatureSize)
	update(t, st, func(tx server.Tx) error {
		ok, err := tx.InsertStatement(resigned)
		if !ok || err != nil {
			t.Errorf("InsertStatement(re-signed) = %v, %v", ok, err)
		}
		return err
	})
	want = append(want, resigned)
	// A rolled-back insert leaves nothing.
	st.Update(context.Background(), func(tx server.Tx) error {
		tx.InsertStatement(signed(9))
		return errRollback
	})
	view(t, st, func(tx server.Tx) error {
		got, err := tx.Statements()
		if err != nil || len(got) != len(want) {
			t.Fatalf("Statements = %d, %v; want %d", len(got), err, len(want))
		}
		for i := range want {
			if got[i].ID() != want[i].ID() || !bytes.Equal(got[i].Body, want[i].Body) || got[i].Signer != want[i].Signer || !bytes.Equal(got[i].Sig, want[i].Sig) {
				t.Errorf("statement %d = %+v, want %+v (in the order stored)", i, got[i], want[i])
			}
		}
		return nil
	})
}

// testReplace: a user's row replaced by a newer statement, and a device's
// row taken over by a new enrolment, indexes included.
func testReplace(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		for _, u := range []server.User{
			{ID: "U1", Name: "Ada", Role: "caseworker", TeamID: "T1", Created: ts(1)},
			{ID: "U2", Name: "Bo", Role: "caseworker", TeamID: "T1", Created: ts(1)},
		} {
			if err := tx.InsertUser(u); err != nil {
				return err
			}
		}
		return tx.InsertDevice(server.Device{ID: "D1", UserID: "U1", Name: "old", Recipient: "age1pq1old", SigningKey: []byte{1},
			TokenHash: sha256.Sum256([]byte("old")), Enrolled: ts(1), Revoked: ts(2)})
	})
	update(t, st, func(tx server.Tx) error {
		if err := tx.ReplaceUser(server.User{ID: "U1", Name: "Bo", Role: "supervisor", TeamID: "T1"}); !errors.Is(err, server.ErrExists) {
			t.Errorf("ReplaceUser to a taken name = %v, want ErrExists", err)
		}
		if err := tx.ReplaceUser(server.User{ID: "U9", Name: "Cy", Role: "typist", TeamID: "T1"}); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("ReplaceUser(unknown) = %v, want ErrNotFound", err)
		}
		return tx.ReplaceUser(server.User{ID: "U1", Name: "Ada King", Role: "supervisor", TeamID: "T2", Created: ts(1)})
	})
	newTok := sha256.Sum256([]byte("new"))
	d := server.Device{ID: "D1", UserID: "U1", Name: "new", Recipient: "age1pq1new", SigningKey: []byte{2},
		TokenHash: newTok, Enrolled: ts(5), LastSeen: ts(5), Grant: "G1"}
	update(t, st, func(tx server.Tx) error {
		if err := tx.InsertDevice(server.Device{ID: "D2", UserID: "U2", TokenHash: sha256.Sum256([]byte("d2")), Enrolled: ts(1)}); err != nil {
			return err
		}
		taken := d
		taken.TokenHash = sha256.Sum256([]byte("d2"))
		if err := tx.ReplaceDevice(taken); !errors.Is(err, server.ErrExists) {
			t.Errorf("ReplaceDevice with another's token = %v, want ErrExists", err)
		}
		unknown := d
		unknown.ID = "D9"
		if err := tx.ReplaceDevice(unknown); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("ReplaceDevice(unknown) = %v, want ErrNotFound", err)
		}
		return tx.ReplaceDevice(d)
	})
	view(t, st, func(tx server.Tx) error {
		if u, err := tx.UserByName("Ada King"); err != nil || u.ID != "U1" || u.Role != "supervisor" || u.TeamID != "T2" || !u.Created.Equal(ts(1)) {
			t.Errorf("UserByName(new name) = %+v, %v", u, err)
		}
		if _, err := tx.UserByName("Ada"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("the old name still finds a user: %v", err)
		}
		if all, _ := tx.Users(); len(all) != 2 {
			t.Errorf("Users = %d, want 2", len(all))
		}
		got, err := tx.DeviceByToken(newTok)
		if err != nil || got.Name != "new" || got.Grant != "G1" || !got.Revoked.IsZero() || got.Recipient != "age1pq1new" || !got.Enrolled.Equal(ts(5)) {
			t.Errorf("DeviceByToken(new) = %+v, %v", got, err)
		}
		if _, err := tx.DeviceByToken(sha256.Sum256([]byte("old"))); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("the old token still finds the device: %v", err)
		}
		return nil
	})
}

func testTeams(t *testing.T, st server.Store) {
	a := server.Team{ID: "T1", Name: "North", Created: ts(1)}
	update(t, st, func(tx server.Tx) error { return tx.InsertTeam(a) })
	for _, dup := range []server.Team{{ID: "T1", Name: "Other"}, {ID: "T2", Name: "North"}} {
		err := st.Update(context.Background(), func(tx server.Tx) error { return tx.InsertTeam(dup) })
		if !errors.Is(err, server.ErrExists) {
			t.Errorf("InsertTeam(%+v) = %v, want ErrExists", dup, err)
		}
	}
	view(t, st, func(tx server.Tx) error {
		got, err := tx.Team("T1")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("Team = %+v, %v; want %+v", got, err, a)
		}
		got, err = tx.TeamByName("North")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("TeamByName = %+v, %v", got, err)
		}
		if _, err := tx.Team("nope"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Team(nope) = %v, want ErrNotFound", err)
		}
		if _, err := tx.TeamByName("nope"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("TeamByName(nope) = %v, want ErrNotFound", err)
		}
		all, err := tx.Teams()
		if err != nil || len(all) != 1 {
			t.Errorf("Teams = %v, %v", all, err)
		}
		return nil
	})
}

func testUsers(t *testing.T, st server.Store) {
	u := server.User{ID: "U1", Name: "Ada Lovelace", Role: "caseworker", TeamID: "T1", Created: ts(2)}
	update(t, st, func(tx server.Tx) error { return tx.InsertUser(u) })
	err := st.Update(context.Background(), func(tx server.Tx) error {
		return tx.InsertUser(server.User{ID: "U2", Name: "Ada Lovelace", Role: "typist"})
	})
	if !errors.Is(err, server.ErrExists) {
		t.Errorf("duplicate name: %v, want ErrExists", err)
	}
	update(t, st, func(tx server.Tx) error {
		return tx.InsertUser(server.User{ID: "U2", Name: "Grace", Role: "supervisor", TeamID: "T1"})
	})
	view(t, st, func(tx server.Tx) error {
		if got, err := tx.User("U1"); err != nil || got != u {
			t.Errorf("User = %+v, %v; want %+v", got, err, u)
		}
		if got, err := tx.UserByName("Ada Lovelace"); err != nil || got.ID != "U1" {
			t.Errorf("UserByName = %+v, %v", got, err)
		}
		if _, err := tx.UserByName("ada lovelace"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("names are case-sensitive: %v", err)
		}
		all, err := tx.Users()
		if err != nil || len(all) != 2 {
			t.Errorf("Users = %v, %v", all, err)
		}
		return nil
	})
}

func testDevices(t *testing.T, st server.Store) {
	d := server.Device{ID: "D1", UserID: "U1", Name: "laptop", Recipient: "age1pq1x", SigningKey: []byte{1, 2, 3},
		TokenHash: sha256.Sum256([]byte("tok")), Enrolled: ts(3), Grant: "G1"}
	update(t, st, func(tx server.Tx) error { return tx.InsertDevice(d) })
	for _, dup := range []server.Device{{ID: "D1", TokenHash: sha256.Sum256([]byte("other"))}, {ID: "D2", TokenHash: d.TokenHash}} {
		if err := st.Update(context.Background(), func(tx server.Tx) error { return tx.InsertDevice(dup) }); !errors.Is(err, server.ErrExists) {
			t.Errorf("InsertDevice(%s) = %v, want ErrExists", dup.ID, err)
		}
	}
	update(t, st, func(tx server.Tx) error {
		if err := tx.TouchDevice("D1", ts(10), time.Time{}); err != nil {
			return err
		}
		if err := tx.RevokeDevice("D1", ts(20)); err != nil {
			return err
		}
		// A touch after a revocation never undoes it, and an older time
		// never lowers a newer one.
		if err := tx.TouchDevice("D1", ts(5), ts(30)); err != nil {
			return err
		}
		return tx.RevokeDevice("D1", ts(40))
	})
	view(t, st, func(tx server.Tx) error {
		got, err := tx.DeviceByToken(d.TokenHash)
		if err != nil {
			t.Fatalf("DeviceByToken: %v", err)
		}
		if !got.LastSeen.Equal(ts(10)) || !got.LastSync.Equal(ts(30)) || !got.Revoked.Equal(ts(20)) {
			t.Errorf("seen %v sync %v revoked %v; want %v %v %v", got.LastSeen, got.LastSync, got.Revoked, ts(10), ts(30), ts(20))
		}
		if got.Name != "laptop" || got.Recipient != "age1pq1x" || !bytes.Equal(got.SigningKey, []byte{1, 2, 3}) || got.UserID != "U1" || got.Grant != "G1" {
			t.Errorf("device fields = %+v", got)
		}
		if _, err := tx.DeviceByToken(sha256.Sum256([]byte("nope"))); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}
		return nil
	})
	// A new token replaces the old one, in the index too.
	newHash := sha256.Sum256([]byte("new token"))
	update(t, st, func(tx server.Tx) error {
		if err := tx.ReplaceDeviceToken("D1", d.TokenHash); !errors.Is(err, server.ErrExists) {
			t.Errorf("ReplaceDeviceToken with a taken hash = %v", err)
		}
		if err := tx.ReplaceDeviceToken("nope", newHash); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("ReplaceDeviceToken(nope) = %v", err)
		}
		return tx.ReplaceDeviceToken("D1", newHash)
	})
	view(t, st, func(tx server.Tx) error {
		if _, err := tx.DeviceByToken(d.TokenHash); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("old token still finds the device: %v", err)
		}
		if got, err := tx.DeviceByToken(newHash); err != nil || got.ID != "D1" || !got.Revoked.Equal(ts(20)) {
			t.Errorf("DeviceByToken(new) = %+v, %v", got, err)
		}
		if err := tx.RevokeDevice("nope", ts(1)); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("RevokeDevice(nope) = %v", err)
		}
		all, err := tx.Devices()
		if err != nil || len(all) != 1 {
			t.Errorf("Devices = %v, %v", all, err)
		}
		return nil
	})
}

// testTeamPolicy: a team's weighting policy and its version.
func testTeamPolicy(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		return tx.InsertTeam(server.Team{ID: "T9", Name: "Policy Team", Created: ts(1)})
	})
	pol := []byte(`{"capacity":14}`)
	update(t, st, func(tx server.Tx) error { return tx.SetTeamPolicy("T9", pol, 3) })
	view(t, st, func(tx server.Tx) error {
		tm, err := tx.Team("T9")
		if err != nil || string(tm.Policy) != string(pol) || tm.PolicyVersion != 3 || tm.Name != "Policy Team" {
			t.Errorf("Team after SetTeamPolicy = %+v, %v", tm, err)
		}
		all, err := tx.Teams()
		if err != nil || len(all) == 0 || string(all[len(all)-1].Policy) != string(pol) {
			t.Errorf("Teams = %+v, %v", all, err)
		}
		return nil
	})
	err := st.Update(context.Background(), func(tx server.Tx) error { return tx.SetTeamPolicy("nope", pol, 1) })
	if !errors.Is(err, server.ErrNotFound) {
		t.Errorf("SetTeamPolicy(nope) = %v, want ErrNotFound", err)
	}
}

// testTeamCases: listing a team's cases, and the transcription flag.
func testTeamCases(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		for _, c := range []server.Case{
			{ID: "K2", TeamID: "TA", Members: []string{"U1"}, Created: ts(1)},
			{ID: "K1", TeamID: "TA", Members: []string{"U2"}, Created: ts(2), Transcription: true, KeyEpoch: 3},
			{ID: "K3", TeamID: "TB", Members: []string{"U3"}, Created: ts(3)},
		} {
			if err := tx.PutCase(c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx server.Tx) error {
		got, err := tx.TeamCases("TA")
		if err != nil || len(got) != 2 || got[0].ID != "K1" || got[1].ID != "K2" || !got[0].Transcription || got[1].Transcription {
			t.Errorf("TeamCases(TA) = %+v, %v", got, err)
		}
		all, err := tx.TeamCases("")
		if err != nil || len(all) < 3 {
			t.Errorf("TeamCases(all) = %d, %v", len(all), err)
		}
		c, err := tx.Case("K1")
		if err != nil || !c.Transcription || c.KeyEpoch != 3 {
			t.Errorf("Case(K1) = %+v, %v", c, err)
		}
		if got[0].KeyEpoch != 3 {
			t.Errorf("TeamCases(TA)[0].KeyEpoch = %d, want 3", got[0].KeyEpoch)
		}
		return nil
	})
}

func testCasesAndRecords(t *testing.T, st server.Store) {
	c := server.Case{ID: "C1", TeamID: "T1", Members: []string{"U1"}, Created: ts(1)}
	update(t, st, func(tx server.Tx) error {
		if err := tx.PutCase(c); err != nil {
			return err
		}
		c.Members = append(c.Members, "U2")
		if err := tx.PutCase(c); err != nil {
			return err
		}
		return tx.InsertRecord(server.RecordInfo{ID: "R1", CaseID: "C1", Kind: record.KindNote})
	})
	view(t, st, func(tx server.Tx) error {
		got, err := tx.Case("C1")
		if err != nil || !slices.Equal(got.Members, []string{"U1", "U2"}) || got.TeamID != "T1" || !got.Created.Equal(ts(1)) {
			t.Errorf("Case = %+v, %v", got, err)
		}
		if _, err := tx.Case("C2"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Case(C2) = %v", err)
		}
		r, err := tx.Record("R1")
		if err != nil || r != (server.RecordInfo{ID: "R1", CaseID: "C1", Kind: record.KindNote}) {
			t.Errorf("Record = %+v, %v", r, err)
		}
		if _, err := tx.Record("R2"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Record(R2) = %v", err)
		}
		return nil
	})
	err := st.Update(context.Background(), func(tx server.Tx) error {
		return tx.InsertRecord(server.RecordInfo{ID: "R1", CaseID: "C2", Kind: record.KindTask})
	})
	if !errors.Is(err, server.ErrExists) {
		t.Errorf("duplicate InsertRecord = %v, want ErrExists", err)
	}
}

// rev makes a valid revision.
func rev(caseID, recordID string, seq uint64, body string, parents ...record.RevID) *record.Revision {
	r := &record.Revision{RecordID: recordID, Kind: record.KindNote, CaseID: caseID, Parents: parents,
		Generation: 1, HLC: record.HLC(seq << 16), Device: "D1", Seq: seq, Body: []byte(body)}
	if len(parents) > 0 {
		r.Generation = 2
	}
	r.Seal()
	return r
}

func testRevisions(t *testing.T, st server.Store) {
	r1 := rev("C1", "R1", 1, "sealed one")
	r2 := rev("C1", "R1", 2, "sealed two", r1.Rev)
	r3 := rev("C2", "R2", 3, "")
	update(t, st, func(tx server.Tx) error {
		for _, r := range []*record.Revision{r1, r2, r3} {
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
		}
		if err := tx.InsertRevision(r1); !errors.Is(err, server.ErrExists) {
			t.Errorf("duplicate InsertRevision = %v, want ErrExists", err)
		}
		return nil
	})
	view(t, st, func(tx server.Tx) error {
		for _, want := range []*record.Revision{r1, r2, r3} {
			got, err := tx.Revision(want.Rev)
			if err != nil {
				t.Fatalf("Revision(%s): %v", want.Rev.Short(), err)
			}
			gb, _ := got.MarshalBinary()
			wb, _ := want.MarshalBinary()
			if !bytes.Equal(gb, wb) || got.Validate() != nil {
				t.Errorf("Revision(%s) = %+v, want %+v", want.Rev.Short(), got, want)
			}
			if has, err := tx.HasRevision(want.Rev); !has || err != nil {
				t.Errorf("HasRevision = %v, %v", has, err)
			}
		}
		var missing record.RevID
		missing[0] = 1
		if has, err := tx.HasRevision(missing); has || err != nil {
			t.Errorf("HasRevision(missing) = %v, %v", has, err)
		}
		if _, err := tx.Revision(missing); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Revision(missing) = %v", err)
		}
		got, err := tx.CaseRevisions("C1")
		if err != nil || !slices.Equal(got, []record.RevID{r1.Rev, r2.Rev}) {
			t.Errorf("CaseRevisions(C1) = %v, %v", got, err)
		}
		if got, _ := tx.CaseRevisions("C"); len(got) != 0 {
			t.Errorf("CaseRevisions(C) = %v: a case id prefix must not match", got)
		}
		return nil
	})
}

// testPushPrefetch: a backend's PushPrefetcher (if it has one) answers
// HasRevision and Record exactly as without it, before and after inserts in
// the same transaction.
func testPushPrefetch(t *testing.T, st server.Store) {
	r1 := rev("C1", "R1", 1, "stored before")
	update(t, st, func(tx server.Tx) error {
		if err := tx.InsertRecord(server.RecordInfo{ID: "R1", CaseID: "C1", Kind: record.KindNote}); err != nil {
			return err
		}
		return tx.InsertRevision(r1)
	})
	r2 := rev("C1", "R2", 2, "new", r1.Rev)
	prefetched := false
	update(t, st, func(tx server.Tx) error {
		pf, ok := tx.(server.PushPrefetcher)
		if !ok {
			return nil
		}
		prefetched = true
		if err := pf.PrefetchPush([]record.RevID{r1.Rev, r2.Rev}, []string{"R1", "R2"}); err != nil {
			return err
		}
		if has, err := tx.HasRevision(r1.Rev); !has || err != nil {
			t.Errorf("HasRevision(stored) = %v, %v", has, err)
		}
		if has, err := tx.HasRevision(r2.Rev); has || err != nil {
			t.Errorf("HasRevision(new) = %v, %v", has, err)
		}
		if info, err := tx.Record("R1"); err != nil || info.CaseID != "C1" || info.Kind != record.KindNote {
			t.Errorf("Record(R1) = %+v, %v", info, err)
		}
		if _, err := tx.Record("R2"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Record(R2) before insert = %v, want ErrNotFound", err)
		}
		if err := tx.InsertRecord(server.RecordInfo{ID: "R2", CaseID: "C1", Kind: record.KindNote}); err != nil {
			return err
		}
		if err := tx.InsertRevision(r2); err != nil {
			return err
		}
		if has, err := tx.HasRevision(r2.Rev); !has || err != nil {
			t.Errorf("HasRevision(new) after insert = %v, %v", has, err)
		}
		if info, err := tx.Record("R2"); err != nil || info.CaseID != "C1" {
			t.Errorf("Record(R2) after insert = %+v, %v", info, err)
		}
		if err := tx.InsertRevision(r1); !errors.Is(err, server.ErrExists) {
			t.Errorf("InsertRevision(stored) = %v, want ErrExists", err)
		}
		return nil
	})
	if !prefetched {
		t.Skip("this backend has no PushPrefetcher")
	}
	view(t, st, func(tx server.Tx) error {
		if has, err := tx.HasRevision(r2.Rev); !has || err != nil {
			t.Errorf("after commit: HasRevision(new) = %v, %v", has, err)
		}
		if info, err := tx.Record("R2"); err != nil || info.Kind != record.KindNote {
			t.Errorf("after commit: Record(R2) = %+v, %v", info, err)
		}
		return nil
	})
}

func testChangeLog(t *testing.T, st server.Store) {
	var seqs []uint64
	var r record.RevID
	update(t, st, func(tx server.Tx) error {
		for i := range 5 {
			r[0] = byte(i)
			target := ""
			if i == 3 {
				target = "U9"
			}
			seq, err := tx.AppendChange(server.Change{Seq: 999, Rev: r, CaseID: fmt.Sprintf("C%d", i%2), Target: target})
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	for i, s := range seqs {
		if s == 0 || (i > 0 && s <= seqs[i-1]) {
			t.Fatalf("sequence numbers %v: want strictly increasing from 1 or more", seqs)
		}
	}
	view(t, st, func(tx server.Tx) error {
		last, err := tx.LastChangeSeq()
		if err != nil || last != seqs[4] {
			t.Errorf("LastChangeSeq = %d, %v; want %d", last, err, seqs[4])
		}
		all, err := tx.Changes(0, 100)
		if err != nil || len(all) != 5 {
			t.Fatalf("Changes(0) = %v, %v", all, err)
		}
		for i, ch := range all {
			if ch.Seq != seqs[i] || ch.Rev[0] != byte(i) || ch.CaseID != fmt.Sprintf("C%d", i%2) {
				t.Errorf("change %d = %+v", i, ch)
			}
		}
		if all[3].Target != "U9" || all[2].Target != "" {
			t.Errorf("targets %q, %q; want U9 and none", all[3].Target, all[2].Target)
		}
		page, err := tx.Changes(seqs[1], 2)
		if err != nil || len(page) != 2 || page[0].Seq != seqs[2] || page[1].Seq != seqs[3] {
			t.Errorf("Changes(after %d, 2) = %v, %v", seqs[1], page, err)
		}
		if end, err := tx.Changes(seqs[4], 10); err != nil || len(end) != 0 {
			t.Errorf("Changes past the end = %v, %v", end, err)
		}
		if end, err := tx.Changes(^uint64(0), 10); err != nil || len(end) != 0 {
			t.Errorf("Changes(max) = %v, %v", end, err)
		}
		return nil
	})
}

var errRollback = errors.New("roll back")

func testRollback(t *testing.T, st server.Store) {
	r := rev("C1", "R1", 1, "x")
	err := st.Update(context.Background(), func(tx server.Tx) error {
		if err := tx.InsertRevision(r); err != nil {
			return err
		}
		if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: "C1"}); err != nil {
			return err
		}
		if err := tx.InsertTeam(server.Team{ID: "T", Name: "T"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v, want the closure's error", err)
	}
	view(t, st, func(tx server.Tx) error {
		if has, _ := tx.HasRevision(r.Rev); has {
			t.Error("revision survived a rollback")
		}
		if chs, _ := tx.Changes(0, 10); len(chs) != 0 {
			t.Errorf("change log after rollback = %v", chs)
		}
		if _, err := tx.Team("T"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("team survived a rollback: %v", err)
		}
		return nil
	})
	// Writes in a View fail.
	err = st.View(context.Background(), func(tx server.Tx) error { return tx.InsertTeam(server.Team{ID: "T", Name: "T"}) })
	if err == nil {
		t.Error("InsertTeam in a View succeeded")
	}
}

// testConcurrentAppends has writers append while a reader follows the log
// by cursor: the reader must see every entry exactly once, in increasing
// order, even if the backend assigns numbers and commits out of step.
func testConcurrentAppends(t *testing.T, st server.Store) {
	const writers, perWriter = 4, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				err := st.Update(ctx, func(tx server.Tx) error {
					var r record.RevID
					r[0], r[1] = byte(w), byte(i)
					_, err := tx.AppendChange(server.Change{Rev: r, CaseID: "C"})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[record.RevID]bool{}
	var cursor uint64
	finished := false
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Read once more after the writers finish, so the last entries
		// are seen.
		select {
		case <-done:
			finished = true
		default:
		}
		var page []server.Change
		view(t, st, func(tx server.Tx) (err error) { page, err = tx.Changes(cursor, 7); return })
		for _, ch := range page {
			if ch.Seq <= cursor {
				t.Fatalf("change %d after cursor %d", ch.Seq, cursor)
			}
			if seen[ch.Rev] {
				t.Fatalf("change %+v seen twice", ch)
			}
			seen[ch.Rev] = true
			cursor = ch.Seq
		}
		if finished && len(page) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out following the log")
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if len(seen) != writers*perWriter {
		t.Errorf("reader saw %d changes, want %d (a cursor skipped some)", len(seen), writers*perWriter)
	}
}

func testAckState(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		if n, err := tx.AckedSeq("D1"); err != nil || n != 0 {
			t.Errorf("AckedSeq of a new device = %d, %v", n, err)
		}
		if err := tx.SetAckedSeq("D1", 4); err != nil {
			return err
		}
		if err := tx.AddPendingSeq("D1", 6); err != nil {
			return err
		}
		return tx.AddPendingSeq("D10", 5) // another device, a prefix-sharing id
	})
	update(t, st, func(tx server.Tx) error {
		if n, _ := tx.AckedSeq("D1"); n != 4 {
			t.Errorf("AckedSeq = %d, want 4", n)
		}
		if ok, err := tx.TakePendingSeq("D1", 5); ok || err != nil {
			t.Errorf("TakePendingSeq(5) = %v, %v; want false", ok, err)
		}
		if ok, err := tx.TakePendingSeq("D1", 6); !ok || err != nil {
			t.Errorf("TakePendingSeq(6) = %v, %v; want true", ok, err)
		}
		if ok, _ := tx.TakePendingSeq("D1", 6); ok {
			t.Error("TakePendingSeq(6) twice")
		}
		if ok, _ := tx.TakePendingSeq("D10", 5); !ok {
			t.Error("TakePendingSeq(D10, 5) = false")
		}
		return nil
	})
}

// devRev makes a valid revision of device at seq.
func devRev(device string, seq uint64, body string) *record.Revision {
	r := &record.Revision{RecordID: fmt.Sprintf("R%d", seq), Kind: record.KindNote, CaseID: "C1", Generation: 1,
		HLC: record.HLC(seq << 16), Device: device, Seq: seq, Body: []byte(body)}
	r.Seal()
	return r
}

// testDeviceRevisions: a device's revisions by sequence number, in pages,
// never another device's (not even one whose id shares a prefix).
func testDeviceRevisions(t *testing.T, st server.Store) {
	var want []*record.Revision
	update(t, st, func(tx server.Tx) error {
		for _, seq := range []uint64{5, 1, 3, 2, 4} {
			r := devRev("D1", seq, fmt.Sprintf("body %d", seq))
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
		}
		for _, r := range []*record.Revision{devRev("D10", 1, "x"), devRev("D", 9, "y"), devRev("D2", 3, "z")} {
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
		}
		// A device that used a number twice (a vault restored from a
		// backup): both come back.
		return tx.InsertRevision(devRev("D1", 3, "again"))
	})
	for _, seq := range []uint64{1, 2, 3, 3, 4, 5} {
		want = append(want, &record.Revision{Seq: seq})
	}
	seqs := func(revs []*record.Revision) []uint64 {
		var out []uint64
		for _, r := range revs {
			out = append(out, r.Seq)
		}
		return out
	}
	view(t, st, func(tx server.Tx) error {
		all, err := tx.DeviceRevisions("D1", 0, 100)
		if err != nil || !slices.Equal(seqs(all), seqs(want)) {
			t.Errorf("DeviceRevisions(D1, 0) = %v, %v; want %v", seqs(all), err, seqs(want))
		}
		for _, r := range all {
			if r.Device != "D1" || r.Validate() != nil {
				t.Errorf("revision %+v: not D1's or invalid", r)
			}
		}
		page, err := tx.DeviceRevisions("D1", 2, 2)
		if err != nil || !slices.Equal(seqs(page), []uint64{3, 3}) {
			t.Errorf("DeviceRevisions(D1, after 2, 2) = %v, %v; want [3 3]", seqs(page), err)
		}
		if end, err := tx.DeviceRevisions("D1", 5, 10); err != nil || len(end) != 0 {
			t.Errorf("DeviceRevisions past the end = %v, %v", seqs(end), err)
		}
		if none, err := tx.DeviceRevisions("D3", 0, 10); err != nil || len(none) != 0 {
			t.Errorf("DeviceRevisions(unknown device) = %v, %v", seqs(none), err)
		}
		if got, err := tx.DeviceRevisions("D", 0, 10); err != nil || !slices.Equal(seqs(got), []uint64{9}) {
			t.Errorf("DeviceRevisions(D) = %v, %v; want only its own [9]", seqs(got), err)
		}
		if got, err := tx.DeviceRevisions("D1", ^uint64(0), 10); err != nil || len(got) != 0 {
			t.Errorf("DeviceRevisions(max) = %v, %v", seqs(got), err)
		}
		return nil
	})
}

// testDeviceMaxSeq: the highest of a device's acknowledged, pending and
// stored numbers.
func testDeviceMaxSeq(t *testing.T, st server.Store) {
	maxSeq := func(device string) uint64 {
		var n uint64
		view(t, st, func(tx server.Tx) (err error) { n, err = tx.DeviceMaxSeq(device); return })
		return n
	}
	if n := maxSeq("D1"); n != 0 {
		t.Errorf("DeviceMaxSeq of a new device = %d", n)
	}
	update(t, st, func(tx server.Tx) error { return tx.SetAckedSeq("D1", 4) })
	if n := maxSeq("D1"); n != 4 {
		t.Errorf("DeviceMaxSeq after ack 4 = %d", n)
	}
	update(t, st, func(tx server.Tx) error {
		if err := tx.AddPendingSeq("D1", 9); err != nil {
			return err
		}
		return tx.AddPendingSeq("D10", 50) // another device, a prefix-sharing id
	})
	if n := maxSeq("D1"); n != 9 {
		t.Errorf("DeviceMaxSeq with 9 pending = %d", n)
	}
	update(t, st, func(tx server.Tx) error { return tx.InsertRevision(devRev("D1", 12, "stored")) })
	if n := maxSeq("D1"); n != 12 {
		t.Errorf("DeviceMaxSeq with 12 stored = %d", n)
	}
	update(t, st, func(tx server.Tx) error { return tx.InsertRevision(devRev("D", 70, "stored")) })
	if n, m := maxSeq("D10"), maxSeq("D"); n != 50 || m != 70 {
		t.Errorf("DeviceMaxSeq(D10) = %d, (D) = %d; want 50 and 70", n, m)
	}
}

// keyring makes a keyring revision of caseID at epoch (body
// sealed.Keyring), or one whose record id names another epoch.
func keyring(caseID string, epoch, idEpoch uint32, seq uint64) *record.Revision {
	r := &record.Revision{RecordID: record.KeyringID(caseID, idEpoch), Kind: record.KindKeyring, CaseID: caseID, Generation: 1,
		HLC: record.HLC(seq << 16), Device: "D1", Seq: seq, Body: sealed.Keyring{Epoch: epoch, Wrapped: []byte("wrapped")}.Marshal()}
	r.Seal()
	return r
}

// testRotations: owed per case, the higher epoch kept, cleared by a
// keyring of a higher epoch (and by nothing else).
func testRotations(t *testing.T, st server.Store) {
	owed := func() map[string]uint32 {
		out := map[string]uint32{}
		view(t, st, func(tx server.Tx) error {
			rs, err := tx.RotationsOwed()
			for i, r := range rs {
				if i > 0 && rs[i-1].CaseID >= r.CaseID {
					t.Errorf("RotationsOwed not by case id: %v", rs)
				}
				out[r.CaseID] = r.Epoch
			}
			return err
		})
		return out
	}
	if got := owed(); len(got) != 0 {
		t.Fatalf("rotations of a new store = %v", got)
	}
	update(t, st, func(tx server.Tx) error {
		for _, r := range []struct {
			caseID string
			epoch  uint32
		}{{"CB", 2}, {"CA", 1}, {"CB", 1}, {"CC", 3}, {"CD", 0}} {
			if err := tx.SetRotationOwed(r.caseID, r.epoch); err != nil {
				return err
			}
		}
		return nil
	})
	if got, want := owed(), map[string]uint32{"CA": 1, "CB": 2, "CC": 3, "CD": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("owed = %v, want %v (the higher epoch kept)", got, want)
	}
	update(t, st, func(tx server.Tx) error {
		for _, r := range []*record.Revision{
			keyring("CB", 2, 2, 1),       // the same epoch: still owed
			keyring("CC", 4, 3, 2),       // body and id disagree: not a keyring of epoch 4
			rev("CA", "N1", 3, "a note"), // not a keyring
			keyring("CD", 1, 1, 4),       // past 0: cleared
			keyring("CA", 2, 2, 5),       // past 1: cleared
			keyring("CX", 9, 9, 6),       // no rotation owed: nothing
		} {
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
		}
		return nil
	})
	if got, want := owed(), map[string]uint32{"CB": 2, "CC": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("owed after keyrings = %v, want %v", got, want)
	}
	tomb := keyring("CB", 3, 3, 7)
	tomb.Deleted = true
	tomb.Seal()
	update(t, st, func(tx server.Tx) error { return tx.InsertRevision(tomb) })
	if got := owed(); got["CB"] != 2 {
		t.Errorf("a keyring tombstone cleared a rotation: %v", got)
	}
	update(t, st, func(tx server.Tx) error { return tx.InsertRevision(keyring("CB", 3, 3, 8)) })
	if got := owed(); len(got) != 1 || got["CC"] != 3 {
		t.Errorf("owed at the end = %v, want only CC", got)
	}
}

func testBlobs(t *testing.T, st server.Store) {
	data := []byte("sealed chunk")
	id := record.RevID(sha256.Sum256(data))
	empty := record.RevID(sha256.Sum256(nil))
	update(t, st, func(tx server.Tx) error {
		if err := tx.InsertBlob("C1", id, data); err != nil {
			return err
		}
		if err := tx.InsertBlob("C1", empty, nil); err != nil {
			return err
		}
		if err := tx.InsertBlob("C1", id, data); !errors.Is(err, server.ErrExists) {
			t.Errorf("duplicate InsertBlob = %v, want ErrExists", err)
		}
		return nil
	})
	data[0] = 'X' // the store must have copied it
	view(t, st, func(tx server.Tx) error {
		got, err := tx.Blob("C1", id)
		if err != nil || string(got) != "sealed chunk" {
			t.Errorf("Blob = %q, %v", got, err)
		}
		if has, _ := tx.HasBlob("C1", empty); !has {
			t.Error("empty blob not stored")
		}
		if got, err := tx.Blob("C1", empty); err != nil || len(got) != 0 {
			t.Errorf("empty Blob = %q, %v", got, err)
		}
		if has, _ := tx.HasBlob("C2", id); has {
			t.Error("a blob of case C1 shows in case C2")
		}
		if _, err := tx.Blob("C2", id); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("Blob(C2) = %v", err)
		}
		return nil
	})
}

func testBackup(t *testing.T, st server.Store) {
	path := filepath.Join(t.TempDir(), "backup")
	if err := st.Backup(context.Background(), path); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip("backend has no file backup")
		}
		t.Fatalf("Backup: %v", err)
	}
	if err := st.Backup(context.Background(), path); !errors.Is(err, server.ErrExists) {
		t.Errorf("Backup over an existing file = %v, want ErrExists", err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Errorf("Ping after backup: %v", err)
	}
}

func testCancelled(t *testing.T, st server.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := st.Update(ctx, func(tx server.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update on a cancelled context = %v (ran %v), want context.Canceled", err, ran)
	}
}
