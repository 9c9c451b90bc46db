package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// The vault's trust state: the agency key pinned at enrolment, every signed
// statement this device has verified (kept, so a server can withhold a
// statement but never take back one the device holds), and revisions it
// refused (quarantined: kept, never applied, shown).
var (
	bucketStatements = []byte("statements")
	bucketQuarantine = []byte("quarantine")
	metaAgency       = []byte("agency")
)

var (
	// ErrAgencyMismatch means a server presents another agency key than the
	// one this vault pinned.
	ErrAgencyMismatch = errors.New("the server presents another agency key than the one this laptop trusts")
	// ErrNoAgency means the vault has pinned no agency key (not enrolled, or
	// enrolled before agencies signed their rosters).
	ErrNoAgency = errors.New("this laptop trusts no agency key yet")
)

// PinAgency records the agency key this vault trusts. Pinning the same key
// again is harmless; another key is ErrAgencyMismatch: a vault never moves
// to another root of trust.
func (v *Vault) PinAgency(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: agency key", crypto.ErrMalformed)
	}
	return v.Update(func(tx *Tx) error {
		m := tx.btx.Bucket(bucketMeta)
		if cur := m.Get(metaAgency); cur != nil {
			if !bytes.Equal(cur, pub) {
				return ErrAgencyMismatch
			}
			return nil
		}
		tx.after = append(tx.after, func() { v.roster = nil })
		if err := m.Put(metaAgency, pub); err != nil {
			return err
		}
		// Someone who can edit the file but not unlock it must not swap
		// the root of trust: the pin is tagged under the vault key.
		return m.Put(metaAgencyTag, tx.mac().tag("agency", pub))
	})
}

// Agency is the pinned agency key, or nil when none is pinned, the vault is
// locked, or the pin does not authenticate (then it is also reported by
// Damaged).
func (v *Vault) Agency() ed25519.PublicKey {
	var pub ed25519.PublicKey
	v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			mb := tx.Bucket(bucketMeta)
			b := mb.Get(metaAgency)
			if len(b) == ed25519.PublicKeySize && newVaultMAC(vk).verify(mb.Get(metaAgencyTag), "agency", b) {
				pub = bytes.Clone(b)
			}
			return nil
		})
	})
	return pub
}

// TrustChanges is what a set of new statements changed, for a person to see:
// who will now receive case keys, and what was refused.
type TrustChanges struct {
	NewDevices  []ChangedDevice // devices that now receive keys of cases this user can read
	Revoked     []ChangedDevice
	NewRecovery string          // the recovery recipient's fingerprint, when it changed
	Problems    []trust.Problem // statements refused (new ones only)
}

// ChangedDevice names a device for a person: whose it is and its fingerprint.
type ChangedDevice struct {
	Device, Name, User, UserName, Fingerprint string
	Role                                      trust.Role
	Mine                                      bool // a device of this vault's own user
}

// Empty reports whether nothing a person must see changed.
func (c TrustChanges) Empty() bool {
	return len(c.NewDevices) == 0 && len(c.Revoked) == 0 && c.NewRecovery == "" && len(c.Problems) == 0
}

