package server

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Statements devices sign: a pairing grant (a code for a further laptop of
// the device's own user) and a revocation (of a device of its own user or,
// from a supervisor's device, of its team). The server checks them with the
// same rules devices use and stores them; it signs nothing.

// Pairing grants.
const (
	// MaxPairingTTL is the longest a device-signed grant may live.
	MaxPairingTTL = 7 * 24 * time.Hour
	// MaxUnusedPairings bounds the unused pairing grants of one user that
	// expired less than MaxPairingTTL ago or not yet: a device (or a stolen
	// token) cannot fill the roster with codes, not even short-lived ones.
	MaxUnusedPairings = 10
)

// StatementResponse answers a device-signed statement: the roster version
// that now includes it.
type StatementResponse struct {
	RosterVersion uint64 `json:"roster_version"`
}

// deviceSigned checks that s is a statement of kind signed by the session
// device.
func deviceSigned(s trust.Signed, kind trust.Kind, sess *session) (trust.Statement, error) {
	st, err := s.Open()
	if err != nil {
		return st, badRequest("statement: %v", err)
	}
	if st.Kind != kind {
		return st, badRequest("the statement is a %s, not a %s", st.Kind, kind)
	}
	if s.Signer != trust.SignerDevice(sess.device.ID) {
		return st, forbidden("the statement must be signed by the device that sends it (%s), not %.60q", sess.device.ID, s.Signer)
	}
	if !s.Verify(sess.device.SigningKey) {
		return st, forbidden("the statement's signature is not this device's")
	}
	return st, nil
}

func stored(ts *trustState, s trust.Signed) bool {
	id := s.ID()
	return slices.ContainsFunc(ts.stored, func(x trust.Signed) bool { return x.ID() == id })
}

// handleGrant stores a pairing grant a device signed for its own user.
func (s *Server) handleGrant(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.GrantRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	st, err := deviceSigned(req.Grant, trust.KindGrant, sess)
	if err != nil {
		return err
	}
	if st.User != sess.user.ID {
		return forbidden("a device makes pairing codes for its own user only")
	}
	now := s.now().UTC()
	switch {
	case !st.Expires.After(now):
		return badRequest("the pairing grant has already expired")
	case st.Expires.After(now.Add(MaxPairingTTL)):
		return badRequest("a pairing grant lives at most %s", MaxPairingTTL)
	}
	var resp StatementResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		if !stored(ts, req.Grant) {
			used := map[string]bool{}
			for _, d := range ts.roster.Devices {
				used[d.Grant] = true
			}
			unused := 0
			for _, g := range ts.roster.Grants {
				if g.User == st.User && g.Signer != trust.SignerAgency && !used[g.ID] && g.Expires.After(now.Add(-MaxPairingTTL)) {
					unused++
				}
			}
			if unused >= MaxUnusedPairings {
				return forbidden("%s has %d unused pairing codes of the last week: use them, or wait a week after they expire", sess.user.Name, unused)
			}
		}
		if err := ts.addForDevice(tx, now, req.Grant); err != nil {
			return err
		}
		resp.RosterVersion = ts.meta.RosterVersion
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("pairing grant stored", "device", sess.device.ID, "user", sess.user.Name, "grant", short(st.Grant), "expires", st.Expires)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// handleRevoke stores a revocation a device signed: the target's token
// dies at once, and the cases its user could read owe a key rotation.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.RevokeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	st, err := deviceSigned(req.Revocation, trust.KindRevoke, sess)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	var resp StatementResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		target, err := tx.Device(st.Device)
		if errors.Is(err, ErrNotFound) {
			return errf(http.StatusNotFound, protocol.CodeNotFound, "no device %q on this server", st.Device)
		} else if err != nil {
			return err
		}
		if _, err := ts.add(tx, now, req.Revocation); errors.Is(err, ErrNotTrusted) {
			return forbidden("a device revokes its own user's devices, and a supervisor's those of its team: %v", err)
		} else if err != nil {
			return err
		}
		if target.Revoked.IsZero() {
			if err := tx.RevokeDevice(target.ID, now); err != nil {
				return err
			}
		}
		resp.RosterVersion = ts.meta.RosterVersion
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("device revoked by signature", "device", st.Device, "by", sess.device.ID, "after_seq", st.AfterSeq, "reason", st.Reason)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// handleDueRules stores due rules a supervisor's device signed for its
// team (handleTeamSetting).
func (s *Server) handleDueRules(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.DueRulesRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.handleTeamSetting(w, r, sess, trust.KindDueRules, req.Rules,
		"a supervisor sets the due rules of their own team; the agency's for every team are signed with the agency key (fieldcased due-rules set)")
}

// handlePolicy stores a weighting policy a supervisor's device signed for
// its team (handleTeamSetting).
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.PolicyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.handleTeamSetting(w, r, sess, trust.KindPolicy, req.Policy,
		"a supervisor sets the weighting policy of their own team; the agency's for every team is signed with the agency key (fieldcased policy set)")
}

// handleTeamSetting stores a team's setting (due rules, weighting policy)
// a supervisor's device signed. The server checks it as every device will
// (trust.Evaluate: signer, team, a version above the one in force) and
// stores it; it cannot make any of its own.
func (s *Server) handleTeamSetting(w http.ResponseWriter, r *http.Request, sess *session, kind trust.Kind, signed trust.Signed, notYours string) error {
	st, err := deviceSigned(signed, kind, sess)
	if err != nil {
		return err
	}
	if sess.user.Role != protocol.RoleSupervisor || st.Team == "" || st.Team != sess.user.TeamID {
		return forbidden("%s", notYours)
	}
	var resp StatementResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		if _, err := ts.add(tx, s.now().UTC(), signed); errors.Is(err, ErrNotTrusted) {
			return errf(http.StatusConflict, protocol.CodeConflict, "%v", err)
		} else if err != nil {
			return err
		}
		resp.RosterVersion = ts.meta.RosterVersion
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info(kind.String()+" set by signature", "team", st.Team, "version", st.Version, "by", sess.device.ID)
	writeJSON(w, http.StatusOK, resp)
	return nil
}
