package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// DefaultWorkFactor is the scrypt work factor (log2 N) a passphrase is
// wrapped with: about 0.75 s and 256 MiB on a laptop.
const DefaultWorkFactor = 18

// MaxWorkFactor is the highest scrypt work factor UnlockIdentity accepts, so
// a tampered vault cannot make unlocking take minutes or exhaust memory.
const MaxWorkFactor = 20

// MinPassphraseLen is the shortest passphrase LockIdentity accepts.
const MinPassphraseLen = 8

var (
	// ErrWrongPassphrase means the passphrase does not unlock the identity.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrWeakPassphrase means a passphrase is too short to protect a vault.
	ErrWeakPassphrase = fmt.Errorf("passphrase too short (at least %d characters)", MinPassphraseLen)
	// ErrMalformed means bytes that should hold key material do not.
	ErrMalformed = errors.New("malformed key material")
)

// Identity is a device's secret: an age hybrid identity to unwrap case keys
// and an Ed25519 key to sign what the device writes.
type Identity struct {
	age  *age.HybridIdentity
	sign ed25519.PrivateKey
}

// NewIdentity generates a fresh device identity.
func NewIdentity() (*Identity, error) {
	a, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("generating identity: %w", err)
	}
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return &Identity{age: a, sign: sk}, nil
}

// Recipient is the identity's public age recipient ("age1pq1…").
func (id *Identity) Recipient() string { return id.age.Recipient().String() }

// SigningPublicKey is the identity's Ed25519 public key.
func (id *Identity) SigningPublicKey() ed25519.PublicKey {
	return id.sign.Public().(ed25519.PublicKey)
}

// Sign signs msg with the identity's Ed25519 key.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.sign, msg) }

// Verify reports whether sig is pub's signature of msg.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// Fingerprint is a short, human-comparable digest of a recipient string:
// post-quantum recipients are about 2,000 characters long.
func Fingerprint(recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	h := hex.EncodeToString(sum[:10])
	return h[0:5] + "-" + h[5:10] + "-" + h[10:15] + "-" + h[15:20]
}

const signKeyPrefix = "FIELDCASE-SIGN-KEY-1 "

// marshal encodes the secret as two text lines: the age identity and the
// signing key seed.
func (id *Identity) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(id.age.String())
	b.WriteByte('\n')
	b.WriteString(signKeyPrefix)
	b.WriteString(base64.RawStdEncoding.EncodeToString(id.sign.Seed()))
	b.WriteByte('\n')
	return b.Bytes()
}

func parseIdentity(b []byte) (*Identity, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], signKeyPrefix) {
		return nil, ErrMalformed
	}
	a, err := age.ParseHybridIdentity(lines[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	seed, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(lines[1], signKeyPrefix))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, ErrMalformed
	}
	return &Identity{age: a, sign: ed25519.NewKeyFromSeed(seed)}, nil
}

// LockIdentity wraps id under passphrase in an age file with a single scrypt
// recipient of the given work factor (DefaultWorkFactor unless testing).
func LockIdentity(id *Identity, passphrase string, workFactor int) ([]byte, error) {
	if len(passphrase) < MinPassphraseLen {
		return nil, ErrWeakPassphrase
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	if workFactor < 1 || workFactor > MaxWorkFactor {
		return nil, fmt.Errorf("scrypt work factor %d out of range", workFactor)
	}
	r.SetWorkFactor(workFactor)
	return ageEncrypt(id.marshal(), r)
}

// UnlockIdentity opens an identity sealed by LockIdentity. A wrong passphrase
// is ErrWrongPassphrase; damaged bytes are ErrMalformed.
func UnlockIdentity(sealed []byte, passphrase string) (*Identity, error) {
	if passphrase == "" {
		return nil, ErrWrongPassphrase
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	sid.SetMaxWorkFactor(MaxWorkFactor)
	plain, err := ageDecrypt(sealed, sid)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) && errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return parseIdentity(plain)
}

func ageEncrypt(plain []byte, recipients ...age.Recipient) ([]byte, error) {
	var out bytes.Buffer
	w, err := age.Encrypt(&out, recipients...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	// Close writes the last chunk: without it the file is truncated.
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// maxAgePlaintext bounds what we read out of an age file we did not write.
const maxAgePlaintext = 64 << 20

func ageDecrypt(sealed []byte, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), ids...)
	if err != nil {
		return nil, err
	}
	// Read to EOF before trusting anything: the last chunk authenticates.
	plain, err := io.ReadAll(io.LimitReader(r, maxAgePlaintext+1))
	if err != nil {
		return nil, err
	}
	if len(plain) > maxAgePlaintext {
		return nil, fmt.Errorf("%w: age payload too large", ErrMalformed)
	}
	return plain, nil
}

// ParseRecipient checks that s is a post-quantum hybrid age recipient. Classic
// X25519 recipients are refused: age cannot mix them with hybrid ones in one
// file, and case data is kept for decades.
func ParseRecipient(s string) error {
	_, err := age.ParseHybridRecipient(s)
	if err != nil {
		return fmt.Errorf("%w: recipient: %v", ErrMalformed, err)
	}
	return nil
}

// ParseIdentityString parses an exported identity (as written by
// Identity.Export); it is how an agency recovery identity is loaded.
func ParseIdentityString(s string) (*Identity, error) {
	return parseIdentity([]byte(s))
}

// Export returns the identity's secret as text. It is for the agency recovery
// identity, which is kept offline; device identities are never exported.
func (id *Identity) Export() string { return string(id.marshal()) }
