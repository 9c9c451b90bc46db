package convergence_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

// Behind pgbouncer in transaction pooling, fieldcased refuses pgx's
// default query mode (whose cached prepared statements another server
// connection does not have) with a message that says what to change;
// whether pgbouncer hands out its most recently released server connection
// (its default) or spreads the load over them (server_round_robin).
func TestPgbouncerDefaultModeRefused(t *testing.T) {
	bin, err := testbin.Path("fieldcased", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{"server_round_robin = 0", "server_round_robin = 1"} {
		bouncer := pgtest.Pgbouncer(t, pgtest.URL(t), 4, setting)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--no-tls")
		cmd.Env = append(os.Environ(), "FIELDCASED_DB="+bouncer)
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Errorf("%s: fieldcased serve behind pgbouncer in the default mode did not refuse to start (%v):\n%s", setting, err, out)
			continue
		}
		for _, want := range []string{"transaction pooling", "default_query_exec_mode=cache_describe"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: fieldcased serve said:\n%s\nwant it to mention %q", setting, out, want)
			}
		}
	}
}

// With default_query_exec_mode=cache_describe in the URL, two instances
// behind pgbouncer in transaction pooling serve devices that push and pull
// through them.
func TestPgbouncerCacheDescribe(t *testing.T) {
	bouncer := pgtest.Pgbouncer(t, pgtest.URL(t), 4)
	{
		servers := syncharness.StartPostgresServers(t, bouncer+"&default_query_exec_mode=cache_describe", 2)
		a := servers[0].NewDevice("a", servers[0].URL, "u1", "caseworker", "t1")
		b := servers[1].NewDevice("b", servers[1].URL, "u1", "caseworker", "t1")
		caseID, err := a.V.CreateCase(record.Case{Ref: "REF-1", Subject: "Subject"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.V.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-20", Text: "from a"}); err != nil {
			t.Fatal(err)
		}
		a.MustSync()
		b.MustSync()
		if _, err := b.V.AddNote(caseID, record.Note{Kind: "phone", Date: "2026-11-21", Text: "from b"}); err != nil {
			t.Fatal(err)
		}
		b.MustSync()
		a.MustSync()
		ra, rb := a.Revs(), b.Revs()
		if len(ra) < 3 || len(ra) != len(rb) {
			t.Fatalf("a holds %d revisions, b %d: want the same, at least the case and two notes", len(ra), len(rb))
		}
		for rev := range ra {
			if !rb[rev] {
				t.Errorf("b lacks %x, which a holds", rev)
			}
		}
	}
}
