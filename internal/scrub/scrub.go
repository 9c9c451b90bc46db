package scrub

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// maxRun bounds one write of zeros.
const maxRun = 1 << 20

// FreePages overwrites every page on db's freelist with zeros inside a
// write transaction (no writer can allocate one meanwhile), syncs the file
// unless noSync, then runs then (if not nil) in the same transaction: a
// caller clears its "scrub owed" mark there, so the mark goes only once the
// zeros are on disk. It returns how many pages it zeroed.
//
// The caller must make sure that no read transaction of db is open, and
// none starts until FreePages returns: bbolt counts the pages an open
// reader may still read (pending) as free too, and zeroing them would
// change what that reader sees. With no reader open, the write transaction
// releases every pending page when it begins.
func FreePages(db *bolt.DB, noSync bool, then func(*bolt.Tx) error) (int, error) {
	var n int
	err := db.Update(func(tx *bolt.Tx) error {
		// Free pages, in runs of consecutive ids, read before this
		// transaction writes anything (its own writes come at commit).
		var runs [][2]int // first id, count
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				break // the high-water mark
			}
			if info.Type != "free" {
				continue
			}
			n++
			if l := len(runs); l > 0 && runs[l-1][0]+runs[l-1][1] == id {
				runs[l-1][1]++
			} else {
				runs = append(runs, [2]int{id, 1})
			}
		}
		if len(runs) > 0 {
			if err := zero(db.Path(), db.Info().PageSize, runs, noSync); err != nil {
				return fmt.Errorf("zeroing free pages: %w", err)
			}
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
	return n, err
}

func zero(path string, pageSize int, runs [][2]int, noSync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	zeros := make([]byte, min(maxRun, pageSize*maxRunPages(runs)))
	for _, r := range runs {
		off, left := int64(r[0])*int64(pageSize), int64(r[1])*int64(pageSize)
		for left > 0 {
			w := min(left, int64(len(zeros)))
			if _, err := f.WriteAt(zeros[:w], off); err != nil {
				return err
			}
			off, left = off+w, left-w
		}
	}
	if noSync {
		return f.Close()
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func maxRunPages(runs [][2]int) int {
	m := 0
	for _, r := range runs {
		m = max(m, r[1])
	}
	return m
}
