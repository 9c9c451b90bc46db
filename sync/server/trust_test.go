package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

// roster evaluates what a device is served, under the agency key.
func (e *env) roster(c *servertest.Client) *trust.Roster {
	e.t.Helper()
	r, err := c.Roster(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return trust.Evaluate(e.agency.Key.Public(), r.Statements)
}

// A device makes pairing codes for its own user: the grant is stored, and
// a laptop enrols with the code; for anyone else, signed by anyone else,
// living too long, or too many at once, it is refused.
func TestPairingGrants(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	ada, _ := e.device("ada")
	bo, _ := e.device("bo")
	agency := e.agency.Key.Public()

	code, err := ada.Pair(e.ctx, userID("ada"), agency, time.Hour)
	if err != nil {
		t.Fatalf("pairing for her own user: %v", err)
	}
	desk, resp, err := servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), code.String(), "ada-desk")
	if err != nil {
		t.Fatalf("enrolling with a pairing code: %v", err)
	}
	if resp.UserID != userID("ada") {
		t.Errorf("paired device enrolled as %s", resp.UserID)
	}
	if d, ok := e.roster(desk).Devices["ada-desk"]; !ok || d.GrantedBy != trust.SignerDevice(ada.DeviceID) {
		t.Errorf("the roster does not trust the paired device (%+v)", d)
	}
	// The pairing code is used: once only.
	_, _, err = servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), code.String(), "ada-desk2")
	wantStatus(t, "pairing code twice", err, http.StatusForbidden, protocol.CodeBadCode)
	// A laptop's pairing codes die with its token.
	unused, err := desk.Pair(e.ctx, userID("ada"), agency, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.RevokeDevice(e.ctx, desk.DeviceID); err != nil {
		t.Fatal(err)
	}
	_, _, err = servertest.Enroll(e.ctx, e.http.URL, e.http.Client(), unused.String(), "ada-desk3")
	wantStatus(t, "the pairing code of a revoked laptop", err, http.StatusForbidden, protocol.CodeBadCode)

	grant := func(user string, expires time.Time) (trust.Code, trust.Statement) {
		c := trust.NewCode(agency)
		return c, trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: user, Key: c.Key().Public().(ed25519.PublicKey), Expires: expires}
	}
	_, forBo := grant(userID("bo"), time.Now().Add(time.Hour))
	wantStatus(t, "pairing for another user", ada.Grant(e.ctx, ada.SignStatement(forBo)), http.StatusForbidden, protocol.CodeForbidden)
	_, forAda := grant(userID("ada"), time.Now().Add(time.Hour))
	wantStatus(t, "sent by another device", bo.Grant(e.ctx, ada.SignStatement(forAda)), http.StatusForbidden, protocol.CodeForbidden)
	forged := ada.SignStatement(forAda)
	forged.Sig = make([]byte, ed25519.SignatureSize)
	wantStatus(t, "bad signature", ada.Grant(e.ctx, forged), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "signed as the agency", ada.Grant(e.ctx, e.agency.Sign(forAda)), http.StatusForbidden, protocol.CodeForbidden)
	_, long := grant(userID("ada"), time.Now().Add(8*24*time.Hour))
	wantStatus(t, "a grant of eight days", ada.Grant(e.ctx, ada.SignStatement(long)), http.StatusBadRequest, protocol.CodeBadRequest)
	_, old := grant(userID("ada"), time.Now().Add(-time.Minute))
	wantStatus(t, "an expired grant", ada.Grant(e.ctx, ada.SignStatement(old)), http.StatusBadRequest, protocol.CodeBadRequest)
	wantStatus(t, "not a grant", ada.Grant(e.ctx, ada.SignStatement(trust.Statement{Kind: trust.KindTeam, Team: "T", Name: "x"})), http.StatusBadRequest, protocol.CodeBadRequest)

	// Ten unused codes at most (the one used above does not count, the
	// revoked laptop's does); sending one again is not another.
	var last trust.Signed
	for i := range server.MaxUnusedPairings - 1 {
		_, st := grant(userID("ada"), time.Now().Add(time.Hour))
		last = ada.SignStatement(st)
		if err := ada.Grant(e.ctx, last); err != nil {
			t.Fatalf("pairing code %d: %v", i+1, err)
		}
	}
	if err := ada.Grant(e.ctx, last); err != nil {
		t.Errorf("the same grant again: %v", err)
	}
	_, more := grant(userID("ada"), time.Now().Add(time.Hour))
	wantStatus(t, "an eleventh unused code", ada.Grant(e.ctx, ada.SignStatement(more)), http.StatusForbidden, protocol.CodeForbidden)
	// Short-lived codes do not get around it: expired ones count for a week
	// more.
	e.clock.Add(2 * time.Hour)
	_, later := grant(userID("ada"), time.Now().Add(3*time.Hour))
	wantStatus(t, "a code right after the others expired", ada.Grant(e.ctx, ada.SignStatement(later)), http.StatusForbidden, protocol.CodeForbidden)
	e.clock.Add(server.MaxPairingTTL)
	_, later = grant(userID("ada"), e.clock.Now().Add(time.Hour))
	if err := ada.Grant(e.ctx, ada.SignStatement(later)); err != nil {
		t.Errorf("a code a week after the others expired: %v", err)
	}
}

