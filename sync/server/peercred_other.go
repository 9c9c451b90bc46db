//go:build !linux

package server

import "net"

// peerCheckListener relies on the socket file's mode where peer credentials
// are not checked.
func peerCheckListener(ln net.Listener) net.Listener { return ln }
