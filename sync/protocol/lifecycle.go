package protocol

import "github.com/fieldcase/fieldcase/trust"

// PathLifecycle takes a legal hold, a hold's release or a destruction
// approval that a supervisor's device signed (POST, LifecycleRequest).
const PathLifecycle = "/v1/lifecycle"

// LifecycleRequest carries one lifecycle statement (trust.KindHold,
// KindRelease or KindDestroy) signed by the sending device.
type LifecycleRequest struct {
	Statement trust.Signed `json:"statement"`
}

// LifecycleResponse says what the statement did: the roster version it
// made, and whether the case is now destroyed on the server.
type LifecycleResponse struct {
	RosterVersion uint64 `json:"roster_version"`
	Destroyed     bool   `json:"destroyed,omitempty"`
	Held          bool   `json:"held,omitempty"`
}
