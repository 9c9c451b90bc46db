package escrow_test

import (
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/trust"
)

// BenchmarkDeposit measures what the escrow service spends on one deposit
// against a roster of 500 laptops (the statements the laptop sends judged
// — once per distinct set, then kept —, its signature checked, a
// write-once bbolt commit), as a ratio to evaluating that roster alone in
// the same process.
func BenchmarkDeposit(b *testing.B) {
	const devices, n = 500, 20
	ak, err := trust.GenerateAgencyKey()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var ss []trust.Signed
	sign := func(st trust.Statement) { st.Issued = now; ss = append(ss, ak.Sign(st)) }
	sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	var first *crypto.Identity
	for i := range devices {
		u := fmt.Sprintf("u%03d", i)
		sign(trust.Statement{Kind: trust.KindUser, User: u, Name: u, Role: trust.RoleCaseworker, Team: "north", Version: 1})
		c := trust.NewCode(ak.Public())
		sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: u, Key: c.Key().Public().(ed25519.PublicKey), Expires: now.Add(time.Hour)})
		id, err := crypto.NewIdentity()
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = id
		}
		ss = append(ss, trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "d" + u, Name: u,
			Recipient: id.Recipient(), Key: id.SigningPublicKey(), Grant: c.GrantID(), Issued: now}))
	}
	st, err := escrow.Open(filepath.Join(b.TempDir(), "escrow.db"), false)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := &escrow.Service{Store: st, Agency: ak.Public()}
	rec, _ := crypto.NewIdentity()
	reqs := make([]escrow.DepositRequest, n)
	for i := range reqs {
		caseID, salt := trust.NewCaseID("du000", now)
		k, _ := crypto.NewIdentity()
		w, _ := crypto.WrapEscrow(k, caseID, rec.Recipient())
		d := escrow.Deposit{CaseID: caseID, Device: "du000", Salt: salt, Recipient: k.Recipient(), Wrapped: w}
		d.Sign(first.Sign)
		reqs[i] = escrow.DepositRequest{Deposit: d, Statements: ss}
	}
	for b.Loop() {
		t0 := time.Now()
		for range n {
			trust.Evaluate(ak.Public(), ss)
		}
		base := time.Since(t0)
		t0 = time.Now()
		for _, r := range reqs {
			if _, err := svc.Deposit(r); err != nil {
				b.Fatal(err)
			}
		}
		dep := time.Since(t0)
		b.ReportMetric(float64(dep)/float64(base), "deposit/evaluate")
		b.ReportMetric(float64(dep.Milliseconds())/n, "ms/deposit")
		b.ReportMetric(float64(len(ss)), "statements")
	}
}
