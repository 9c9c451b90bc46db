package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Retention, legal holds and destruction on the device (issue 15). A
// supervisor's laptop signs holds, releases and approvals; every device
// destroys a case once the roster it verified proves the destruction, and
// then checks that the server no longer holds the case: a server that keeps
// serving it, or still has any of its revisions, is caught and named (a
// log alarm), never trusted.

var (
	// ErrNotDue means a case is not past its retention (or its date is not
	// known), so its destruction is not approved.
	ErrNotDue = errors.New("case is not due for destruction")
	// ErrHeld means a legal hold is in force on the case.
	ErrHeld = errors.New("case is on legal hold")
	// ErrBehindLog means the server's log holds something this laptop has
	// not been given (a signed statement, a change of the case), so it
	// cannot judge the case yet.
	ErrBehindLog = errors.New("this laptop has not been given everything the server's log holds")
)

// Lifecycle sends a hold, release or approval this device signed.
func (c *Client) Lifecycle(ctx context.Context, s trust.Signed) (protocol.LifecycleResponse, error) {
	var out protocol.LifecycleResponse
	body, err := json.Marshal(protocol.LifecycleRequest{Statement: s})
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodPost, protocol.PathLifecycle, nil, protocol.MediaJSON, body, &out)
}

// sendLifecycle signs st as this device, checks that the roster with it
// accepts it (what every device will check), sends it and keeps it.
func (s *Syncer) sendLifecycle(ctx context.Context, v signer, st trust.Statement) (trust.Signed, protocol.LifecycleResponse, error) {
	var resp protocol.LifecycleResponse
	id, err := v.Identity()
	if err != nil {
		return trust.Signed{}, resp, err
	}
	st.Issued = time.Now()
	sg := trust.SignAsDevice(v.DeviceID(), id.Sign, st)
	ss, err := v.Statements()
	if err != nil {
		return sg, resp, err
	}
	r := trust.Evaluate(v.Agency(), append(ss, sg))
	if !r.Accepted[sg.ID()] {
		why := "not accepted"
		for _, p := range r.Problems {
			if p.Statement == sg.ID() {
				why = p.What
			}
		}
		return sg, resp, fmt.Errorf("%w: %s", trust.ErrNotAllowed, why)
	}
	if resp, err = s.c.Lifecycle(ctx, sg); err != nil {
		return sg, resp, err
	}
	_, err = v.AddStatements([]trust.Signed{sg})
	return sg, resp, err
}

// caseTeam is a case's team as its signed keyrings say.
func caseTeam(v interface {
	Membership(caseID string) (trust.Membership, uint32, error)
}, caseID string) (string, error) {
	m, _, err := v.Membership(caseID)
	if err != nil {
		return "", err
	}
	if m.Team == "" {
		return "", fmt.Errorf("case %s: no signed keyring here names its team", caseID)
	}
	return m.Team, nil
}

// PlaceHold puts a case on legal hold (a supervisor of its team).
func (s *Syncer) PlaceHold(ctx context.Context, v *store.Vault, caseID, ref, orderedBy, reason string) (trust.Signed, error) {
	team, err := caseTeam(v, caseID)
	if err != nil {
		return trust.Signed{}, err
	}
	sg, _, err := s.sendLifecycle(ctx, v, trust.Statement{Kind: trust.KindHold, Case: caseID, Team: team, Ref: ref, Name: orderedBy, Reason: reason})
	return sg, err
}

// ReleaseHold releases a hold a supervisor placed (the agency's holds are
// released with fieldcased).
func (s *Syncer) ReleaseHold(ctx context.Context, v signer, hold trust.Hold, reason string) error {
	_, _, err := s.sendLifecycle(ctx, v, trust.Statement{Kind: trust.KindRelease, Case: hold.Case, Team: hold.Team, Ref: hold.ID, Reason: reason})
	return err
}

