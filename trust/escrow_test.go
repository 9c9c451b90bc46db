package trust_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// The escrow service is the agency's statement: the highest version wins,
// a device's or a conflicting one does not count, and a bad address or
// key does not decode.
func TestEscrowStatement(t *testing.T) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.user("sam", trust.RoleSupervisor, "north", 1)
	sam := a.device("sam1", "sam")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	a.sign(trust.Statement{Kind: trust.KindEscrow, URL: "https://escrow.example/", Version: 1})
	a.sign(trust.Statement{Kind: trust.KindEscrow, URL: "https://escrow2.example/", Key: pub, Version: 2})
	r := a.eval()
	if r.Escrow.URL != "https://escrow2.example/" || !slices.Equal(r.Escrow.Key, pub) || r.Escrow.Version != 2 {
		t.Fatalf("escrow = %+v, want version 2 with its key", r.Escrow)
	}
	if len(r.Problems) != 0 {
		t.Fatalf("problems: %v", r.Problems)
	}

	// A device (or the server, as one) cannot name the escrow service.
	forged := trust.SignAsDevice(sam.id, sam.sign, trust.Statement{Kind: trust.KindEscrow, URL: "https://evil.example/", Version: 9})
	a.all = append(a.all, forged)
	if r := a.eval(); r.Escrow.Version != 2 || r.Accepted[forged.ID()] {
		t.Errorf("a device's escrow statement counted: %+v", r.Escrow)
	}
	// Two of the top version: neither.
	a.sign(trust.Statement{Kind: trust.KindEscrow, URL: "https://escrow3.example/", Version: 3})
	a.sign(trust.Statement{Kind: trust.KindEscrow, URL: "https://escrow4.example/", Version: 3})
	if r := a.eval(); r.Escrow.URL != "" {
		t.Errorf("conflicting escrow statements: %+v, want none", r.Escrow)
	}

	for _, st := range []trust.Statement{
		{Kind: trust.KindEscrow, URL: "ftp://escrow.example/", Version: 1},
		{Kind: trust.KindEscrow, URL: "https://user:pw@escrow.example/", Version: 1},
		{Kind: trust.KindEscrow, URL: "escrow.example", Version: 1},
		{Kind: trust.KindEscrow, URL: "https://escrow.example/", Version: 0},
		{Kind: trust.KindEscrow, URL: "https://escrow.example/", Key: []byte{1, 2, 3}, Version: 1},
	} {
		st.Issued = time.Unix(1_800_000_000, 0)
		if _, err := trust.UnmarshalStatement(st.Marshal()); !errors.Is(err, trust.ErrMalformed) {
			t.Errorf("%q v%d key %d bytes: %v, want ErrMalformed", st.URL, st.Version, len(st.Key), err)
		}
	}
}

// A case's escrow key is set by its first keyring, and no later keyring —
// a supervisor's, a member's, a new epoch's — changes or drops it; key
// wraps go to it instead of the recovery recipient.
func TestEscrowKeyFixedByFirstKeyring(t *testing.T) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	rec := recipient(t)
	a.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: rec, Version: 1})
	ada := a.device("ada1", "ada")
	a.device("sam1", "sam")
	r := a.eval()
	adaW, _ := r.Writer("ada1")
	samW, _ := r.Writer("sam1")

	caseID, salt := trust.NewCaseID(ada.id, time.Now())
	esc, other := recipient(t), recipient(t)
	first := trust.Membership{Team: "north", Members: []string{"ada"}, Salt: salt, Escrow: esc}
	w := trust.Write{CaseID: caseID, Kind: "keyring", Generation: 1, Device: ada.id, Seq: 1, LogIndex: -1}
	if err := trust.MayWriteKeyring(adaW, w, nil, first); err != nil {
		t.Fatalf("first keyring with an escrow key: %v", err)
	}
	bad := first
	bad.Escrow = "not a recipient"
	if err := trust.MayWriteKeyring(adaW, w, nil, bad); !errors.Is(err, trust.ErrNotAllowed) {
		t.Errorf("first keyring with a malformed escrow key: %v", err)
	}
	later := trust.Membership{Team: "north", Members: []string{"ada"}, Escrow: esc}
	w.Generation = 2
	for _, tc := range []struct {
		name   string
		wr     trust.Writer
		escrow string
		ok     bool
	}{
		{"member keeps it", adaW, esc, true},
		{"supervisor keeps it", samW, esc, true},
		{"member swaps it", adaW, other, false},
		{"supervisor swaps it", samW, other, false},
		{"supervisor drops it", samW, "", false},
	} {
		next := later
		next.Escrow = tc.escrow
		err := trust.MayWriteKeyring(tc.wr, w, &later, next)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed %v", tc.name, err, tc.ok)
		}
	}
	// A case made without an escrow key cannot be given one later.
	plain := trust.Membership{Team: "north", Members: []string{"ada"}}
	withKey := plain
	withKey.Escrow = other
	if err := trust.MayWriteKeyring(samW, w, &plain, withKey); !errors.Is(err, trust.ErrNotAllowed) {
		t.Errorf("escrow key added to a case made without one: %v", err)
	}

	// Wraps: the escrow key, not the recovery recipient.
	rs := trust.Recipients(r, later)
	if !slices.Contains(rs, esc) || slices.Contains(rs, rec) {
		t.Errorf("recipients of an escrowed case: escrow %v, recovery %v; want true, false", slices.Contains(rs, esc), slices.Contains(rs, rec))
	}
	if rs := trust.Recipients(r, plain); !slices.Contains(rs, rec) {
		t.Error("a case without an escrow key is not wrapped to the recovery recipient")
	}
	// Union of one epoch's keyrings keeps the escrow key.
	if u := plain.Union(later); u.Escrow != esc {
		t.Errorf("union lost the escrow key: %q", u.Escrow)
	}
}
