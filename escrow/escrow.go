package escrow

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/fieldcase/fieldcase/internal/wire"
	"github.com/fieldcase/fieldcase/trust"
)

var (
	// ErrExists means the service holds a different deposit for the case:
	// a deposit is written once.
	ErrExists = errors.New("a different escrow key is deposited for this case")
	// ErrDestroyed means the case is destroyed: its escrow key is gone and
	// is never taken again.
	ErrDestroyed = errors.New("the case is destroyed")
	// ErrNotTrusted means a deposit or a destruction is not proved by the
	// statements given, under the agency key.
	ErrNotTrusted = errors.New("not proved under the agency key")
	// ErrNotFound means the service holds no deposit for the case.
	ErrNotFound = errors.New("no escrow key deposited for this case")
	// ErrMalformed means a request or a stored value does not decode.
	ErrMalformed = errors.New("malformed escrow request")
)

// Limits of a deposit's fields.
const (
	maxID        = 200
	maxRecipient = 4096
	maxWrapped   = 16 << 10
)

// Deposit is one case's escrow key, as the device that created the case
// deposits it: the public half (the case's Membership.Escrow), the private
// half wrapped to the recovery recipient (crypto.WrapEscrow), and the case
// id's salt, which proves that the signing device created the case.
type Deposit struct {
	CaseID    string `json:"case_id"`
	Device    string `json:"device"`
	Salt      []byte `json:"salt"`
	Recipient string `json:"recipient"`
	Wrapped   []byte `json:"wrapped"`
	Sig       []byte `json:"sig"`
}

const depositDomain = "fieldcase escrow deposit v1\x00"

// Message is what the device signs.
func (d Deposit) Message() []byte {
	b := []byte(depositDomain)
	b = wire.AppendString(b, d.CaseID)
	b = wire.AppendString(b, d.Device)
	b = wire.AppendBytes(b, d.Salt)
	b = wire.AppendString(b, d.Recipient)
	return wire.AppendBytes(b, d.Wrapped)
}

// Sign signs d as its device.
func (d *Deposit) Sign(sign func([]byte) []byte) { d.Sig = sign(d.Message()) }

// check validates the fields' shapes.
func (d Deposit) check() error {
	switch {
	case d.CaseID == "" || len(d.CaseID) > maxID || d.Device == "" || len(d.Device) > maxID:
		return fmt.Errorf("%w: deposit without a case or a device", ErrMalformed)
	case len(d.Recipient) > maxRecipient || len(d.Recipient) < 8 || d.Recipient[:7] != "age1pq1":
		return fmt.Errorf("%w: deposit's escrow key is not a post-quantum age recipient", ErrMalformed)
	case len(d.Wrapped) == 0 || len(d.Wrapped) > maxWrapped:
		return fmt.Errorf("%w: deposit without a wrapped key", ErrMalformed)
	case len(d.Sig) != ed25519.SignatureSize:
		return fmt.Errorf("%w: deposit without a signature", ErrMalformed)
	}
	return nil
}

// Verify checks a deposit against a roster: its device's chain reaches the
// agency, the signature is that device's, and the case id binds that
// device (only the device that created a case deposits its escrow key). A
// device revoked since still deposits what it made before: the deposit is
// wrapped to the recovery recipient, and refusing it would only lose the
// agency its recovery of the case.
func (d Deposit) Verify(r *trust.Roster) error {
	if err := d.check(); err != nil {
		return err
	}
	dev, ok := r.Devices[d.Device]
	if !ok {
		return fmt.Errorf("%w: device %s is not on the roster", ErrNotTrusted, d.Device)
	}
	if !ed25519.Verify(dev.SigningKey, d.Message(), d.Sig) {
		return fmt.Errorf("%w: the deposit is not signed by device %s", ErrNotTrusted, d.Device)
	}
	if !trust.BindsCase(d.CaseID, d.Device, d.Salt) {
		return fmt.Errorf("%w: case %s was not created by device %s", ErrNotTrusted, d.CaseID, d.Device)
	}
	return nil
}

// Same reports whether two deposits carry the same key for the same case
// (a deposit sent again after a lost answer).
func (d Deposit) Same(o Deposit) bool {
	return d.CaseID == o.CaseID && d.Recipient == o.Recipient && string(d.Wrapped) == string(o.Wrapped)
}

// Receipt is the service's answer: the case and what it did ("deposited"
// or "destroyed"), signed with the service's key when it has one, so a
// laptop drops its copy of a deposit only on the word of the service the
// agency named.
type Receipt struct {
	CaseID string `json:"case_id"`
	What   string `json:"what"`
	// Recipient is the deposited escrow key (deposits only).
	Recipient string `json:"recipient,omitempty"`
	Sig       []byte `json:"sig,omitempty"`
}

// Receipt kinds.
const (
	Deposited = "deposited"
	Destroyed = "destroyed"
)

const receiptDomain = "fieldcase escrow receipt v1\x00"

// Message is what the service signs.
func (r Receipt) Message() []byte {
	b := []byte(receiptDomain)
	b = wire.AppendString(b, r.CaseID)
	b = wire.AppendString(b, r.What)
	return wire.AppendString(b, r.Recipient)
}

// Verify checks the receipt's signature under key (nil: no key was named,
// any receipt counts).
func (r Receipt) Verify(key ed25519.PublicKey) bool {
	return key == nil || (len(key) == ed25519.PublicKeySize && ed25519.Verify(key, r.Message(), r.Sig))
}

// DepositRequest is POST PathDeposit's body.
type DepositRequest struct {
	Deposit    Deposit        `json:"deposit"`
	Statements []trust.Signed `json:"statements"`
}

// DestroyRequest is POST PathDestroy's body: cases, and the statements
// that prove them destroyed. One request carries every proof a laptop owes
// (at most MaxDestroy cases), so a laptop that first learns of an escrow
// service while the roster holds many destructions sends one request.
type DestroyRequest struct {
	CaseIDs    []string       `json:"case_ids"`
	Statements []trust.Signed `json:"statements"`
}

// DestroyResponse is PathDestroy's answer: a receipt for each case whose
// escrow key is now gone (or never was here), and why each other case was
// refused.
type DestroyResponse struct {
	Receipts []Receipt         `json:"receipts"`
	Refused  map[string]string `json:"refused,omitempty"`
}

// MaxDestroy is the most cases one destroy request names.
const MaxDestroy = 1000

// The service's endpoints.
const (
	PathDeposit = "/v1/escrow/deposit"
	PathDestroy = "/v1/escrow/destroy"
	PathHealth  = "/v1/escrow/health"
)

// maxRequest bounds a request body (a roster of a few thousand statements).
const maxRequest = 32 << 20
