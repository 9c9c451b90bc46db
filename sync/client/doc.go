// Package client is a device's side of sync: an HTTP client for the case
// server (over go-retryablehttp, the one place where retries and backoff
// live) and a Syncer that pushes the vault's outbox, pulls the team's
// changes, and keeps case keyrings wrapped to the team roster.
//
// Every request carries a context and is safe to repeat: the server is
// idempotent per revision, the outbox clears only on acknowledgement, and a
// pulled page is stored with its cursor in one transaction.
package client
