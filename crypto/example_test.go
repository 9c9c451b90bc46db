package crypto_test

import (
	"fmt"

	"github.com/fieldcase/fieldcase/crypto"
)

// A case key is wrapped to a device, unwrapped there, and opens a note sealed
// for one place only.
func Example() {
	device, _ := crypto.NewIdentity()
	key := crypto.NewCaseKey("case-1", 1)
	wrapped, _ := crypto.WrapKey(key, device.Recipient())

	got, _ := crypto.UnwrapKey(wrapped, device, "case-1", 1)
	place := crypto.Place{CaseID: "case-1", RecordID: "note-1", Purpose: crypto.PurposeRecord}
	sealed := crypto.Seal(key, place, []byte("visit: all well"))

	plain, err := crypto.Open(got, place, sealed)
	fmt.Println(string(plain), err)

	moved := crypto.Place{CaseID: "case-1", RecordID: "note-2", Purpose: crypto.PurposeRecord}
	_, err = crypto.Open(got, moved, sealed)
	fmt.Println(err)
	// Output:
	// visit: all well <nil>
	// sealed data does not open (wrong key, tampered, or moved)
}
