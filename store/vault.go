package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Errors a caller can act on.
var (
	ErrNotVault        = errors.New("not a fieldcase vault")
	ErrCorrupt         = errors.New("vault is damaged")
	ErrInUse           = errors.New("vault is open in another fieldcase process")
	ErrExists          = errors.New("a vault already exists there")
	ErrNoVault         = errors.New("no vault there")
	ErrLocked          = errors.New("vault is locked")
	ErrWrongPassphrase = crypto.ErrWrongPassphrase
	ErrNotFound        = errors.New("not found")
	ErrNoKey           = errors.New("this device holds no key for that case")
	ErrConflict        = errors.New("record is in conflict")
	ErrNewerFormat     = errors.New("vault was written by a newer fieldcase")
)

const formatName = "fieldcase-vault"

// formatVersion is the vault layout version. A vault with a higher version
// is refused, never half-read; a format-1 vault is migrated on its first
// unlock (see migrate). Format 2 authenticates what the vault trusts
// (auth.go).
const formatVersion = 2

var (
	bucketMeta    = []byte("meta")
	bucketRevs    = []byte("revs")
	bucketHeads   = []byte("heads")
	bucketHasKids = []byte("haskids")
	bucketOutbox  = []byte("outbox")
	bucketDrafts  = []byte("drafts")
	allBuckets    = [][]byte{bucketMeta, bucketRevs, bucketHeads, bucketHasKids, bucketOutbox, bucketDrafts}

	metaFormat    = []byte("format")
	metaVersion   = []byte("version")
	metaVaultID   = []byte("vault")
	metaDevice    = []byte("device")
	metaIdentity  = []byte("identity")
	metaRecipient = []byte("recipient")
	metaKeyring   = []byte("keyring")
	metaSeq       = []byte("seq")
	metaHLC       = []byte("hlc")
	metaCreated   = []byte("created")
	metaProfile   = []byte("profile")
	metaDemo      = []byte("demo")
	// metaScrub marks free pages that may hold what a destruction removed:
	// set in the destruction's transaction, cleared once they are zeroed
	// (destroy.go). Not authenticated: someone who can edit the file
	// before the zeroing can read those pages anyway.
	metaScrub = []byte("scrub")
	// metaRecords counts records, so unlock sizes its maps once.
	metaRecords = []byte("records")
)

// Options tune how a vault is opened or created.
type Options struct {
	// WorkFactor is the scrypt work factor for a new vault's passphrase.
	// Zero means crypto.DefaultWorkFactor; tests lower it.
	WorkFactor int
	// LockWait is how long Open waits for another process to release the
	// vault. Zero means one second.
	LockWait time.Duration
	// Program names the opener in the lock-owner note ("fieldcase tui").
	Program string
	// ReadOnly opens the file without write access.
	ReadOnly bool
	// Now is the wall clock the vault's hybrid logical clock reads; nil is
	// time.Now. Tests give devices wrong clocks with it.
	Now func() time.Time
	// Demo marks a new vault as holding demo data, so its passphrase may be
	// shown on the unlock screen. The mark is public: demo data is not secret.
	Demo bool
}

// Vault is an open vault file. It starts locked; Unlock decrypts the working
// set. A Vault is safe for concurrent use.
type Vault struct {
	db   *bolt.DB
	path string
	opts Options

	vaultID  string
	deviceID string
	demo     bool
	format   uint64 // the file's format version; formatVersion once unlocked read-write

	wmu sync.Mutex // serialises writers so seq/clock/working-set updates stay in order

	// dbmu is held for reading by every bbolt transaction (view, update)
	// and for writing only while free pages are zeroed (scrubFree), which
	// must see no reader open. It is taken for writing with TryLock only,
	// so a reader nested in another never waits behind a waiting writer.
	dbmu sync.RWMutex

	// kmu is held for reading by everything that decrypts with the keys,
	// for the whole decryption, and for writing by Lock, which wipes them:
	// a key is never wiped under a reader's feet. locking asks long readers
	// (LoadNotes) to stop early so a lock does not wait for them.
	kmu     sync.RWMutex
	locking atomic.Bool

	// The search snapshot (sindex.go): snapMu runs one checkpoint at a
	// time, snapRunning marks a background one, snapWG lets Lock wait for
	// it; snapEpoch counts removals of cases, so a checkpoint captured
	// before one is not written after it.
	snapMu      sync.Mutex
	snapRunning atomic.Bool
	snapWG      sync.WaitGroup
	snapEpoch   atomic.Uint64

	mu       sync.RWMutex // guards the unlocked state below
	id       *crypto.Identity
	keys     *crypto.Keyring
	vaultKey *crypto.CaseKey
	clock    *record.Clock
	profile  Profile
	ws       *workingSet
	timings  UnlockTimings
	roster   *trust.Roster // what the statements prove; nil until asked for, or after they change
}

