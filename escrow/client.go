package escrow

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// ErrUnavailable means the escrow service could not be reached or failed:
// try again later.
var ErrUnavailable = errors.New("escrow service unavailable")

// Client talks to the escrow service a roster names.
type Client struct {
	URL  string
	Key  ed25519.PublicKey // the receipt key the roster names (nil: none)
	HTTP *http.Client      // nil: a client with a 20 s timeout
}

// NewClient is a client of the roster's escrow service.
func NewClient(e trust.Escrow, hc *http.Client) *Client {
	return &Client{URL: e.URL, Key: e.Key, HTTP: hc}
}

// Deposit sends a signed deposit with the statements that prove its
// device. It returns nil only on the service's receipt for this very key.
func (c *Client) Deposit(ctx context.Context, d Deposit, statements []trust.Signed) error {
	var rc Receipt
	if err := c.post(ctx, PathDeposit, DepositRequest{Deposit: d, Statements: statements}, &rc); err != nil {
		return err
	}
	if !rc.Verify(c.Key) {
		return fmt.Errorf("%w: the receipt is not signed with the escrow service's key the agency named", ErrNotTrusted)
	}
	if rc.CaseID != d.CaseID || rc.What != Deposited || rc.Recipient != d.Recipient {
		return fmt.Errorf("%w: the escrow service's receipt is for something else", ErrNotTrusted)
	}
	return nil
}

// Destroy sends the statements that prove cases destroyed (at most
// MaxDestroy). It returns the cases whose destruction the service
// acknowledged with a receipt that verifies; an error names the others.
func (c *Client) Destroy(ctx context.Context, caseIDs []string, statements []trust.Signed) ([]string, error) {
	var resp DestroyResponse
	if err := c.post(ctx, PathDestroy, DestroyRequest{CaseIDs: caseIDs, Statements: statements}, &resp); err != nil {
		return nil, err
	}
	asked := map[string]bool{}
	for _, id := range caseIDs {
		asked[id] = true
	}
	var done []string
	for _, rc := range resp.Receipts {
		if asked[rc.CaseID] && rc.What == Destroyed && rc.Verify(c.Key) {
			done = append(done, rc.CaseID)
			delete(asked, rc.CaseID)
		}
	}
	if len(asked) > 0 {
		var why []string
		for id := range asked {
			w := resp.Refused[id]
			if w == "" {
				w = "no receipt that verifies"
			}
			why = append(why, id+": "+w)
		}
		slices.Sort(why)
		return done, fmt.Errorf("%w: %s", ErrNotTrusted, strings.Join(why, "; "))
	}
	return done, nil
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	js, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+path, bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Code string }
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		switch e.Code {
		case "malformed":
			return fmt.Errorf("%w: %s", ErrMalformed, e.Error)
		case "not_trusted":
			return fmt.Errorf("%w: %s", ErrNotTrusted, e.Error)
		case "exists":
			return ErrExists
		case "destroyed":
			return ErrDestroyed
		}
		return fmt.Errorf("%w: %s", ErrUnavailable, e.Error)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: answer: %v", ErrUnavailable, err)
	}
	return nil
}
