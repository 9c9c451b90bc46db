package escrow

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// Service answers deposits and destructions over HTTP.
type Service struct {
	Store  *Store
	Agency ed25519.PublicKey  // the agency key every proof is rooted in
	Key    ed25519.PrivateKey // signs receipts; nil: receipts are unsigned
	Log    *slog.Logger       // nil: slog.Default
	Now    func() time.Time   // nil: time.Now

	busy    sync.Mutex               // guards slot and rosters
	slot    chan struct{}            // requests judged at once (each may evaluate a whole roster)
	rosters map[string]*trust.Roster // by the set of statement ids they were evaluated from

	keptMu sync.Mutex              // guards kept
	kept   map[string]trust.Signed // by id: every statement it was shown that counted (Store.KeepStatements), read from the file once
}

// maxRosters is how many evaluated rosters the service keeps: laptops of
// one agency mostly send the same statements.
const maxRosters = 8

// roster is what the statements prove under the agency key, together with
// every statement the service was shown before that counted (kept in its
// file). A sender cannot prove a destruction by leaving statements out of
// its request — a hold, or a newer policy asking two approvers where the
// older asked one — once any laptop's request has shown them to the
// service: signed statements only add up. (The laptops hold the server to
// its whole log; the service, which does not follow the log, holds
// senders to everything it has seen.) Evaluate depends only on the set of
// statement ids (an id covers body, signer and signature), so a set seen
// before is not judged again: on a roster of 500 laptops judging is most
// of a deposit's cost (BenchmarkDeposit).
func (s *Service) roster(given []trust.Signed) (*trust.Roster, error) {
	s.keptMu.Lock()
	if s.kept == nil { // the file's, read once
		ss, err := s.Store.Statements()
		if err != nil {
			s.keptMu.Unlock()
			return nil, err
		}
		s.kept = make(map[string]trust.Signed, len(ss))
		for _, sg := range ss {
			s.kept[sg.ID()] = sg
		}
	}
	all := slices.Collect(maps.Values(s.kept))
	var fresh []trust.Signed // given, and not kept yet
	for _, sg := range given {
		if _, ok := s.kept[sg.ID()]; !ok {
			fresh = append(fresh, sg)
		}
	}
	s.keptMu.Unlock()
	r := s.evaluate(append(all, fresh...))
	var counted []trust.Signed
	for _, sg := range fresh {
		if r.Accepted[sg.ID()] {
			counted = append(counted, sg)
		}
	}
	if len(counted) == 0 {
		return r, nil // nothing new: no write
	}
	s.keptMu.Lock()
	defer s.keptMu.Unlock()
	if err := s.Store.KeepStatements(counted); err != nil {
		return nil, err
	}
	for _, sg := range counted {
		s.kept[sg.ID()] = sg
	}
	return r, nil
}

// evaluate is trust.Evaluate over ss, kept for the last sets judged.
func (s *Service) evaluate(ss []trust.Signed) *trust.Roster {
	ids := make([]string, len(ss))
	for i, sg := range ss {
		ids[i] = sg.ID()
	}
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range slices.Compact(ids) {
		h.Write([]byte(id))
	}
	key := string(h.Sum(nil))
	s.busy.Lock()
	r, ok := s.rosters[key]
	s.busy.Unlock()
	if ok {
		return r
	}
	r = trust.Evaluate(s.Agency, ss)
	s.busy.Lock()
	if s.rosters == nil || len(s.rosters) >= maxRosters {
		s.rosters = map[string]*trust.Roster{}
	}
	s.rosters[key] = r
	s.busy.Unlock()
	return r
}

// maxInFlight is how many deposits and destructions are judged at once;
// more are answered 503 (the laptop tries again next round).
const maxInFlight = 4

