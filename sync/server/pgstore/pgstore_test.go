package pgstore_test

import (
	"context"
	"testing"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/storetest"
)

func open(t *testing.T) *pgstore.Store {
	t.Helper()
	return openURL(t, pgtest.URL(t))
}

func openURL(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) server.Store { return open(t) })
}

func update(t *testing.T, st server.Store, fn func(server.Tx) error) {
	t.Helper()
	if err := st.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func changes(t *testing.T, st server.Store, after uint64) (chs []server.Change, last uint64) {
	t.Helper()
	err := st.View(context.Background(), func(tx server.Tx) (err error) {
		if chs, err = tx.Changes(after, 1000); err != nil {
			return err
		}
		last, err = tx.LastChangeSeq()
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return chs, last
}

func revID(b byte) record.RevID {
	var r record.RevID
	r[0] = b
	return r
}

// Two transactions commit in the opposite order to their sequence numbers:
// the later number stays hidden until the earlier one commits, so a reader
// following the log by cursor never passes an entry that is still coming.
func TestCommitOrderNeverSkips(t *testing.T) {
	tests := []struct {
		name string
		// early runs in the transaction that gets the smaller number,
		// before it waits.
		early func(tx server.Tx) error
	}{
		{"append then wait", func(tx server.Tx) error {
			_, err := tx.AppendChange(server.Change{Rev: revID(1), CaseID: "C"})
			return err
		}},
		{"write, wait, then append", func(tx server.Tx) error {
			return tx.InsertTeam(server.Team{ID: "T", Name: "T"}) // takes the transaction id
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			started, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				first := true
				done <- st.Update(context.Background(), func(tx server.Tx) error {
					if err := tc.early(tx); err != nil {
						return err
					}
					if first {
						first = false
						close(started)
						<-release
					}
					if _, err := tx.AppendChange(server.Change{Rev: revID(2), CaseID: "C"}); err != nil {
						return err
					}
					return nil
				})
			}()
			<-started
			update(t, st, func(tx server.Tx) error {
				_, err := tx.AppendChange(server.Change{Rev: revID(3), CaseID: "C"})
				return err
			})
			if chs, last := changes(t, st, 0); len(chs) != 0 || last != 0 {
				t.Fatalf("while an older transaction is open: changes %v, last %d; want none", chs, last)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			want := []byte{1, 2, 3}
			if tc.name != "append then wait" {
				want = []byte{2, 3}
			}
			eventually(t, st, 0, len(want))
			chs, last := changes(t, st, 0)
			var got []byte
			for _, ch := range chs {
				got = append(got, ch.Rev[0])
			}
			if string(got) != string(want) || last != chs[len(chs)-1].Seq {
				t.Errorf("after commit: revs %v (last %d), want %v in order", got, last, want)
			}
		})
	}
}

// A transaction left open in another database of the cluster does not hold
// back this database's change log; one in this database does.
func TestOtherDatabasesDoNotHoldBack(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	other := openURL(t, pgtest.URL(t))
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- other.Update(ctx, func(tx server.Tx) error {
			if _, err := tx.AppendChange(server.Change{Rev: revID(7), CaseID: "X"}); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	update(t, st, func(tx server.Tx) error {
		_, err := tx.AppendChange(server.Change{Rev: revID(1), CaseID: "C"})
		return err
	})
	if chs, last := changes(t, st, 0); len(chs) != 1 || last != chs[0].Seq {
		t.Errorf("with another database's transaction open: changes %v, last %d; want the committed one", chs, last)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
