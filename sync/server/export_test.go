package server

import (
	"time"

	"github.com/fieldcase/fieldcase/transparency"
)

// SkipLogAppends makes the server append nothing to the transparency log,
// answering index for every entry instead (0: receipts are still signed;
// -1: none are), for a benchmark's baseline. It returns what undoes it.
// Only tests see it, and no other test may run while it is in effect.
func SkipLogAppends(index int64) (undo func()) {
	old := appendLog
	appendLog = func(Tx, transparency.Entry, time.Time) (int64, error) { return index, nil }
	return func() { appendLog = old }
}
