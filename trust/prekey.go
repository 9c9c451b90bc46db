package trust

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/wire"
	"github.com/fieldcase/fieldcase/record"
)

// Device pre-keys (docs/ARCHITECTURE.md, "Crypto-shredding", part 2). A
// device signs, every rotation period, a fresh age recipient of its own
// whose secret it keeps in its vault; case keys are wrapped to that
// recipient instead of the device's long-term one. Once the device has
// every case key it was given in its sealed keyring cache, it deletes a
// pre-key's secret a backup-retention period after a newer one replaced
// it: a server backup older than that holds keyrings this device can no
// longer open, even with its vault file and passphrase.

// KindPreKey is a device's current pre-key: Device is the device (which
// signs it itself), Recipient its age hybrid recipient, Version its
// sequence number. A higher Version replaces a lower one. Numbered after
// the lifecycle kinds (16–19).
const KindPreKey Kind = 20

// PreKey is a device's newest pre-key the statements prove.
type PreKey struct {
	Device    string
	Recipient string
	Version   uint64
	Issued    time.Time // as the device stated it
	ID        string    // the statement's id
}

func (s Statement) appendPreKey(b []byte) []byte {
	b = wire.AppendString(b, s.Device)
	b = wire.AppendString(b, s.Recipient)
	return wire.AppendUvarint(b, s.Version)
}

func (s *Statement) readPreKey(d *wire.Decoder) {
	s.Device = d.String(record.MaxIDLen)
	s.Recipient = d.String(maxRecipient)
	s.Version = d.Uvarint()
}

func (s Statement) checkPreKey(ids map[string]string) error {
	ids["device"] = s.Device
	if !strings.HasPrefix(s.Recipient, "age1pq1") {
		return fmt.Errorf("%w: pre-key that is not a post-quantum age recipient", ErrMalformed)
	}
	if s.Version == 0 {
		return fmt.Errorf("%w: pre-key of version 0", ErrMalformed)
	}
	return nil
}

// preKeys keeps, for every unrevoked device on the roster, the pre-key of
// the highest version that the device itself signed. An older one (a
// server replaying it) never wins over a newer one the set holds; one
// signed by anyone else, or by a revoked device, counts for nothing; two
// different pre-keys of one device at its top version cancel each other
// (fail closed: keys go to its long-term recipient).
func (r *Roster) preKeys(ps []parsed) {
	type versioned struct {
		p        parsed
		conflict bool
	}
	best := map[string]*versioned{}
	for _, p := range ps {
		d, ok := r.Devices[p.st.Device]
		switch {
		case p.Signer != SignerDevice(p.st.Device):
			r.problem(p.id, KindPreKey, "a pre-key of %s is signed by that device only, not by %s", p.st.Device, p.Signer)
			continue
		case !ok || !p.Verify(d.SigningKey):
			r.problem(p.id, KindPreKey, "pre-key not signed by device %s as the roster knows it", p.st.Device)
			continue
		case d.Revoked:
			continue // its keys go nowhere any more; not a problem of the statement
		}
		cur := best[p.st.Device]
		switch {
		case cur == nil || p.st.Version > cur.p.st.Version:
			best[p.st.Device] = &versioned{p: p}
		case p.st.Version == cur.p.st.Version && !bytes.Equal(p.Body, cur.p.Body):
			cur.conflict = true
		}
	}
	for dev, v := range best {
		if v.conflict {
			r.problem(v.p.id, KindPreKey, "two different pre-keys of version %d for device %s: neither is trusted", v.p.st.Version, dev)
			continue
		}
		r.PreKeys[dev] = PreKey{Device: dev, Recipient: v.p.st.Recipient, Version: v.p.st.Version, Issued: v.p.st.Issued, ID: v.p.id}
		r.Accepted[v.p.id] = true
	}
}

// RecipientOf is the recipient a case key is wrapped to for device d: its
// current pre-key when the roster holds one, its long-term recipient
// otherwise (a device that has published none, an older release).
func (r *Roster) RecipientOf(d Device) string {
	if p, ok := r.PreKeys[d.ID]; ok && !d.Revoked {
		return p.Recipient
	}
	return d.Recipient
}
