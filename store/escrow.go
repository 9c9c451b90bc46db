package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
)

// Per-case escrow keys (trust/escrow.go): when the roster names an escrow
// service and a recovery recipient, a new case gets an escrow key pair.
// Its public half goes into the case's first keyring (Membership.Escrow);
// its private half, wrapped to the recovery recipient at once, waits here
// as a deposit (sealed under the vault key, in the local bucket) until the
// escrow service has acknowledged it. The vault never keeps the private
// half in clear: only the recovery identity can open the deposit.

// escrowPrefix names the deposits waiting in the local bucket.
const escrowPrefix = "escrow-deposit/"

// EscrowDeposit is a case's escrow key waiting to be deposited.
type EscrowDeposit struct {
	CaseID    string    `json:"case_id"`
	Salt      []byte    `json:"salt"`      // the case's first keyring's: the case id binds this device to it
	Recipient string    `json:"recipient"` // the escrow key's public half (Membership.Escrow)
	Wrapped   []byte    `json:"wrapped"`   // its private half, age to the recovery recipient
	Recovery  string    `json:"recovery"`  // the recovery recipient's fingerprint
	Created   time.Time `json:"created"`
}

// newEscrow makes a case's escrow key when the roster asks for one: it
// returns the public half for the first keyring ("" when the roster names
// no escrow service or no recovery recipient: the case is wrapped to the
// recovery recipient as before) and queues the deposit in tx.
func (tx *Tx) newEscrow(caseID string, salt []byte) (string, error) {
	r := tx.roster
	if r == nil || r.Escrow.URL == "" || r.Recovery == "" || tx.vaultKey == nil {
		return "", nil
	}
	id, err := crypto.NewIdentity()
	if err != nil {
		return "", err
	}
	wrapped, err := crypto.WrapEscrow(id, caseID, r.Recovery)
	if err != nil {
		return "", fmt.Errorf("escrow key of case %s: %w", caseID, err)
	}
	d := EscrowDeposit{CaseID: caseID, Salt: slices.Clone(salt), Recipient: id.Recipient(), Wrapped: wrapped,
		Recovery: crypto.Fingerprint(r.Recovery), Created: tx.clock.Now().Time().UTC()}
	js, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return d.Recipient, tx.putLocal(escrowPrefix+caseID, js)
}

// EscrowDeposits lists the escrow keys waiting for the escrow service,
// oldest case first.
func (v *Vault) EscrowDeposits() ([]EscrowDeposit, error) {
	m, err := v.Locals(escrowPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]EscrowDeposit, 0, len(m))
	for k, js := range m {
		var d EscrowDeposit
		if err := json.Unmarshal(js, &d); err != nil || d.CaseID != strings.TrimPrefix(k, escrowPrefix) {
			return nil, fmt.Errorf("%w: escrow deposit %s", ErrCorrupt, k)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b EscrowDeposit) int { return strings.Compare(a.CaseID, b.CaseID) })
	return out, nil
}

// EscrowDeposited removes a case's deposit once the escrow service has
// acknowledged it (or the case is destroyed: no copy must outlive it).
func (v *Vault) EscrowDeposited(caseID string) error {
	return v.DeleteLocal(escrowPrefix + caseID)
}