// Profile is what the device knows of its user, sealed in the vault.
type Profile struct {
	Name   string     `json:"name,omitempty"`
	UserID string     `json:"user_id,omitempty"`
	Team   string     `json:"team,omitempty"`
	Role   trust.Role `json:"role,omitempty"`
}

// DefaultPath is the vault path under the XDG data directory.
func DefaultPath() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = "."
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "fieldcase", "vault.db")
}

// Create makes a new vault at path, protected by passphrase, and returns it
// unlocked. It refuses to overwrite anything.
func Create(path, passphrase string, profile Profile, opts Options) (*Vault, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	wf := opts.WorkFactor
	if wf == 0 {
		wf = crypto.DefaultWorkFactor
	}
	id, err := crypto.NewIdentity()
	if err != nil {
		return nil, err
	}
	locked, err := crypto.LockIdentity(id, passphrase, wf)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating vault directory: %w", err)
	}
	// Write to a temporary name and rename, so a crash never leaves a
	// half-made file under the vault's name.
	tmp := path + ".creating"
	_ = os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("creating vault: %w", err)
	}
	vaultID, deviceID := record.NewID(), record.NewID()
	vaultKey := crypto.NewCaseKey(vaultID, 0)
	kr := crypto.NewKeyring()
	kr.Add(vaultKey)
	sealedKR, err := crypto.SealKeyring(kr, id)
	if err != nil {
		db.Close()
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		pb, err := json.Marshal(profile)
		if err != nil {
			return err
		}
		if opts.Demo {
			if err := m.Put(metaDemo, []byte{1}); err != nil {
				return err
			}
		}
		for k, v := range map[string][]byte{
			string(metaFormat):    []byte(formatName),
			string(metaVersion):   u64(formatVersion),
			string(metaVaultID):   []byte(vaultID),
			string(metaDevice):    []byte(deviceID),
			string(metaIdentity):  locked,
			string(metaRecipient): []byte(id.Recipient()),
			string(metaKeyring):   sealedKR,
			string(metaSeq):       u64(0),
			string(metaHLC):       u64(0),
			string(metaCreated):   []byte(time.Now().UTC().Format(time.RFC3339)),
			string(metaProfile):   crypto.Seal(vaultKey, profilePlace(vaultID), pb),
			string(metaRecords):   u64(0),
		} {
			if err := m.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return writeAuth(m, newVaultMAC(vaultKey), id, vaultID, true)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("creating vault: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("creating vault: %w", err)
	}
	v, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	if err := v.unlockWith(id); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Open opens the vault file at path, locked. It fails with ErrNoVault,
// ErrNotVault, ErrCorrupt, ErrNewerFormat or ErrInUse (naming the holder).
func Open(path string, opts Options) (v *Vault, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoVault, path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening vault: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%w: %s is a directory", ErrNotVault, path)
	}
	if err := precheck(path, st.Size()); err != nil {
		return nil, err
	}
	wait := opts.LockWait
	if wait == 0 {
		wait = time.Second
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: wait, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w%s", ErrInUse, describeHolder(path))
		}
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrVersionMismatch) {
			return nil, fmt.Errorf("%w: %s", ErrNotVault, path)
		}
		if errors.Is(err, bolt.ErrChecksum) {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("opening vault: %w", err)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	v = &Vault{db: db, path: path, opts: opts}
	if err := v.readHeader(); err != nil {
		db.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		writeHolder(path, opts.Program)
	}
	return v, nil
}

// precheck refuses files that cannot be a bbolt database before bbolt maps
// them: bbolt trusts its meta pages and a truncated file can fault on read.
func precheck(path string, size int64) error {
	if size == 0 {
		return fmt.Errorf("%w: %s is empty", ErrCorrupt, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening vault: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, 4096)
	n, _ := f.ReadAt(hdr, 0)
	hdr = hdr[:n]
	// bbolt's first page: 16-byte page header, then meta{magic 0xED0CDAED}.
	const magicOff = 16
	if len(hdr) < magicOff+4 || binary.LittleEndian.Uint32(hdr[magicOff:]) != 0xED0CDAED {
		return fmt.Errorf("%w: %s", ErrNotVault, path)
	}
	pageSize := int64(binary.LittleEndian.Uint32(hdr[magicOff+8:]))
	if pageSize < 1024 || pageSize > 1<<20 || size < 4*pageSize {
		return fmt.Errorf("%w: %s is truncated (%d bytes)", ErrCorrupt, path, size)
	}
	// Each of the two meta pages names the high-water mark of pages in use;
	// a file shorter than that was truncated.
	for _, off := range []int64{0, pageSize} {
		meta := make([]byte, 64)
		if _, err := f.ReadAt(meta, off+magicOff); err != nil {
			return fmt.Errorf("%w: %s is truncated (%d bytes)", ErrCorrupt, path, size)
		}
		if binary.LittleEndian.Uint32(meta) != 0xED0CDAED {
			continue // a torn meta page: bbolt falls back to the other one
		}
		hwm := int64(binary.LittleEndian.Uint64(meta[40:]))
		if hwm > size/pageSize {
			return fmt.Errorf("%w: %s is truncated (%d of %d bytes)", ErrCorrupt, path, size, hwm*pageSize)
		}
	}
	return nil
}

func (v *Vault) readHeader() error {
	return v.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil || string(m.Get(metaFormat)) != formatName {
			return fmt.Errorf("%w: %s", ErrNotVault, v.path)
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrCorrupt, b)
			}
		}
		ver := m.Get(metaVersion)
		if len(ver) != 8 {
			return fmt.Errorf("%w: no format version", ErrCorrupt)
		}
		v.format = binary.BigEndian.Uint64(ver)
		if v.format > formatVersion {
			return fmt.Errorf("%w (format %d)", ErrNewerFormat, v.format)
		}
		if v.format == 0 {
			return fmt.Errorf("%w: format version 0", ErrCorrupt)
		}
		v.demo = m.Get(metaDemo) != nil
		v.vaultID = string(m.Get(metaVaultID))
		v.deviceID = string(m.Get(metaDevice))
		if record.ValidID(v.vaultID) != nil || record.ValidID(v.deviceID) != nil {
			return fmt.Errorf("%w: bad vault or device id", ErrCorrupt)
		}
		return nil
	})
}

