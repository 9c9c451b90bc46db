package faultproxy_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
)

// An echo server behind the TCP proxy: frozen, nothing comes back (on an
// open connection or a new one); thawed, what was held arrives.
func TestTCPFreeze(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	p, err := faultproxy.NewTCP(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(c net.Conn, msg string, wait time.Duration) (string, error) {
		if _, err := c.Write([]byte(msg)); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, len(msg))
		n, err := io.ReadFull(c, buf)
		return string(buf[:n]), err
	}
	if got, err := echo(c, "one", 5*time.Second); got != "one" || err != nil {
		t.Fatalf("before freezing: got %q, %v; want one", got, err)
	}

	p.Freeze()
	if got, err := echo(c, "two", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("frozen: got %q, %v; want nothing", got, err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, err := echo(c2, "new", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("frozen, new connection: got %q, %v; want nothing", got, err)
	}

	p.Thaw()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "two" {
		t.Fatalf("thawed: got %q, %v; want the held two", buf, err)
	}
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "new" {
		t.Fatalf("thawed, new connection: got %q, %v; want new", buf, err)
	}
}
