// Package netwatch tells when the machine's network changes — a link comes
// up, an address is added or removed, a route changes — so that a laptop
// back on a network can try its case server at once instead of at its next
// probe. On Linux it listens to the kernel's rtnetlink notifications (no
// service, no polling); elsewhere it tells nothing, and the sync runner's
// probes every few seconds are what remains.
package netwatch
