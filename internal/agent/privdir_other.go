//go:build !unix

package agent

// privateDir relies on the directory's permissions where ownership cannot
// be read.
func privateDir(string) error { return nil }
