package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/escrow"
)

// Per-case escrow keys (trust/escrow.go, the escrow package): each round
// deposits the escrow keys of cases this laptop created with the escrow
// service the roster names, and sends it the proof of every destruction
// the roster holds. An unreachable escrow service never stops a round: the
// deposits wait in the vault (sealed, wrapped to the recovery recipient)
// and the round's Summary says how many wait and why.

// escrowShreddedPrefix marks (local) the destroyed cases whose destruction
// the escrow service has acknowledged.
const escrowShreddedPrefix = "escrow-shredded/"

// EscrowStatusKey is where (local) the last round's escrow status is kept
// while deposits wait or the service refused something, for the status bar
// and doctor (an EscrowStatus as JSON, with At); absent when all is well.
const EscrowStatusKey = "escrow-status"

// EscrowStatus is what a round did with the escrow service.
type EscrowStatus struct {
	Deposited int // escrow keys the service acknowledged this round
	Shredded  int // destructions it acknowledged this round
	// Waiting is how many escrow keys still wait for the service; Problem
	// why (the service unreachable, or refusing), "" when none wait.
	Waiting int
	Problem string
	At      time.Time `json:",omitzero"` // when kept (EscrowStatusKey)
	// Since is when escrow keys began to wait, kept from round to round
	// until none waits.
	Since time.Time `json:",omitzero"`
}

// keepEscrowStatus keeps st under EscrowStatusKey while something waits
// or failed, and removes it once nothing does.
func (s *Syncer) keepEscrowStatus(st EscrowStatus) error {
	if st.Waiting == 0 && st.Problem == "" {
		return s.v.DeleteLocal(EscrowStatusKey)
	}
	st.At = time.Now().UTC()
	st.Since = st.At
	if m, err := s.v.Locals(EscrowStatusKey); err == nil && m[EscrowStatusKey] != nil {
		var prev EscrowStatus
		if json.Unmarshal(m[EscrowStatusKey], &prev) == nil && !prev.Since.IsZero() && prev.Waiting > 0 {
			st.Since = prev.Since
		}
	}
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.v.PutLocal(EscrowStatusKey, js)
}

// escrowHTTP is the escrow client's transport: its own, with a short
// timeout (the escrow service is not the case server, and waiting for it
// must not hold up the round for long).
var escrowHTTP = &http.Client{Timeout: 15 * time.Second}

// escrow runs the round's escrow step; only a vault error fails the round.
func (s *Syncer) escrow(ctx context.Context, sum *Summary) error {
	if err := s.escrowRound(ctx, s.v, sum); err != nil {
		return err
	}
	return s.keepEscrowStatus(sum.Escrow)
}

func (s *Syncer) escrowRound(ctx context.Context, ev interface {
	escrowVault
	trustStore
}, sum *Summary) error {
	deposits, err := ev.EscrowDeposits()
	if err != nil {
		return err
	}
	r := s.v.Roster()
	if r == nil || r.Escrow.URL == "" {
		sum.Escrow.Waiting = len(deposits)
		if len(deposits) > 0 {
			sum.Escrow.Problem = "the roster names no escrow service any more"
		}
		return nil
	}
	shredded, err := s.v.Locals(escrowShreddedPrefix)
	if err != nil {
		return err
	}
	var proofs []string
	for _, c := range slices.Sorted(maps.Keys(r.Retention.Destroyed)) {
		if _, done := shredded[escrowShreddedPrefix+c]; !done {
			proofs = append(proofs, c)
		}
	}
	if len(deposits) == 0 && len(proofs) == 0 {
		return nil
	}
	statements, err := ev.Statements()
	if err != nil {
		return err
	}
	id, err := s.v.Identity()
	if err != nil {
		return err
	}
	ec := escrow.NewClient(r.Escrow, escrowHTTP)
	var problems []string
	down := false // the service did not answer: the rest waits for the next round
	for batch := range slices.Chunk(proofs, escrow.MaxDestroy) {
		done, err := ec.Destroy(ctx, batch, statements)
		for _, c := range done {
			if err := s.v.PutLocal(escrowShreddedPrefix+c, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
			sum.Escrow.Shredded++
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("destructions not yet acknowledged: %v", err))
			if down = errors.Is(err, escrow.ErrUnavailable); down {
				break
			}
		}
	}
	waiting := 0
	for i, d := range deposits {
		if _, gone := r.Retention.Destroyed[d.CaseID]; gone {
			// Destroyed before it was deposited: no copy may outlive the case.
			if err := ev.EscrowDeposited(d.CaseID); err != nil {
				return err
			}
			continue
		}
		if down {
			waiting += len(deposits) - i
			break
		}
		dep := escrow.Deposit{CaseID: d.CaseID, Device: s.v.DeviceID(), Salt: d.Salt, Recipient: d.Recipient, Wrapped: d.Wrapped}
		dep.Sign(id.Sign)
		if err := ec.Deposit(ctx, dep, statements); err != nil {
			waiting++
			problems = append(problems, fmt.Sprintf("escrow key of case %s not deposited: %v", d.CaseID, err))
			down = errors.Is(err, escrow.ErrUnavailable)
			continue
		}
		if err := ev.EscrowDeposited(d.CaseID); err != nil {
			return err
		}
		sum.Escrow.Deposited++
	}
	sum.Escrow.Waiting = waiting
	if len(problems) > 0 {
		sum.Escrow.Problem = strings.Join(problems, "; ")
	}
	return nil
}
