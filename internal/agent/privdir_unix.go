//go:build unix

package agent

import (
	"fmt"
	"os"
	"syscall"
)

// privateDir refuses a socket directory that another user owns or others
// may enter: whoever can enter it could swap the socket for their own.
func privateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("agent socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("agent socket directory %s is not a directory of this user", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("agent socket directory %s is open to other users (mode %v); make it 0700", dir, fi.Mode().Perm())
	}
	return nil
}