// AddStatements keeps statements this vault has not seen and re-evaluates
// the roster. It returns what changed.
func (v *Vault) AddStatements(ss []trust.Signed) (TrustChanges, error) {
	agency := v.Agency()
	if agency == nil {
		return TrustChanges{}, ErrNoAgency
	}
	before := v.Roster()
	added := 0
	err := v.Update(func(tx *Tx) error {
		b, err := tx.btx.CreateBucketIfNotExists(bucketStatements)
		if err != nil {
			return err
		}
		added = 0
		for _, s := range ss {
			id := []byte(s.ID())
			if b.Get(id) != nil {
				continue
			}
			js, err := json.Marshal(s)
			if err != nil {
				return err
			}
			if err := b.Put(id, js); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil || added == 0 {
		return TrustChanges{}, err
	}
	v.mu.Lock()
	v.roster = nil
	v.mu.Unlock()
	return diffRosters(before, v.Roster(), v.Profile()), nil
}

// Statements lists every statement the vault holds.
func (v *Vault) Statements() ([]trust.Signed, error) {
	var out []trust.Signed
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatements)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, js []byte) error {
			var s trust.Signed
			if json.Unmarshal(js, &s) != nil {
				return nil // unreadable: it proves nothing, like a bad signature
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// Roster is what the vault's statements prove under its pinned agency key
// (evaluated once, then cached until they change), or nil when no agency
// key is pinned.
func (v *Vault) Roster() *trust.Roster {
	v.mu.RLock()
	r := v.roster
	v.mu.RUnlock()
	if r != nil {
		return r
	}
	agency := v.Agency()
	if agency == nil {
		return nil
	}
	ss, err := v.Statements()
	if err != nil {
		return nil
	}
	r = trust.Evaluate(agency, ss)
	v.mu.Lock()
	v.roster = r
	v.mu.Unlock()
	return r
}

func diffRosters(before, after *trust.Roster, me Profile) TrustChanges {
	var c TrustChanges
	if after == nil {
		return c
	}
	if before == nil {
		before = &trust.Roster{Devices: map[string]trust.Device{}, Users: map[string]trust.User{}}
	}
	describe := func(d trust.Device) ChangedDevice {
		u := after.Users[d.User]
		return ChangedDevice{Device: d.ID, Name: d.Name, User: d.User, UserName: u.Name, Role: u.Role,
			Fingerprint: crypto.Fingerprint(d.Recipient), Mine: d.User == me.UserID}
	}
	for _, id := range slices.Sorted(maps.Keys(after.Devices)) {
		d := after.Devices[id]
		old, had := before.Devices[id]
		switch {
		case !had && !d.Revoked:
			c.NewDevices = append(c.NewDevices, describe(d))
		case d.Revoked && (!had || !old.Revoked):
			c.Revoked = append(c.Revoked, describe(d))
		}
	}
	if after.Recovery != "" && after.Recovery != before.Recovery {
		c.NewRecovery = crypto.Fingerprint(after.Recovery)
	}
	seen := map[string]bool{}
	for _, p := range before.Problems {
		seen[p.Statement+p.What] = true
	}
	for _, p := range after.Problems {
		if !seen[p.Statement+p.What] {
			c.Problems = append(c.Problems, p)
		}
	}
	return c
}

// ErrQuarantined wraps why a revision was refused.
var ErrQuarantined = errors.New("quarantined")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrQuarantined, fmt.Sprintf(format, args...))
}

// check decides whether a revision written elsewhere may be applied: its
// signature must be a device's whose chain reaches the pinned agency key,
// and that device's user must be allowed to write it in its case at its
// key epoch (trust.MayWrite, trust.MayWriteKeyring). The server's word
// counts for nothing here.
func (tx *Tx) check(rev *record.Revision, r *trust.Roster) error {
	if r == nil {
		return refuse("this laptop trusts no agency key: enrol it again with a code from your administrator")
	}
	wr, ok := r.Writer(rev.Device)
	if !ok {
		return refuse("written by device %s, which is not on the agency's signed roster", rev.Device)
	}
	if len(rev.Sig) == 0 {
		return refuse("not signed by the device it names")
	}
	if !tx.sigValid(rev, wr.Device.SigningKey) {
		return refuse("its signature is not the signature of device %s (%s)", rev.Device, wr.User.Name)
	}
	w := trust.WriteOf(rev)
	w.LogIndex = tx.logIndex(rev.Rev)
	if rev.Kind == record.KindKeyring {
		kb, err := sealed.DecodeKeyring(rev.Body)
		if err != nil {
			return refuse("keyring body does not decode")
		}
		if rev.RecordID != record.KeyringID(rev.CaseID, kb.Epoch) {
			return refuse("keyring record %s carries a key of epoch %d", rev.RecordID, kb.Epoch)
		}
		prev, err := tx.keyringPrev(rev, kb.Epoch)
		if err != nil {
			return err
		}
		if err := trust.MayWriteKeyring(wr, w, prev, kb.Membership); err != nil {
			return refuse("%v", err)
		}
		return nil
	}
	if len(rev.Body) == 0 {
		return refuse("a %s without a sealed body (deletions are sealed under the case key since protocol 2)", changeName(rev))
	}
	epoch, err := crypto.SealedEpoch(rev.Body)
	if err != nil {
		return refuse("sealed body has no readable header")
	}
	ms, err := tx.memberships(rev.CaseID)
	if err != nil {
		return err
	}
	m, ok := ms[epoch]
	if !ok {
		return refuse("no trusted keyring of the case's key epoch %d is here yet", epoch)
	}
	if err := trust.MayWrite(wr, w, m); err != nil {
		return refuse("%v", err)
	}
	for e, later := range ms {
		if e > epoch && trust.CutoffBlocks(later, w) {
			return refuse("written by %s's device under an old key after they were removed from the case", wr.User.Name)
		}
	}
	if wr.User.Role == trust.RoleTypist && rev.Kind == record.KindRecording {
		return tx.checkStatusOnly(rev)
	}
	return nil
}

// sigValid verifies a revision's signature once per transaction (a page
// whose revisions wait for each other is checked more than once).
func (tx *Tx) sigValid(rev *record.Revision, pub ed25519.PublicKey) bool {
	if ok, seen := tx.sigs[rev]; seen {
		return ok
	}
	ok := rev.VerifySig(pub)
	if tx.sigs == nil {
		tx.sigs = map[*record.Revision]bool{}
	}
	tx.sigs[rev] = ok
	return ok
}

func changeName(rev *record.Revision) string {
	if rev.Deleted {
		return "deletion"
	}
	return string(rev.Kind)
}

// keyringPrev is the membership a keyring revision follows: nil for a
// case's first keyring, the union of its parents' for a rewrap of one
// epoch, the previous epoch's for a new epoch.
func (tx *Tx) keyringPrev(rev *record.Revision, epoch uint32) (*trust.Membership, error) {
	if rev.Generation == 1 {
		if epoch <= 1 {
			return nil, nil
		}
		ms, err := tx.memberships(rev.CaseID)
		if err != nil {
			return nil, err
		}
		m, ok := ms[epoch-1]
		if !ok {
			return nil, refuse("the case's key epoch %d, which this one follows, is not here yet", epoch-1)
		}
		return &m, nil
	}
	var u *trust.Membership
	for _, p := range rev.Parents {
		b := tx.btx.Bucket(bucketRevs).Get(revKey(rev.CaseID, rev.RecordID, p))
		if b == nil {
			return nil, refuse("the keyring version it follows (%s) is not here yet", p.Short())
		}
		pr, _, err := record.UnmarshalRevision(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		kb, err := sealed.DecodeKeyring(pr.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: keyring %s", ErrCorrupt, p.Short())
		}
		if u == nil {
			m := kb.Membership
			u = &m
		} else {
			m := u.Union(kb.Membership)
			u = &m
		}
	}
	return u, nil
}

// memberships is a case's membership at each key epoch: the union of its
// stored (so accepted) keyring revisions of that epoch. Cached per
// transaction; a stored keyring invalidates its case.
func (tx *Tx) memberships(caseID string) (map[uint32]trust.Membership, error) {
	if m, ok := tx.members[caseID]; ok {
		return m, nil
	}
	out := map[uint32]trust.Membership{}
	prefix := []byte(caseID + "/" + caseID + ".k")
	c := tx.btx.Bucket(bucketRevs).Cursor()
	for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
		r, _, err := record.UnmarshalRevision(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if r.Kind != record.KindKeyring {
			continue
		}
		kb, err := sealed.DecodeKeyring(r.Body)
		if err != nil {
			continue // an old or damaged keyring proves no membership
		}
		out[kb.Epoch] = out[kb.Epoch].Union(kb.Membership)
	}
	if tx.members == nil {
		tx.members = map[string]map[uint32]trust.Membership{}
	}
	tx.members[caseID] = out
	return out, nil
}

// Membership is a case's membership at its newest key epoch this vault
// holds a keyring of, and that epoch (0 when none).
func (v *Vault) Membership(caseID string) (trust.Membership, uint32, error) {
	var m trust.Membership
	var epoch uint32
	err := v.view(func(btx *bolt.Tx) error {
		tx := &Tx{v: v, btx: btx}
		ms, err := tx.memberships(caseID)
		for e := range ms {
			epoch = max(epoch, e)
		}
		m = ms[epoch]
		return err
	})
	return m, epoch, err
}

// checkStatusOnly refuses a typist's recording version that changes more
// than its status, transcript and machine draft (record.TypistChangeOnly;
// the body must be readable for that).
func (tx *Tx) checkStatusOnly(rev *record.Revision) error {
	nv, err := tx.v.decode(tx.keys, rev)
	if err != nil {
		return refuse("a typist's recording update cannot be read here yet (%v)", err)
	}
	n, ok := nv.(*record.Recording)
	if !ok {
		return refuse("recording body does not decode")
	}
	for _, p := range rev.Parents {
		pv, err := tx.decodeHead(rev.CaseID, rev.RecordID, p)
		if err != nil {
			return refuse("the recording version a typist's update follows cannot be read here yet")
		}
		old, ok := pv.(*record.Recording)
		if !ok {
			return refuse("recording body does not decode")
		}
		if !record.TypistChangeOnly(*old, *n) {
			return refuse("a typist changed more of a recording than its status")
		}
	}
	return nil
}

// Quarantined is a revision this vault refused: kept, never applied.
type Quarantined struct {
	Rev      record.RevID `json:"rev"`
	CaseID   string       `json:"case_id"`
	RecordID string       `json:"record_id"`
	Kind     record.Kind  `json:"kind"`
	Device   string       `json:"device"`
	Deleted  bool         `json:"deleted,omitempty"`
	Reason   string       `json:"reason"`
	First    time.Time    `json:"first_seen"`
	Encoded  []byte       `json:"encoded"` // the revision, as received
}

func (tx *Tx) quarantine(rev *record.Revision, why error) error {
	b, err := tx.btx.CreateBucketIfNotExists(bucketQuarantine)
	if err != nil {
		return err
	}
	q := Quarantined{Rev: rev.Rev, CaseID: rev.CaseID, RecordID: rev.RecordID, Kind: rev.Kind, Device: rev.Device,
		Deleted: rev.Deleted, Reason: strings.TrimPrefix(why.Error(), ErrQuarantined.Error()+": "), First: time.Now().UTC()}
	if old := b.Get(rev.Rev[:]); old != nil {
		var prev Quarantined
		if json.Unmarshal(old, &prev) == nil && !prev.First.IsZero() {
			q.First = prev.First
		}
	}
	if q.Encoded, err = rev.MarshalBinary(); err != nil {
		return err
	}
	js, err := json.Marshal(q)
	if err != nil {
		return err
	}
	return b.Put(rev.Rev[:], js)
}

// Quarantine lists the revisions this vault refused, oldest first.
func (v *Vault) Quarantine() ([]Quarantined, error) {
	var out []Quarantined
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuarantine)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, js []byte) error {
			var q Quarantined
			if err := json.Unmarshal(js, &q); err != nil {
				return fmt.Errorf("%w: quarantine entry: %v", ErrCorrupt, err)
			}
			out = append(out, q)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Quarantined) int { return a.First.Compare(b.First) })
	return out, err
}

