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
	rc, err := c.post(ctx, PathDeposit, DepositRequest{Deposit: d, Statements: statements})
	if err != nil {
		return err
	}
	if rc.CaseID != d.CaseID || rc.What != Deposited || rc.Recipient != d.Recipient {
		return fmt.Errorf("%w: the escrow service's receipt is for something else", ErrNotTrusted)
	}
	return nil
}

// Destroy sends the statements that prove a case destroyed; nil on the
// service's receipt.
func (c *Client) Destroy(ctx context.Context, caseID string, statements []trust.Signed) error {
	rc, err := c.post(ctx, PathDestroy, DestroyRequest{CaseID: caseID, Statements: statements})
	if err != nil {
		return err
	}
	if rc.CaseID != caseID || rc.What != Destroyed {
		return fmt.Errorf("%w: the escrow service's receipt is for something else", ErrNotTrusted)
	}
	return nil
}

func (c *Client) post(ctx context.Context, path string, body any) (Receipt, error) {
	var rc Receipt
	js, err := json.Marshal(body)
	if err != nil {
		return rc, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+path, bytes.NewReader(js))
	if err != nil {
		return rc, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return rc, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return rc, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Code string }
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		switch e.Code {
		case "malformed":
			return rc, fmt.Errorf("%w: %s", ErrMalformed, e.Error)
		case "not_trusted":
			return rc, fmt.Errorf("%w: %s", ErrNotTrusted, e.Error)
		case "exists":
			return rc, ErrExists
		case "destroyed":
			return rc, ErrDestroyed
		}
		return rc, fmt.Errorf("%w: %s", ErrUnavailable, e.Error)
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, fmt.Errorf("%w: answer: %v", ErrUnavailable, err)
	}
	if !rc.Verify(c.Key) {
		return rc, fmt.Errorf("%w: the receipt is not signed with the escrow service's key the agency named", ErrNotTrusted)
	}
	return rc, nil
}
