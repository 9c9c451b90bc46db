package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// CaseDestroyer is a store that can destroy a case: every revision, record,
// change-log entry and blob of it, and its row, in the transaction. What
// the transparency log holds of it (leaves: hashes, ids; no content) stays,
// since the log is append-only. A backend frees the space as its engine
// does (bbolt reuses the pages, PostgreSQL after VACUUM): see
// docs/ARCHITECTURE.md, "Destruction".
type CaseDestroyer interface {
	DestroyCase(caseID string) (DestroyedCase, error)
}

// DestroyedCase counts what a destruction removed.
type DestroyedCase struct {
	Revisions int `json:"revisions"`
	Blobs     int `json:"blobs"`
}

// handleLifecycle stores a hold, release or approval a supervisor's device
// signed. An approval that completes a destruction (enough supervisors, no
// hold) destroys the case's data in the same transaction: the statement
// is never stored without the destruction, nor the reverse.
func (s *Server) handleLifecycle(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.LifecycleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	open, err := req.Statement.Open()
	if err != nil {
		return badRequest("statement: %v", err)
	}
	switch open.Kind {
	case trust.KindHold, trust.KindRelease, trust.KindDestroy:
	default:
		return badRequest("a %s is not sent here", open.Kind)
	}
	st, err := deviceSigned(req.Statement, open.Kind, sess)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	var resp protocol.LifecycleResponse
	var gone DestroyedCase
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadTrust(tx)
		if errors.Is(err, ErrNoAgency) {
			return errNoAgency
		} else if err != nil {
			return err
		}
		_, was := ts.roster.Retention.Destroyed[st.Case]
		if !was {
			c, err := tx.Case(st.Case)
			if errors.Is(err, ErrNotFound) {
				return errf(http.StatusNotFound, protocol.CodeNotFound, "no case %q on this server", st.Case)
			} else if err != nil {
				return err
			}
			if c.TeamID != st.Team {
				return forbidden("case %s is not of team %s", st.Case, st.Team)
			}
		}
		if _, err := ts.add(tx, now, req.Statement); errors.Is(err, ErrNotTrusted) {
			return forbidden("%v", err)
		} else if err != nil {
			return err
		}
		_, is := ts.roster.Retention.Destroyed[st.Case]
		resp.RosterVersion, resp.Destroyed = ts.meta.RosterVersion, is
		resp.Held = len(ts.roster.Retention.Active(st.Case)) > 0
		if is && !was {
			if gone, err = destroyCase(tx, st.Case); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("lifecycle statement stored", "kind", st.Kind.String(), "case", st.Case, "by", sess.device.ID,
		"destroyed", resp.Destroyed, "revisions", gone.Revisions, "blobs", gone.Blobs)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// destroyCase removes a case's data from the store.
func destroyCase(tx Tx, caseID string) (DestroyedCase, error) {
	d, ok := tx.(CaseDestroyer)
	if !ok {
		return DestroyedCase{}, fmt.Errorf("this store cannot destroy a case")
	}
	return d.DestroyCase(caseID)
}

// destroyedCase reports whether the roster proves a case destroyed: such
// a case is never created again, whatever a device pushes (a laptop that
// was offline pushes what it wrote before it learns of the destruction).
// The roster is evaluated once per push, and only when a push names a case
// the store does not hold.
func (p *pusher) destroyedCase(caseID string) (bool, error) {
	if p.destroyed == nil {
		p.destroyed = map[string]bool{}
		ts, err := loadTrust(p.tx)
		if err != nil && !errors.Is(err, ErrNoAgency) {
			return false, err
		}
		if err == nil {
			for id := range ts.roster.Retention.Destroyed {
				p.destroyed[id] = true
			}
		}
	}
	return p.destroyed[caseID], nil
}
