// Package servertest drives a case server from tests: a minimal protocol
// client (enrol, push, pull, revs-diff, roster, blobs) and a writer that
// makes valid revisions with opaque bodies. It is not the sync client.
package servertest
