//go:build !linux

package dictation

import "syscall"

// isolate cannot cut a command off from the network here.
func isolate(*syscall.SysProcAttr) bool { return false }
