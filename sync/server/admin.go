package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/trust"
)

var (
	// ErrInvalid means an administrative request breaks a rule (a bad name,
	// role, duration or path).
	ErrInvalid = errors.New("invalid request")
	// ErrAgencyMismatch means the server already has another agency key.
	ErrAgencyMismatch = errors.New("this server has another agency key")
)

// Admin is agency administration on a store: the agency key, the signed
// statements (teams, users, enrolment grants, the recovery recipient,
// revocations), devices and backups. The admin socket of a running server
// and the fieldcased command (when no server runs) both use it.
//
// The agency's signing key never reaches the server: the fieldcased command
// decrypts it in its own process and sends only signed statements, which
// the server checks like any other (AddStatements).
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

// CheckName accepts 1–64 printable characters without leading or trailing
// space (names of users and teams are shown to people and typed by admins).
func CheckName(what, s string) error {
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

// AgencyInfo describes the server's agency key and roster.
type AgencyInfo struct {
	Key             string `json:"key,omitempty"` // trust.FormatAgencyKey; "" while none is installed
	Fingerprint     string `json:"fingerprint,omitempty"`
	Statements      int    `json:"statements"`
	Problems        int    `json:"problems"`
	RosterVersion   uint64 `json:"roster_version"`
	RecoveryVersion uint64 `json:"recovery_version,omitempty"` // of the recovery recipient the roster proves
	// DueRules are the due rules in force, by team id ("" every team).
	DueRules map[string]trust.DueRules `json:"due_rules,omitempty"`
	// Policies are the weighting policies in force, by team id ("" every
	// team).
	Policies map[string]trust.Policy `json:"policies,omitempty"`
}

func agencyInfo(tx Tx) (AgencyInfo, error) {
	m, err := tx.Meta()
	if err != nil || m.Agency == nil {
		return AgencyInfo{RosterVersion: m.RosterVersion}, err
	}
	ts, err := loadTrust(tx)
	if err != nil {
		return AgencyInfo{}, err
	}
	return AgencyInfo{Key: trust.FormatAgencyKey(m.Agency), Fingerprint: trust.AgencyFingerprint(m.Agency),
		Statements: len(ts.stored), Problems: len(ts.roster.Problems), RosterVersion: m.RosterVersion,
		RecoveryVersion: ts.roster.RecoveryVersion, DueRules: ts.roster.DueRules, Policies: ts.roster.Policies}, nil
}

// Agency describes the agency key and the roster.
func (a *Admin) Agency(ctx context.Context) (AgencyInfo, error) {
	var info AgencyInfo
	err := a.store.View(ctx, func(tx Tx) (err error) {
		info, err = agencyInfo(tx)
		return err
	})
	return info, err
}

// SetAgency installs the agency's public key (trust.FormatAgencyKey form).
// The same key again changes nothing. Replacing a different key needs
// force: every statement signed by the old key stops counting, every
// device's token is revoked, and every device must enrol again under the
// new key (teams and users are signed again with it first).
func (a *Admin) SetAgency(ctx context.Context, key string, force bool) (AgencyInfo, error) {
	pub, err := trust.ParseAgencyKey(key)
	if err != nil {
		return AgencyInfo{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var info AgencyInfo
	err = a.store.Update(ctx, func(tx Tx) error {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		switch {
		case m.Agency.Equal(pub):
		case m.Agency != nil && !force:
			return fmt.Errorf("%w (fingerprint %s, not %s)", ErrAgencyMismatch, trust.AgencyFingerprint(m.Agency), trust.AgencyFingerprint(pub))
		default:
			if err := tx.SetAgency(pub); err != nil {
				return err
			}
			if m.Agency != nil {
				devices, err := tx.Devices()
				if err != nil {
					return err
				}
				for _, d := range devices {
					if d.Revoked.IsZero() {
						if err := tx.RevokeDevice(d.ID, a.now()); err != nil {
							return err
						}
					}
				}
			}
			if _, err := tx.BumpRosterVersion(); err != nil {
				return err
			}
		}
		info, err = agencyInfo(tx)
		return err
	})
	return info, err
}

// AddResult is what AddStatements stored.
type AddResult struct {
	Added         int    `json:"added"` // new statements (the others were there already)
	RosterVersion uint64 `json:"roster_version"`
}

// AddStatements stores statements the agency signed, once each, all or
// none: each must verify against the server's agency key and be accepted
// by the roster with the others (trust.Evaluate; ErrNotTrusted otherwise).
// Teams and users get their rows; an agency revocation kills the device's
// token and makes its user's cases owe a key rotation.
func (a *Admin) AddStatements(ctx context.Context, statements []trust.Signed) (AddResult, error) {
	if len(statements) == 0 {
		return AddResult{}, fmt.Errorf("%w: no statements", ErrInvalid)
	}
	for _, s := range statements {
		st, err := s.Open()
		if err != nil {
			return AddResult{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if s.Signer != trust.SignerAgency {
			return AddResult{}, fmt.Errorf("%w: administration adds statements the agency signed, not a %s signed by %s", ErrInvalid, st.Kind, s.Signer)
		}
		switch st.Kind {
		case trust.KindTeam, trust.KindUser:
			if err := CheckName(st.Kind.String(), st.Name); err != nil {
				return AddResult{}, err
			}
		}
	}
	var res AddResult
	err := a.store.Update(ctx, func(tx Tx) error {
		ts, err := loadTrust(tx)
		if err != nil {
			return err
		}
		for _, s := range statements {
			if !s.Verify(ts.meta.Agency) {
				return fmt.Errorf("%w: not signed by this server's agency key (fingerprint %s)", ErrNotTrusted, trust.AgencyFingerprint(ts.meta.Agency))
			}
		}
		n, err := ts.add(tx, a.now(), statements...)
		res = AddResult{Added: n, RosterVersion: ts.meta.RosterVersion}
		return err
	})
	return res, err
}

// Directory is the server's teams and users (their rows; see Roster for
// what the statements prove).
type Directory struct {
	Teams []Team `json:"teams"`
	Users []User `json:"users"`
	// Unsigned lists the ids of teams and users no accepted statement
	// proves: rows from before signed statements (protocol 1), or of a
	// replaced agency key. Devices do not know them until they are signed
	// (fieldcased agency adopt).
	Unsigned []string `json:"unsigned,omitempty"`
}

// Directory lists teams and users.
func (a *Admin) Directory(ctx context.Context) (Directory, error) {
	var d Directory
	err := a.store.View(ctx, func(tx Tx) (err error) {
		if d.Teams, err = tx.Teams(); err != nil {
			return err
		}
		if d.Users, err = tx.Users(); err != nil {
			return err
		}
		r, err := rosterOf(tx)
		if err != nil {
			return err
		}
		for _, t := range d.Teams {
			if rt, ok := r.Teams[t.ID]; !ok || rt.Name != t.Name {
				d.Unsigned = append(d.Unsigned, t.ID)
			}
		}
		for _, u := range d.Users {
			if ru, ok := r.Users[u.ID]; !ok || ru.Name != u.Name || ru.Role != u.Role || ru.Team != u.TeamID {
				d.Unsigned = append(d.Unsigned, u.ID)
			}
		}
		return nil
	})
	return d, err
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
	Revoked     time.Time `json:"revoked,omitzero"` // its token was revoked
	// Signed says a signed revocation of the device is stored: devices no
	// longer wrap case keys to it, and its cases owe a key rotation.
	Signed bool `json:"revoked_signed,omitempty"`
	// Trusted says the device's enrolment chains to the agency key.
	Trusted  bool   `json:"trusted"`
	AckedSeq uint64 `json:"acked_seq"` // its contiguous acknowledged sequence number
	// LogSize (device.revoke only) is the transparency log's size once its
	// token was revoked: every revision it could push is in those entries.
	LogSize int64 `json:"log_size,omitempty"`
}

func deviceInfo(tx Tx, r *trust.Roster, d Device) (DeviceInfo, error) {
	u, err := tx.User(d.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return DeviceInfo{}, err
	}
	acked, err := tx.AckedSeq(d.ID)
	if err != nil {
		return DeviceInfo{}, err
	}
	td, trusted := r.Devices[d.ID]
	return DeviceInfo{
		ID: d.ID, User: u.Name, Name: d.Name, Fingerprint: crypto.Fingerprint(d.Recipient),
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, LastSync: d.LastSync, Revoked: d.Revoked,
		Signed: td.Revoked, Trusted: trusted, AckedSeq: acked,
	}, nil
}

// rosterOf evaluates the stored statements (an empty roster without an
// agency key).
func rosterOf(tx Tx) (*trust.Roster, error) {
	ts, err := loadTrust(tx)
	if errors.Is(err, ErrNoAgency) {
		return trust.Evaluate(nil, nil), nil
	}
	if err != nil {
		return nil, err
	}
	return ts.roster, nil
}

// Devices lists every device, by user then device id.
func (a *Admin) Devices(ctx context.Context) ([]DeviceInfo, error) {
	out := []DeviceInfo{}
	err := a.store.View(ctx, func(tx Tx) error {
		r, err := rosterOf(tx)
		if err != nil {
			return err
		}
		ds, err := tx.Devices()
		if err != nil {
			return err
		}
		for _, d := range ds {
			info, err := deviceInfo(tx, r, d)
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

// RevokeDevice revokes a device's token: its next request is refused with
// device_revoked. Devices keep wrapping case keys to it until a signed
// revocation is stored (AddStatements, or a device's own); the answer's
// AckedSeq is what that revocation's AfterSeq should be.
func (a *Admin) RevokeDevice(ctx context.Context, id string) (DeviceInfo, error) {
	var info DeviceInfo
	err := a.store.Update(ctx, func(tx Tx) error {
		if err := tx.RevokeDevice(id, a.now()); err != nil {
			return fmt.Errorf("device %q: %w", id, err)
		}
		d, err := tx.Device(id)
		if err != nil {
			return err
		}
		r, err := rosterOf(tx)
		if err != nil {
			return err
		}
		if info, err = deviceInfo(tx, r, d); err != nil {
			return err
		}
		info.LogSize, err = tx.LogSize()
		return err
	})
	return info, err
}

// StatementInfo is one stored statement as an admin sees it.
type StatementInfo struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"`
	Signer   string    `json:"signer"`
	Issued   time.Time `json:"issued,omitzero"`
	Accepted bool      `json:"accepted"`
	// Superseded says a statement not accepted only because a newer one
	// of the same user or recovery recipient is (no problem).
	Superseded bool `json:"superseded,omitempty"`
	// Signed is the statement as stored, so that the administrator's
	// fieldcased checks what it signs for against the agency key it holds
	// rather than on this server's word.
	Signed trust.Signed `json:"signed"`
}

// RosterInfo is every stored statement and what they prove.
type RosterInfo struct {
	Agency      string          `json:"agency,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Version     uint64          `json:"version"`
	Statements  []StatementInfo `json:"statements"`
	Problems    []string        `json:"problems"`
}

// Roster lists the stored statements, with trust.Evaluate's problems.
func (a *Admin) Roster(ctx context.Context) (RosterInfo, error) {
	info := RosterInfo{Statements: []StatementInfo{}, Problems: []string{}}
	err := a.store.View(ctx, func(tx Tx) error {
		ts, err := loadTrust(tx)
		if err != nil {
			return err
		}
		info.Agency, info.Fingerprint, info.Version = trust.FormatAgencyKey(ts.meta.Agency), trust.AgencyFingerprint(ts.meta.Agency), ts.meta.RosterVersion
		names := map[string]string{}
		for id, u := range ts.roster.Users {
			names[id] = u.Name
		}
		teams := map[string]string{}
		for id, t := range ts.roster.Teams {
			teams[id] = t.Name
		}
		problem := map[string]bool{}
		for _, p := range ts.roster.Problems {
			problem[p.Statement] = true
		}
		for _, s := range ts.stored {
			si := StatementInfo{ID: s.ID(), Signer: signerText(s.Signer), Accepted: ts.roster.Accepted[s.ID()], Signed: s}
			si.Superseded = !si.Accepted && !problem[si.ID]
			st, err := s.Open()
			if err != nil {
				si.Kind, si.Subject = "?", err.Error()
			} else {
				si.Kind, si.Subject, si.Issued = st.Kind.String(), subject(st, names, teams), st.Issued
			}
			info.Statements = append(info.Statements, si)
		}
		for _, p := range ts.roster.Problems {
			info.Problems = append(info.Problems, p.String())
		}
		return nil
	})
	return info, err
}

func signerText(s string) string {
	switch {
	case s == trust.SignerAgency:
		return "agency"
	case strings.HasPrefix(s, "device:"):
		return "device " + strings.TrimPrefix(s, "device:")
	case strings.HasPrefix(s, "grant:"):
		return "code of grant " + short(strings.TrimPrefix(s, "grant:"))
	}
	return s
}

func nameOr(m map[string]string, id string) string {
	if n := m[id]; n != "" {
		return n
	}
	return id
}

// subject says what a statement is about, for people.
func subject(st trust.Statement, users, teams map[string]string) string {
	switch st.Kind {
	case trust.KindTeam:
		return fmt.Sprintf("%s (%s)", st.Name, st.Team)
	case trust.KindUser:
		team := ""
		if st.Team != "" {
			team = ", team " + nameOr(teams, st.Team)
		}
		return fmt.Sprintf("%s (%s%s) v%d", st.Name, st.Role, team, st.Version)
	case trust.KindGrant:
		return fmt.Sprintf("enrolment of a device for %s, grant %s, until %s", nameOr(users, st.User), short(st.Grant), st.Expires.Format(time.RFC3339))
	case trust.KindDevice:
		return fmt.Sprintf("device %s (%s) of %s, grant %s", st.Device, st.Name, nameOr(users, st.User), short(st.Grant))
	case trust.KindRevoke:
		s := fmt.Sprintf("device %s, its writes after #%d", st.Device, st.AfterSeq)
		if st.Reason != "" {
			s += ": " + st.Reason
		}
		return s
	case trust.KindRecovery:
		return fmt.Sprintf("recipient %s v%d", crypto.Fingerprint(st.Recipient), st.Version)
	case trust.KindEscrow:
		return fmt.Sprintf("escrow service %s v%d", st.URL, st.Version)
	case trust.KindDueRules:
		scope := "every team"
		if st.Team != "" {
			scope = "team " + nameOr(teams, st.Team)
		}
		var rs []string
		for _, r := range st.Rules {
			rs = append(rs, fmt.Sprintf("%s=%d", r.Key, r.Days))
		}
		return fmt.Sprintf("%s v%d: %s", scope, st.Version, strings.Join(rs, ","))
	case trust.KindRetention:
		return fmt.Sprintf("v%d", st.Version)
	case trust.KindHold, trust.KindRelease, trust.KindDestroy:
		return fmt.Sprintf("case %s of team %s, %s", st.Case, nameOr(teams, st.Team), st.Ref)
	case trust.KindPolicy:
		scope := "every team"
		if st.Team != "" {
			scope = "team " + nameOr(teams, st.Team)
		}
		return fmt.Sprintf("%s v%d: %s", scope, st.Version, st.Policy)
	}
	return ""
}

// RotationInfo is a case owing a key rotation.
type RotationInfo struct {
	CaseID  string `json:"case_id"`
	Epoch   uint32 `json:"epoch"` // its key epoch when the device was revoked
	Team    string `json:"team"`
	Members int    `json:"members"`
}

// Rotations lists the cases owing a key rotation.
func (a *Admin) Rotations(ctx context.Context) ([]RotationInfo, error) {
	out := []RotationInfo{}
	err := a.store.View(ctx, func(tx Tx) error {
		owed, err := tx.RotationsOwed()
		if err != nil {
			return err
		}
		for _, o := range owed {
			ri := RotationInfo{CaseID: o.CaseID, Epoch: o.Epoch}
			if c, err := tx.Case(o.CaseID); err == nil {
				ri.Members = len(c.Members)
				if t, err := tx.Team(c.TeamID); err == nil {
					ri.Team = t.Name
				}
			}
			out = append(out, ri)
		}
		return nil
	})
	return out, err
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
	Agency        string `json:"agency,omitempty"` // the agency key's fingerprint
	Recovery      bool   `json:"recovery_set"`
	RosterVersion uint64 `json:"roster_version"`
	Statements    int    `json:"statements"`
	Changes       uint64 `json:"changes"`
	Teams         int    `json:"teams"`
	Users         int    `json:"users"`
	Devices       int    `json:"devices"`
	Rotations     int    `json:"rotations_owed"`
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
		if m.Agency != nil {
			st.Agency = trust.AgencyFingerprint(m.Agency)
		}
		statements, err := tx.Statements()
		if err != nil {
			return err
		}
		st.Statements = len(statements)
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
		owed, err := tx.RotationsOwed()
		if err != nil {
			return err
		}
		devices, err := tx.Devices()
		st.Teams, st.Users, st.Devices, st.Rotations = len(teams), len(users), len(devices), len(owed)
		return err
	})
	return st, err
}

// AddCaseMember gives user access to a case and re-announces the case's
// history to them: one change log entry per stored revision, addressed to
// that user only, so their next pull brings the whole case and nobody
// else's pull repeats it.
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
