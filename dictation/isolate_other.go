//go:build !linux

package dictation

import (
	"errors"
	"syscall"
)

// isolate cannot cut a command off from the network here.
func isolate(*syscall.SysProcAttr) bool { return false }

// IsolationWorks says why a recogniser cannot be cut off from the network
// here.
func IsolationWorks() error { return errors.New("network isolation needs Linux namespaces") }
