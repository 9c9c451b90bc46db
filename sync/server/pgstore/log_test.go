package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/storetest"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Two server instances on one database append to the log at once: it stays
// dense, in commit order, and the reference tree of its leaves.
func TestLogTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	storetest.ConcurrentLogAppends(t, openURL(t, url), openURL(t, url))
}

// verifyLog runs server.VerifyLog and fails on any problem.
func verifyLog(t *testing.T, st server.Store) server.LogReport {
	t.Helper()
	var rep server.LogReport
	if err := st.View(context.Background(), func(tx server.Tx) (err error) { rep, err = server.VerifyLog(tx); return }); err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("VerifyLog: %q", rep.Problems)
	}
	return rep
}

// leaves reads the log's entries.
func leaves(t *testing.T, st server.Store) []transparency.Entry {
	t.Helper()
	var out []transparency.Entry
	err := st.View(context.Background(), func(tx server.Tx) error {
		ls, err := tx.LogEntries(0, 1000)
		for _, l := range ls {
			e, err := transparency.UnmarshalEntry(l.Data)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A database of schema 3 (before the log) with statements, revisions and a
// change log: migration 4 makes the log's key, named after the server, and
// logs the statements in the order stored, then the revisions in the
// change log's order.
func TestMigrateSchema3(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for v, name := range []string{"0001_init.sql", "0002_team_policy_transcription.sql", "0003_signed_statements.sql"} {
		sql, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, $2)`, v+1, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO meta (server_id, epoch, created) VALUES ('01SERVER3', '01E', now())`); err != nil {
		t.Fatal(err)
	}
	var want []transparency.Entry
	for i := range 2 {
		s := trust.Signed{Body: []byte(fmt.Sprintf("statement %d", i)), Signer: trust.SignerAgency, Sig: bytes.Repeat([]byte{byte(i)}, 64)}
		if _, err := conn.Exec(ctx, `INSERT INTO statements (id, body, signer, sig) VALUES ($1, $2, $3, $4)`, s.ID(), s.Body, s.Signer, s.Sig); err != nil {
			t.Fatal(err)
		}
		want = append(want, transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()})
	}
	var revs []*record.Revision
	for i := range 4 {
		r := &record.Revision{RecordID: fmt.Sprintf("R%d", i), Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D1", Seq: uint64(i + 1), Body: []byte{byte(i)}}
		r.Seal()
		enc, _ := r.MarshalBinary()
		if _, err := conn.Exec(ctx, `INSERT INTO revisions (rev, case_id, data, device, seq) VALUES ($1, $2, $3, $4, $5)`, r.Rev[:], r.CaseID, enc, r.Device, int64(r.Seq)); err != nil {
			t.Fatal(err)
		}
		revs = append(revs, r)
	}
	// The change log has them in another order than stored, and one twice.
	for i, k := range []int{2, 0, 3, 1, 2} {
		if _, err := conn.Exec(ctx, `INSERT INTO changes (seq, rev, case_id) VALUES ($1, $2, 'C1')`, i+1, revs[k].Rev[:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []int{2, 0, 3, 1} {
		want = append(want, transparency.RevisionEntry(revs[k]))
	}
	st := openURL(t, url)
	got := leaves(t, st)
	if len(got) != len(want) {
		t.Fatalf("log after migration 4: %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Marshal(), want[i].Marshal()) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	verifyLog(t, st)
	m := read2(t, st)
	if _, err := transparency.NewLogKey(m.LogSKey, m.LogVKey); err != nil || !bytes.HasPrefix([]byte(m.LogVKey), []byte(server.LogKeyName("01SERVER3")+"+")) {
		t.Errorf("log key %q: %v", m.LogVKey, err)
	}
	// Opening again changes nothing.
	st.Close()
	st = openURL(t, url)
	if m2 := read2(t, st); m2.LogSKey != m.LogSKey || len(leaves(t, st)) != len(want) {
		t.Errorf("reopening changed the log or its key")
	}
}

// A bbolt store of format 2 (before the log) imports with a log of what it
// holds and a key named after its server id, as boltstore's upgrade would
// give it.
func TestImportFormat2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, boltstore.FileName)
	bs, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, bs)
	serverID := read2(t, bs).ServerID
	bs.Close()
	// Back to format 2: no log, no key, no cosignatures.
	db, err := openBoltRW(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := toFormat2(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	pg := open(t)
	counts, err := pgstore.ImportBolt(context.Background(), path, pg)
	if err != nil {
		t.Fatalf("importing format 2: %v", err)
	}
	if counts.LogEntries != 3+12 || counts.Cosignatures != 0 {
		t.Errorf("counts = %+v: want a log of 3 statements and 12 revisions", counts)
	}
	rep := verifyLog(t, pg)
	if rep.Statements != 3 || rep.Revisions != 12 {
		t.Errorf("VerifyLog = %+v", rep)
	}
	if m := read2(t, pg); m.ServerID != serverID || !bytes.HasPrefix([]byte(m.LogVKey), []byte(server.LogKeyName(serverID)+"+")) {
		t.Errorf("meta after import = %+v", m)
	}
}

// A store closed and opened again (a restarted server) has the same log,
// proves its entries, and appends after it.
func TestLogReopen(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st := openURL(t, url)
	ref := &storetest.RefLog{}
	add := func(st server.Store, from, n int) {
		t.Helper()
		update(t, st, func(tx server.Tx) error {
			for i := from; i < from+n; i++ {
				e := transparency.Entry{Kind: transparency.KindStatement, Statement: fmt.Sprintf("s%d", i)}
				if got, err := tx.AppendLog(e, time.Now()); err != nil || got != int64(i) {
					return fmt.Errorf("append %d: index %d, %v", i, got, err)
				}
				if err := ref.Append(e.Marshal()); err != nil {
					return err
				}
			}
			return nil
		})
	}
	add(st, 0, 21)
	st.Close()
	st = openURL(t, url)
	add(st, 21, 6)
	err := st.View(ctx, func(tx server.Tx) error {
		root, err := tlog.TreeHash(27, tx)
		want, _ := tlog.TreeHash(27, ref)
		if err != nil || root != want {
			return fmt.Errorf("root after reopening = %v, %v; want %v", root, err, want)
		}
		for i := int64(0); i < 27; i++ {
			p, err := tlog.ProveRecord(27, i, tx)
			if err == nil {
				var h tlog.Hash
				if h, err = transparency.LeafHash(ref.Leaves[i]); err == nil {
					err = tlog.CheckRecord(p, 27, root, i, h)
				}
			}
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
