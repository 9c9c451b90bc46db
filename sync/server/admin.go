package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// ErrInvalid means an administrative request breaks a rule (a bad name,
// role, duration or path).
var ErrInvalid = errors.New("invalid request")

// Admin is agency administration on a store: teams, users, enrolment codes,
// devices, the recovery recipient and backups. The admin socket of a running
// server and the fieldcased command (when no server runs) both use it.
type Admin struct {
	store Store
	now   func() time.Time
}

// NewAdmin administers st.
func NewAdmin(st Store) *Admin { return &Admin{store: st, now: time.Now} }

// Default and longest lifetime of an enrolment code.
const (
	DefaultEnrollTTL = 24 * time.Hour
	MaxEnrollTTL     = 30 * 24 * time.Hour
)

func newULID() string { return ulid.MustNew(ulid.Now(), rand.Reader).String() }

// checkName accepts 1–64 printable characters without leading or trailing
// space (names of users and teams are shown to people and typed by admins).
func checkName(what, s string) error {
	if s == "" || utf8.RuneCountInString(s) > 64 || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: %s name must be 1 to 64 characters without surrounding spaces", ErrInvalid, what)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("%w: %s name has an unprintable character", ErrInvalid, what)
		}
	}
	return nil
}

// AddTeam creates a team.
func (a *Admin) AddTeam(ctx context.Context, name string) (Team, error) {
	if err := checkName("team", name); err != nil {
		return Team{}, err
	}
	t := Team{ID: newULID(), Name: name, Created: a.now().UTC()}
	err := a.store.Update(ctx, func(tx Tx) error { return tx.InsertTeam(t) })
	return t, err
}

// AddUser creates a user of role in team (team may be "" for an admin).
func (a *Admin) AddUser(ctx context.Context, name, role, team string) (User, error) {
	if err := checkName("user", name); err != nil {
		return User{}, err
	}
	if !slices.Contains(protocol.Roles, role) {
		return User{}, fmt.Errorf("%w: role %q (one of %s)", ErrInvalid, role, strings.Join(protocol.Roles, ", "))
	}
	if team == "" && role != protocol.RoleAdmin {
		return User{}, fmt.Errorf("%w: a %s needs a team", ErrInvalid, role)
	}
	u := User{ID: newULID(), Name: name, Role: role, Created: a.now().UTC()}
	err := a.store.Update(ctx, func(tx Tx) error {
		if team != "" {
			t, err := tx.TeamByName(team)
			if err != nil {
				return fmt.Errorf("team %q: %w", team, err)
			}
			u.TeamID = t.ID
		}
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		_, err := tx.BumpRosterVersion()
		return err
	})
	return u, err
}

