package pgstore

// SetFencing turns the failover fence's checks on or off (benchmarks
// measure their cost against a store without them).
func SetFencing(s *Store, on bool) { s.fence.off.Store(!on) }
