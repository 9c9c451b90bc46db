package client

// SetTestHookAfterSetMembers lets client_test interrupt Assign between the
// server's membership change and the key rotation; it returns the undo.
func SetTestHookAfterSetMembers(f func() error) (undo func()) {
	testHookAfterSetMembers = f
	return func() { testHookAfterSetMembers = nil }
}

// SkipLog makes s sync without the log's checks: a benchmark's baseline.
func SkipLog(s *Syncer) { s.noLog = true }

// SetPageSizes sets how many revisions s pushes and pulls at a time, so a
// test can have many pages without many revisions.
func SetPageSizes(s *Syncer, push, pull int) { s.pushSize, s.pullSize = push, pull }

// SetBlobBatch sets how many audio chunks go in one upload or download
// request; it returns the undo. Only for tests that are not parallel.
func SetBlobBatch(n int) (undo func()) {
	old := blobBatch
	blobBatch = n
	return func() { blobBatch = old }
}
