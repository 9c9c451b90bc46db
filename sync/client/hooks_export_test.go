package client

// SetTestHookAfterSetMembers lets client_test interrupt Assign between the
// server's membership change and the key rotation; it returns the undo.
func SetTestHookAfterSetMembers(f func() error) (undo func()) {
	testHookAfterSetMembers = f
	return func() { testHookAfterSetMembers = nil }
}

// SkipLog makes s sync without the log's checks: a benchmark's baseline.
func SkipLog(s *Syncer) { s.noLog = true }
