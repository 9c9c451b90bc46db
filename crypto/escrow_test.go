package crypto

import (
	"errors"
	"testing"
)

// An escrow key, wrapped to the recovery identity, opens for its own case
// and unwraps the case key wrapped to it; for another case or another
// identity it does not.
func TestEscrowWrap(t *testing.T) {
	recovery, other, escrow := mustIdentity(t), mustIdentity(t), mustIdentity(t)
	wrapped, err := WrapEscrow(escrow, "CASE-A", recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapEscrow(wrapped, recovery, "CASE-A")
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipient() != escrow.Recipient() {
		t.Fatal("unwrapped another escrow key")
	}
	key := NewCaseKey("CASE-A", 1)
	wk, err := WrapKey(key, escrow.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if k, err := UnwrapKey(wk, got, "CASE-A", 1); err != nil || k.raw != key.raw {
		t.Fatalf("case key through the escrow key: %v", err)
	}
	if _, err := UnwrapEscrow(wrapped, recovery, "CASE-B"); !errors.Is(err, ErrMalformed) {
		t.Errorf("escrow key of case A read as case B's: %v, want ErrMalformed", err)
	}
	if _, err := UnwrapEscrow(wrapped, other, "CASE-A"); !errors.Is(err, ErrNotRecipient) {
		t.Errorf("another identity: %v, want ErrNotRecipient", err)
	}
	if _, err := WrapEscrow(escrow, "CASE-A", "age1notarecipient"); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad recipient: %v", err)
	}
}
