package faultproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
)

// A proxy that loses every answer: the server does the work, the client
// never hears of it.
func Example() {
	var served atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "stored")
	}))
	defer backend.Close()

	p, err := faultproxy.New(faultproxy.Config{Target: backend.URL, Seed: 1, DropResponse: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	_, err = http.Post(p.URL()+"/v1/sync/push", "application/octet-stream", nil)
	fmt.Println("client error:", err != nil)
	fmt.Println("server handled:", served.Load())
	fmt.Printf("%+v\n", p.Counts())
	// Output:
	// client error: true
	// server handled: 1
	// {Requests:1 Forwarded:1 DroppedReq:0 DroppedResp:1 Unavailable:0 Truncated:0 Delayed:0 TransportErrs:0}
}
