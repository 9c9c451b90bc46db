package main

import (
	"context"
	benc "encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
)

// logShow runs `fieldcased log show --json`.
func logShow(t *testing.T, dir string, args ...string) server.LogInfo {
	t.Helper()
	var info server.LogInfo
	out := mustRun(t, dir, append(args, "log", "show", "--json")...)
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("log show --json: %v\n%s", err, out)
	}
	return info
}

// `fieldcased log show` and `log verify`, running and stopped: the log the
// devices see, its witnesses; a backup restored keeps it; a damaged store
// fails verify with the one error path.
func TestLogCommands(t *testing.T) {
	t.Parallel() // its own data directory, database and server processes
	ctx := context.Background()
	dir := dataDir(t)
	p := serve(t, dir)
	c, w := setup(t, dir, p, "ada")
	key := agencyKey(t, dir)
	mustRun(t, dir, "user", "add", "sam", "--role", "supervisor", "--team", "north", "--agency-key", key)
	sam, _ := enrol(t, dir, p, "sam", "sam-laptop")
	resp, err := c.Push(ctx, nil, append(w.NewCase("C1"), w.Rev(record.KindNote, "C1", record.NewID()))...)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := sam.Log(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sam.Witness(ctx, lr.Checkpoint); err != nil {
		t.Fatal(err)
	}

	// Running: through the socket.
	info := logShow(t, dir)
	cp, _, err := transparency.Open(lr.Checkpoint, info.Key)
	if err != nil || info.Size != cp.Size || info.Origin != cp.Origin || info.Fingerprint != server.LogKeyFingerprint(info.Key) ||
		len(info.Witnesses) != 1 || info.Witnesses[0].Device != "sam-laptop" || info.Witnesses[0].User != "sam" {
		t.Fatalf("log show = %+v (checkpoint %+v, %v)", info, cp, err)
	}
	if resp.Results[2].Receipt.Verify(info.Key) != nil {
		t.Error("a receipt does not verify with the key log show prints")
	}
	table := mustRun(t, dir, "log", "show")
	for _, want := range []string{info.Root, info.Fingerprint, "sam-laptop", "COSIGNED ENTRIES"} {
		if !strings.Contains(table, want) {
			t.Errorf("log show does not say %q:\n%s", want, table)
		}
	}
	if out := mustRun(t, dir, "log", "verify"); !strings.Contains(out, "every stored hash and the root match") || !strings.Contains(out, info.Root) {
		t.Errorf("log verify printed:\n%s", out)
	}
	bk := filepath.Join(dataDir(t), "backup.db")
	mustRun(t, dir, "backup", "--out", bk)
	p.stop(t)

	// Stopped: on the store; restored: the same log.
	if got := logShow(t, dir); got.Root != info.Root || got.Key != info.Key {
		t.Errorf("log show while stopped = %+v, want %+v", got, info)
	}
	dir2 := dataDir(t)
	mustRun(t, dir2, "restore", "--from", bk)
	if got := logShow(t, dir2); got.Root != info.Root || got.Size != info.Size || got.Key != info.Key || len(got.Witnesses) != 1 {
		t.Errorf("log of the restored store = %+v, want %+v", got, info)
	}
	mustRun(t, dir2, "log", "verify")

	// Damaged: a stored hash changed behind the server's back.
	db, err := bolt.Open(filepath.Join(dir2, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(boltstore.Layout.LogHashes).Put(benc.BigEndian.AppendUint64(nil, 0), make([]byte, 32))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, errOut, code := fieldcased(t, dir2, "log", "verify")
	if code == 0 || !strings.Contains(out, "problem: stored hash 0") ||
		!strings.HasPrefix(errOut, "fieldcased: the transparency log does not check out") || !strings.Contains(errOut, "hint:") {
		t.Errorf("log verify of a damaged store: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep server.LogReport
	out, _, code = fieldcased(t, dir2, "log", "verify", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code == 0 || len(rep.Problems) == 0 {
		t.Errorf("log verify --json of a damaged store: exit %d, %+v, %v", code, rep, err)
	}
}
