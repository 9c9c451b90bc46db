package client_test

import (
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
)

// TestConvergence: caseworkers and a supervisor of one team (and a
// caseworker of another) edit at random offline and sync in random order
// through a proxy that drops connections, loses answers, answers 503,
// truncates and delays, while the server is killed and restarted mid-sync.
// At the end every device holds exactly the revisions it may see — nothing
// lost, nothing extra — and every record's heads are those of the whole
// revision graph (syncharness.Convergence).
//
// Seeded: FIELDCASE_SEED=n replays a run.
func TestConvergence(t *testing.T) {
	syncharness.Convergence(t, []*syncharness.Server{syncharness.StartServer(t)}, 12, 6, faultproxy.Config{
		DropRequest: 0.06, DropResponse: 0.06, Unavailable: 0.06, RetryAfter: 0.3, Truncate: 0.06,
		Delay: 0.1, DelayMax: 20 * time.Millisecond})
}
