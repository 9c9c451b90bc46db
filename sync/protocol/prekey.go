package protocol

import "github.com/fieldcase/fieldcase/trust"

// PathPreKey takes a device's new pre-key (trust.KindPreKey), signed by the
// device that sends it. POST.
const PathPreKey = "/v1/prekeys"

// PreKeyRequest carries a pre-key statement.
type PreKeyRequest struct {
	PreKey trust.Signed `json:"prekey"`
}
