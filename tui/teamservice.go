package tui

import (
	"context"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// TeamService is the TUI's link to the case server for supervisor work. The
// team view itself is read from the vault (client.StoredTeam keeps the last
// one fetched), so the team screen opens offline; these calls need the
// server and fail with an error wrapping client.ErrOffline when it cannot be
// reached.
type TeamService interface {
	// Refresh fetches the team view from the server and keeps it in the
	// vault.
	Refresh(ctx context.Context) (*protocol.TeamView, error)
	// Stored is the team view kept from the last fetch, nil when none.
	Stored() (*protocol.TeamView, error)
	// Assign adds and removes members of a case (user names); removing
	// rotates the case key.
	Assign(ctx context.Context, caseID string, add, remove []string) (*protocol.TeamCase, error)
	// SetPolicy replaces the team's weighting policy; version is the
	// policy version the edit started from (a stale one is refused).
	SetPolicy(ctx context.Context, p record.Policy, version int) (int, error)
}
