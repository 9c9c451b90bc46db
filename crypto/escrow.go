package crypto

import (
	"bytes"
	"errors"
	"fmt"

	"filippo.io/age"
)

const escrowLabel = "fieldcase escrow key v1\n"

// WrapEscrow wraps a case's escrow identity to the agency recovery
// recipient. The plaintext names the case, so an escrow store cannot hand
// one case's escrow key out as another's.
func WrapEscrow(id *Identity, caseID, recipient string) ([]byte, error) {
	r, err := age.ParseHybridRecipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("wrapping an escrow key: %w: %v", ErrMalformed, err)
	}
	plain := append([]byte(escrowLabel+caseID+"\n"), id.marshal()...)
	return ageEncrypt(plain, r)
}

// UnwrapEscrow opens an escrow key wrapped by WrapEscrow for caseID with
// the recovery identity: ErrNotRecipient when it is wrapped to another.
func UnwrapEscrow(wrapped []byte, recovery *Identity, caseID string) (*Identity, error) {
	plain, err := ageDecrypt(wrapped, recovery.age)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrNotRecipient
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	rest, ok := bytes.CutPrefix(plain, []byte(escrowLabel+caseID+"\n"))
	if !ok {
		return nil, fmt.Errorf("%w: escrow key is for another case", ErrMalformed)
	}
	return parseIdentity(rest)
}
