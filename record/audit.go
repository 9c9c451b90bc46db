package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Audit actions.
const (
	AuditOpen         = "open"          // a case was opened (read)
	AuditExport       = "export"        // case data left the vault (export, recording export)
	AuditMemberAdd    = "member.add"    // a user joined the case
	AuditMemberRemove = "member.remove" // a user left the case
	AuditKeyRotate    = "key.rotate"    // a new case key epoch
	AuditTranscribe   = "transcribe"    // a recording was transcribed
)

// AuditEvent is the body of an audit record: an append-only, signed event
// in a hash chain per device and case. Seq counts the device's events in
// the case (1, 2, 3, …); Prev is the hash of the previous one. A missing
// event breaks the sequence, an edited one breaks the next link, and a
// forged one fails its signature.
type AuditEvent struct {
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // user name as the device knows it
	Device string    `json:"device"` // the writing device
	Seq    uint64    `json:"seq"`
	Prev   string    `json:"prev,omitempty"` // hex SHA-256 of the previous event's signed bytes
	Sig    []byte    `json:"sig,omitempty"`  // Ed25519 by the device, over SignedBytes
}

// SignedBytes is what the signature covers and the chain hashes: the event
// without its signature, as canonical JSON (fixed field order).
func (e AuditEvent) SignedBytes() []byte {
	e.Sig = nil
	b, _ := json.Marshal(e)
	return b
}

// Hash is the event's link for the next one.
func (e AuditEvent) Hash() string {
	h := sha256.Sum256(e.SignedBytes())
	return hex.EncodeToString(h[:])
}

// Sign sets the signature; sign is the device's Ed25519 signing function
// (crypto.Identity.Sign), so the private key never leaves its package.
func (e *AuditEvent) Sign(sign func(msg []byte) []byte) { e.Sig = sign(e.SignedBytes()) }

// Verify checks the signature against the device's public key.
func (e AuditEvent) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, e.SignedBytes(), e.Sig) {
		return fmt.Errorf("%w: audit event %d of device %s: bad signature", ErrInvalid, e.Seq, e.Device)
	}
	return nil
}

// ChainProblem is one break in a device's audit chain for a case.
type ChainProblem struct {
	Device string
	Seq    uint64
	What   string
}

// CheckChain checks one device's events in one case (any order): sequence
// numbers 1..n without gaps, each Prev the hash of the one before, each
// signature valid for pub (skipped when pub is nil: key unknown here).
func CheckChain(events []AuditEvent, pub ed25519.PublicKey) []ChainProblem {
	bySeq := map[uint64]AuditEvent{}
	var maxSeq uint64
	var problems []ChainProblem
	for _, e := range events {
		if _, dup := bySeq[e.Seq]; dup {
			problems = append(problems, ChainProblem{e.Device, e.Seq, "two events with the same number"})
		}
		bySeq[e.Seq] = e
		maxSeq = max(maxSeq, e.Seq)
	}
	prev := ""
	for s := uint64(1); s <= maxSeq; s++ {
		e, ok := bySeq[s]
		if !ok {
			problems = append(problems, ChainProblem{"", s, "missing event"})
			prev = ""
			continue
		}
		if s > 1 && prev != "" && e.Prev != prev {
			problems = append(problems, ChainProblem{e.Device, s, "does not follow the event before (edited or replaced)"})
		}
		if s == 1 && e.Prev != "" {
			problems = append(problems, ChainProblem{e.Device, s, "first event names a predecessor"})
		}
		if pub != nil {
			if err := e.Verify(pub); err != nil {
				problems = append(problems, ChainProblem{e.Device, s, "signature does not verify"})
			}
		}
		prev = e.Hash()
	}
	return problems
}
