package server

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// The server's part in the trust scheme (package trust) is to keep signed
// statements and serve them all; it can never make a device trust anything
// by itself, because devices evaluate the statements under the agency key
// they pinned. It still checks every statement before storing it, with the
// same rules (trust.Evaluate): a statement the roster would not accept is
// refused, so a mistake or a forgery never reaches a device, and a second
// statement can never cancel a first one (conflicts fail closed).
//
// Access control reads the server's own tables of teams, users and devices;
// those rows are derived from the statements the server accepted (derive).

var (
	// ErrNoAgency means the server has no agency key installed yet, so it
	// can check no statement.
	ErrNoAgency = errors.New("this server has no agency key")
	// ErrNotTrusted means a statement does not verify, or the statements
	// it would join do not accept it.
	ErrNotTrusted = errors.New("statement not accepted")
)

// trustState is the stored statements and what they prove, as of one
// transaction.
type trustState struct {
	meta   Meta
	stored []trust.Signed
	roster *trust.Roster
}

// loadTrust reads the agency key and the statements, and evaluates them.
func loadTrust(tx Tx) (*trustState, error) {
	m, err := tx.Meta()
	if err != nil {
		return nil, err
	}
	if m.Agency == nil {
		return nil, ErrNoAgency
	}
	stored, err := tx.Statements()
	if err != nil {
		return nil, err
	}
	return &trustState{meta: m, stored: stored, roster: trust.Evaluate(m.Agency, stored)}, nil
}

// wire is the roster as devices get it: the agency key and every statement.
func (ts *trustState) wire() protocol.Roster {
	st := ts.stored
	if st == nil {
		st = []trust.Signed{}
	}
	return protocol.Roster{Agency: trust.FormatAgencyKey(ts.meta.Agency), Statements: st, Version: ts.meta.RosterVersion}
}

// evaluate is the roster the stored statements and more would prove.
func (ts *trustState) evaluate(more ...trust.Signed) ([]trust.Signed, *trust.Roster) {
	all := append(slices.Clone(ts.stored), more...)
	return all, trust.Evaluate(ts.meta.Agency, all)
}

// refusal says why r does not accept s.
func refusal(r *trust.Roster, s trust.Signed) error {
	id := s.ID()
	for _, p := range r.Problems {
		if p.Statement == id {
			return fmt.Errorf("%w: %s", ErrNotTrusted, p.What)
		}
	}
	kind := "statement"
	if st, err := s.Open(); err == nil {
		kind = st.Kind.String()
		switch st.Kind {
		case trust.KindUser, trust.KindRecovery, trust.KindDueRules, trust.KindPolicy, trust.KindEscrow:
			return fmt.Errorf("%w: a newer %s statement is stored (give this one a higher version)", ErrNotTrusted, kind)
		}
	}
	return fmt.Errorf("%w: the %s does not chain to the agency key", ErrNotTrusted, kind)
}

// loadDeviceTrust is loadTrust for a device's request: a server whose
// agency is not set up yet answers it errNoAgency.
func loadDeviceTrust(tx Tx) (*trustState, error) {
	ts, err := loadTrust(tx)
	if errors.Is(err, ErrNoAgency) {
		return nil, errNoAgency
	}
	return ts, err
}

// addForDevice adds a statement a device sent; one the roster would not
// take is refused (403) with the roster's reason.
func (ts *trustState) addForDevice(tx Tx, now time.Time, sg trust.Signed) error {
	_, err := ts.add(tx, now, sg)
	if errors.Is(err, ErrNotTrusted) {
		return forbidden("%v", err)
	}
	return err
}

// add stores statements that the stored ones and add together accept
// (every one of add must be), brings the directory in line with the new
// roster, and bumps the roster version if anything was new. It returns how
// many statements were new.
func (ts *trustState) add(tx Tx, now time.Time, add ...trust.Signed) (int, error) {
	all, after := ts.evaluate(add...)
	for _, s := range add {
		if !after.Accepted[s.ID()] {
			return 0, refusal(after, s)
		}
	}
	n := 0
	for _, s := range add {
		inserted, err := tx.InsertStatement(s)
		if err != nil {
			return 0, err
		}
		if inserted {
			// Logged in the same transaction: a statement is stored
			// with its log entry or not at all.
			if _, err := appendLog(tx, transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()}, now); err != nil {
				return 0, err
			}
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := derive(tx, now, ts.meta, ts.roster, after); err != nil {
		return 0, err
	}
	v, err := tx.BumpRosterVersion()
	if err != nil {
		return 0, err
	}
	ts.stored, ts.roster, ts.meta.RosterVersion = all, after, v
	ts.meta.Recovery = after.Recovery
	return n, nil
}

// derive brings the server's rows in line with what the roster after
// proves: teams and users are inserted or updated, the recovery recipient
// set, and a device newly revoked by signature loses its token and makes
// every case its user could read owe a key rotation.
func derive(tx Tx, now time.Time, m Meta, before, after *trust.Roster) error {
	teamIDs := slices.Sorted(maps.Keys(after.Teams))
	for _, id := range teamIDs {
		t := after.Teams[id]
		if _, err := tx.Team(id); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.InsertTeam(Team{ID: id, Name: t.Name, Created: now.UTC()}); errors.Is(err, ErrExists) {
			return fmt.Errorf("%w: another team is named %q", ErrNotTrusted, t.Name)
		} else if err != nil {
			return err
		}
	}
	rows, err := tx.Users()
	if err != nil {
		return err
	}
	byID := map[string]User{}
	for _, u := range rows {
		byID[u.ID] = u
	}
	for _, id := range slices.Sorted(maps.Keys(after.Users)) {
		u := after.Users[id]
		row, ok := byID[id]
		if ok && row.Name == u.Name && row.Role == u.Role && row.TeamID == u.Team {
			continue
		}
		if u.Team != "" {
			if _, err := tx.Team(u.Team); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%w: user %s is in team %s, which has no team statement", ErrNotTrusted, u.Name, u.Team)
			} else if err != nil {
				return err
			}
		}
		nu := User{ID: id, Name: u.Name, Role: u.Role, TeamID: u.Team, Created: now.UTC()}
		if ok {
			nu.Created = row.Created
			err = tx.ReplaceUser(nu)
		} else {
			err = tx.InsertUser(nu)
		}
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("%w: another user is named %q", ErrNotTrusted, u.Name)
		} else if err != nil {
			return err
		}
	}
	if after.Recovery != "" && after.Recovery != m.Recovery {
		if err := tx.SetRecovery(after.Recovery); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(after.Devices)) {
		d := after.Devices[id]
		if !d.Revoked || before.Devices[id].Revoked {
			continue
		}
		row, err := tx.Device(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && row.Revoked.IsZero() {
			if err := tx.RevokeDevice(id, now); err != nil {
				return err
			}
		}
		if err := flagRotations(tx, d.User); err != nil {
			return err
		}
	}
	return nil
}

// flagRotations marks every case user could read as owing a key rotation
// past its current epoch: one of the user's devices was revoked, and it may
// hold those keys.
func flagRotations(tx Tx, userID string) error {
	u, err := tx.User(userID)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	team := u.TeamID
	if u.Role == protocol.RoleCaseworker {
		team = "" // a member of cases in any team
	} else if team == "" {
		return nil
	}
	cases, err := tx.TeamCases(team)
	if err != nil {
		return err
	}
	for _, c := range cases {
		if read, _ := caseAccess(u, c); !read {
			continue
		}
		if err := tx.SetRotationOwed(c.ID, c.KeyEpoch); err != nil {
			return err
		}
	}
	return nil
}
