package trust

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/fieldcase/fieldcase/record"
)

// ErrNotAllowed means a signed revision's writer may not write it.
var ErrNotAllowed = errors.New("not allowed")

// Membership is who is in a case at one key epoch. It travels in the case's
// keyring records, signed by the device that wrote each, and decides who a
// case key is wrapped to and whose revisions a device accepts.
type Membership struct {
	Team    string   `json:"team"`
	Members []string `json:"members,omitempty"` // caseworkers (user ids)
	Typists []string `json:"typists,omitempty"` // typists while a dictation waits for typing
	// Cutoffs, set when members are removed (a new epoch), name each of
	// the removed users' devices with the last of its sequence numbers the
	// remover had seen: later writes of those devices under the old keys
	// are not accepted.
	Cutoffs map[string]uint64 `json:"cutoffs,omitempty"`
	// CutoffLog, set with Cutoffs by a remover that follows the server's
	// log, is the log's size as it had read it: a removed device's
	// revision under an older key stands only if the log holds it before
	// that, whatever number it claims (numbers are the writer's word).
	CutoffLog int64 `json:"cutoff_log,omitempty"`
	// Salt binds the case id to the device that created the case (CaseID);
	// only in the case's first keyring.
	Salt []byte `json:"salt,omitempty"`
	// Escrow is the public half of the case's escrow key (escrow.go),
	// wrapped to instead of the recovery recipient; set by the case's first
	// keyring and carried unchanged by every later one ("" for a case made
	// without an escrow service: wrapped to the recovery recipient).
	Escrow string `json:"escrow,omitempty"`
}

// IsZero reports whether m says nothing.
func (m Membership) IsZero() bool {
	return m.Team == "" && len(m.Members) == 0 && len(m.Typists) == 0 && len(m.Cutoffs) == 0 && m.CutoffLog == 0 && len(m.Salt) == 0 && m.Escrow == ""
}

// Union is m with o's members, typists and cutoffs added (the strictest
// cutoff of a device wins). Concurrent keyrings of one epoch are read as
// their union.
func (m Membership) Union(o Membership) Membership {
	out := Membership{Team: m.Team, Salt: m.Salt, Escrow: m.Escrow}
	if out.Team == "" {
		out.Team = o.Team
	}
	if out.Escrow == "" {
		out.Escrow = o.Escrow
	}
	if out.Salt == nil {
		out.Salt = o.Salt
	}
	out.Members = union(m.Members, o.Members)
	out.Typists = union(m.Typists, o.Typists)
	if len(m.Cutoffs)+len(o.Cutoffs) > 0 {
		out.Cutoffs = maps.Clone(m.Cutoffs)
		if out.Cutoffs == nil {
			out.Cutoffs = map[string]uint64{}
		}
		for d, s := range o.Cutoffs {
			if cur, ok := out.Cutoffs[d]; !ok || s < cur {
				out.Cutoffs[d] = s
			}
		}
	}
	out.CutoffLog = m.CutoffLog
	if o.CutoffLog > 0 && (out.CutoffLog == 0 || o.CutoffLog < out.CutoffLog) {
		out.CutoffLog = o.CutoffLog
	}
	return out
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func sameSet(a, b []string) bool { return slices.Equal(union(a, nil), union(b, nil)) }

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// NewCaseID makes the id of a case created by device: a ULID whose random
// part is a hash of the device id and a fresh salt (kept in the case's first
// keyring). Nobody else can make a first keyring that binds the same id.
func NewCaseID(device string, t time.Time) (id string, salt []byte) {
	salt = make([]byte, 16)
	rand.Read(salt)
	var u ulid.ULID
	if err := u.SetTime(ulid.Timestamp(t)); err != nil {
		u.SetTime(ulid.Now())
	}
	h := caseBinding(device, salt)
	copy(u[6:], h[:10])
	return u.String(), salt
}

func caseBinding(device string, salt []byte) [32]byte {
	return sha256.Sum256(append(append([]byte("fieldcase case id v1\x00"), device...), append([]byte{0}, salt...)...))
}

// BindsCase reports whether caseID was made by NewCaseID for device with salt.
func BindsCase(caseID, device string, salt []byte) bool {
	u, err := ulid.ParseStrict(caseID)
	if err != nil || len(salt) == 0 {
		return false
	}
	h := caseBinding(device, salt)
	return [10]byte(u[6:]) == [10]byte(h[:10])
}

// NewRecordID makes the id of a record created by device: a ULID and a
// binding to the device (".", then 64 bits of a hash of both, in base32).
// A typist may only add records whose id binds their own device, so a
// first version written into someone else's record (a second root, which
// the server decides the order of) is refused.
func NewRecordID(device string, t time.Time) string {
	var u ulid.ULID
	if err := u.SetTime(ulid.Timestamp(t)); err != nil {
		u.SetTime(ulid.Now())
	}
	rand.Read(u[6:])
	s := u.String()
	return s + "." + recordBinding(device, s)
}

func recordBinding(device, ulidText string) string {
	h := sha256.Sum256([]byte("fieldcase record id v1\x00" + device + "\x00" + ulidText))
	return crockford32(h[:8])
}

// crockford32 writes b in Crockford's base32 (as ULIDs are).
func crockford32(b []byte) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out []byte
	var acc uint64
	bits := 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, digits[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		out = append(out, digits[(acc<<(5-bits))&31])
	}
	return string(out)
}