// IsDemo reports whether the vault was made to hold demo data.
func (v *Vault) IsDemo() bool { return v.demo }

// Path is the vault file's path.
func (v *Vault) Path() string { return v.path }

// Name is the vault's display name: its file name without extension.
func (v *Vault) Name() string {
	base := filepath.Base(v.path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// DeviceID is this device's id.
func (v *Vault) DeviceID() string { return v.deviceID }

// VaultID is this vault's id.
func (v *Vault) VaultID() string { return v.vaultID }

// Unlock decrypts the identity with passphrase (one scrypt), opens the
// keyring (one age decryption) and loads every record but notes; call
// LoadNotes (or LoadAll) for those. A wrong passphrase is ErrWrongPassphrase
// and leaves the vault locked.
func (v *Vault) Unlock(passphrase string) error {
	var locked []byte
	err := v.view(func(tx *bolt.Tx) error {
		locked = append([]byte(nil), tx.Bucket(bucketMeta).Get(metaIdentity)...)
		return nil
	})
	if err != nil {
		return err
	}
	t0 := time.Now()
	id, err := crypto.UnlockIdentity(locked, passphrase)
	if err != nil {
		if errors.Is(err, crypto.ErrWrongPassphrase) {
			return ErrWrongPassphrase
		}
		return fmt.Errorf("%w: identity: %v", ErrCorrupt, err)
	}
	scrypt := time.Since(t0)
	// scrypt's 256 MiB work buffer is garbage now: give it back to the OS
	// rather than let the heap keep it for the session.
	debug.FreeOSMemory()
	if err := v.unlockWith(id); err != nil {
		return err
	}
	v.mu.Lock()
	v.timings.Passphrase = scrypt
	v.mu.Unlock()
	return nil
}

// ErrNotThisIdentity is UnlockIdentity's answer to an identity that is not
// this vault's device identity.
var ErrNotThisIdentity = errors.New("that identity is not this vault's")

// UnlockIdentity unlocks with the device identity already unwrapped (by an
// unlock agent that was given the passphrase earlier): no scrypt. It must
// be this vault's identity (ErrNotThisIdentity).
func (v *Vault) UnlockIdentity(id *crypto.Identity) error {
	var recipient string
	err := v.view(func(tx *bolt.Tx) error {
		recipient = string(tx.Bucket(bucketMeta).Get(metaRecipient))
		return nil
	})
	if err != nil {
		return err
	}
	if id == nil || id.Recipient() != recipient {
		return ErrNotThisIdentity
	}
	return v.unlockWith(id)
}

// UnlockTimings says where the last unlock spent its time.
type UnlockTimings struct {
	Passphrase time.Duration // scrypt: unwrapping the identity
	Keyring    time.Duration // one age decryption of every case key
	Load       time.Duration // reading heads, decrypting cases, consents, tasks
	// LoadNotes: notes taken from the search snapshot, and decrypted (and
	// indexed) because the snapshot lacked them.
	NotesFromSnapshot, NotesDecrypted int
}

// Timings reports the last unlock's phases.
func (v *Vault) Timings() UnlockTimings {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.timings
}

func (v *Vault) unlockWith(id *crypto.Identity) error {
	var sealedKR, hlc, sealedProfile, krSig []byte
	err := v.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		sealedKR = append([]byte(nil), m.Get(metaKeyring)...)
		hlc = append([]byte(nil), m.Get(metaHLC)...)
		sealedProfile = append([]byte(nil), m.Get(metaProfile)...)
		krSig = append([]byte(nil), m.Get(metaKeyringSig)...)
		return nil
	})
	if err != nil {
		return err
	}
	t0 := time.Now()
	// The keyring cache is an age file to the device's public recipient,
	// which anyone can write: only this device's signature makes it ours.
	if v.format >= 2 && !crypto.Verify(id.SigningPublicKey(), keyringSigMsg(v.vaultID, sealedKR), krSig) {
		return fmt.Errorf("%w: keyring cache is not signed by this device", ErrCorrupt)
	}
	kr, err := crypto.OpenKeyring(sealedKR, id)
	if err != nil {
		return fmt.Errorf("%w: keyring: %v", ErrCorrupt, err)
	}
	tKeyring := time.Since(t0)
	vk := kr.Get(v.vaultID, 0)
	if vk == nil {
		return fmt.Errorf("%w: vault key missing", ErrCorrupt)
	}
	var prof Profile
	if len(sealedProfile) == 0 {
		return fmt.Errorf("%w: profile missing", ErrCorrupt)
	}
	place := profilePlace(v.vaultID)
	if v.format < 2 {
		place = profilePlaceV1(v.vaultID)
		if _, err := crypto.Open(vk, profilePlace(v.vaultID), sealedProfile); err == nil {
			// A migrated vault whose version was set back: migrating
			// again would bless whatever was edited since.
			return fmt.Errorf("%w: vault says format %d but was migrated to format 2", ErrCorrupt, v.format)
		}
	}
	pb, err := crypto.Open(vk, place, sealedProfile)
	if err != nil || json.Unmarshal(pb, &prof) != nil {
		return fmt.Errorf("%w: profile", ErrCorrupt)
	}
	if v.format < formatVersion && !v.opts.ReadOnly {
		if err := v.migrate(id, vk); err != nil {
			return fmt.Errorf("migrating vault to format %d: %w", formatVersion, err)
		}
		v.format = formatVersion
	}
	var last record.HLC
	if len(hlc) == 8 {
		last = record.HLC(binary.BigEndian.Uint64(hlc))
	}
	v.mu.Lock()
	v.id, v.keys, v.vaultKey, v.profile = id, kr, vk, prof
	v.clock = record.NewClockWith(last, v.opts.Now)
	v.ws = newWorkingSet()
	v.mu.Unlock()
	t1 := time.Now()
	if err := v.loadSmall(); err != nil {
		v.Lock()
		return err
	}
	v.dropMapped()
	v.mu.Lock()
	v.timings = UnlockTimings{Keyring: tKeyring, Load: time.Since(t1)}
	v.mu.Unlock()
	return nil
}

