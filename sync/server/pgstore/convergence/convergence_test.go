package convergence_test

import (
	"os"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(syncharness.Main(m)) }

// TestConvergenceTwoInstances is sync/client's TestConvergence over
// PostgreSQL with two fieldcased processes: every round each device syncs
// through the other instance (each behind its own fault proxy), and
// instances are killed mid-sync. At the end every device holds exactly the
// revisions it may see, with the heads of the whole revision graph.
//
// Seeded: FIELDCASE_SEED=n replays a run.
func TestConvergenceTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	syncharness.Convergence(t, syncharness.StartPostgresServers(t, url, 2), 10, 7, faultproxy.Config{
		DropRequest: 0.05, DropResponse: 0.05, Unavailable: 0.05, RetryAfter: 0.3, Truncate: 0.05,
		Delay: 0.1, DelayMax: 20 * time.Millisecond})
}