// BindsRecord reports whether id was made by NewRecordID for device.
func BindsRecord(id, device string) bool {
	u, bind, ok := strings.Cut(id, ".")
	if !ok {
		return false
	}
	if _, err := ulid.ParseStrict(u); err != nil {
		return false
	}
	return bind == recordBinding(device, u)
}

// Write is what the rules need to know of a revision.
type Write struct {
	RecordID   string
	CaseID     string
	Kind       record.Kind
	Generation uint64
	Deleted    bool
	Device     string
	Seq        uint64
	// LogIndex is where the server's log holds the revision, as this
	// device checked it (-1 when it has not: no log, or not yet proved).
	LogIndex int64
}

// WriteOf describes a revision for the rules.
func WriteOf(r *record.Revision) Write {
	return Write{RecordID: r.RecordID, CaseID: r.CaseID, Kind: r.Kind, Generation: r.Generation, Deleted: r.Deleted, Device: r.Device, Seq: r.Seq, LogIndex: -1}
}

func deny(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotAllowed, fmt.Sprintf(format, args...))
}

// MayWrite decides whether w, written by wr, may stand in a case whose
// membership at the revision's key epoch is m. Keyrings are decided by
// MayWriteKeyring. The rules:
//
//   - a supervisor writes anything in the cases of their team;
//   - a caseworker writes anything in the cases they are a member of;
//   - a typist, in a case open to them for typing, adds notes (a first
//     version of a record whose id binds their device: never a deletion, an
//     edit of someone's note, or a second first version of it) and updates
//     recordings (never deleting them; that only their status changes is
//     checked where the body can be read);
//   - audit events are written once and never edited or deleted;
//   - nobody else writes anything, and no revoked device writes past its
//     revocation.
func MayWrite(wr Writer, w Write, m Membership) error {
	if err := notRevoked(wr, w); err != nil {
		return err
	}
	if w.Kind == record.KindKeyring {
		return deny("keyrings follow their own rule")
	}
	if w.Kind == record.KindAudit && (w.Generation != 1 || w.Deleted) {
		return deny("audit events are never edited or deleted")
	}
	u := wr.User
	if u.Team == "" || u.Team != m.Team {
		return deny("%s %s is not in the case's team", u.Role, u.Name)
	}
	switch u.Role {
	case RoleSupervisor:
		return nil
	case RoleCaseworker:
		if slices.Contains(m.Members, u.ID) {
			return nil
		}
		return deny("caseworker %s is not a member of the case at this key epoch", u.Name)
	case RoleTypist:
		if !slices.Contains(m.Typists, u.ID) {
			return deny("the case is not open to typist %s", u.Name)
		}
		switch {
		case w.Kind == record.KindNote && w.Generation == 1 && !w.Deleted:
			if !BindsRecord(w.RecordID, w.Device) {
				return deny("a typist's new note must be a record of their own (its id binds their device), not a first version written into another record")
			}
			return nil
		case w.Kind == record.KindRecording && w.Generation > 1 && !w.Deleted:
			return nil
		case w.Kind == record.KindAudit:
			return nil
		}
		return deny("a typist adds transcripts and updates recordings; this is a %s%s", changeWord(w), w.Kind)
	}
	return deny("a %s writes nothing in cases", u.Role)
}

func changeWord(w Write) string {
	switch {
	case w.Deleted:
		return "deletion of a "
	case w.Generation > 1:
		return "change to a "
	}
	return "new "
}

func notRevoked(wr Writer, w Write) error {
	if wr.Device.Revoked && w.Seq > wr.Device.AfterSeq {
		return deny("device %s was revoked (writes after its number %d do not count); this is its number %d", wr.Device.ID, wr.Device.AfterSeq, w.Seq)
	}
	// A sequence number is the writer's word; the log's order is not. A
	// revoked device (or whoever holds its key, with the server) cannot
	// slip in a revision under a number it never used before the
	// revocation: it would be logged after the entries the revoker saw.
	if wr.Device.Revoked && wr.Device.LogSize > 0 {
		if w.LogIndex < 0 {
			return deny("device %s was revoked; where the log holds this revision is not known here yet", wr.Device.ID)
		}
		if w.LogIndex >= wr.Device.LogSize {
			return deny("device %s was revoked when the log held %d entries; this revision was logged at %d", wr.Device.ID, wr.Device.LogSize, w.LogIndex)
		}
	}
	return nil
}

