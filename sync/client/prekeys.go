package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Device pre-keys (docs/ARCHITECTURE.md, "Crypto-shredding", part 2): at
// a round, a device whose newest pre-key is older than the rotation period
// makes a new one and publishes its signed statement (a withheld or lost
// one is sent again each round until the roster holds it); after a clean
// round, it deletes the secrets of pre-keys replaced longer ago than the
// backup retention.

// Defaults of the pre-key periods. The backup retention is the agency's
// (docs/OPERATIONS.md): a server backup older than it is deleted, so a
// pre-key replaced longer ago than it opens nothing a backup still holds
// that this laptop needs.
const (
	DefaultPreKeyRotation  = 7 * 24 * time.Hour
	DefaultBackupRetention = 35 * 24 * time.Hour
)

// SetPreKeyPeriods sets how often this device makes a new pre-key and how
// long it keeps one after a newer replaced it (zero: the default).
func (s *Syncer) SetPreKeyPeriods(rotate, retain time.Duration) {
	s.preKeyRotate, s.backupRetention = rotate, retain
}

func (s *Syncer) preKeyPeriods() (rotate, retain time.Duration) {
	rotate, retain = s.preKeyRotate, s.backupRetention
	if rotate <= 0 {
		rotate = DefaultPreKeyRotation
	}
	if retain <= 0 {
		retain = DefaultBackupRetention
	}
	return rotate, retain
}

// rotatePreKey publishes this device's newest pre-key if the roster lacks
// it, or a new one when the newest is due for rotation, and keeps the
// statement (the round's end then checks that the log holds it, as for
// every statement the device holds). Keyrings this device writes go to
// the new pre-key once its own roster holds it; other devices' once they
// fetch it; existing keyrings are not rewrapped (this device holds their
// keys). A server that refuses the endpoint (an older one) leaves keys
// wrapped to the long-term recipient, as before.
func (s *Syncer) rotatePreKey(ctx context.Context, sum *Summary) error {
	rotate, _ := s.preKeyPeriods()
	sg, send, err := s.v.RotatePreKey(rotate)
	if err != nil || !send {
		return err
	}
	if _, err := s.c.PreKey(ctx, sg); err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) { // refused for good (an older server, say): 4xx other than 401, 410, 426
			sum.PreKeyRefused = err.Error() // kept, and sent again next round
			return nil
		}
		return err
	}
	if _, err := s.v.AddStatements([]trust.Signed{sg}); err != nil {
		return err
	}
	sum.PreKeyPublished = true
	return nil
}

// expirePreKeys deletes the secrets of pre-keys replaced longer ago than
// the backup retention, only after a round that found nothing wrong with
// the log and whose roster holds every statement the log does: this
// device then holds every keyring the log holds for it (pulled, and its
// key unwrapped into the sealed keyring cache), and the vault tries the
// expiring pre-keys on every keyring it holds without a key before it
// deletes them. It then tells of keyrings sent to this laptop that only a
// deleted pre-key opened.
func (s *Syncer) expirePreKeys(sum *Summary, clean bool) error {
	if clean {
		_, retain := s.preKeyPeriods()
		n, err := s.v.ExpirePreKeys(retain)
		if err != nil {
			return err
		}
		sum.PreKeysExpired = n
	}
	lost, err := s.v.UnopenableKeyrings()
	sum.Unopenable = lost
	return err
}

// unopenableError is the round's error for keyrings this laptop can no
// longer open, with what to do.
func unopenableError(lost []store.UnopenableKeyring) error {
	var cases []string
	for _, u := range lost {
		cases = append(cases, fmt.Sprintf("case %s (key epoch %d)", u.CaseID, u.Epoch))
	}
	return fmt.Errorf("%w: %s; ask a supervisor to re-key the case: 'fieldcase case rekey' (nothing of it is lost on the server)",
		store.ErrKeyringExpired, strings.Join(cases, ", "))
}
