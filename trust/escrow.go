package trust

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"strings"

	"github.com/fieldcase/fieldcase/internal/wire"
)

// Per-case escrow keys (issue 15, crypto-shredding part 1). A case created
// while the roster names an escrow service gets its own escrow key pair:
// its keyrings wrap the case key to the pair's public half
// (Membership.Escrow) instead of the agency recovery recipient, and the
// private half, wrapped to the recovery recipient, is deposited with the
// escrow service, which the case server never sees. Destroying the case
// deletes the deposit; once the escrow service's backups have aged out the
// recovery identity can open no copy of the case, however old.

// KindEscrow names the agency's escrow service (agency): URL is where
// devices deposit escrow keys; Key, when set, the Ed25519 key the service
// signs its receipts with (a deposit leaves a laptop only on a receipt it
// verifies). A higher Version replaces a lower one; two different of one
// version fail closed (no escrow: cases are wrapped to the recovery
// recipient as before).
const KindEscrow Kind = 21

// Escrow is the escrow service a roster names.
type Escrow struct {
	URL     string
	Key     ed25519.PublicKey // nil: receipts are not signed
	Version uint64
	ID      string // the statement's id
}

// maxURL bounds an escrow service's address.
const maxURL = 2048

func (s Statement) appendEscrow(b []byte) []byte {
	b = wire.AppendString(b, s.URL)
	b = wire.AppendBytes(b, s.Key)
	return wire.AppendUvarint(b, s.Version)
}

func (s *Statement) readEscrow(d *wire.Decoder) {
	s.URL = d.String(maxURL)
	s.Key = d.Bytes(ed25519.PublicKeySize)
	s.Version = d.Uvarint()
	if len(s.Key) == 0 {
		s.Key = nil // one encoding: absent and empty are the same
	}
}

func (s Statement) checkEscrow() error {
	if s.Version == 0 {
		return fmt.Errorf("%w: escrow service of version 0", ErrMalformed)
	}
	if len(s.Key) != 0 && len(s.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: escrow service's receipt key is not an Ed25519 public key", ErrMalformed)
	}
	return CheckEscrowURL(s.URL)
}

// CheckEscrowURL checks an escrow service's address: an absolute http or
// https URL with a host, no credentials, query or fragment.
func CheckEscrowURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: escrow service address %q is not an http(s) URL", ErrMalformed, s)
	}
	return nil
}

// escrow applies the agency's escrow statements: the highest version wins;
// two different ones of that version cancel each other.
func (r *Roster) escrow(agencySigned []parsed) {
	var top *parsed
	conflict := false
	for i := range agencySigned {
		p := &agencySigned[i]
		if p.st.Kind != KindEscrow {
			continue
		}
		switch {
		case top == nil || p.st.Version > top.st.Version:
			top, conflict = p, false
		case p.st.Version == top.st.Version && !bytes.Equal(p.Body, top.Body):
			conflict = true
		}
	}
	if top == nil {
		return
	}
	if conflict {
		r.problem(top.id, KindEscrow, "two different escrow services of version %d: neither is trusted", top.st.Version)
		return
	}
	r.Escrow = Escrow{URL: top.st.URL, Key: top.st.Key, Version: top.st.Version, ID: top.id}
	r.Accepted[top.id] = true
}

// isEscrowRecipient reports whether s looks like a post-quantum age
// recipient (trust does not parse age; the vault's wrap does).
func isEscrowRecipient(s string) bool {
	return strings.HasPrefix(s, "age1pq1") && len(s) <= maxRecipient
}
