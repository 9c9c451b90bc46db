package escrow

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
}

var _ http.Handler = (*Service)(nil)

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathHealth && r.Method == http.MethodGet:
		io.WriteString(w, "ok\n")
	case r.URL.Path == PathDeposit && r.Method == http.MethodPost:
		var req DepositRequest
		if !s.read(w, r, &req) {
			return
		}
		rc, err := s.Deposit(req)
		s.answer(w, "deposit", req.Deposit.CaseID, rc, err)
	case r.URL.Path == PathDestroy && r.Method == http.MethodPost:
		var req DestroyRequest
		if !s.read(w, r, &req) {
			return
		}
		rc, err := s.Destroy(req)
		s.answer(w, "destroy", req.CaseID, rc, err)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

// Deposit verifies a deposit against the statements given and stores it.
func (s *Service) Deposit(req DepositRequest) (Receipt, error) {
	r := trust.Evaluate(s.Agency, req.Statements)
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

// Destroy deletes a case's deposit when the statements given prove the
// case destroyed under the agency key (trust.Evaluate decides it, as on
// every device and the server).
func (s *Service) Destroy(req DestroyRequest) (Receipt, error) {
	if req.CaseID == "" || len(req.CaseID) > maxID {
		return Receipt{}, fmt.Errorf("%w: no case", ErrMalformed)
	}
	r := trust.Evaluate(s.Agency, req.Statements)
	if _, ok := r.Retention.Destroyed[req.CaseID]; !ok {
		return Receipt{}, fmt.Errorf("%w: the statements do not prove case %s destroyed", ErrNotTrusted, req.CaseID)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	had, err := s.Store.Destroy(req.CaseID, now())
	if err != nil {
		return Receipt{}, err
	}
	s.log().Info("escrow key destroyed", "case", req.CaseID, "held", had)
	return s.sign(Receipt{CaseID: req.CaseID, What: Destroyed}), nil
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

func (s *Service) answer(w http.ResponseWriter, op, caseID string, rc Receipt, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, rc)
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