// Unlocked reports whether the vault is unlocked.
func (v *Vault) Unlocked() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.id != nil
}

// Lock drops the identity, the keys and the decrypted working set from
// memory. The file stays open; Unlock reopens it.
func (v *Vault) Lock() {
	// What the search snapshot lacks is written first, unless that is so
	// little that decrypting it at the next unlock is cheaper than writing
	// the whole snapshot again (a failed write leaves the older one, which
	// the next unlock brings up to date).
	if v.lockCheckpointDue() {
		_ = v.checkpoint()
	}
	v.locking.Store(true)
	defer v.locking.Store(false)
	v.wmu.Lock()
	defer v.wmu.Unlock()
	v.kmu.Lock() // waits for every reader still decrypting
	defer v.kmu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		v.keys.Wipe()
	}
	if v.ws != nil {
		v.ws.wipe()
	}
	v.id, v.keys, v.vaultKey, v.ws, v.clock = nil, nil, nil, nil, nil
	v.profile = Profile{}
	debug.FreeOSMemory()
}

// Close locks the vault and closes the file.
func (v *Vault) Close() error {
	v.Lock()
	v.snapWG.Wait() // a background checkpoint ends once locked
	if !v.opts.ReadOnly {
		removeHolder(v.path)
	}
	return v.db.Close()
}

