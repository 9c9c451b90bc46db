package escrow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/scrub"
	"github.com/fieldcase/fieldcase/trust"
)

var (
	bucketDeposits   = []byte("deposits")   // case id → Deposit (JSON)
	bucketDestroyed  = []byte("destroyed")  // case id → when (RFC 3339)
	bucketStatements = []byte("statements") // statement id → trust.Signed (JSON): every one it was shown that counted
)

// ErrLocked means another process holds the escrow file.
var ErrLocked = errors.New("escrow file is in use by another process")

// Store is the escrow service's bbolt file. Its methods are safe for
// concurrent use; they run one at a time, so that zeroing free pages after
// a destruction never races a reader.
type Store struct {
	mu sync.Mutex
	db *bolt.DB
}

// Open opens (creating unless readOnly) the escrow file at path.
func Open(path string, readOnly bool) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: readOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, err
	}
	if !readOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketDeposits, bucketDestroyed, bucketStatements} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Put stores a verified deposit: once per case. The same deposit again is
// not an error (an answer was lost); a different one is ErrExists; one for
// a destroyed case is ErrDestroyed.
func (s *Store) Put(d Deposit) error {
	js, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketDestroyed).Get([]byte(d.CaseID)) != nil {
			return ErrDestroyed
		}
		b := tx.Bucket(bucketDeposits)
		if cur := b.Get([]byte(d.CaseID)); cur != nil {
			var old Deposit
			if err := json.Unmarshal(cur, &old); err != nil {
				return fmt.Errorf("%w: stored deposit of case %s", ErrMalformed, d.CaseID)
			}
			if !old.Same(d) {
				return ErrExists
			}
			return nil
		}
		return b.Put([]byte(d.CaseID), js)
	})
}

// Get returns a case's deposit: ErrDestroyed for a destroyed case,
// ErrNotFound for one never deposited.
func (s *Store) Get(caseID string) (Deposit, error) {
	var d Deposit
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDestroyed); b != nil && b.Get([]byte(caseID)) != nil {
			return ErrDestroyed
		}
		b := tx.Bucket(bucketDeposits)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(caseID))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &d); err != nil || d.CaseID != caseID {
			return fmt.Errorf("%w: stored deposit of case %s", ErrMalformed, caseID)
		}
		return nil
	})
	return d, err
}

// Len is how many deposits the file holds.
func (s *Store) Len() (int, error) {
	n := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketDeposits); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// Destroy deletes the cases' deposits and marks the cases destroyed (so
// no deposit of them is taken again), then zeroes the file's free pages,
// which still hold the deleted deposits' bytes. It returns how many
// deposits it deleted. The caller has checked the destructions' proof.
func (s *Store) Destroy(at time.Time, caseIDs ...string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, gone := tx.Bucket(bucketDeposits), tx.Bucket(bucketDestroyed)
		for _, c := range caseIDs {
			if b.Get([]byte(c)) != nil {
				had++
			}
			if err := b.Delete([]byte(c)); err != nil {
				return err
			}
			if err := gone.Put([]byte(c), []byte(at.UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// No reader is open: every method holds mu.
	if _, err := scrub.FreePages(s.db, false, nil); err != nil {
		return had, fmt.Errorf("zeroing the escrow file's free pages: %w", err)
	}
	return had, nil
}

// Backup writes a consistent copy of the file (bbolt's Tx.CopyFile, free
// pages included: they are zeroed after every destruction).
func (s *Store) Backup(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) })
}

// backupLayout is a backup's file name: the time it was taken, in UTC.
const backupLayout = "escrow-20060102T150405Z.db"

// BackupRotate writes a backup into dir named by now, then deletes the
// backups in dir older than keep (by the time in their names; other files
// are left alone). This is the escrow service's short backup retention:
// once every backup taken before a destruction is deleted, the destroyed
// case's escrow key is gone from them too. It returns the new backup's
// path and how many old ones it deleted.
func (s *Store) BackupRotate(dir string, now time.Time, keep time.Duration) (string, int, error) {
	path := filepath.Join(dir, now.UTC().Format(backupLayout))
	tmp := path + ".tmp"
	if err := s.Backup(tmp); err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return path, 0, err
	}
	n := 0
	for _, e := range ents {
		t, err := time.Parse(backupLayout, e.Name())
		if err != nil || e.IsDir() || !t.Before(now.Add(-keep)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return path, n, err
		}
		n++
	}
	return path, n, nil
}

// Statements lists every signed statement the service was shown that
// counted under the agency key (KeepStatements).
func (s *Store) Statements() ([]trust.Signed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []trust.Signed
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatements)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var sg trust.Signed
			if err := json.Unmarshal(v, &sg); err != nil || sg.ID() != string(k) {
				return fmt.Errorf("%w: statement %x in the escrow file", ErrMalformed, k)
			}
			out = append(out, sg)
			return nil
		})
	})
	return out, err
}

// KeepStatements adds to the file the statements of ss it does not hold.
// Statements are signed: keeping one can only add what the agency and its
// laptops said (a hold, a newer policy), never take anything away.
func (s *Store) KeepStatements(ss []trust.Signed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketStatements)
		if err != nil {
			return err
		}
		for _, sg := range ss {
			id := []byte(sg.ID())
			if b.Get(id) != nil {
				continue
			}
			js, err := json.Marshal(sg)
			if err != nil {
				return err
			}
			if err := b.Put(id, js); err != nil {
				return err
			}
		}
		return nil
	})
}