var _ http.Handler = (*Service)(nil)

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathHealth && r.Method == http.MethodGet:
		io.WriteString(w, "ok\n")
	case (r.URL.Path == PathDeposit || r.URL.Path == PathDestroy) && r.Method == http.MethodPost && !s.acquire():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "busy: try again later", "code": "busy"})
	case r.URL.Path == PathDeposit && r.Method == http.MethodPost:
		defer s.release()
		var req DepositRequest
		if !s.read(w, r, &req) {
			return
		}
		rc, err := s.Deposit(req)
		s.answer(w, "deposit", req.Deposit.CaseID, rc, err)
	case r.URL.Path == PathDestroy && r.Method == http.MethodPost:
		defer s.release()
		var req DestroyRequest
		if !s.read(w, r, &req) {
			return
		}
		resp, err := s.Destroy(req)
		s.answer(w, "destroy", fmt.Sprintf("%d cases", len(req.CaseIDs)), resp, err)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

func (s *Service) acquire() bool {
	s.busy.Lock()
	if s.slot == nil {
		s.slot = make(chan struct{}, maxInFlight)
	}
	s.busy.Unlock()
	select {
	case s.slot <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) release() { <-s.slot }

// Deposit verifies a deposit against the statements given and stores it.
func (s *Service) Deposit(req DepositRequest) (Receipt, error) {
	r, err := s.roster(req.Statements)
	if err != nil {
		return Receipt{}, err
	}
	if err := req.Deposit.Verify(r); err != nil {
		return Receipt{}, err
	}
	if _, gone := r.Retention.Destroyed[req.Deposit.CaseID]; gone {
		return Receipt{}, ErrDestroyed
	}
	if err := s.Store.Put(req.Deposit); err != nil {
		return Receipt{}, err
	}
	return s.sign(Receipt{CaseID: req.Deposit.CaseID, What: Deposited, Recipient: req.Deposit.Recipient}), nil
}

// Destroy deletes the deposits of the cases the statements given prove
// destroyed under the agency key (trust.Evaluate decides it, as on every
// device and the server); the others are refused, each with its reason.
func (s *Service) Destroy(req DestroyRequest) (DestroyResponse, error) {
	resp := DestroyResponse{Receipts: []Receipt{}}
	if len(req.CaseIDs) == 0 || len(req.CaseIDs) > MaxDestroy {
		return resp, fmt.Errorf("%w: a destroy request names 1 to %d cases", ErrMalformed, MaxDestroy)
	}
	r, err := s.roster(req.Statements)
	if err != nil {
		return resp, err
	}
	var proven []string
	for _, c := range req.CaseIDs {
		switch _, ok := r.Retention.Destroyed[c]; {
		case c == "" || len(c) > maxID:
			return resp, fmt.Errorf("%w: a case id", ErrMalformed)
		case !ok:
			if resp.Refused == nil {
				resp.Refused = map[string]string{}
			}
			resp.Refused[c] = fmt.Sprintf("%v: the statements do not prove case %s destroyed", ErrNotTrusted, c)
		default:
			proven = append(proven, c)
		}
	}
	if len(proven) > 0 {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		had, err := s.Store.Destroy(now(), proven...)
		if err != nil {
			return resp, err
		}
		s.log().Info("escrow keys destroyed", "cases", proven, "held", had)
	}
	for _, c := range proven {
		resp.Receipts = append(resp.Receipts, s.sign(Receipt{CaseID: c, What: Destroyed}))
	}
	return resp, nil
}

func (s *Service) sign(rc Receipt) Receipt {
	if s.Key != nil {
		rc.Sig = ed25519.Sign(s.Key, rc.Message())
	}
	return rc
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) read(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("%v: %v", ErrMalformed, err)})
		return false
	}
	return true
}

func (s *Service) answer(w http.ResponseWriter, op, caseID string, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrMalformed):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotTrusted):
		status = http.StatusForbidden
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
	case errors.Is(err, ErrDestroyed):
		status = http.StatusGone
	}
	s.log().Warn("escrow request refused", "op", op, "case", caseID, "err", err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error" // the operator's log has it
	}
	writeJSON(w, status, map[string]string{"error": msg, "code": codeOf(status)})
}

func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusForbidden:
		return "not_trusted"
	case http.StatusConflict:
		return "exists"
	case http.StatusGone:
		return "destroyed"
	}
	return "internal"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
