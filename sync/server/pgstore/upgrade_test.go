package pgstore_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/transparency"
)

// protocol1Revisions are what a store of protocol 1 holds: a case with
// keyrings of epochs 1 and 2, and a note by another device.
func protocol1Revisions() []*record.Revision {
	revs := []*record.Revision{
		{RecordID: "C1.k1", Kind: record.KindKeyring, CaseID: "C1", Generation: 1, Device: "D1", Seq: 1, Body: sealed.Keyring{Epoch: 1}.Marshal()},
		{RecordID: "C1.k2", Kind: record.KindKeyring, CaseID: "C1", Generation: 1, Device: "D1", Seq: 2, Body: sealed.Keyring{Epoch: 2}.Marshal()},
		{RecordID: "N1", Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D2", Seq: 7, Body: []byte("sealed")},
	}
	for _, r := range revs {
		r.Seal()
	}
	return revs
}

// checkUpgraded: the revisions are indexed by device and the case knows
// its key epoch.
func checkUpgraded(t *testing.T, st server.Store, revs []*record.Revision) {
	t.Helper()
	err := st.View(context.Background(), func(tx server.Tx) error {
		got, err := tx.DeviceRevisions("D1", 0, 10)
		if err != nil || len(got) != 2 || got[0].Rev != revs[0].Rev || got[1].Rev != revs[1].Rev {
			t.Errorf("D1's revisions = %d, %v", len(got), err)
		}
		if n, err := tx.DeviceMaxSeq("D2"); n != 7 || err != nil {
			t.Errorf("D2's max seq = %d, %v; want 7", n, err)
		}
		c, err := tx.Case("C1")
		if err != nil || c.KeyEpoch != 2 {
			t.Errorf("case = %+v, %v; want key epoch 2", c, err)
		}
		m, err := tx.Meta()
		if err != nil || m.Agency != nil {
			t.Errorf("meta = %+v, %v; want no agency key yet", m, err)
		}
		if _, err := transparency.NewLogKey(m.LogSKey, m.LogVKey); err != nil {
			t.Errorf("no log key: %v", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every revision is logged.
	if rep := verifyLog(t, st); rep.Revisions != int64(len(revs)) {
		t.Errorf("log = %+v, want its %d revisions", rep, len(revs))
	}
}

// A database of schema 2 (protocol 1) with revisions: migration 3 indexes
// them by device and gives cases their key epoch.
func TestMigrateSchema2(t *testing.T) {
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
	for v, name := range []string{"0001_init.sql", "0002_team_policy_transcription.sql"} {
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
	revs := protocol1Revisions()
	if _, err := conn.Exec(ctx, `INSERT INTO meta (server_id, epoch, created) VALUES ('01S', '01E', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO cases (id, team_id, members, created) VALUES ('C1', 'T1', '{U1}', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO enroll_codes (hash, user_id, created, expires) VALUES ('\x00', 'U1', now(), now())`); err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		enc, _ := r.MarshalBinary()
		if _, err := conn.Exec(ctx, `INSERT INTO revisions (rev, case_id, data) VALUES ($1, $2, $3)`, r.Rev[:], r.CaseID, enc); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO records (id, case_id, kind) VALUES ($1, $2, $3)`, r.RecordID, r.CaseID, string(r.Kind)); err != nil {
			t.Fatal(err)
		}
	}
	st := openURL(t, url)
	checkUpgraded(t, st, revs)
	var codes bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('enroll_codes') IS NOT NULL`).Scan(&codes); err != nil || codes {
		t.Errorf("enroll_codes after migration 3: %v, %v", codes, err)
	}
	// New revisions are indexed as they come.
	r := &record.Revision{RecordID: "N2", Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D2", Seq: 9, Body: []byte("x")}
	r.Seal()
	update(t, st, func(tx server.Tx) error { return tx.InsertRevision(r) })
	if err := st.View(ctx, func(tx server.Tx) error {
		got, err := tx.DeviceRevisions("D2", 7, 10)
		if err != nil || len(got) != 1 || got[0].Rev != r.Rev {
			t.Errorf("D2's revisions after 7 = %d, %v", len(got), err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// A bbolt store or backup of format 1 (protocol 1) imports: its enrolment
// codes are left behind, its revisions indexed, its cases given their key
// epochs.
func TestImportFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "format1.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	revs := protocol1Revisions()
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range append(boltstore.Layout.Format1(), []byte("enroll_codes")) {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		m := btx.Bucket(boltstore.Layout.Meta)
		created, _ := time.Now().UTC().MarshalText()
		for k, v := range map[string][]byte{"format": binary.BigEndian.AppendUint64(nil, 1), "server_id": []byte("01SERVER"), "epoch": []byte("01EPOCH"), "created": created} {
			if err := m.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if err := btx.Bucket([]byte("enroll_codes")).Put([]byte("hash"), []byte(`{}`)); err != nil {
			return err
		}
		if err := btx.Bucket(boltstore.Layout.Cases).Put([]byte("C1"), []byte(`{"id":"C1","team_id":"T1","members":["U1"]}`)); err != nil {
			return err
		}
		for i, r := range revs {
			enc, _ := r.MarshalBinary()
			if err := btx.Bucket(boltstore.Layout.Revs).Put(r.Rev[:], enc); err != nil {
				return err
			}
			k := binary.BigEndian.AppendUint64([]byte(r.CaseID+"\x00"), uint64(i+1))
			if err := btx.Bucket(boltstore.Layout.CaseRevs).Put(k, r.Rev[:]); err != nil {
				return err
			}
			if err := btx.Bucket(boltstore.Layout.Records).Put([]byte(r.RecordID), append([]byte(string(r.Kind)+"\x00"), r.CaseID...)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	pg := open(t)
	counts, err := pgstore.ImportBolt(context.Background(), path, pg)
	if err != nil {
		t.Fatalf("importing format 1: %v", err)
	}
	if counts.Revisions != 3 || counts.Cases != 1 || counts.Statements != 0 {
		t.Errorf("counts = %+v", counts)
	}
	checkUpgraded(t, pg, revs)
}
