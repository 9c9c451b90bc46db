package crypto

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a case key.
const KeySize = 32

// ErrOpen means a sealed body did not open: a wrong key, a tampered or
// truncated ciphertext, or a ciphertext moved from another place.
var ErrOpen = errors.New("sealed data does not open (wrong key, tampered, or moved)")

// Purpose selects the subkey a body is sealed under.
type Purpose byte

const (
	PurposeRecord Purpose = 1 // record bodies: cases, notes, consents, tasks, manifests
	PurposeAudio  Purpose = 2 // audio chunks
	PurposeMeta   Purpose = 3 // device-local metadata: drafts, settings
)

// CaseKey is the key of one case at one epoch, with its derived subkeys.
type CaseKey struct {
	CaseID string
	Epoch  uint32
	raw    [KeySize]byte
	aeads  [4]cipher.AEAD
}

// NewCaseKey generates a fresh random key for caseID at epoch.
func NewCaseKey(caseID string, epoch uint32) *CaseKey {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // crypto/rand never fails on Linux
	}
	return caseKeyFromRaw(caseID, epoch, raw)
}

func caseKeyFromRaw(caseID string, epoch uint32, raw [KeySize]byte) *CaseKey {
	k := &CaseKey{CaseID: caseID, Epoch: epoch, raw: raw}
	for _, p := range []Purpose{PurposeRecord, PurposeAudio, PurposeMeta} {
		sub, err := hkdf.Key(sha256.New, raw[:], nil, "fieldcase subkey v1 "+string('0'+rune(p)), chacha20poly1305.KeySize)
		if err != nil {
			panic(err) // only for invalid lengths, which are constants here
		}
		aead, err := chacha20poly1305.NewX(sub)
		if err != nil {
			panic(err)
		}
		k.aeads[p] = aead
	}
	return k
}

// Wipe overwrites the key bytes. Derived AEAD state is dropped with k.
func (k *CaseKey) Wipe() {
	clear(k.raw[:])
	k.aeads = [4]cipher.AEAD{}
}

// Place is where a sealed body belongs. Its fields are bound into the
// associated data, so a body sealed for one place does not open in another.
type Place struct {
	CaseID   string
	RecordID string
	Purpose  Purpose
	Chunk    uint32 // audio chunk index
	Last     bool   // last audio chunk of a take
}

const (
	sealVersion  = 1
	headerSize   = 1 + 4 // version, epoch
	nonceSize    = chacha20poly1305.NonceSizeX
	adLabel      = "fieldcase sealed v1"
	SealOverhead = headerSize + nonceSize + chacha20poly1305.Overhead
)

func (p Place) ad(epoch uint32) []byte {
	ad := make([]byte, 0, len(adLabel)+len(p.CaseID)+len(p.RecordID)+24)
	ad = append(ad, adLabel...)
	ad = append(ad, sealVersion)
	ad = binary.AppendUvarint(ad, uint64(len(p.CaseID)))
	ad = append(ad, p.CaseID...)
	ad = binary.AppendUvarint(ad, uint64(len(p.RecordID)))
	ad = append(ad, p.RecordID...)
	ad = binary.BigEndian.AppendUint32(ad, epoch)
	ad = append(ad, byte(p.Purpose))
	ad = binary.BigEndian.AppendUint32(ad, p.Chunk)
	if p.Last {
		ad = append(ad, 1)
	} else {
		ad = append(ad, 0)
	}
	return ad
}

// Seal encrypts plaintext for place p under k. The result is
// version ‖ epoch ‖ nonce ‖ ciphertext; the epoch in the header says which
// key opens it.
func Seal(k *CaseKey, p Place, plaintext []byte) []byte {
	aead := k.aead(p.Purpose)
	out := make([]byte, headerSize+nonceSize, SealOverhead+len(plaintext))
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:5], k.Epoch)
	if _, err := rand.Read(out[headerSize:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return aead.Seal(out, out[headerSize:], plaintext, p.ad(k.Epoch))
}

// Open decrypts a body sealed by Seal for place p. It fails with ErrOpen on a
// wrong key, any change to the bytes, or a different place.
func Open(k *CaseKey, p Place, sealed []byte) ([]byte, error) {
	return OpenTo(nil, k, p, sealed)
}

// OpenTo is Open writing the plaintext into dst's memory when it is large
// enough (dst's contents are overwritten): for a loop opening many bodies
// with one buffer.
func OpenTo(dst []byte, k *CaseKey, p Place, sealed []byte) ([]byte, error) {
	epoch, err := SealedEpoch(sealed)
	if err != nil {
		return nil, err
	}
	if epoch != k.Epoch || p.CaseID != k.CaseID {
		return nil, ErrOpen
	}
	aead := k.aead(p.Purpose)
	if aead == nil {
		return nil, ErrOpen
	}
	plain, err := aead.Open(dst[:0], sealed[headerSize:headerSize+nonceSize], sealed[headerSize+nonceSize:], p.ad(epoch))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// SealedEpoch reads the epoch a sealed body names, so the caller picks the
// one key to try.
func SealedEpoch(sealed []byte) (uint32, error) {
	if len(sealed) < SealOverhead {
		return 0, fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != sealVersion {
		return 0, fmt.Errorf("%w: unknown version %d", ErrOpen, sealed[0])
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

func (k *CaseKey) aead(p Purpose) cipher.AEAD {
	if int(p) >= len(k.aeads) {
		return nil
	}
	a := k.aeads[p]
	if a == nil {
		panic("crypto: use of a wiped or unknown-purpose case key")
	}
	return a
}
