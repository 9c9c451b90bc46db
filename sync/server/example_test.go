package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

// A server on a bbolt store: the agency's public key is installed, the
// administrator signs a team, a caseworker and an enrolment grant with the
// agency key (the code's secret never reaches the server); the
// caseworker's laptop enrols with the code, pushes a new case and pulls it
// back; her desktop, enrolled with a pairing code the laptop made, pulls
// it too.
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
	agency, _ := servertest.NewAgency() // offline, in fieldcased's own process
	admin := server.NewAdmin(st)
	admin.SetAgency(ctx, agency.Public(), false)
	code, grant := agency.Grant("U1", 24*time.Hour)
	if _, err := admin.AddStatements(ctx, []trust.Signed{
		agency.Team("T1", "north"), agency.User("U1", "ada", protocol.RoleCaseworker, "T1"), grant,
	}); err != nil {
		panic(err)
	}

	laptop, enrolled, err := servertest.Enroll(ctx, ts.URL, nil, code.String(), "ada-laptop")
	if err != nil {
		panic(err)
	}
	fmt.Println("enrolled as", enrolled.UserName, "with", len(enrolled.Roster.Statements), "signed statements")

	w := laptop.Writer()
	resp, _ := laptop.Push(ctx, nil, w.NewCase(record.NewID())...)
	for _, r := range resp.Results {
		fmt.Println("pushed:", r.Status)
	}
	own, _, _ := laptop.PullAll(ctx, "")
	fmt.Println("the laptop pulls", len(own), "revisions (it wrote them); acked up to", resp.AckedSeq)
	pairing, err := laptop.Pair(ctx, "U1", agency.Key.Public(), time.Hour)
	if err != nil {
		panic(err)
	}
	desktop, _, _ := servertest.Enroll(ctx, ts.URL, nil, pairing.String(), "ada-desktop")
	revs, _, _ := desktop.PullAll(ctx, "")
	fmt.Println("her desktop pulls", len(revs))
	// Output:
	// enrolled as ada with 4 signed statements
	// pushed: stored
	// pushed: stored
	// the laptop pulls 0 revisions (it wrote them); acked up to 2
	// her desktop pulls 2
}
