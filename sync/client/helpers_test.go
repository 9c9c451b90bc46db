package client_test

import (
	"net"
	"net/http"
	"testing"
)

// serve runs h on a free loopback port and returns its base URL.
func serve(t *testing.T, srv *http.Server) (*http.Server, string) { return serveB(t, srv) }

// serveB is serve for benchmarks and tests alike.
func serveB(t testing.TB, srv *http.Server) (*http.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, "http://" + ln.Addr().String()
}
