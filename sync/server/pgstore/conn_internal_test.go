//go:build linux

package pgstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

// The database URL's connection settings, and the options that win over
// them, reach the pool and the sockets.
func TestConnSettings(t *testing.T) {
	base := pgtest.URL(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	tests := []struct {
		name        string
		query       string
		opts        Options
		connect     time.Duration
		idle, intvl time.Duration
		count       int
		user        time.Duration // 0: not set
	}{
		{"defaults", "", Options{}, DefaultConnectTimeout, DefaultKeepAlive, DefaultKeepAlive, 3, DefaultTCPUserTimeout},
		{"URL", "connect_timeout=7&keepalives_idle=11&keepalives_interval=4&keepalives_count=5&tcp_user_timeout=3000",
			Options{}, 7 * time.Second, 11 * time.Second, 4 * time.Second, 5, 3 * time.Second},
		{"options over URL", "connect_timeout=7&keepalives_idle=11&tcp_user_timeout=3000",
			Options{ConnectTimeout: 2 * time.Second, KeepAlive: 6 * time.Second, TCPUserTimeout: 9 * time.Second},
			2 * time.Second, 6 * time.Second, 6 * time.Second, 3, 9 * time.Second},
		{"turned off in the URL", "tcp_user_timeout=0", Options{}, DefaultConnectTimeout, DefaultKeepAlive, DefaultKeepAlive, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := base
			if tc.query != "" {
				u += sep + tc.query
			}
			s, err := Open(context.Background(), u, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.pool.Config().ConnConfig.ConnectTimeout; got != tc.connect {
				t.Errorf("connect timeout %v, want %v", got, tc.connect)
			}
			c, err := s.pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release()
			tcp, ok := c.Conn().PgConn().Conn().(*net.TCPConn)
			if !ok {
				t.Fatalf("connection is a %T, want TCP (the test server's URL names 127.0.0.1)", c.Conn().PgConn().Conn())
			}
			rc, err := tcp.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var keep, idle, intvl, count, user int
			var serr error
			rc.Control(func(fd uintptr) {
				get := func(level, opt int, v *int) {
					if serr == nil {
						*v, serr = unix.GetsockoptInt(int(fd), level, opt)
					}
				}
				get(unix.SOL_SOCKET, unix.SO_KEEPALIVE, &keep)
				get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, &idle)
				get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, &intvl)
				get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT, &count)
				get(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, &user)
			})
			if serr != nil {
				t.Fatal(serr)
			}
			got := []int{keep, idle, intvl, count, user}
			want := []int{1, int(tc.idle / time.Second), int(tc.intvl / time.Second), tc.count, int(tc.user / time.Millisecond)}
			for i, name := range []string{"SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_USER_TIMEOUT"} {
				if got[i] != want[i] {
					t.Errorf("%s = %d, want %d", name, got[i], want[i])
				}
			}
		})
	}
}

// A bad value of a parameter the dialer reads is refused by name, without
// quoting the URL (which may hold a password).
func TestBadConnParams(t *testing.T) {
	for _, q := range []string{"keepalives_idle=soon", "keepalives_interval=-1", "keepalives_count=0", "tcp_user_timeout=1.5"} {
		_, err := Open(context.Background(), "postgres://fieldcased:s3cret@127.0.0.1:1/fieldcase?"+q, Options{})
		name, _, _ := strings.Cut(q, "=")
		if !errors.Is(err, ErrBadParam) || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want ErrBadParam naming %s and not the password", q, err, name)
		}
	}
}