// MayWriteKeyring decides whether a keyring revision w carrying membership
// next may stand. prev is the membership it follows (its parents' union, or
// the previous epoch's for a new epoch), nil for the case's first keyring.
//
//   - The first keyring is written by a caseworker or supervisor of the
//     team, who is its only member, and its salt binds the case id to the
//     writing device (NewCaseID): no one else can claim a case. A case made
//     before its laptop was enrolled starts with no team; the creating
//     device names it in a later keyring, under the same rule.
//   - Later keyrings are written by a device authorised in prev: a team
//     supervisor, who may change the members (and set cutoffs for those
//     removed), or a member, who keeps the members as they were and may
//     open or close the case to typists.
//   - The escrow key is set by the first keyring only, and every later
//     keyring carries it unchanged: nobody can move the case's recovery
//     wraps to a key of their choosing, or back to the recovery recipient.
func MayWriteKeyring(wr Writer, w Write, prev *Membership, next Membership) error {
	if err := notRevoked(wr, w); err != nil {
		return err
	}
	if prev == nil && next.Escrow != "" && !isEscrowRecipient(next.Escrow) {
		return deny("the case's escrow key is not a post-quantum age recipient")
	}
	if prev != nil && next.Escrow != prev.Escrow {
		return deny("a keyring cannot change the case's escrow key")
	}
	u := wr.User
	if u.Role != RoleCaseworker && u.Role != RoleSupervisor {
		return deny("a %s does not hold case keys for others", u.Role)
	}
	if u.Team == "" {
		return deny("%s is in no team", u.Name)
	}
	if prev == nil || prev.Team == "" {
		// The case's first keyring, or the first to name its team: a case
		// made before its laptop was enrolled has a first keyring without
		// a team, claimed by its creating device at enrolment.
		salt := next.Salt
		if salt == nil && prev != nil {
			salt = prev.Salt
		}
		switch {
		case w.Deleted:
			return deny("a case's keyring cannot be deleted")
		case !BindsCase(w.CaseID, w.Device, salt):
			return deny("the case id was not made by the device that claims to have created the case")
		case len(next.Typists) > 0 || len(next.Cutoffs) > 0:
			return deny("a new case has no typists and no removed members")
		case next.Team == "" && prev == nil && len(next.Members) == 0:
			return nil // not yet claimed for a team
		case next.Team != u.Team:
			return deny("%s claimed a case for another team", u.Name)
		case !subset(next.Members, []string{u.ID}):
			return deny("a new case has its creator as its only member")
		}
		return nil
	}
	if next.Team != prev.Team {
		return deny("a keyring cannot move a case to another team")
	}
	if w.Deleted {
		return deny("keyrings are never deleted")
	}
	switch {
	case u.Role == RoleSupervisor && u.Team == prev.Team:
		return nil
	case u.Role == RoleCaseworker && slices.Contains(prev.Members, u.ID):
		if !sameSet(next.Members, prev.Members) {
			return deny("only a supervisor changes who is in a case")
		}
		for d, s := range next.Cutoffs {
			if cur, ok := prev.Cutoffs[d]; !ok || cur != s {
				return deny("only a supervisor removes members")
			}
		}
		if next.CutoffLog != prev.CutoffLog {
			return deny("only a supervisor removes members")
		}
		return nil
	}
	return deny("%s %s is not in the case", u.Role, u.Name)
}

// CutoffBlocks reports whether a revision w, sealed under an epoch before a
// membership change that set cutoffs, is past its writer's cutoff: by
// number, or, when the change names a log size, by its checked place in the
// log (one not checked yet waits: w.LogIndex < 0).
func CutoffBlocks(later Membership, w Write) bool {
	c, ok := later.Cutoffs[w.Device]
	if !ok {
		return false
	}
	return w.Seq > c || (later.CutoffLog > 0 && (w.LogIndex < 0 || w.LogIndex >= later.CutoffLog))
}

// Recipients lists the age recipients a case key of membership m is
// wrapped to under roster r: every unrevoked device of the members, of the
// team's supervisors and of its typists, and the case's escrow key (when it
// has one) or else the recovery recipient.
func Recipients(r *Roster, m Membership) []string {
	var out []string
	add := func(u User) {
		for _, d := range r.DevicesOf(u.ID) {
			out = append(out, r.RecipientOf(d)) // its current pre-key, if it has one
		}
	}
	for _, id := range m.Members {
		if u, ok := r.Users[id]; ok && u.Role == RoleCaseworker && u.Team == m.Team {
			add(u)
		}
	}
	for _, id := range m.Typists {
		if u, ok := r.Users[id]; ok && u.Role == RoleTypist && u.Team == m.Team {
			add(u)
		}
	}
	for _, u := range r.UsersOf(m.Team, RoleSupervisor) {
		add(u)
	}
	switch {
	case m.Escrow != "":
		out = append(out, m.Escrow)
	case r.Recovery != "":
		out = append(out, r.Recovery)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
