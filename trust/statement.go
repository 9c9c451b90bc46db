package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/wire"
	"github.com/fieldcase/fieldcase/record"
)

// Kind is what a statement says.
type Kind byte

// Statement kinds. Part of the format: never renumber.
const (
	// KindTeam names a team (agency).
	KindTeam Kind = 1
	// KindUser says who a user is: name, role and team (agency). A higher
	// Version replaces a lower one.
	KindUser Kind = 2
	// KindGrant lets whoever holds the code whose key is Key enrol one
	// device for User (agency, or a device of that user).
	KindGrant Kind = 3
	// KindDevice says a device, with its public keys, is the one enrolled
	// under Grant (so belongs to the grant's user); signed with the key of
	// that grant's code. It names no user: the laptop learns who it is
	// only from the grant.
	KindDevice Kind = 4
	// KindRevoke revokes Device: revisions it wrote after AfterSeq are not
	// accepted, and no case key is wrapped to it again (agency, a device
	// of the same user, or a supervisor's device of its team).
	KindRevoke Kind = 5
	// KindRecovery names the agency recovery recipient (agency). A higher
	// Version replaces a lower one.
	KindRecovery Kind = 6
	// KindDueRules is the agency's due-date rules for dictation: how many
	// working days a typist has, by priority and by work type (DueRule).
	// Team "" is agency-wide, signed by the agency; a team's own rules are
	// signed by the agency or by a supervisor's device of that team. A
	// higher Version replaces a lower one, per team.
	KindDueRules Kind = 7
	// KindPolicy is the agency's caseload-weighting policy (record.Policy,
	// carried as its canonical JSON in Policy). Team "" is agency-wide,
	// signed by the agency; a team's own policy is signed by the agency or
	// by a supervisor's device of that team. A higher Version replaces a
	// lower one, per team.
	KindPolicy Kind = 8
)

func (k Kind) String() string {
	switch k {
	case KindTeam:
		return "team"
	case KindUser:
		return "user"
	case KindGrant:
		return "grant"
	case KindDevice:
		return "device"
	case KindRevoke:
		return "revocation"
	case KindRecovery:
		return "recovery recipient"
	case KindDueRules:
		return "due rules"
	case KindPolicy:
		return "weighting policy"
	case KindEscrow:
		return "escrow service"
	}
	if isLifecycle(k) {
		return lifecycleNames[k]
	}
	if k == KindPreKey {
		return "pre-key"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

// Role is a user's role. A device's role is its user's.
type Role string

// Roles.
const (
	RoleCaseworker Role = "caseworker"
	RoleSupervisor Role = "supervisor"
	RoleTypist     Role = "typist"
	RoleAdmin      Role = "admin"
)

// Valid reports one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RoleCaseworker, RoleSupervisor, RoleTypist, RoleAdmin:
		return true
	}
	return false
}

// Statement is one signed fact. Which fields a kind uses is listed with
// the kind; the others stay zero (and are not encoded).
type Statement struct {
	Kind      Kind
	Issued    time.Time // seconds
	Team      string    // team: its id; user: the user's team; due rules, policy: the team they are for ("" all)
	Name      string    // team, user or device name, for people
	User      string    // user, grant: the user's id
	Role      Role      // user
	Version   uint64    // user, recovery, due rules, policy, pre-key
	Grant     string    // grant: its id (GrantIDOf Key); device: the grant it enrols under
	Key       []byte    // grant: the code's public key; device: the device's signing key
	Expires   time.Time // grant
	Device    string    // device, revoke, pre-key
	Recipient string    // device: its age recipient; recovery: the recipient; pre-key: the pre-key's
	AfterSeq  uint64    // revoke
	Reason    string    // revoke
	// LogSize (revoke) is the size of the server's log as the revoking
	// device last checked it: every revision of the device it had seen is
	// in those entries, so one logged at or after them is not accepted,
	// whatever sequence number it claims. 0: signed without a log (the
	// sequence number rule alone holds).
	LogSize int64
	// Rules (due rules) are the working days per priority or work type,
	// sorted by Key, each key once.
	Rules []DueRule
	// The lifecycle kinds' fields (lifecycle.go).
	Case string    // hold, release, destroy: the case
	Ref  string    // hold: the order's reference; release: the hold's statement id
	Doc  []byte    // retention: the policy (JSON)
	Due  time.Time // destroy: the date the case was due
	// Policy (weighting policy) is a record.Policy as canonical JSON: what
	// json.Marshal writes for it, with its Version the statement's.
	Policy []byte
	// URL (escrow service) is where devices deposit escrow keys; Key its
	// receipt key, Version its version (escrow.go).
	URL string
}

