package pgstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// A newer schema than the binary knows is refused; instances starting
// together migrate once.
func TestSchemaVersions(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pgstore.Open(ctx, url, pgstore.Options{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, max int
	if err := conn.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_version").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != pgstore.SchemaVersion() || max != pgstore.SchemaVersion() {
		t.Errorf("schema_version has %d rows up to %d, want %d", n, max, pgstore.SchemaVersion())
	}
	if _, err := conn.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')", max+1); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, url, pgstore.Options{}); !errors.Is(err, pgstore.ErrSchemaNewer) {
		t.Errorf("Open of a newer schema = %v, want ErrSchemaNewer", err)
	}
	if _, err := pgstore.Open(ctx, "mysql://x", pgstore.Options{}); !errors.Is(err, pgstore.ErrBadURL) {
		t.Errorf("Open(mysql://) = %v, want ErrBadURL", err)
	}
}

// fill writes a bit of everything through server.Tx.
func fill(t *testing.T, st server.Store) {
	t.Helper()
	ts := time.Date(2026, 3, 1, 9, 0, 0, 123000, time.UTC)
	err := st.Update(context.Background(), func(tx server.Tx) error {
		if err := tx.SetRecovery("age1pq1recovery"); err != nil {
			return err
		}
		for range 3 {
			if _, err := tx.BumpRosterVersion(); err != nil {
				return err
			}
		}
		if err := tx.InsertTeam(server.Team{ID: "T1", Name: "North", Created: ts}); err != nil {
			return err
		}
		if err := tx.InsertUser(server.User{ID: "U1", Name: "Ada", Role: "caseworker", TeamID: "T1", Created: ts}); err != nil {
			return err
		}
		if err := tx.SetAgency(ed25519.PublicKey(bytes.Repeat([]byte{5}, ed25519.PublicKeySize))); err != nil {
			return err
		}
		for i := range 3 {
			st := trust.Statement{Kind: trust.KindTeam, Issued: ts, Team: fmt.Sprintf("T%d", i), Name: fmt.Sprintf("team %d", i)}
			s := trust.Signed{Body: st.Marshal(), Signer: trust.SignerAgency, Sig: bytes.Repeat([]byte{byte(i)}, 64)}
			if _, err := tx.InsertStatement(s); err != nil {
				return err
			}
			if _, err := tx.AppendLog(transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()}, ts); err != nil {
				return err
			}
		}
		if err := tx.SetTeamPolicy("T1", []byte(`{"capacity":9}`), 2); err != nil {
			return err
		}
		if err := tx.InsertDevice(server.Device{ID: "D1", UserID: "U1", Name: "laptop", Recipient: "age1pq1x", SigningKey: []byte{1, 2},
			TokenHash: sha256.Sum256([]byte("tok")), Enrolled: ts, LastSeen: ts.Add(time.Hour), Grant: "G1"}); err != nil {
			return err
		}
		if err := tx.SetRotationOwed("C1", 1); err != nil {
			return err
		}
		for c := range 3 {
			caseID := fmt.Sprintf("C%d", c)
			if err := tx.PutCase(server.Case{ID: caseID, TeamID: "T1", Members: []string{"U1"}, Created: ts, Transcription: c == 2, KeyEpoch: uint32(c)}); err != nil {
				return err
			}
			var parent []record.RevID
			for i := range 4 {
				recID := fmt.Sprintf("R%d", c)
				if i == 0 {
					if err := tx.InsertRecord(server.RecordInfo{ID: recID, CaseID: caseID, Kind: record.KindNote}); err != nil {
						return err
					}
				}
				r := &record.Revision{RecordID: recID, Kind: record.KindNote, CaseID: caseID, Parents: parent, Generation: uint64(i + 1),
					HLC: record.HLC(i << 16), Device: "D1", Seq: uint64(c*4 + i + 1), Body: []byte(fmt.Sprintf("sealed %d %d", c, i))}
				r.Seal()
				parent = []record.RevID{r.Rev}
				if err := tx.InsertRevision(r); err != nil {
					return err
				}
				if _, err := tx.AppendLog(transparency.RevisionEntry(r), ts.Add(time.Duration(c*4+i)*time.Millisecond)); err != nil {
					return err
				}
				target := ""
				if i == 3 {
					target = "U9"
				}
				if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: caseID, Target: target}); err != nil {
					return err
				}
			}
			data := []byte(fmt.Sprintf("chunk of case %d", c))
			if err := tx.InsertBlob(caseID, sha256.Sum256(data), data); err != nil {
				return err
			}
		}
		if err := tx.SetAckedSeq("D1", 10); err != nil {
			return err
		}
		head := transparency.Entry{Kind: transparency.KindAuditHead, CaseID: "C1", Device: "D1", Seq: 3, Head: [32]byte{3}, Sig: bytes.Repeat([]byte{3}, 64)}
		if _, err := tx.AppendLog(head, ts); err != nil {
			return err
		}
		for _, c := range []server.Cosignature{{Size: 4, Name: "fieldcase-witness.D1", Sig: "AAAA", Time: ts}, {Size: 16, Name: "fieldcase-witness.D1", Sig: "BBBB", Time: ts}} {
			if err := tx.AddCosignature(c); err != nil {
				return err
			}
		}
		return tx.AddPendingSeq("D1", 12)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot is everything server.Tx can read, for comparing two stores.