// RecheckQuarantine applies every quarantined revision that now passes
// (its signer's statement or the keyring it needed arrived since), until
// none does. It returns how many were applied and how many remain.
func (v *Vault) RecheckQuarantine() (applied, left int, err error) {
	r := v.Roster()
	for {
		n := 0
		err = v.Update(func(tx *Tx) error {
			n, left = 0, 0
			b := tx.btx.Bucket(bucketQuarantine)
			if b == nil {
				return nil
			}
			var keys [][]byte
			var revs []*record.Revision
			if err := b.ForEach(func(k, js []byte) error {
				var q Quarantined
				if json.Unmarshal(js, &q) != nil {
					return nil
				}
				rev, _, err := record.UnmarshalRevision(q.Encoded)
				if err != nil {
					return nil
				}
				keys = append(keys, bytes.Clone(k))
				revs = append(revs, rev)
				return nil
			}); err != nil {
				return err
			}
			for i, rev := range revs {
				if err := tx.check(rev, r); err != nil {
					if !errors.Is(err, ErrQuarantined) {
						return err
					}
					left++
					if err := tx.quarantine(rev, err); err != nil { // the reason may have changed
						return err
					}
					continue
				}
				if _, err := tx.Apply(rev); err != nil && !errors.Is(err, record.ErrInvalid) {
					return err
				}
				if err := b.Delete(keys[i]); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		applied += n
		if err != nil || n == 0 {
			return applied, left, err
		}
	}
}

// QuarantineSummary is one line per case for a status bar: how many
// revisions of which case were refused.
func QuarantineSummary(qs []Quarantined) string {
	by := map[string]int{}
	for _, q := range qs {
		by[q.CaseID]++
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, strconv.Itoa(by[c])+" in case "+c)
	}
	return strings.Join(parts, ", ")
}

// LastSeq is the highest sequence number this device has given a revision.
func (v *Vault) LastSeq() uint64 {
	var n uint64
	v.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(metaSeq); len(b) == 8 {
			n = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return n
}

// RaiseSeq makes the device's next sequence number higher than n, so that a
// vault restored from a backup never gives a number twice.
func (v *Vault) RaiseSeq(n uint64) error {
	return v.Update(func(tx *Tx) error {
		if s := tx.peekSeq() - 1; s < n {
			tx.seq = n
		}
		return nil
	})
}

// ApplyOwn takes back revisions this device wrote that its vault lost (it
// was restored from a backup): each must carry this device's own signature.
// They are stored as written, not queued again. It returns how many were
// new.
func (v *Vault) ApplyOwn(revs []*record.Revision) (int, error) {
	id, err := v.Identity()
	if err != nil {
		return 0, err
	}
	n := 0
	err = v.Update(func(tx *Tx) error {
		n = 0
		for _, r := range revs {
			if r.Device != v.deviceID || !r.VerifySig(id.SigningPublicKey()) {
				return fmt.Errorf("%w: the server returned a revision as this device's that this device did not sign", ErrQuarantined)
			}
			isNew, err := tx.Apply(r)
			if err != nil {
				return err
			}
			if isNew {
				n++
			}
		}
		return nil
	})
	return n, err
}

// LastSeqOf is the highest sequence number of device's revisions this vault
// holds (0 for none).
func (v *Vault) LastSeqOf(device string) (uint64, error) {
	var n uint64
	err := v.AllRevisions(func(r *record.Revision) error {
		if r.Device == device {
			n = max(n, r.Seq)
		}
		return nil
	})
	return n, err
}