// DueRule is one line of an agency's due-date rules: a dictation of this
// priority, or of this work type, is due within Days working days of its
// submission (record.Priorities, record.WorkTypes).
type DueRule struct {
	Key  string
	Days uint64
}

// Limits of due rules: every priority and work type once at most, and no
// more than twelve working weeks.
const (
	maxDueRules = 16
	MaxDueDays  = 60
)

// Limits of a statement's fields.
const (
	maxName      = 200
	maxRecipient = 4096
	maxReason    = 1000
	maxPolicy    = 16 << 10
)

const statementVersion = 1

// Marshal is the statement's canonical encoding, the bytes that are signed.
func (s Statement) Marshal() []byte {
	b := []byte{statementVersion, byte(s.Kind)}
	b = appendTime(b, s.Issued)
	switch s.Kind {
	case KindTeam:
		b = wire.AppendString(b, s.Team)
		b = wire.AppendString(b, s.Name)
	case KindUser:
		b = wire.AppendString(b, s.User)
		b = wire.AppendString(b, s.Name)
		b = wire.AppendString(b, string(s.Role))
		b = wire.AppendString(b, s.Team)
		b = wire.AppendUvarint(b, s.Version)
	case KindGrant:
		b = wire.AppendString(b, s.Grant)
		b = wire.AppendString(b, s.User)
		b = wire.AppendBytes(b, s.Key)
		b = appendTime(b, s.Expires)
	case KindDevice:
		b = wire.AppendString(b, s.Device)
		b = wire.AppendString(b, s.Name)
		b = wire.AppendString(b, s.Recipient)
		b = wire.AppendBytes(b, s.Key)
		b = wire.AppendString(b, s.Grant)
	case KindRevoke:
		b = wire.AppendString(b, s.Device)
		b = wire.AppendUvarint(b, s.AfterSeq)
		b = wire.AppendString(b, s.Reason)
		if s.LogSize > 0 { // absent in revocations signed before the log
			b = wire.AppendUvarint(b, uint64(s.LogSize))
		}
	case KindRecovery:
		b = wire.AppendString(b, s.Recipient)
		b = wire.AppendUvarint(b, s.Version)
	case KindDueRules:
		b = wire.AppendString(b, s.Team)
		b = wire.AppendUvarint(b, s.Version)
		b = wire.AppendUvarint(b, uint64(len(s.Rules)))
		for _, r := range s.Rules {
			b = wire.AppendString(b, r.Key)
			b = wire.AppendUvarint(b, r.Days)
		}
	case KindRetention, KindHold, KindRelease, KindDestroy:
		b = s.appendLifecycle(b)
	case KindPolicy:
		b = wire.AppendString(b, s.Team)
		b = wire.AppendUvarint(b, s.Version)
		b = wire.AppendBytes(b, s.Policy)
	case KindEscrow:
		b = s.appendEscrow(b)
	case KindPreKey:
		b = s.appendPreKey(b)
	}
	return b
}