type snapshot struct {
	meta       server.Meta
	statements []trust.Signed
	teams      []server.Team
	users      []server.User
	devices    []server.Device
	rotations  []server.Rotation
	ownRevs    []*record.Revision
	cases      []server.Case
	records    []server.RecordInfo
	caseRevs   [][]record.RevID
	revs       [][]byte
	changes    []server.Change
	acked      uint64
	blobs      [][]byte
	log        []server.LogLeaf
	logHashes  []tlog.Hash
	revLog     []server.LogLeaf
	cosigs     []server.Cosignature
}

func read(t *testing.T, st server.Store) snapshot {
	t.Helper()
	var s snapshot
	err := st.View(context.Background(), func(tx server.Tx) (err error) {
		if s.meta, err = tx.Meta(); err != nil {
			return err
		}
		if s.teams, err = tx.Teams(); err != nil {
			return err
		}
		if s.users, err = tx.Users(); err != nil {
			return err
		}
		if s.devices, err = tx.Devices(); err != nil {
			return err
		}
		if s.statements, err = tx.Statements(); err != nil {
			return err
		}
		if s.rotations, err = tx.RotationsOwed(); err != nil {
			return err
		}
		if s.ownRevs, err = tx.DeviceRevisions("D1", 2, 100); err != nil {
			return err
		}
		for c := range 3 {
			cs, err := tx.Case(fmt.Sprintf("C%d", c))
			if err != nil {
				return err
			}
			s.cases = append(s.cases, cs)
			ri, err := tx.Record(fmt.Sprintf("R%d", c))
			if err != nil {
				return err
			}
			s.records = append(s.records, ri)
			revs, err := tx.CaseRevisions(cs.ID)
			if err != nil {
				return err
			}
			s.caseRevs = append(s.caseRevs, revs)
			for _, id := range revs {
				r, err := tx.Revision(id)
				if err != nil {
					return err
				}
				b, _ := r.MarshalBinary()
				s.revs = append(s.revs, b)
			}
			data := []byte(fmt.Sprintf("chunk of case %d", c))
			b, err := tx.Blob(cs.ID, sha256.Sum256(data))
			if err != nil {
				return err
			}
			s.blobs = append(s.blobs, b)
		}
		if s.changes, err = tx.Changes(0, 1000); err != nil {
			return err
		}
		if s.log, err = tx.LogEntries(0, 1000); err != nil {
			return err
		}
		idx := make([]int64, tlog.StoredHashCount(int64(len(s.log))))
		for i := range idx {
			idx[i] = int64(i)
		}
		if s.logHashes, err = tx.ReadHashes(idx); err != nil {
			return err
		}
		var revs []record.RevID
		for _, l := range s.log {
			if e, _ := transparency.UnmarshalEntry(l.Data); e.Kind == transparency.KindRevision {
				revs = append(revs, e.Rev)
			}
		}
		if s.revLog, err = tx.RevisionLog(revs); err != nil {
			return err
		}
		if s.cosigs, err = tx.LastCosignatures(); err != nil {
			return err
		}
		s.acked, err = tx.AckedSeq("D1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compare checks that b holds a's data, apart from the epoch (new in a
// copy) and change log numbers (renumbered, order kept).
func compare(t *testing.T, a, b snapshot) {
	t.Helper()
	if a.meta.ServerID != b.meta.ServerID || a.meta.Recovery != b.meta.Recovery || a.meta.RosterVersion != b.meta.RosterVersion ||
		!a.meta.Created.Truncate(time.Microsecond).Equal(b.meta.Created.Truncate(time.Microsecond)) || !a.meta.Agency.Equal(b.meta.Agency) || a.meta.Agency == nil {
		t.Errorf("meta %+v, want %+v", b.meta, a.meta)
	}
	if a.meta.Epoch == b.meta.Epoch {
		t.Errorf("the copy kept epoch %s: want a new one", a.meta.Epoch)
	}
	eq := func(what string, x, y any) {
		t.Helper()
		if fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", y) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, y, x)
		}
	}
	eq("teams", a.teams, b.teams)
	eq("users", a.users, b.users)
	eq("devices", a.devices, b.devices)
	eq("statements", a.statements, b.statements)
	eq("rotations", a.rotations, b.rotations)
	if len(a.ownRevs) != 10 || len(b.ownRevs) != len(a.ownRevs) {
		t.Errorf("D1's revisions after 2: %d, want %d (and 10)", len(b.ownRevs), len(a.ownRevs))
	}
	for i := range min(len(a.ownRevs), len(b.ownRevs)) {
		if a.ownRevs[i].Rev != b.ownRevs[i].Rev {
			t.Errorf("D1's revision %d differs", i)
		}
	}
	eq("cases", a.cases, b.cases)
	eq("records", a.records, b.records)
	eq("case revisions", a.caseRevs, b.caseRevs)
	eq("acked", a.acked, b.acked)
	// The transparency log is copied as it is: every leaf at its index,
	// with its time, every stored hash, its key, the cosignatures.
	if len(a.log) != 16 {
		t.Errorf("the source log has %d entries, want 16", len(a.log))
	}
	eq("log", a.log, b.log)
	eq("log hashes", a.logHashes, b.logHashes)
	eq("revisions' log entries", a.revLog, b.revLog)
	eq("cosignatures", a.cosigs, b.cosigs)
	if a.meta.LogSKey != b.meta.LogSKey || a.meta.LogVKey != b.meta.LogVKey || a.meta.LogVKey == "" {
		t.Errorf("log key %q, want %q", b.meta.LogVKey, a.meta.LogVKey)
	}
	if !slices.EqualFunc(a.revs, b.revs, bytes.Equal) || !slices.EqualFunc(a.blobs, b.blobs, bytes.Equal) {
		t.Error("revision or blob bytes differ")
	}
	if len(a.changes) != len(b.changes) {
		t.Fatalf("%d changes, want %d", len(b.changes), len(a.changes))
	}
	for i := range a.changes {
		x, y := a.changes[i], b.changes[i]
		x.Seq, y.Seq = 0, 0
		if x != y || (i > 0 && b.changes[i].Seq <= b.changes[i-1].Seq) {
			t.Errorf("change %d = %+v, want %+v in increasing order", i, b.changes[i], a.changes[i])
		}
	}
}

// bbolt → PostgreSQL (migrate, restore) and PostgreSQL → bbolt backup →
// PostgreSQL again: nothing lost, each copy a new epoch, and a second
// import into a used database refused.
func TestMoveStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bs, err := boltstore.Open(filepath.Join(dir, "src", boltstore.FileName), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, bs)
	want := read(t, bs)
	bs.Close()

	pg := open(t)
	counts, err := pgstore.ImportBolt(ctx, filepath.Join(dir, "src", boltstore.FileName), pg)
	if err != nil {
		t.Fatalf("ImportBolt: %v", err)
	}
	wantCounts := pgstore.Counts{Statements: 3, Teams: 1, Users: 1, Devices: 1, Cases: 3, Records: 3, Revisions: 12, Changes: 12, Acks: 1, Pending: 1, Rotations: 1, Blobs: 3, BlobBytes: 3 * 15,
		LogEntries: 16, Cosignatures: 2}
	if counts != wantCounts {
		t.Errorf("ImportBolt counts %+v, want %+v", counts, wantCounts)
	}
	got := read(t, pg)
	compare(t, want, got)
	// New appends land after the imported log.
	update(t, pg, func(tx server.Tx) error {
		_, err := tx.AppendChange(server.Change{Rev: revID(9), CaseID: "C0"})
		return err
	})
	if chs := eventually(t, pg, want.changes[len(want.changes)-1].Seq, 1); len(chs) != 1 || chs[0].Rev != revID(9) {
		t.Errorf("changes after the imported log = %+v, want the new one", chs)
	}
	if _, err := pgstore.ImportBolt(ctx, filepath.Join(dir, "src", boltstore.FileName), pg); !errors.Is(err, pgstore.ErrNotEmpty) {
		t.Errorf("import into a used database = %v, want ErrNotEmpty", err)
	}

	// PostgreSQL → bbolt backup: boltstore opens it and finds the same.
	bk := filepath.Join(dir, "backup.db")
	if err := pg.Backup(ctx, bk); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := pg.Backup(ctx, bk); !errors.Is(err, server.ErrExists) {
		t.Errorf("Backup over a file = %v, want ErrExists", err)
	}
	restored := filepath.Join(dir, "restored", boltstore.FileName)
	if err := boltstore.Restore(bk, restored); err != nil {
		t.Fatalf("boltstore.Restore of a PostgreSQL backup: %v", err)
	}
	rb, err := boltstore.Open(restored, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromBackup := read(t, rb)
	rb.Close()
	got.changes = append(got.changes, server.Change{Rev: revID(9), CaseID: "C0"})
	compare(t, got, fromBackup)
	for i, ch := range fromBackup.changes {
		if ch.Seq != uint64(i+1) {
			t.Errorf("backup change %d has seq %d, want renumbered from 1", i, ch.Seq)
		}
	}

	// …and into a new PostgreSQL database.
	pg2 := open(t)
	if _, err := pgstore.ImportBolt(ctx, bk, pg2); err != nil {
		t.Fatalf("restore into PostgreSQL: %v", err)
	}
	compare(t, got, read(t, pg2))

	if _, err := pgstore.ImportBolt(ctx, filepath.Join(dir, "nope.db"), open(t)); err == nil {
		t.Error("import of a missing file succeeded")
	}
}

// A change log restored into a cluster whose transaction ids are behind its
// numbers: new entries are still numbered above it.
func TestLogAheadOfCluster(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st := openURL(t, url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const far = int64(1) << 50
	if _, err := conn.Exec(ctx, "INSERT INTO changes (seq, rev, case_id) VALUES ($1, $2, 'C')", far, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openURL(t, url)
	var seq uint64
	update(t, st, func(tx server.Tx) (err error) {
		seq, err = tx.AppendChange(server.Change{Rev: revID(1), CaseID: "C"})
		return err
	})
	if seq <= uint64(far) {
		t.Fatalf("new seq %d is not above the restored log's %d", seq, far)
	}
	if chs := eventually(t, st, 0, 2); len(chs) != 2 || chs[1].Seq != seq {
		t.Errorf("changes = %+v", chs)
	}
	epoch := read2(t, st).Epoch
	if e, err := st.NewEpoch(ctx); err != nil || e == epoch || read2(t, st).Epoch != e {
		t.Errorf("NewEpoch = %q, %v (was %q)", e, err, epoch)
	}
}

// eventually reads the changes after a cursor until there are n: an entry
// shows once every older transaction of the cluster has ended, and other
// tests' transactions run beside this one.
func eventually(t *testing.T, st server.Store, after uint64, n int) []server.Change {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		chs, _ := changes(t, st, after)
		if len(chs) >= n || time.Now().After(deadline) {
			return chs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func read2(t *testing.T, st server.Store) server.Meta {
	t.Helper()
	var m server.Meta
	if err := st.View(context.Background(), func(tx server.Tx) (err error) { m, err = tx.Meta(); return }); err != nil {
		t.Fatal(err)
	}
	return m
}

func openBoltRW(path string) (*bolt.DB, error) { return bolt.Open(path, 0o600, nil) }

// toFormat2 takes a bbolt store back to format 2: no log, no log key.
func toFormat2(db *bolt.DB) error {
	return db.Update(func(btx *bolt.Tx) error {
		for _, b := range boltstore.Layout.Log() {
			if err := btx.DeleteBucket(b); err != nil {
				return err
			}
		}
		m := btx.Bucket(boltstore.Layout.Meta)
		for _, k := range [][]byte{boltstore.MetaKeys.LogSize, boltstore.MetaKeys.LogSKey, boltstore.MetaKeys.LogVKey} {
			if err := m.Delete(k); err != nil {
				return err
			}
		}
		return m.Put(boltstore.MetaKeys.Format, binary.BigEndian.AppendUint64(nil, 2))
	})
}
