package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	"filippo.io/age"
)

// ErrNotRecipient means a wrapped key or keyring is not addressed to this
// identity (for example, a case this device was never given).
var ErrNotRecipient = errors.New("key is not wrapped to this device")

const wrapLabel = "fieldcase case key v1\n"

// WrapKey wraps k in a standard age file to each recipient (post-quantum
// hybrid recipients only). The plaintext names the case and epoch.
func WrapKey(k *CaseKey, recipients ...string) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("wrapping a key: no recipients")
	}
	rs := make([]age.Recipient, 0, len(recipients))
	seen := map[string]bool{}
	for _, s := range recipients {
		if seen[s] {
			continue
		}
		seen[s] = true
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("wrapping a key: %w: %v", ErrMalformed, err)
		}
		rs = append(rs, r)
	}
	return ageEncrypt(k.marshal(), rs...)
}

// UnwrapKey opens a key wrapped by WrapKey for caseID at epoch.
func UnwrapKey(wrapped []byte, id *Identity, caseID string, epoch uint32) (*CaseKey, error) {
	plain, err := ageDecrypt(wrapped, id.age)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrNotRecipient
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	k, rest, err := unmarshalKey(plain)
	if err != nil || len(rest) != 0 {
		return nil, ErrMalformed
	}
	if k.CaseID != caseID || k.Epoch != epoch {
		return nil, fmt.Errorf("%w: key is for another case or epoch", ErrMalformed)
	}
	return k, nil
}

func (k *CaseKey) marshal() []byte {
	b := []byte(wrapLabel)
	return k.appendTo(b)
}

func (k *CaseKey) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(k.CaseID)))
	b = append(b, k.CaseID...)
	b = binary.BigEndian.AppendUint32(b, k.Epoch)
	return append(b, k.raw[:]...)
}

func unmarshalKey(b []byte) (*CaseKey, []byte, error) {
	if len(b) < len(wrapLabel) || string(b[:len(wrapLabel)]) != wrapLabel {
		return nil, nil, ErrMalformed
	}
	return readKey(b[len(wrapLabel):])
}

func readKey(b []byte) (*CaseKey, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > 1024 || uint64(len(b)-w) < n+4+KeySize {
		return nil, nil, ErrMalformed
	}
	b = b[w:]
	caseID := string(b[:n])
	b = b[n:]
	epoch := binary.BigEndian.Uint32(b)
	var raw [KeySize]byte
	copy(raw[:], b[4:4+KeySize])
	return caseKeyFromRaw(caseID, epoch, raw), b[4+KeySize:], nil
}

// Keyring is every case key a device holds, by case and epoch. An epoch
// normally has one key; two devices that started the same epoch at once (a
// rotation raced on two laptops) each made one, and both are kept, so
// whatever was sealed under either opens.
type Keyring struct {
	keys map[string]map[uint32][]*CaseKey
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[string]map[uint32][]*CaseKey{}} }

// Add puts k in the keyring; a key already held is not added twice.
func (kr *Keyring) Add(k *CaseKey) {
	m := kr.keys[k.CaseID]
	if m == nil {
		m = map[uint32][]*CaseKey{}
		kr.keys[k.CaseID] = m
	}
	for _, have := range m[k.Epoch] {
		if have.raw == k.raw {
			return
		}
	}
	m[k.Epoch] = append(m[k.Epoch], k)
}

// Has reports whether the keyring holds k.
func (kr *Keyring) Has(k *CaseKey) bool {
	for _, have := range kr.keys[k.CaseID][k.Epoch] {
		if have.raw == k.raw {
			return true
		}
	}
	return false
}

// Get returns the key of caseID at epoch (the first one this device
// learned, when a raced rotation made two), or nil.
func (kr *Keyring) Get(caseID string, epoch uint32) *CaseKey {
	if ks := kr.keys[caseID][epoch]; len(ks) > 0 {
		return ks[0]
	}
	return nil
}

// All returns every key of caseID at epoch: what to try when opening.
func (kr *Keyring) All(caseID string, epoch uint32) []*CaseKey { return kr.keys[caseID][epoch] }

// Latest returns the newest epoch's key of caseID, or nil: new writes use it.
func (kr *Keyring) Latest(caseID string) *CaseKey {
	var best *CaseKey
	for e, ks := range kr.keys[caseID] {
		if len(ks) > 0 && (best == nil || e > best.Epoch) {
			best = ks[0]
		}
	}
	return best
}

// Cases lists the cases the keyring holds a key of, sorted.
func (kr *Keyring) Cases() []string {
	out := make([]string, 0, len(kr.keys))
	for id, m := range kr.keys {
		if len(m) > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Without is a keyring holding the same keys as kr but none of caseID's
// (the keys are shared, not copied): what to seal while a case's local
// copy is being removed.
func (kr *Keyring) Without(caseID string) *Keyring {
	out := NewKeyring()
	for id, m := range kr.keys {
		if id != caseID {
			out.keys[id] = m
		}
	}
	return out
}

// Remove overwrites and drops every key of caseID.
func (kr *Keyring) Remove(caseID string) {
	for _, ks := range kr.keys[caseID] {
		for _, k := range ks {
			k.Wipe()
		}
	}
	delete(kr.keys, caseID)
}

// Epochs is the number of key epochs of caseID the keyring holds.
func (kr *Keyring) Epochs(caseID string) int { return len(kr.keys[caseID]) }

// Len is the number of keys held.
func (kr *Keyring) Len() int {
	n := 0
	for _, m := range kr.keys {
		for _, ks := range m {
			n += len(ks)
		}
	}
	return n
}

// Wipe overwrites every key and empties the keyring.
func (kr *Keyring) Wipe() {
	for _, m := range kr.keys {
		for _, ks := range m {
			for _, k := range ks {
				k.Wipe()
			}
		}
	}
	kr.keys = map[string]map[uint32][]*CaseKey{}
}

const keyringLabel = "fieldcase keyring v1\n"

// SealKeyring writes every key in kr as one age file to the device's own
// recipient.
func SealKeyring(kr *Keyring, id *Identity) ([]byte, error) {
	cases := make([]string, 0, len(kr.keys))
	for c := range kr.keys {
		cases = append(cases, c)
	}
	sort.Strings(cases)
	b := []byte(keyringLabel)
	b = binary.AppendUvarint(b, uint64(kr.Len()))
	for _, c := range cases {
		for _, ks := range kr.keys[c] {
			for _, k := range ks {
				b = k.appendTo(b)
			}
		}
	}
	defer clear(b)
	return ageEncrypt(b, id.age.Recipient())
}

// OpenKeyring opens a keyring sealed by SealKeyring.
func OpenKeyring(sealed []byte, id *Identity) (*Keyring, error) {
	plain, err := ageDecrypt(sealed, id.age)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrNotRecipient
		}
		return nil, fmt.Errorf("%w: keyring: %v", ErrMalformed, err)
	}
	defer clear(plain)
	if len(plain) < len(keyringLabel) || string(plain[:len(keyringLabel)]) != keyringLabel {
		return nil, fmt.Errorf("%w: keyring label", ErrMalformed)
	}
	b := plain[len(keyringLabel):]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: keyring count", ErrMalformed)
	}
	b = b[w:]
	kr := NewKeyring()
	for i := uint64(0); i < n; i++ {
		k, rest, err := readKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: keyring entry %d", ErrMalformed, i)
		}
		kr.Add(k)
		b = rest
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: keyring trailing bytes", ErrMalformed)
	}
	return kr, nil
}
