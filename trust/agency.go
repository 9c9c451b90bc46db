package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

var (
	// ErrMalformed means bytes or text that should hold a key, code or
	// statement do not.
	ErrMalformed = errors.New("malformed")
	// ErrWrongPassphrase means a passphrase does not open the agency key.
	ErrWrongPassphrase = errors.New("wrong passphrase for the agency key")
)

// AgencyKey is the agency's signing identity: the root every device trusts.
// It is kept offline (docs/OPERATIONS.md), encrypted under a passphrase.
type AgencyKey struct {
	priv ed25519.PrivateKey
}

// GenerateAgencyKey makes a new agency signing identity.
func GenerateAgencyKey() (*AgencyKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the agency key: %w", err)
	}
	return &AgencyKey{priv: priv}, nil
}

// Public is the agency's public key.
func (k *AgencyKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

const (
	agencyFileLabel = "FIELDCASE-AGENCY-KEY-1 "
	agencyPubPrefix = "fcagency1"
)

// agencyWorkFactor is the scrypt work factor of the key file: it is opened
// rarely, by an administrator, so it can cost more than a laptop's unlock
// (2^19: about 1.5 s and 512 MiB). Tests lower it (export_test.go).
var agencyWorkFactor = 19

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Encrypt writes the key as an age file to a passphrase (scrypt, at the
// default work factor).
func (k *AgencyKey) Encrypt(passphrase string) ([]byte, error) {
	return k.EncryptWorkFactor(passphrase, agencyWorkFactor)
}

// EncryptWorkFactor is Encrypt with a chosen scrypt work factor (log2 N,
// 10 to 22). Tests use a low one; the file says which it has.
func (k *AgencyKey) EncryptWorkFactor(passphrase string, logN int) ([]byte, error) {
	if logN < 10 || logN > 22 {
		return nil, fmt.Errorf("agency key: scrypt work factor %d is outside 10–22", logN)
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("agency key: %w", err)
	}
	r.SetWorkFactor(logN)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		return nil, err
	}
	plain := []byte(agencyFileLabel + hex.EncodeToString(k.priv.Seed()) + "\n")
	defer clear(plain)
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// DecryptAgencyKey opens a key file written by Encrypt.
func DecryptAgencyKey(file []byte, passphrase string) (*AgencyKey, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("agency key: %w", err)
	}
	id.SetMaxWorkFactor(22)
	r, err := age.Decrypt(bytes.NewReader(file), id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) && errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: agency key file: %v", ErrMalformed, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, fmt.Errorf("%w: agency key file: %v", ErrMalformed, err)
	}
	defer clear(plain)
	s := strings.TrimSpace(string(plain))
	seed, err := hex.DecodeString(strings.TrimPrefix(s, agencyFileLabel))
	if !strings.HasPrefix(s, agencyFileLabel) || err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: not an agency key file", ErrMalformed)
	}
	return &AgencyKey{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// FormatAgencyKey is the text form of an agency public key.
func FormatAgencyKey(pub ed25519.PublicKey) string {
	return agencyPubPrefix + strings.ToLower(b32.EncodeToString(pub))
}

// ParseAgencyKey reads the text form of an agency public key.
func ParseAgencyKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, agencyPubPrefix) {
		return nil, fmt.Errorf("%w: agency key must start with %q", ErrMalformed, agencyPubPrefix)
	}
	b, err := b32.DecodeString(strings.ToUpper(strings.TrimPrefix(s, agencyPubPrefix)))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: agency key", ErrMalformed)
	}
	return ed25519.PublicKey(b), nil
}

// agencyDigest is what a fingerprint and an enrolment code show of a key.
func agencyDigest(pub ed25519.PublicKey) [32]byte {
	return sha256.Sum256(append([]byte("fieldcase agency key v1\x00"), pub...))
}

// AgencyFingerprint is a short, human-comparable digest of the agency key
// (80 bits, as four groups of five hex digits), for people to compare.
func AgencyFingerprint(pub ed25519.PublicKey) string {
	d := agencyDigest(pub)
	h := hex.EncodeToString(d[:10])
	return h[0:5] + "-" + h[5:10] + "-" + h[10:15] + "-" + h[15:20]
}
