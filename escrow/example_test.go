package escrow_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/trust"
)

// An escrow file takes one deposit per case and forgets it for good when
// the case is destroyed (the service checks the deposit's signature and
// the destruction's proof first: Service).
func Example() {
	dir, _ := os.MkdirTemp("", "escrow")
	defer os.RemoveAll(dir)
	st, err := escrow.Open(filepath.Join(dir, "escrow.db"), false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	caseID, salt := trust.NewCaseID("dev-ada", time.Now())
	escrowKey, _ := crypto.NewIdentity()
	recovery, _ := crypto.NewIdentity()
	wrapped, _ := crypto.WrapEscrow(escrowKey, caseID, recovery.Recipient())
	d := escrow.Deposit{CaseID: caseID, Device: "dev-ada", Salt: salt, Recipient: escrowKey.Recipient(), Wrapped: wrapped}
	fmt.Println("deposit:", st.Put(d))
	fmt.Println("the same again:", st.Put(d))

	got, _ := st.Get(caseID)
	k, _ := crypto.UnwrapEscrow(got.Wrapped, recovery, caseID)
	fmt.Println("the recovery identity opens it:", k.Recipient() == escrowKey.Recipient())

	st.Destroy(time.Now(), caseID)
	_, err = st.Get(caseID)
	fmt.Println("after the destruction:", errors.Is(err, escrow.ErrDestroyed))
	fmt.Println("deposit again:", st.Put(d))
	// Output:
	// deposit: <nil>
	// the same again: <nil>
	// the recovery identity opens it: true
	// after the destruction: true
	// deposit again: the case is destroyed
}
