package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// A server on a bbolt store: an admin adds a team and a caseworker and makes
// an enrolment code; the caseworker's laptop enrols, pushes a new case and
// pulls it back.
func Example() {
	dir, _ := os.MkdirTemp("", "fieldcased-example")
	defer os.RemoveAll(dir)
	st, err := boltstore.Open(filepath.Join(dir, boltstore.FileName), boltstore.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	srv, err := server.New(server.Config{Store: st})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	ctx := context.Background()
	admin := server.NewAdmin(st)
	admin.AddTeam(ctx, "north")
	admin.AddUser(ctx, "ada", protocol.RoleCaseworker, "north")
	code, _ := admin.NewEnrollCode(ctx, "ada", 0)

	laptop, enrolled, err := servertest.Enroll(ctx, ts.URL, nil, code.Code, "ada-laptop")
	if err != nil {
		panic(err)
	}
	fmt.Println("enrolled as", enrolled.UserName, "in team", enrolled.Team)

	w := &servertest.Writer{Device: "ada-laptop"}
	resp, _ := laptop.Push(ctx, nil, w.NewCase(record.NewID())...)
	for _, r := range resp.Results {
		fmt.Println("pushed:", r.Status)
	}
	own, _, _ := laptop.PullAll(ctx, "")
	fmt.Println("the laptop pulls", len(own), "revisions (it wrote them); acked up to", resp.AckedSeq)
	code2, _ := admin.NewEnrollCode(ctx, "ada", 0)
	desktop, _, _ := servertest.Enroll(ctx, ts.URL, nil, code2.Code, "ada-desktop")
	revs, _, _ := desktop.PullAll(ctx, "")
	fmt.Println("her desktop pulls", len(revs))
	// Output:
	// enrolled as ada in team north
	// pushed: stored
	// pushed: stored
	// the laptop pulls 0 revisions (it wrote them); acked up to 2
	// her desktop pulls 2
}

func ExampleNormalizeEnrollCode() {
	// People type codes as they hear them.
	n, err := server.NormalizeEnrollCode("k7qd 3mxa p2vh")
	fmt.Println(n, err)
	_, err = server.NormalizeEnrollCode("K7QD-3MXA")
	fmt.Println(err)
	// Output:
	// K7QD3MXAP2VH <nil>
	// not an enrolment code
}