// EnrollCodeInfo is a new enrolment code: the code itself is shown once and
// never stored.
type EnrollCodeInfo struct {
	Code    string    `json:"code"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// NewEnrollCode makes a one-time code for user, valid for ttl (0: a day).
func (a *Admin) NewEnrollCode(ctx context.Context, user string, ttl time.Duration) (EnrollCodeInfo, error) {
	if ttl == 0 {
		ttl = DefaultEnrollTTL
	}
	if ttl < time.Minute || ttl > MaxEnrollTTL {
		return EnrollCodeInfo{}, fmt.Errorf("%w: code lifetime must be between 1m and %s", ErrInvalid, MaxEnrollTTL)
	}
	code := NewEnrollCode()
	norm, err := NormalizeEnrollCode(code)
	if err != nil {
		return EnrollCodeInfo{}, err
	}
	now := a.now().UTC()
	info := EnrollCodeInfo{Code: code, User: user, Expires: now.Add(ttl)}
	err = a.store.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByName(user)
		if err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		if _, err := tx.DeleteEnrollCodes(now); err != nil {
			return err
		}
		return tx.InsertEnrollCode(EnrollCode{Hash: enrollCodeHash(norm), UserID: u.ID, Created: now, Expires: info.Expires})
	})
	return info, err
}

// DeviceInfo is a device as an admin sees it.
type DeviceInfo struct {
	ID          string    `json:"id"`
	User        string    `json:"user"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Enrolled    time.Time `json:"enrolled"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	LastSync    time.Time `json:"last_sync,omitzero"`
	Revoked     time.Time `json:"revoked,omitzero"`
}

func deviceInfo(tx Tx, d Device) (DeviceInfo, error) {
	u, err := tx.User(d.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return DeviceInfo{}, err
	}
	return DeviceInfo{
		ID: d.ID, User: u.Name, Name: d.Name, Fingerprint: crypto.Fingerprint(d.Recipient),
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, LastSync: d.LastSync, Revoked: d.Revoked,
	}, nil
}

// Devices lists every device, by user then device id.
func (a *Admin) Devices(ctx context.Context) ([]DeviceInfo, error) {
	out := []DeviceInfo{}
	err := a.store.View(ctx, func(tx Tx) error {
		ds, err := tx.Devices()
		if err != nil {
			return err
		}
		for _, d := range ds {
			info, err := deviceInfo(tx, d)
			if err != nil {
				return err
			}
			out = append(out, info)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b DeviceInfo) int { return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.ID, b.ID)) })
	return out, err
}

// RevokeDevice revokes a device: its next request is refused with
// device_revoked, and it leaves its team's roster.
func (a *Admin) RevokeDevice(ctx context.Context, id string) (DeviceInfo, error) {
	var info DeviceInfo
	err := a.store.Update(ctx, func(tx Tx) error {
		if err := tx.RevokeDevice(id, a.now()); err != nil {
			return fmt.Errorf("device %q: %w", id, err)
		}
		if _, err := tx.BumpRosterVersion(); err != nil {
			return err
		}
		d, err := tx.Device(id)
		if err != nil {
			return err
		}
		info, err = deviceInfo(tx, d)
		return err
	})
	return info, err
}

// SetRecovery sets the agency recovery recipient, which every new case key
// is also wrapped to.
func (a *Admin) SetRecovery(ctx context.Context, recipient string) error {
	recipient = strings.TrimSpace(recipient)
	if err := crypto.ParseRecipient(recipient); err != nil {
		return fmt.Errorf("%w: not a post-quantum age recipient (age1pq1…)", ErrInvalid)
	}
	return a.store.Update(ctx, func(tx Tx) error {
		if err := tx.SetRecovery(recipient); err != nil {
			return err
		}
		_, err := tx.BumpRosterVersion()
		return err
	})
}

// Backup writes a snapshot to path, an absolute path that must not exist.
func (a *Admin) Backup(ctx context.Context, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%w: backup path %q is not absolute", ErrInvalid, path)
	}
	return a.store.Backup(ctx, path)
}

// Status is a summary of the server's state.
type Status struct {
	ServerID      string `json:"server_id"`
	Epoch         string `json:"epoch"`
	Recovery      bool   `json:"recovery_set"`
	RosterVersion uint64 `json:"roster_version"`
	Changes       uint64 `json:"changes"`
	Teams         int    `json:"teams"`
	Users         int    `json:"users"`
	Devices       int    `json:"devices"`
}

// Status summarises the store.
func (a *Admin) Status(ctx context.Context) (Status, error) {
	var st Status
	err := a.store.View(ctx, func(tx Tx) error {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		st = Status{ServerID: m.ServerID, Epoch: m.Epoch, Recovery: m.Recovery != "", RosterVersion: m.RosterVersion}
		if st.Changes, err = tx.LastChangeSeq(); err != nil {
			return err
		}
		teams, err := tx.Teams()
		if err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		devices, err := tx.Devices()
		st.Teams, st.Users, st.Devices = len(teams), len(users), len(devices)
		return err
	})
	return st, err
}

// AddCaseMember gives user access to a case and re-announces the case's
// history to them: one change log entry per stored revision, addressed to
// that user only, so their next pull brings the whole case and nobody
// else's pull repeats it. (Reassignment's endpoint comes in a later issue;
// this is the mechanism it will use.)
func (a *Admin) AddCaseMember(ctx context.Context, caseID, user string) error {
	return a.store.Update(ctx, func(tx Tx) error {
		c, err := tx.Case(caseID)
		if err != nil {
			return fmt.Errorf("case %q: %w", caseID, err)
		}
		u, err := tx.UserByName(user)
		if err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		if slices.Contains(c.Members, u.ID) {
			return nil
		}
		c.Members = append(c.Members, u.ID)
		if err := tx.PutCase(c); err != nil {
			return err
		}
		return announce(tx, caseID, []string{u.ID})
	})
}