// revocation signs a revocation of target as c.
func revocation(c *servertest.Client, target string, afterSeq uint64) trust.Signed {
	return c.SignStatement(trust.Statement{Kind: trust.KindRevoke, Device: target, AfterSeq: afterSeq, Reason: "lost"})
}

// Who may revoke whom: a device its own user's, a supervisor's device its
// team's; nobody else.
func TestRevocations(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("sol", protocol.RoleSupervisor, "south")
	e.user("ty", protocol.RoleTypist, "north")
	ada1, _ := e.device("ada")
	ada2, _ := e.device("ada")
	bo, _ := e.device("bo")
	sam, _ := e.device("sam")
	sol, _ := e.device("sol")
	ty, _ := e.device("ty")

	tests := []struct {
		name   string
		by     *servertest.Client
		target *servertest.Client
		status int
	}{
		{"another caseworker", bo, ada2, http.StatusForbidden},
		{"a supervisor of another team", sol, ada2, http.StatusForbidden},
		{"a typist of the team", ty, ada2, http.StatusForbidden},
		{"the user's other device", ada1, ada2, 0},
		{"a supervisor of the team", sam, bo, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.by.Revoke(e.ctx, revocation(tc.by, tc.target.DeviceID, 3))
			if tc.status != 0 {
				wantStatus(t, tc.name, err, tc.status, protocol.CodeForbidden)
				if _, err := tc.target.Roster(e.ctx); err != nil {
					t.Errorf("the target was revoked all the same: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = tc.target.Roster(e.ctx)
			wantStatus(t, "the revoked device", err, http.StatusUnauthorized, protocol.CodeRevoked)
			d := e.roster(tc.by).Devices[tc.target.DeviceID]
			if !d.Revoked || d.AfterSeq != 3 {
				t.Errorf("the roster shows %+v, want revoked after 3", d)
			}
		})
	}
	wantStatus(t, "an unknown device", ada1.Revoke(e.ctx, revocation(ada1, "nope", 0)), http.StatusNotFound, protocol.CodeNotFound)
	wantStatus(t, "signed by another device", sam.Revoke(e.ctx, revocation(ada1, "ty-devF", 0)), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "not a revocation", ada1.Revoke(e.ctx, ada1.SignStatement(trust.Statement{Kind: trust.KindTeam, Team: "T", Name: "x"})), http.StatusBadRequest, protocol.CodeBadRequest)
	// A revoked device's signature counts for nothing: ada2 has no token,
	// and its revocation of ada1 (made before, delivered by someone else)
	// is refused.
	if err := sam.Revoke(e.ctx, revocation(ada2, ada1.DeviceID, 0)); err == nil {
		t.Error("a revoked device's revocation was accepted")
	}
	// The admin lists who is revoked by signature.
	devs, _ := e.admin.Devices(e.ctx)
	for _, d := range devs {
		if want := d.ID == ada2.DeviceID || d.ID == bo.DeviceID; d.Signed != want || (!d.Revoked.IsZero()) != want {
			t.Errorf("device %s: revoked %v, signed %v; want %v", d.ID, d.Revoked, d.Signed, want)
		}
	}
}

// A signed revocation makes every case its user could read owe a key
// rotation; pulls tell those who may write the case's keyrings; a keyring
// of a higher epoch clears it. Killing a token alone does not.
func TestRotationOwed(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bo", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("ty", protocol.RoleTypist, "north")
	ada1, aw := e.device("ada")
	ada2, _ := e.device("ada")
	bo, bw := e.device("bo")
	sam, _ := e.device("sam")
	ty, _ := e.device("ty")
	e.pushOK(ada1, aw.NewCase("CA")...)
	e.pushOK(bo, bw.NewCase("CB")...)
	k2 := aw.Keyring("CA", 2)
	e.pushOK(ada1, k2) // CA is at epoch 2

	rotations := func(c *servertest.Client) []string {
		t.Helper()
		hdr, _, err := c.Pull(e.ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		return hdr.Rotations
	}
	owed := func() map[string]uint32 {
		t.Helper()
		rs, err := e.admin.Rotations(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]uint32{}
		for _, r := range rs {
			out[r.CaseID] = r.Epoch
		}
		return out
	}
	// Killing ada2's token alone owes nothing.
	if _, err := e.admin.RevokeDevice(e.ctx, ada2.DeviceID); err != nil {
		t.Fatal(err)
	}
	if got := owed(); len(got) != 0 {
		t.Fatalf("owed after a token revocation: %v", got)
	}
	// The signed revocation: ada's cases owe a rotation past their epoch.
	if err := ada1.Revoke(e.ctx, revocation(ada1, ada2.DeviceID, 0)); err != nil {
		t.Fatal(err)
	}
	if got := owed(); len(got) != 1 || got["CA"] != 2 {
		t.Fatalf("owed = %v, want CA past epoch 2", got)
	}
	for _, tc := range []struct {
		c    *servertest.Client
		want []string
	}{{ada1, []string{"CA"}}, {sam, []string{"CA"}}, {bo, nil}, {ty, nil}} {
		if got := rotations(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("%s's pull: rotations %v, want %v", tc.c.DeviceID, got, tc.want)
		}
	}
	// A rewrap at the same epoch does not clear it; a new epoch does.
	e.pushOK(ada1, aw.Keyring("CA", 2, k2))
	if got := owed(); got["CA"] != 2 {
		t.Errorf("owed after a keyring of the same epoch = %v", got)
	}
	e.pushOK(ada1, aw.Keyring("CA", 3))
	if got := rotations(sam); len(got) != 0 {
		t.Errorf("rotations after a new epoch = %v", got)
	}
	// A supervisor's revoked device: every case of the team.
	sam2, _ := e.device("sam")
	if err := sam.Revoke(e.ctx, revocation(sam, sam2.DeviceID, 0)); err != nil {
		t.Fatal(err)
	}
	if got := owed(); len(got) != 2 || got["CA"] != 3 || got["CB"] != 1 {
		t.Errorf("owed after a supervisor's device = %v, want CA past 3 and CB past 1", got)
	}
	// A typist's: only the cases open for transcription.
	e.pushOK(bo, bw.Keyring("CB", 2))
	e.pushOK(ada1, aw.Keyring("CA", 4))
	if err := doJSON(t, ada1, "POST", casePath(protocol.PathTranscription, "CA"), protocol.TranscriptionUpdate{Open: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AddStatements(e.ctx, []trust.Signed{e.agency.Revoke(ty.DeviceID, 0, "left")}); err != nil {
		t.Fatal(err)
	}
	if got := owed(); len(got) != 1 || got["CA"] != 4 {
		t.Errorf("owed after a typist's device = %v, want CA past 4", got)
	}
	_, err := ty.Roster(e.ctx)
	wantStatus(t, "the typist's device after an agency revocation", err, http.StatusUnauthorized, protocol.CodeRevoked)
}

// Every revision must be signed by the device that pushes it.
func TestPushSignatures(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	other, ow := e.device("ada")
	e.pushOK(c, w.NewCase("C1")...)

	unsigned := &servertest.Writer{Device: c.DeviceID, Seq: w.Seq}
	missing := unsigned.Rev(record.KindNote, "C1", "N1")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	forgedW := &servertest.Writer{Device: c.DeviceID, Seq: unsigned.Seq, Sign: func(m []byte) []byte { return ed25519.Sign(key, m) }}
	forged := forgedW.Rev(record.KindNote, "C1", "N2")
	othersW := &servertest.Writer{Device: c.DeviceID, Seq: forgedW.Seq, Sign: other.Identity.Sign}
	othersSig := othersW.Rev(record.KindNote, "C1", "N3")
	w.Seq = othersW.Seq
	good := w.Rev(record.KindNote, "C1", "N4")

	resp, err := c.Push(e.ctx, nil, missing, forged, othersSig, good)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range resp.Results[:3] {
		if res.Status != protocol.StatusRejected || !res.Permanent || !strings.Contains(res.Reason, "not signed by this device") {
			t.Errorf("item %d = %+v, want a permanent rejection: not signed by this device", i, res)
		}
	}
	if resp.Results[3].Status != protocol.StatusStored {
		t.Errorf("the signed revision: %+v", resp.Results[3])
	}
	// Rejected numbers are acknowledged all the same: the device moves on.
	if resp.AckedSeq != good.Seq {
		t.Errorf("acked_seq = %d, want %d", resp.AckedSeq, good.Seq)
	}
	// A number no store can keep in order.
	huge := &servertest.Writer{Device: c.DeviceID, Seq: 1<<63 - 1, Sign: c.Identity.Sign}
	if resp, _ := c.Push(e.ctx, nil, huge.Rev(record.KindNote, "C1", "NX")); resp.Results[0].Status != protocol.StatusRejected {
		t.Errorf("sequence number 2^63: %+v", resp.Results[0])
	}
	// Another device's own, properly signed revision still cannot be
	// pushed through this one.
	resp, _ = c.Push(e.ctx, nil, ow.Rev(record.KindNote, "C1", "N5"))
	if resp.Results[0].Status != protocol.StatusRejected {
		t.Errorf("another device's revision: %+v", resp.Results[0])
	}
	got, _, _ := other.PullAll(e.ctx, "")
	for _, r := range got {
		if !r.VerifySig(c.Identity.SigningPublicKey()) {
			t.Errorf("pulled revision %s without its writer's signature", r.Rev.Short())
		}
	}
}

// The role rules on the server are the devices' (trust.MayWrite).
func TestWriteRules(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("tia", protocol.RoleTypist, "north")
	ada, aw := e.device("ada")
	sam, sw := e.device("sam")
	tia, tw := e.device("tia")
	base := aw.NewCase("C1")
	note := aw.Rev(record.KindNote, "C1", "N1")
	rec := aw.Rev(record.KindRecording, "C1", "REC1")
	audit := aw.Rev(record.KindAudit, "C1", "A1")
	e.pushOK(ada, append(base, note, rec, audit)...)
	if err := doJSON(t, ada, "POST", casePath(protocol.PathTranscription, "C1"), protocol.TranscriptionUpdate{Open: true}, nil); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 32)
	tests := []struct {
		name   string
		c      *servertest.Client
		rev    *record.Revision
		stored bool
	}{
		{"typist: a new note (the transcript)", tia, tw.Rev(record.KindNote, "C1", trust.NewRecordID(tw.Device, time.Now())), true},
		{"typist: a new note whose id binds another device", tia, tw.Rev(record.KindNote, "C1", trust.NewRecordID("someone-else", time.Now())), false},
		{"typist: a new note in a record id not their own", tia, tw.Rev(record.KindNote, "C1", "T1"), false},
		{"typist: marks a recording transcribed", tia, tw.Rev(record.KindRecording, "C1", "REC1", rec), true},
		{"typist: an audit event", tia, tw.Rev(record.KindAudit, "C1", "A-T"), true},
		{"typist: edits someone's note", tia, tw.Rev(record.KindNote, "C1", "N1", note), false},
		{"typist: deletes a note", tia, tw.RevWith(record.KindNote, "C1", "N1", true, body, note), false},
		{"typist: deletes a recording", tia, tw.RevWith(record.KindRecording, "C1", "REC1", true, body, rec), false},
		{"typist: a new recording", tia, tw.Rev(record.KindRecording, "C1", "REC2"), false},
		{"typist: a task", tia, tw.Rev(record.KindTask, "C1", "TASK1"), false},
		{"typist: a keyring", tia, tw.Keyring("C1", 2), false},
		{"caseworker: edits an audit event", ada, aw.Rev(record.KindAudit, "C1", "A1", audit), false},
		{"supervisor: deletes an audit event", sam, sw.RevWith(record.KindAudit, "C1", "A1", true, body, audit), false},
		{"caseworker: a keyring tombstone", ada, aw.RevWith(record.KindKeyring, "C1", record.KeyringID("C1", 1), true, body, base[0]), false},
		{"caseworker: a keyring whose body names another epoch", ada, aw.RevWith(record.KindKeyring, "C1", record.KeyringID("C1", 5), false, body), false},
		{"caseworker: deletes a note", ada, aw.RevWith(record.KindNote, "C1", "N1", true, body, note), true},
		{"supervisor: a new epoch", sam, sw.Keyring("C1", 2), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Push(e.ctx, nil, tc.rev)
			if err != nil {
				t.Fatal(err)
			}
			res := resp.Results[0]
			if tc.stored && res.Status != protocol.StatusStored {
				t.Errorf("%+v, want stored", res)
			}
			if !tc.stored && (res.Status != protocol.StatusRejected || !res.Permanent || res.Reason == "") {
				t.Errorf("%+v, want a permanent rejection with a reason", res)
			}
		})
	}
}

// A device takes its own revisions back by sequence number; pulls say the
// highest number the server holds of it.
func TestOwnRevisions(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, w := e.device("ada")
	other, ow := e.device("ada")
	e.pushOK(c, w.NewCase("C1")...)
	e.pushOK(other, ow.Rev(record.KindNote, "C1", "O1"))
	var mine []*record.Revision
	for range 3 {
		var batch []*record.Revision
		for range protocol.MaxPushRevisions {
			batch = append(batch, w.Rev(record.KindNote, "C1", record.NewID()))
		}
		e.pushOK(c, batch...)
		mine = append(mine, batch...)
	}
	// Held back: number 3010 waits for its parent, 3009, which is not sent.
	parent := w.Rev(record.KindNote, "C1", "P")
	child := w.Rev(record.KindNote, "C1", "P", parent)
	if resp, _ := c.Push(e.ctx, nil, child); resp.Results[0].Status != protocol.StatusMissingParent {
		t.Fatalf("child without parent: %+v", resp.Results[0])
	}
	hdr, _, err := c.Pull(e.ctx, "", 1)
	if err != nil || hdr.DeviceMaxSeq != mine[len(mine)-1].Seq || hdr.AckedSeq != hdr.DeviceMaxSeq {
		t.Errorf("pull header %+v, %v; want device_max_seq %d", hdr, err, mine[len(mine)-1].Seq)
	}

	var got []*record.Revision
	after := uint64(2)
	for pages := 0; ; pages++ {
		hdr, revs, err := c.Own(e.ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 && (len(revs) != protocol.MaxPullLimit || !hdr.HasMore) {
			t.Errorf("first page: %d revisions, has_more %v; want %d and more", len(revs), hdr.HasMore, protocol.MaxPullLimit)
		}
		got = append(got, revs...)
		if !hdr.HasMore {
			break
		}
		after = revs[len(revs)-1].Seq
	}
	if len(got) != len(mine) {
		t.Fatalf("own revisions after 2: %d, want %d", len(got), len(mine))
	}
	for i, r := range got {
		if r.Rev != mine[i].Rev || r.Device != c.DeviceID || !r.VerifySig(c.Identity.SigningPublicKey()) {
			t.Fatalf("own revision %d = seq %d of %s, want seq %d", i, r.Seq, r.Device, mine[i].Seq)
		}
	}
	if _, revs, err := c.Own(e.ctx, mine[len(mine)-1].Seq); err != nil || len(revs) != 0 {
		t.Errorf("own after the last = %d, %v", len(revs), err)
	}
	// The other device gets only its own.
	if _, revs, err := other.Own(e.ctx, 0); err != nil || len(revs) != 1 || revs[0].Device != other.DeviceID {
		t.Errorf("the other device's own = %d, %v", len(revs), err)
	}
	_, _, err = c.Do(e.ctx, "POST", protocol.PathOwn, nil, []byte(`{"after_seq":"x"}`))
	wantStatus(t, "bad own request", err, http.StatusBadRequest, protocol.CodeBadRequest)
}

// Replacing the agency key needs force, and then every device's token
// goes: they enrol again under the new key.
func TestReplaceAgencyKey(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	c, _ := e.device("ada")
	next, _ := servertest.NewAgency()
	if _, err := e.admin.SetAgency(e.ctx, next.Public(), false); err == nil {
		t.Fatal("another agency key installed without force")
	}
	if _, err := c.Roster(e.ctx); err != nil {
		t.Fatalf("a refused replacement revoked the device: %v", err)
	}
	info, err := e.admin.SetAgency(e.ctx, next.Public(), true)
	if err != nil || info.Key != next.Public() || info.Problems == 0 {
		t.Fatalf("forced replacement = %+v, %v; want the old statements listed as problems", info, err)
	}
	_, err = c.Roster(e.ctx)
	wantStatus(t, "a device of the old key", err, http.StatusUnauthorized, protocol.CodeRevoked)
	// The same users signed again under the new key; the laptop enrols
	// again and keeps its id.
	e.agency = next
	e.add(next.Team(teamID("north"), "north"), next.User(userID("ada"), "ada", protocol.RoleCaseworker, teamID("north")))
	id, _ := crypto.NewIdentity()
	if _, _, err := servertest.EnrollWith(e.ctx, e.http.URL, e.http.Client(), e.code("ada"), c.DeviceID, id); err != nil {
		t.Errorf("enrolling again under the new key: %v", err)
	}
}

// A team's due rules are signed by one of its supervisors' devices and
// sent by it: the server stores them (every device checks them again), and
// refuses them from a caseworker, for another team or for every team, from
// another device than the signer, or at a version not above the one in
// force.
func TestDueRulesEndpoint(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("sol", protocol.RoleSupervisor, "south")
	ada, _ := e.device("ada")
	sam, _ := e.device("sam")
	sol, _ := e.device("sol")
	rules := func(team string, version uint64, normal uint64) trust.Statement {
		return trust.Statement{Kind: trust.KindDueRules, Team: team, Version: version, Rules: []trust.DueRule{{Key: "normal", Days: normal}}}
	}
	v1 := sam.SignStatement(rules(teamID("north"), 1, 4))
	if err := sam.DueRules(e.ctx, v1); err != nil {
		t.Fatalf("sam sets north's rules: %v", err)
	}
	if got, ok := e.roster(ada).DueRulesFor(teamID("north")); !ok || got.Version != 1 || got.Rules[0].Days != 4 {
		t.Errorf("ada is served north's rules %+v, %v", got, ok)
	}
	wantStatus(t, "a caseworker's", ada.DueRules(e.ctx, ada.SignStatement(rules(teamID("north"), 2, 60))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "another team's supervisor", sol.DueRules(e.ctx, sol.SignStatement(rules(teamID("north"), 2, 60))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "a supervisor's for every team", sam.DueRules(e.ctx, sam.SignStatement(rules("", 2, 60))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "sent by another device", sol.DueRules(e.ctx, sam.SignStatement(rules(teamID("north"), 2, 60))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "the same version again, changed", sam.DueRules(e.ctx, sam.SignStatement(rules(teamID("north"), 1, 9))), http.StatusConflict, protocol.CodeConflict)
	wantStatus(t, "not due rules", sam.DueRules(e.ctx, sam.SignStatement(trust.Statement{Kind: trust.KindTeam, Team: "T", Name: "x"})), http.StatusBadRequest, protocol.CodeBadRequest)
	if got, _ := e.roster(ada).DueRulesFor(teamID("north")); got.Version != 1 || got.Rules[0].Days != 4 {
		t.Errorf("after the refusals north's rules are %+v", got)
	}
}