// ApproveDestruction signs this supervisor's approval to destroy a case
// past its retention and not on hold. destroyed says whether the approval
// completed the destruction (the server then deleted the case; every
// device removes it at its next sync, this one included).
func (s *Syncer) ApproveDestruction(ctx context.Context, v *store.Vault, caseID, reason string, today record.Date) (destroyed bool, err error) {
	it, err := v.RetentionOf(caseID, today)
	if err != nil {
		return false, err
	}
	switch it.State {
	case store.RetentionHeld:
		return false, fmt.Errorf("%w: %s", ErrHeld, it.Holds[0].Ref)
	case store.RetentionDue, store.RetentionSecond:
	case store.RetentionNoPolicy:
		return false, fmt.Errorf("%w: the agency has signed no retention policy", ErrNotDue)
	case store.RetentionUnknown:
		return false, fmt.Errorf("%w: %s", ErrNotDue, it.Due.Unknown)
	default:
		return false, fmt.Errorf("%w: kept until %s (%s)", ErrNotDue, it.Due.Until, it.Due.Working)
	}
	if it.Team == "" {
		return false, fmt.Errorf("case %s: no signed keyring here names its team", caseID)
	}
	// Judged on everything the server's log holds, not on what the server
	// chose to hand over: a hold or a newer retention policy kept from this
	// laptop, or a change of the case (a reopening, a recent visit), would
	// otherwise make a case look due that is not.
	if missing, err := v.MissingStatements(); err != nil {
		return false, err
	} else if len(missing) > 0 {
		return false, fmt.Errorf("%w: %d signed statement(s) (a hold or a newer retention policy among them, perhaps)", ErrBehindLog, len(missing))
	}
	if behind, err := v.CaseBehindLog(caseID); err != nil {
		return false, err
	} else if behind > 0 {
		return false, fmt.Errorf("%w: %d change(s) of case %s", ErrBehindLog, behind, caseID)
	}
	_, resp, err := s.sendLifecycle(ctx, v, trust.Statement{Kind: trust.KindDestroy, Case: caseID, Team: it.Team,
		Version: it.Policy, Due: it.Due.Until.Time(), Reason: reason})
	return resp.Destroyed, err
}

// destroy removes the cases the roster proves destroyed, then asks the
// server about every destroyed case whose removal it has not yet been
// seen to share: it must hold none of their revisions. One that still does
// is an alarm, asked again every round until it holds none.
func (s *Syncer) destroy(ctx context.Context, sum *Summary) error {
	// Only while the roster holds every statement the log does: a hold
	// kept from this laptop shows there. Other findings do not stop it (a
	// server that keeps serving a destroyed case must not keep it here).
	missing, err := s.v.MissingStatements()
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		done, err := s.v.DestroyApproved()
		sum.Destroyed = append(sum.Destroyed, done...)
		// A destruction refused (approvals for a case this laptop's copy
		// shows not due, or of another team) is an alarm; free pages not
		// yet zeroed because the vault was busy are zeroed next round.
		if errors.Is(err, trust.ErrNotAllowed) {
			s.soft(s.alarm(LogAlarm{What: err.Error()}))
		} else if err != nil && !errors.Is(err, store.ErrScrubBusy) {
			return err
		}
	}
	all, err := s.v.Destructions()
	if err != nil {
		return err
	}
	for _, d := range all {
		if len(d.Probe) == 0 || (!d.ServerChecked.IsZero() && d.ServerHeld == 0) {
			continue
		}
		held := 0
		for chunk := range slices.Chunk(d.Probe, protocol.MaxDiffRevs) {
			missing, err := s.c.RevsDiff(ctx, chunk)
			if err != nil {
				return err
			}
			held += len(chunk) - len(missing)
		}
		if err := s.v.NoteServerCheck(d.CaseID, held, time.Now()); err != nil {
			return err
		}
		if held > 0 {
			s.soft(s.alarm(LogAlarm{What: fmt.Sprintf("the server still holds %d revisions of case %s, destroyed under the retention policy (approved %s)",
				held, d.CaseID, d.ApprovedAt.Format("2006-01-02"))}))
		}
	}
	return nil
}

// destroyedSince reports whether the roster, fetched now, proves a case of
// the log's findings destroyed that this laptop's roster did not: the
// server then rightly withholds its revisions.
func (s *Syncer) destroyedSince(ctx context.Context, found []store.Withheld, sum *Summary) bool {
	before := s.v.Roster()
	if before == nil || s.soft(s.roster(ctx, sum)) != nil {
		return false
	}
	after := s.v.Roster()
	for _, w := range found {
		if w.Entry.CaseID != "" && before.Retention.Destroyed[w.Entry.CaseID].Case == "" && after.Retention.Destroyed[w.Entry.CaseID].Case != "" {
			return true
		}
	}
	return false
}