// UnmarshalStatement decodes and checks a statement's encoding.
func UnmarshalStatement(b []byte) (Statement, error) {
	d := wire.Decoder{B: b}
	var s Statement
	if d.Byte() != statementVersion {
		return s, fmt.Errorf("%w: unknown statement version", ErrMalformed)
	}
	s.Kind = Kind(d.Byte())
	s.Issued = readTime(&d)
	switch s.Kind {
	case KindTeam:
		s.Team = d.String(record.MaxIDLen)
		s.Name = d.String(maxName)
	case KindUser:
		s.User = d.String(record.MaxIDLen)
		s.Name = d.String(maxName)
		s.Role = Role(d.String(32))
		s.Team = d.String(record.MaxIDLen)
		s.Version = d.Uvarint()
	case KindGrant:
		s.Grant = d.String(record.MaxIDLen)
		s.User = d.String(record.MaxIDLen)
		s.Key = d.Bytes(ed25519.PublicKeySize)
		s.Expires = readTime(&d)
	case KindDevice:
		s.Device = d.String(record.MaxIDLen)
		s.Name = d.String(maxName)
		s.Recipient = d.String(maxRecipient)
		s.Key = d.Bytes(ed25519.PublicKeySize)
		s.Grant = d.String(record.MaxIDLen)
	case KindRevoke:
		s.Device = d.String(record.MaxIDLen)
		s.AfterSeq = d.Uvarint()
		s.Reason = d.String(maxReason)
		if len(d.B) > 0 {
			n := d.Uvarint()
			if n == 0 || n > math.MaxInt64 {
				d.Fail() // one encoding per statement: an absent size is not written as 0
			}
			s.LogSize = int64(n)
		}
	case KindRecovery:
		s.Recipient = d.String(maxRecipient)
		s.Version = d.Uvarint()
	case KindDueRules:
		s.Team = d.String(record.MaxIDLen)
		s.Version = d.Uvarint()
		n := d.Uvarint()
		if n > maxDueRules {
			d.Fail()
			break
		}
		for range n {
			s.Rules = append(s.Rules, DueRule{Key: d.String(64), Days: d.Uvarint()})
		}
	case KindRetention, KindHold, KindRelease, KindDestroy:
		s.readLifecycle(&d)
	case KindPolicy:
		s.Team = d.String(record.MaxIDLen)
		s.Version = d.Uvarint()
		s.Policy = d.Bytes(maxPolicy)
	case KindEscrow:
		s.readEscrow(&d)
	case KindPreKey:
		s.readPreKey(&d)
	default:
		return s, fmt.Errorf("%w: unknown statement kind %d", ErrMalformed, byte(s.Kind))
	}
	d.End()
	if d.Failed() {
		return s, fmt.Errorf("%w: truncated or malformed %s statement", ErrMalformed, s.Kind)
	}
	return s, s.check()
}

// check validates the fields a kind uses.
func (s Statement) check() error {
	ids := map[string]string{}
	switch s.Kind {
	case KindTeam:
		ids["team"] = s.Team
	case KindUser:
		ids["user"], ids["team"] = s.User, s.Team
		if !s.Role.Valid() {
			return fmt.Errorf("%w: user statement with role %q", ErrMalformed, s.Role)
		}
		if s.Role == RoleAdmin && s.Team == "" {
			delete(ids, "team") // an admin belongs to no team
		}
	case KindGrant:
		ids["grant"], ids["user"] = s.Grant, s.User
		if len(s.Key) != ed25519.PublicKeySize || GrantIDOf(s.Key) != s.Grant {
			return fmt.Errorf("%w: grant whose id is not its key's", ErrMalformed)
		}
	case KindDevice:
		ids["device"], ids["grant"] = s.Device, s.Grant
		if len(s.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: device statement without a signing key", ErrMalformed)
		}
		if !strings.HasPrefix(s.Recipient, "age1pq1") {
			return fmt.Errorf("%w: device statement without a post-quantum age recipient", ErrMalformed)
		}
	case KindRevoke:
		ids["device"] = s.Device
	case KindRecovery:
		if !strings.HasPrefix(s.Recipient, "age1pq1") {
			return fmt.Errorf("%w: recovery recipient is not a post-quantum age recipient", ErrMalformed)
		}
	case KindDueRules:
		if s.Team != "" {
			ids["team"] = s.Team
		}
		if s.Version == 0 {
			return fmt.Errorf("%w: due rules of version 0", ErrMalformed)
		}
		if err := checkDueRules(s.Rules); err != nil {
			return err
		}
	case KindPolicy:
		if s.Team != "" {
			ids["team"] = s.Team
		}
		if s.Version == 0 {
			return fmt.Errorf("%w: weighting policy of version 0", ErrMalformed)
		}
		if _, err := PolicyOf(s); err != nil {
			return err
		}
	case KindRetention, KindHold, KindRelease, KindDestroy:
		if err := s.checkLifecycle(ids); err != nil {
			return err
		}
	case KindEscrow:
		if err := s.checkEscrow(); err != nil {
			return err
		}
	case KindPreKey:
		if err := s.checkPreKey(ids); err != nil {
			return err
		}
	}
	for what, id := range ids {
		if err := record.ValidID(id); err != nil {
			return fmt.Errorf("%w: %s statement: %s id: %v", ErrMalformed, s.Kind, what, err)
		}
	}
	return nil
}

// checkDueRules checks due rules: known priorities and work types, each
// once and in order (one encoding per statement), within MaxDueDays.
func checkDueRules(rules []DueRule) error {
	if len(rules) == 0 {
		return fmt.Errorf("%w: due rules without a rule", ErrMalformed)
	}
	for i, r := range rules {
		if !record.Priority(r.Key).Valid() && !slices.Contains(record.WorkTypes, r.Key) {
			return fmt.Errorf("%w: due rule for %q, which is neither a priority nor a work type", ErrMalformed, r.Key)
		}
		if i > 0 && rules[i-1].Key >= r.Key {
			return fmt.Errorf("%w: due rules not in order, or one given twice", ErrMalformed)
		}
		if r.Days > MaxDueDays {
			return fmt.Errorf("%w: due rule for %s of %d working days (at most %d)", ErrMalformed, r.Key, r.Days, MaxDueDays)
		}
	}
	return nil
}

