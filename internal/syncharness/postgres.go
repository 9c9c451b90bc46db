package syncharness

import (
	"testing"
)

// StartPostgresServers starts n fieldcased processes, each with its own data
// directory, over the one PostgreSQL database at url. FIELDCASED_DB is set
// for the rest of the test, so every server start (Restart included) and
// every administration command the harness runs uses that database.
func StartPostgresServers(t *testing.T, url string, n int) []*Server {
	t.Helper()
	t.Setenv("FIELDCASED_DB", url)
	servers := make([]*Server, n)
	for i := range servers {
		if i == 0 {
			servers[i] = StartServer(t)
		} else {
			servers[i] = startServer(t, servers[0], nil)
		}
	}
	return servers
}
