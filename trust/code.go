package trust

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Code is an enrolment code, given to a person in person: a secret that
// only they and whoever made the code know (80 bits), and the first 80 bits
// of the agency key's digest, so the laptop can pin the agency key the
// server then presents. The server never sees the secret: it holds the
// grant, which names only the public half of the key derived from it.
//
// Written as 32 Crockford base32 digits in groups of four:
// K7QD-3MXA-P2VH-0R8T-6WZN-1CJE-4BFS-9GYM.
type Code struct {
	Secret [10]byte
	Agency [10]byte
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode makes a fresh code for the agency whose public key is agency.
func NewCode(agency ed25519.PublicKey) Code {
	var c Code
	rand.Read(c.Secret[:])
	d := agencyDigest(agency)
	copy(c.Agency[:], d[:10])
	return c
}

// String is the code's display form.
func (c Code) String() string {
	var raw [20]byte
	copy(raw[:10], c.Secret[:])
	copy(raw[10:], c.Agency[:])
	digits := toBase32(raw[:])
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[d])
	}
	return b.String()
}

// ParseCode reads a code as a person may type it: any case, with or without
// dashes and spaces, O for 0 and I or L for 1.
func ParseCode(s string) (Code, error) {
	if len(s) > 128 {
		return Code{}, fmt.Errorf("%w: enrolment code", ErrMalformed)
	}
	var digits []byte
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		i := strings.IndexRune(crockford, r)
		if i < 0 {
			return Code{}, fmt.Errorf("%w: enrolment code has %q, which is not one of its letters or digits", ErrMalformed, r)
		}
		digits = append(digits, byte(i))
	}
	if len(digits) != 32 {
		return Code{}, fmt.Errorf("%w: an enrolment code has 32 letters and digits, this one %d", ErrMalformed, len(digits))
	}
	raw := fromBase32(digits)
	var c Code
	copy(c.Secret[:], raw[:10])
	copy(c.Agency[:], raw[10:])
	return c, nil
}

// toBase32 splits 20 bytes into 32 five-bit digits, most significant first.
func toBase32(b []byte) []byte {
	out := make([]byte, 0, len(b)*8/5)
	var acc uint64
	bits := 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits)&31)
		}
	}
	return out
}

func fromBase32(d []byte) []byte {
	out := make([]byte, 0, len(d)*5/8)
	var acc uint64
	bits := 0
	for _, x := range d {
		acc = acc<<5 | uint64(x)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

// Key is the signing key derived from the code's secret. Whoever holds the
// code can sign with it; the grant names its public half.
func (c Code) Key() ed25519.PrivateKey {
	seed, err := hkdf.Key(sha256.New, c.Secret[:], nil, "fieldcase enrolment code key v1", ed25519.SeedSize)
	if err != nil {
		panic(err) // only for lengths hkdf cannot produce
	}
	return ed25519.NewKeyFromSeed(seed)
}

// GrantID names the grant a code belongs to, derived from its public key.
func (c Code) GrantID() string { return GrantIDOf(c.Key().Public().(ed25519.PublicKey)) }

// GrantIDOf names the grant of a code public key.
func GrantIDOf(codeKey ed25519.PublicKey) string {
	h := sha256.Sum256(append([]byte("fieldcase grant v1\x00"), codeKey...))
	return hex.EncodeToString(h[:16])
}

// MatchesAgency reports whether agency is the key the code was made for.
func (c Code) MatchesAgency(agency ed25519.PublicKey) bool {
	d := agencyDigest(agency)
	return [10]byte(d[:10]) == c.Agency
}
