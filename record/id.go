package record

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// ErrInvalid means a value breaks the data model's rules.
var ErrInvalid = errors.New("invalid record")

// MaxIDLen bounds record, case and device ids.
const MaxIDLen = 64

// NewID returns a random 128-bit id as a 26-character ULID. Its time prefix
// keeps new records close together in the vault's B+tree.
func NewID() string {
	return ulid.MustNew(ulid.Timestamp(time.Now()), rand.Reader).String()
}

// ValidID checks an id: 1–64 characters of [0-9A-Za-z_.:-]. Ids never hold
// names; the slash is reserved as the vault's key separator.
func ValidID(s string) error {
	if len(s) == 0 || len(s) > MaxIDLen {
		return fmt.Errorf("%w: id length %d", ErrInvalid, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '.', c == ':', c == '-':
		default:
			return fmt.Errorf("%w: id %q has character %q", ErrInvalid, s, c)
		}
	}
	return nil
}

// Kind is what a record is.
type Kind string

const (
	KindCase      Kind = "case"
	KindNote      Kind = "note"
	KindConsent   Kind = "consent"
	KindTask      Kind = "task"
	KindRecording Kind = "recording"
	KindKeyring   Kind = "keyring"
	KindAudit     Kind = "audit"
	KindPolicy    Kind = "policy"
)

// kinds lists every kind with its one-byte code in the binary encoding.
// Codes are part of the format: never renumber.
var kinds = []Kind{"", KindCase, KindNote, KindConsent, KindTask, KindRecording, KindKeyring, KindAudit, KindPolicy}

func (k Kind) code() (byte, bool) {
	for i, c := range kinds {
		if i > 0 && c == k {
			return byte(i), true
		}
	}
	return 0, false
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := k.code(); return ok }

// AppendOnly reports whether records of kind k are events that are written
// once and never edited, so they cannot conflict.
func (k Kind) AppendOnly() bool {
	return k == KindAudit || k == KindConsent
}

// KeyringID is the record id of the keyring of caseID at epoch: one record
// per epoch, so epochs never conflict with each other.
func KeyringID(caseID string, epoch uint32) string {
	return fmt.Sprintf("%s.k%d", caseID, epoch)
}
