// Package protocol is the wire contract between a fieldcase device and the
// case server (fieldcased): endpoints, message types, limits, and the binary
// batch format that carries revisions both ways.
//
// Every endpoint is safe to repeat: revisions are content-addressed, so a
// push retried after a lost answer stores nothing twice, and a page pulled
// twice applies as once. Revisions travel in their canonical binary encoding
// (record.Revision.MarshalBinary) inside a batch; small control messages are
// JSON. Requests carry the protocol version in a header; a server that speaks
// another version answers 426 with a reason.
package protocol
