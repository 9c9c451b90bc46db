package server

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Enrolment codes are 12 Crockford base32 digits (60 random bits), shown in
// groups of four: K7QD-3MXA-P2VH. Only their SHA-256 is stored; they expire
// and are used once, and enrolment attempts are rate-limited, so 60 bits is
// far beyond what guessing can reach.
const (
	crockford      = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	enrollCodeLen  = 12
	enrollCodeBits = enrollCodeLen * 5
)

// ErrBadEnrollCode means a string is not an enrolment code.
var ErrBadEnrollCode = errors.New("not an enrolment code")

// NewEnrollCode returns a fresh code in its display form.
func NewEnrollCode() string {
	var raw [enrollCodeLen]byte
	rand.Read(raw[:])
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[c&31])
	}
	return b.String()
}

// NormalizeEnrollCode reads a code as a person may type it: any case, with
// or without dashes and spaces, O for 0 and I or L for 1.
func NormalizeEnrollCode(s string) (string, error) {
	if len(s) > 64 {
		return "", ErrBadEnrollCode
	}
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		switch c {
		case '-', ' ':
			continue
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if c > unicode.MaxASCII || strings.IndexRune(crockford, c) < 0 {
			return "", ErrBadEnrollCode
		}
		b.WriteRune(c)
	}
	if b.Len() != enrollCodeLen {
		return "", ErrBadEnrollCode
	}
	return b.String(), nil
}

// enrollCodeHash is the stored form of a normalized code.
func enrollCodeHash(normalized string) [32]byte {
	return sha256.Sum256([]byte("fieldcased enroll code v1\x00" + normalized))
}

