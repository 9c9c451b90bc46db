package trust

// Tests encrypt agency key files with a cheap work factor; the format and
// the code path are the same.
func init() { agencyWorkFactor = 12 }
