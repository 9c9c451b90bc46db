package crypto

import (
	"errors"
	"fmt"

	"filippo.io/age"
)

// PreKey is a device's rotating age identity: case keys are wrapped to its
// recipient, and the device deletes it some time after a newer one replaced
// it, so that what was wrapped to it (in old server backups) can no longer
// be opened by the device at all.
type PreKey struct {
	age *age.HybridIdentity
}

// NewPreKey generates a fresh pre-key.
func NewPreKey() (*PreKey, error) {
	a, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("generating pre-key: %w", err)
	}
	return &PreKey{age: a}, nil
}

// Recipient is the pre-key's public age recipient ("age1pq1…").
func (p *PreKey) Recipient() string { return p.age.Recipient().String() }

// Secret is the pre-key's secret as text, for sealing in the vault.
func (p *PreKey) Secret() string { return p.age.String() }

// ParsePreKey reads a secret written by Secret.
func ParsePreKey(s string) (*PreKey, error) {
	a, err := age.ParseHybridIdentity(s)
	if err != nil {
		return nil, fmt.Errorf("%w: pre-key: %v", ErrMalformed, err)
	}
	return &PreKey{age: a}, nil
}

// UnwrapKeyWith opens a key wrapped by WrapKey for caseID at epoch with the
// device identity or any of its pre-keys (oldest first); ErrNotRecipient
// when none opens it. An age file names no recipient, so every key is
// tried on every stanza until one opens: the newest pre-key, which most
// keyrings are wrapped to, goes first, then the identity, then the older
// pre-keys (BenchmarkUnwrapWithPreKeys).
func UnwrapKeyWith(wrapped []byte, caseID string, epoch uint32, id *Identity, pre ...*PreKey) (*CaseKey, error) {
	ids := make([]age.Identity, 0, 1+len(pre))
	if len(pre) > 0 {
		ids = append(ids, pre[len(pre)-1].age)
	}
	if id != nil {
		ids = append(ids, id.age)
	}
	for i := len(pre) - 2; i >= 0; i-- {
		ids = append(ids, pre[i].age)
	}
	if len(ids) == 0 {
		return nil, ErrNotRecipient
	}
	plain, err := ageDecrypt(wrapped, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrNotRecipient
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer clear(plain)
	k, rest, err := unmarshalKey(plain)
	if err != nil || len(rest) != 0 {
		return nil, ErrMalformed
	}
	if k.CaseID != caseID || k.Epoch != epoch {
		return nil, fmt.Errorf("%w: key is for another case or epoch", ErrMalformed)
	}
	return k, nil
}