// Profile is the user's profile as stored in the vault.
func (v *Vault) Profile() Profile {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.profile
}

// SetProfile replaces the stored profile.
func (v *Vault) SetProfile(p Profile) error {
	pb, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return v.Update(func(tx *Tx) error {
		tx.after = append(tx.after, func() { v.profile = p })
		return tx.btx.Bucket(bucketMeta).Put(metaProfile, crypto.Seal(tx.vaultKey, profilePlace(v.vaultID), pb))
	})
}

// ChangePassphrase rewraps the identity under a new passphrase. The old one
// must be given: a forgotten passphrase cannot be reset on the device.
func (v *Vault) ChangePassphrase(old, new string) error {
	var locked []byte
	if err := v.view(func(tx *bolt.Tx) error {
		locked = append([]byte(nil), tx.Bucket(bucketMeta).Get(metaIdentity)...)
		return nil
	}); err != nil {
		return err
	}
	id, err := crypto.UnlockIdentity(locked, old)
	if err != nil {
		return err
	}
	wf := v.opts.WorkFactor
	if wf == 0 {
		wf = crypto.DefaultWorkFactor
	}
	relocked, err := crypto.LockIdentity(id, new, wf)
	if err != nil {
		return err
	}
	return v.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaIdentity, relocked)
	})
}

// Recipient is the device's public age recipient: the unlocked identity's
// when unlocked, else as the file says (checked at the next unlock).
func (v *Vault) Recipient() (string, error) {
	if id, err := v.Identity(); err == nil {
		return id.Recipient(), nil
	}
	var r string
	err := v.view(func(tx *bolt.Tx) error {
		r = string(tx.Bucket(bucketMeta).Get(metaRecipient))
		return nil
	})
	return r, err
}

// Identity returns the unlocked device identity (for signing and unwrapping
// keys pulled from a server).
func (v *Vault) Identity() (*crypto.Identity, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.id == nil {
		return nil, ErrLocked
	}
	return v.id, nil
}

// withKeys runs fn with the keys, holding them against Lock until fn
// returns. ErrLocked when the vault is locked.
func (v *Vault) withKeys(fn func(keys *crypto.Keyring, vaultKey *crypto.CaseKey) error) error {
	v.kmu.RLock()
	defer v.kmu.RUnlock()
	v.mu.RLock()
	keys, vk := v.keys, v.vaultKey
	v.mu.RUnlock()
	if keys == nil {
		return ErrLocked
	}
	return fn(keys, vk)
}

// view runs fn in a read transaction; a bbolt panic on a damaged file
// becomes ErrCorrupt.
func (v *Vault) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	v.dbmu.RLock()
	defer v.dbmu.RUnlock()
	return v.db.View(fn)
}

func (v *Vault) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	v.dbmu.RLock()
	defer v.dbmu.RUnlock()
	return wrapWriteErr(v.db.Update(fn))
}

// recoverCorrupt turns a panic inside bbolt (it panics on some damaged
// pages) into ErrCorrupt. Memory faults while reading the map are turned
// into panics by debug.SetPanicOnFault in the calling goroutine.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// ErrDiskFull and ErrReadOnly classify a failed write; the caller keeps the
// user's text and says why.
var (
	ErrDiskFull = errors.New("disk is full")
	ErrReadOnly = errors.New("vault is read-only")
)

func wrapWriteErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrReassigned) {
		return err // says "read-only" of a case, not of the disk
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "no space left"), strings.Contains(s, "file too large"), strings.Contains(s, "disk quota"):
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	case strings.Contains(s, "read-only"), errors.Is(err, bolt.ErrDatabaseReadOnly), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %v", ErrReadOnly, err)
	}
	return err
}
