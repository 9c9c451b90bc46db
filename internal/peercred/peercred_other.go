//go:build !linux

package peercred

import "net"

// Listener relies on the socket file's mode where peer credentials
// are not checked.
func Listener(ln net.Listener) net.Listener { return ln }
