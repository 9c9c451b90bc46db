package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// CaseDestroyer is a store that can destroy a case: every revision, record,
// change-log entry and blob of it, and its row, in the transaction. What
// the transparency log holds of it (leaves: hashes, ids; no content) stays,
// since the log is append-only. The engine keeps the deleted bytes in
// freed space until Reclaimer clears it: see docs/ARCHITECTURE.md,
// "Crypto-shredding".
type CaseDestroyer interface {
	DestroyCase(caseID string) (DestroyedCase, error)
}

// Reclaimer is a store that can clear, after a destruction has committed,
// the space its engine keeps deleted data in: boltstore zeroes its file's
// free pages, pgstore runs VACUUM on the tables a destruction deletes
// from. It is best effort: the destruction stands whether or not it
// succeeds, and a store retries what it could not do (boltstore at its
// next destruction or start; PostgreSQL's autovacuum in any case).
type Reclaimer interface {
	Reclaim(ctx context.Context) error
}

// reclaimWait bounds a reclaim after a destruction: the approving
// supervisor's request waits for it.
const reclaimWait = 30 * time.Second

// Reclaim clears what destructions left in the store's freed space, if
// the store can (Reclaimer), and logs what happened; a failure leaves the
// destruction as it is. (fieldcased serve also has boltstore finish, at
// start, a reclaim that a crash or a busy store cut short.)
func (s *Server) Reclaim(ctx context.Context) {
	r, ok := s.store.(Reclaimer)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reclaimWait)
	defer cancel()
	t0 := time.Now()
	if err := r.Reclaim(ctx); err != nil {
		s.log.Warn("clearing freed space after a destruction failed; retried at the next destruction or start", "err", err)
		return
	}
	s.log.Info("freed space cleared after a destruction", "took", time.Since(t0).Round(time.Millisecond))
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
	var destroyedNow bool
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
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
		if err := ts.addForDevice(tx, now, req.Statement); err != nil {
			return err
		}
		_, is := ts.roster.Retention.Destroyed[st.Case]
		resp.RosterVersion, resp.Destroyed = ts.meta.RosterVersion, is
		resp.Held = len(ts.roster.Retention.Active(st.Case)) > 0
		destroyedNow = is && !was
		if destroyedNow {
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
	if destroyedNow {
		s.Reclaim(r.Context()) // after the commit: VACUUM cannot run in a transaction
	}
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