func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validDeviceName accepts 1–100 printable characters.
func validDeviceName(s string) bool {
	if s == "" || len(s) > 400 || utf8.RuneCountInString(s) > 100 || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

var errBadCode = errf(http.StatusForbidden, protocol.CodeBadCode, "enrolment code is wrong, used or expired: ask your administrator for a new one")

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	if ok, wait := s.enroll.allow(remoteHost(r), s.now()); !ok {
		e := errf(http.StatusTooManyRequests, protocol.CodeRateLimited, "too many enrolment attempts: wait and try again")
		e.retryAfter = wait
		return e
	}
	var req protocol.EnrollRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Protocol != 0 && req.Protocol != protocol.Version {
		return errf(http.StatusUpgradeRequired, protocol.CodeVersion, "protocol version %d is not spoken here: this server speaks version %d", req.Protocol, protocol.Version)
	}
	code, err := NormalizeEnrollCode(req.Code)
	if err != nil {
		return errBadCode
	}
	if err := record.ValidID(req.DeviceID); err != nil {
		return badRequest("device id: %v", err)
	}
	if req.DeviceName == "" {
		req.DeviceName = req.DeviceID
	}
	if !validDeviceName(req.DeviceName) {
		return badRequest("device name must be 1 to 100 printable characters")
	}
	if err := crypto.ParseRecipient(req.Recipient); err != nil {
		return badRequest("recipient must be a post-quantum age recipient (age1pq1…)")
	}
	if len(req.SigningKey) != ed25519.PublicKeySize {
		return badRequest("signing key must be a %d-byte Ed25519 public key, not %d bytes", ed25519.PublicKeySize, len(req.SigningKey))
	}
	hash := enrollCodeHash(code)
	token := newToken()
	now := s.now().UTC()
	var resp protocol.EnrollResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ec, err := tx.EnrollCode(hash)
		if errors.Is(err, ErrNotFound) {
			return errBadCode
		} else if err != nil {
			return err
		}
		if !now.Before(ec.Expires) {
			return errBadCode
		}
		u, err := tx.User(ec.UserID)
		if errors.Is(err, ErrNotFound) {
			return errBadCode
		} else if err != nil {
			return err
		}
		if ec.UsedBy != "" {
			// A used code: only the device that used it may come back, with
			// the same keys (its first answer was lost on the way). It gets a
			// fresh token; the one it never received stops working.
			d, err := tx.Device(ec.UsedBy)
			if err != nil || ec.UsedBy != req.DeviceID || d.Recipient != req.Recipient ||
				!bytes.Equal(d.SigningKey, req.SigningKey) || !d.Revoked.IsZero() {
				return errBadCode
			}
			if err := tx.ReplaceDeviceToken(d.ID, TokenHash(token)); err != nil {
				return err
			}
		} else {
			if _, err := tx.Device(req.DeviceID); err == nil {
				return errf(http.StatusConflict, protocol.CodeDeviceExists, "device id %q is already enrolled: generate a new device id", req.DeviceID)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := tx.MarkEnrollCodeUsed(hash, req.DeviceID); err != nil {
				return err
			}
			d := Device{
				ID: req.DeviceID, UserID: u.ID, Name: req.DeviceName, Recipient: req.Recipient,
				SigningKey: slices.Clone(req.SigningKey), TokenHash: TokenHash(token), Enrolled: now, LastSeen: now,
			}
			if err := tx.InsertDevice(d); err != nil {
				if errors.Is(err, ErrExists) {
					return errf(http.StatusConflict, protocol.CodeDeviceExists, "device id %q is already enrolled", req.DeviceID)
				}
				return err
			}
		}
		if _, err := tx.BumpRosterVersion(); err != nil {
			return err
		}
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		roster, err := buildRoster(tx, u)
		if err != nil {
			return err
		}
		resp = protocol.EnrollResponse{
			ServerID: m.ServerID, Token: token, UserID: u.ID, UserName: u.Name, Role: u.Role,
			Team: roster.Team, Roster: roster,
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.metrics.enrollments.Inc()
	s.log.Info("device enrolled", "device", req.DeviceID, "user", resp.UserName, "recipient", crypto.Fingerprint(req.Recipient))
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// buildRoster is u's team roster: every non-admin member of the team with
// their devices that are not revoked, and the recovery recipient. Admins are
// left out: they read no case content, so no case key is wrapped to them.
func buildRoster(tx Tx, u User) (protocol.Roster, error) {
	m, err := tx.Meta()
	if err != nil {
		return protocol.Roster{}, err
	}
	roster := protocol.Roster{Recovery: m.Recovery, Version: m.RosterVersion, Members: []protocol.Member{}}
	if u.TeamID == "" {
		return roster, nil
	}
	team, err := tx.Team(u.TeamID)
	if err != nil {
		return roster, err
	}
	roster.Team = team.Name
	users, err := tx.Users()
	if err != nil {
		return roster, err
	}
	devices, err := tx.Devices()
	if err != nil {
		return roster, err
	}
	byUser := map[string][]protocol.DeviceKey{}
	for _, d := range devices {
		if d.Revoked.IsZero() {
			byUser[d.UserID] = append(byUser[d.UserID], protocol.DeviceKey{DeviceID: d.ID, Recipient: d.Recipient, SigningKey: d.SigningKey})
		}
	}
	for _, mu := range users {
		if mu.TeamID != u.TeamID || mu.Role == protocol.RoleAdmin {
			continue
		}
		keys := byUser[mu.ID]
		slices.SortFunc(keys, func(a, b protocol.DeviceKey) int { return cmp.Compare(a.DeviceID, b.DeviceID) })
		if keys == nil {
			keys = []protocol.DeviceKey{}
		}
		roster.Members = append(roster.Members, protocol.Member{UserID: mu.ID, Name: mu.Name, Role: mu.Role, Devices: keys})
	}
	slices.SortFunc(roster.Members, func(a, b protocol.Member) int { return cmp.Compare(a.Name, b.Name) })
	return roster, nil
}

func (s *Server) handleRoster(w http.ResponseWriter, r *http.Request, sess *session) error {
	var roster protocol.Roster
	err := s.store.View(r.Context(), func(tx Tx) error {
		var err error
		roster, err = buildRoster(tx, sess.user)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roster)
	return nil
}