// PolicyJSON is a weighting-policy statement's Policy for p at version:
// the one encoding a statement may carry.
func PolicyJSON(p record.Policy, version uint64) ([]byte, error) {
	if version > math.MaxInt32 {
		return nil, fmt.Errorf("%w: weighting policy version %d", ErrMalformed, version)
	}
	p.Version = int(version)
	return json.Marshal(p)
}

// PolicyOf reads a weighting-policy statement's policy, checking that it
// is valid and canonically encoded (PolicyJSON), so each policy has one
// encoding and one statement ID.
func PolicyOf(s Statement) (record.Policy, error) {
	var p record.Policy
	if err := json.Unmarshal(s.Policy, &p); err != nil {
		return p, fmt.Errorf("%w: weighting policy: %v", ErrMalformed, err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%w: weighting policy: %v", ErrMalformed, err)
	}
	canon, err := PolicyJSON(p, s.Version)
	if err != nil {
		return p, err
	}
	if !bytes.Equal(canon, s.Policy) {
		return p, fmt.Errorf("%w: weighting policy not in its canonical encoding (or its version is not the statement's)", ErrMalformed)
	}
	return p, nil
}

// Times are whole seconds since 1970, plus one; 0 is no time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() || t.Unix() < 0 {
		return wire.AppendUvarint(b, 0)
	}
	return wire.AppendUvarint(b, uint64(t.Unix())+1)
}

func readTime(d *wire.Decoder) time.Time {
	v := d.Uvarint()
	switch {
	case v == 0:
		return time.Time{}
	case v > 1<<40:
		d.Fail()
		return time.Time{}
	}
	return time.Unix(int64(v-1), 0).UTC()
}

// Signers of a statement.
const (
	SignerAgency = "agency"
	signerDevice = "device:"
	signerGrant  = "grant:"
)

// SignerDevice names a device as a signer.
func SignerDevice(id string) string { return signerDevice + id }

// SignerGrant names a grant's code key as a signer.
func SignerGrant(id string) string { return signerGrant + id }

// Signed is a statement with its signature, as stored and sent: the signed
// bytes travel as they were signed, so nothing needs re-encoding to check.
type Signed struct {
	Body   []byte `json:"body"`
	Signer string `json:"signer"`
	Sig    []byte `json:"sig"`
}

// ID names a signed statement (a hash of all of it), for storing each once.
func (s Signed) ID() string {
	h := sha256.New()
	h.Write(wire.AppendBytes(nil, s.Body))
	h.Write(wire.AppendString(nil, s.Signer))
	h.Write(s.Sig)
	return hex.EncodeToString(h.Sum(nil))
}

func signedMessage(signer string, body []byte) []byte {
	b := []byte("fieldcase statement v1\x00")
	b = wire.AppendString(b, signer)
	return append(b, body...)
}

// Sign signs a statement as the agency.
func (k *AgencyKey) Sign(s Statement) Signed {
	body := s.Marshal()
	return Signed{Body: body, Signer: SignerAgency, Sig: ed25519.Sign(k.priv, signedMessage(SignerAgency, body))}
}

// SignAsDevice signs a statement as device id, with its signing function
// (crypto.Identity.Sign).
func SignAsDevice(id string, sign func([]byte) []byte, s Statement) Signed {
	body := s.Marshal()
	signer := SignerDevice(id)
	return Signed{Body: body, Signer: signer, Sig: sign(signedMessage(signer, body))}
}

// SignWithCode signs a device statement with the key of an enrolment code.
func SignWithCode(c Code, s Statement) Signed {
	body := s.Marshal()
	signer := SignerGrant(c.GrantID())
	return Signed{Body: body, Signer: signer, Sig: ed25519.Sign(c.Key(), signedMessage(signer, body))}
}

// Verify checks sig against pub.
func (s Signed) Verify(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(s.Sig) == ed25519.SignatureSize &&
		ed25519.Verify(pub, signedMessage(s.Signer, s.Body), s.Sig)
}

// Open decodes the statement (without checking the signature).
func (s Signed) Open() (Statement, error) { return UnmarshalStatement(s.Body) }
