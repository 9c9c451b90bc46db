// Package peercred admits to a Unix socket only this process's user (and
// root), by the peer's credentials (SO_PEERCRED), on top of the socket
// file's mode.
package peercred

import (
	"net"
	"os"
	"syscall"
)

// Listener admits only connections from this process's user or root
// (SO_PEERCRED), on top of the socket file's 0600 mode.
func Listener(ln net.Listener) net.Listener {
	return &peerListener{Listener: ln, uid: uint32(os.Getuid())}
}

type peerListener struct {
	net.Listener
	uid uint32
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.allowed(c) {
			return c, nil
		}
		c.Close()
	}
}

func (l *peerListener) allowed(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return cred.Uid == l.uid || cred.Uid == 0
}
