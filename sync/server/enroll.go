package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Enrolment is by grant (package trust): the agency signs a grant naming a
// user and the public half of a key derived from an enrolment code's
// secret, which the server never sees; the laptop proves it holds the code
// by signing its device statement with that key. The server checks the
// statement against the grant, stores it, and gives the device a token.

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

var errNoAgency = errf(http.StatusServiceUnavailable, protocol.CodeUnavailable,
	"this server has no agency key yet, so it can enrol nobody: the administrator runs 'fieldcased agency init'")

// badCode is a refusal of an enrolment code: wrong, used, expired or for
// another server.
func badCode(format string, args ...any) *apiError {
	return errf(http.StatusForbidden, protocol.CodeBadCode, format, args...)
}

// usableGrant refuses a grant the server will not enrol with although the
// roster trusts it: expired, or made by a laptop whose token was revoked
// (a thief's pairing codes die with the token, before any signed
// revocation voids them for every device).
func usableGrant(tx Tx, g trust.Grant, now time.Time) error {
	if !now.Before(g.Expires) {
		return badCode("the enrolment code expired at %s: ask for a new one", g.Expires.Format(time.RFC3339))
	}
	if id, ok := strings.CutPrefix(g.Signer, trust.SignerDevice("")); ok {
		d, err := tx.Device(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err != nil || !d.Revoked.IsZero() {
			return badCode("the laptop that made this pairing code was revoked: ask for a new code")
		}
	}
	return nil
}

// checkDeviceStatement checks what can be checked of an enrolment request
// without the store.
func checkDeviceStatement(req protocol.EnrollRequest) (trust.Statement, error) {
	if err := record.ValidID(req.Grant); err != nil {
		return trust.Statement{}, badRequest("grant id: %v", err)
	}
	st, err := req.Device.Open()
	if err != nil {
		return st, badRequest("device statement: %v", err)
	}
	switch {
	case st.Kind != trust.KindDevice:
		return st, badRequest("the statement is a %s, not a device statement", st.Kind)
	case st.Grant != req.Grant:
		return st, badRequest("the device statement names grant %.40q, not the one enrolled under", st.Grant)
	case !validDeviceName(st.Name):
		return st, badRequest("device name must be 1 to 100 printable characters")
	case len(st.Key) != ed25519.PublicKeySize:
		return st, badRequest("signing key must be a %d-byte Ed25519 public key, not %d bytes", ed25519.PublicKeySize, len(st.Key))
	}
	if err := crypto.ParseRecipient(st.Recipient); err != nil {
		return st, badRequest("recipient must be a post-quantum age recipient (age1pq1…)")
	}
	return st, nil
}

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
	st, err := checkDeviceStatement(req)
	if err != nil {
		return err
	}
	token := newToken()
	now := s.now().UTC()
	var resp protocol.EnrollResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		g, ok := ts.roster.Grants[req.Grant]
		if !ok {
			return badCode("no enrolment grant %s on this server: the code is mistyped, was made for another server, or its grant was withdrawn", short(req.Grant))
		}
		if err := usableGrant(tx, g, now); err != nil {
			return err
		}
		if req.Device.Signer != trust.SignerGrant(g.ID) || !req.Device.Verify(g.Key) {
			return badCode("the device statement is not signed with this code's key: check the code and try again")
		}
		// A code enrols one device. The same device may come back with
		// the same keys (its first answer was lost): it gets a fresh token
		// and the one it never received stops working. Its statement is
		// not stored twice: two different device statements under one grant
		// would make the roster trust neither.
		retry := false
		for _, p := range ts.stored {
			ps, err := p.Open()
			if err != nil || ps.Kind != trust.KindDevice || ps.Grant != g.ID {
				continue
			}
			if ps.Device != st.Device || !bytes.Equal(ps.Key, st.Key) || ps.Recipient != st.Recipient {
				return badCode("this enrolment code was used by another device: ask for a new one")
			}
			retry = true
		}
		u, err := tx.User(g.User)
		if errors.Is(err, ErrNotFound) {
			return badCode("the code's user is not on this server")
		} else if err != nil {
			return err
		}
		row, err := tx.Device(st.Device)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		d := Device{ID: st.Device, UserID: u.ID, Name: st.Name, Recipient: st.Recipient, SigningKey: slices.Clone(st.Key),
			TokenHash: TokenHash(token), Enrolled: now, LastSeen: now, Grant: g.ID}
		switch {
		case retry:
			if !exists || row.Grant != g.ID || !row.Revoked.IsZero() || ts.roster.Devices[row.ID].Revoked {
				return badCode("this device was revoked: ask for a new code (and use a new device id)")
			}
			if err := tx.ReplaceDeviceToken(row.ID, d.TokenHash); err != nil {
				return err
			}
		default:
			// A device id is taken by a device the roster trusts (revoked
			// or not), or by another user's. A row of this user's whose
			// enrolment no longer chains to the agency (enrolled by
			// protocol 1, or under a replaced agency key) may be taken
			// over: the laptop keeps its id and its sequence numbers.
			_, trusted := ts.roster.Devices[st.Device]
			if trusted || (exists && row.UserID != u.ID) {
				return errf(http.StatusConflict, protocol.CodeDeviceExists, "device id %q is already enrolled: generate a new device id", st.Device)
			}
			if _, err := ts.add(tx, now, req.Device); errors.Is(err, ErrNotTrusted) {
				return badCode("%v", err)
			} else if err != nil {
				return err
			}
			if exists {
				err = tx.ReplaceDevice(d)
			} else {
				err = tx.InsertDevice(d)
			}
			if errors.Is(err, ErrExists) {
				return errf(http.StatusConflict, protocol.CodeDeviceExists, "device id %q is already enrolled", st.Device)
			} else if err != nil {
				return err
			}
		}
		if ts.meta.LogVKey == "" {
			return errNoLogKey
		}
		resp = protocol.EnrollResponse{
			ServerID: ts.meta.ServerID, Token: token, UserID: u.ID, UserName: u.Name, Role: u.Role,
			Team: u.TeamID, Roster: ts.wire(), LogKey: ts.meta.LogVKey,
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.metrics.enrollments.Inc()
	s.log.Info("device enrolled", "device", st.Device, "user", resp.UserName, "grant", short(req.Grant), "recipient", crypto.Fingerprint(st.Recipient))
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (s *Server) handleRoster(w http.ResponseWriter, r *http.Request, sess *session) error {
	var roster protocol.Roster
	err := s.store.View(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		roster = ts.wire()
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roster)
	return nil
}
