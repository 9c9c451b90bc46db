package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
)

// The server's transparency log, lied about by whoever runs the server: it
// holds the log's private key (in the store), so every lie here is signed
// as the real log would sign. What it cannot do is make two histories
// agree, or make entries hash to a root they do not hash to.

// logKeyOf reads the log's private key out of the server's store, as its
// operator can.
func logKeyOf(t *testing.T, s *syncharness.Server) *transparency.LogKey {
	t.Helper()
	var k *transparency.LogKey
	s.Tamper(func(tx server.Tx) error {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		k, err = transparency.NewLogKey(m.LogSKey, m.LogVKey)
		return err
	})
	return k
}

// logRewriter is a proxy in front of s whose rewrite may replace answers
// to the log's endpoints (any other passes).
func logRewriter(t *testing.T, s *syncharness.Server, rewrite func(path string, r *http.Request, body []byte) []byte) string {
	t.Helper()
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if status != http.StatusOK {
				return body
			}
			return rewrite(r.URL.Path, r, body)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}

// mustAlarm runs one round of d and wants the log's alarm, saying want.
func mustAlarm(t *testing.T, d *syncharness.Device, want string) {
	t.Helper()
	_, err := d.Sync()
	if !errors.Is(err, client.ErrLogAlarm) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s's sync: %v, want a log alarm saying %q", d.Name, err, want)
	}
	if _, ok := keptAlarm(t, d, client.LogAlarmKey); !ok {
		t.Fatalf("%s keeps no alarm", d.Name)
	}
}

// keptAlarm reads an alarm the device keeps under key.
func keptAlarm(t *testing.T, d *syncharness.Device, key string) (client.LogAlarm, bool) {
	t.Helper()
	var a client.LogAlarm
	js, err := d.V.Locals(key)
	if err != nil {
		t.Fatal(err)
	}
	return a, js[key] != nil && json.Unmarshal(js[key], &a) == nil
}

func logTeam(t *testing.T) (s *syncharness.Server, ada, sam *syncharness.Device, c string) {
	s = syncharness.StartServer(t)
	ada = s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam = s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	c = newCase(t, ada, "L-1")
	addNote(t, ada, c, "the first visit")
	syncRounds(t, ada, sam)
	return s, ada, sam, c
}

// A fork: the server shows Sam a tree of the log that is not the one Sam
// checked before (same key, other history). Sam's laptop says so and keeps
// both signed checkpoints: together, proof that the server signed two
// histories.
func TestLyingLogFork(t *testing.T) {
	t.Parallel()
	s, ada, sam, c := logTeam(t)
	key := logKeyOf(t, s)
	syncRounds(t, ada, sam)
	addNote(t, ada, c, "the second visit")
	ada.MustSync()
	sam.UseURL(logRewriter(t, s, func(path string, _ *http.Request, body []byte) []byte {
		if path != protocol.PathLog {
			return body
		}
		var resp protocol.LogResponse
		if json.Unmarshal(body, &resp) != nil {
			return body
		}
		cp, _, err := transparency.Open(resp.Checkpoint, key.Public())
		if err != nil {
			return body
		}
		cp.Root[0] ^= 1 // another tree of the same size
		resp.Checkpoint, _ = key.Sign(cp)
		out, _ := json.Marshal(resp)
		return out
	}))
	mustAlarm(t, sam, "does not extend what this laptop saw before")
	a, ok := keptAlarm(t, sam, client.LogForkKey)
	if !ok {
		t.Fatal("sam keeps no proof of the fork")
	}
	kept, _, err1 := transparency.Open(a.Kept, key.Public())
	offered, _, err2 := transparency.Open(a.Offered, key.Public())
	if err1 != nil || err2 != nil || kept.Size > offered.Size {
		t.Fatalf("the evidence: kept %+v (%v), offered %+v (%v)", kept, err1, offered, err2)
	}
	if transparency.CheckConsistency(kept, offered, nil) == nil && kept.Size == offered.Size {
		t.Fatal("the two kept checkpoints agree: no proof of a fork")
	}
}

// A rollback: the server answers with a checkpoint it signed earlier (a
// smaller log). Sam's laptop says the log shrank, and keeps both signed
// checkpoints.
func TestLyingLogRollback(t *testing.T) {
	t.Parallel()
	s, ada, sam, c := logTeam(t)
	var mu sync.Mutex
	var old []byte
	replay := false
	front := logRewriter(t, s, func(path string, _ *http.Request, body []byte) []byte {
		if path != protocol.PathLog {
			return body
		}
		mu.Lock()
		defer mu.Unlock()
		if replay {
			return old
		}
		old = body // the newest answer: the one it will replay later
		return body
	})
	sam.UseURL(front)
	sam.MustSync()
	addNote(t, ada, c, "the second visit")
	ada.MustSync()
	sam.UseURL(s.URL)
	sam.MustSync() // the real, larger log: sam keeps its checkpoint
	mu.Lock()
	replay = true
	mu.Unlock()
	sam.UseURL(front)
	mustAlarm(t, sam, "shrank")
	if _, ok := keptAlarm(t, sam, client.LogForkKey); !ok {
		t.Fatal("sam keeps no proof of the rollback")
	}
}

// Entries that are not the signed tree: the server hands a device the log
// with one entry left out (its leaf, say, of a note it wants unseen). The
// device hashes what it got and the root does not match.
func TestLyingLogDroppedEntry(t *testing.T) {
	t.Parallel()
	s, ada, sam, c := logTeam(t)
	addNote(t, ada, c, "the second visit")
	addNote(t, ada, c, "the third visit")
	ada.MustSync()
	var mu sync.Mutex
	drop := int64(-1) // the entry left out: the first sam asks for
	sam.UseURL(logRewriter(t, s, func(path string, r *http.Request, body []byte) []byte {
		if path != protocol.PathEntries {
			return body
		}
		start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
		var resp protocol.EntriesResponse
		if json.Unmarshal(body, &resp) != nil {
			return body
		}
		mu.Lock()
		defer mu.Unlock()
		if drop < 0 {
			drop = start
		}
		if i := drop - start; i >= 0 && i < int64(len(resp.Entries)) && len(resp.Entries) > 1 {
			resp.Entries = append(resp.Entries[:i], resp.Entries[i+1:]...)
		}
		out, _ := json.Marshal(resp)
		return out
	}))
	mustAlarm(t, sam, "not the log it signed")
}

// A receipt for a place the log does not bear out: the server signs (it
// holds the key) a receipt naming another entry. The writer's laptop reads
// that entry in the log and it is not her revision.
func TestLyingLogReceipt(t *testing.T) {
	t.Parallel()
	s, ada, _, c := logTeam(t)
	key := logKeyOf(t, s)
	ada.UseURL(logRewriter(t, s, func(path string, _ *http.Request, body []byte) []byte {
		if path != protocol.PathPush {
			return body
		}
		var resp protocol.PushResponse
		if json.Unmarshal(body, &resp) != nil {
			return body
		}
		for i, r := range resp.Results {
			if r.Receipt != nil {
				rc, _ := key.SignReceipt(r.Rev, 0, time.Now()) // entry 0: not hers
				resp.Results[i].Receipt = &rc
			}
		}
		out, _ := json.Marshal(resp)
		return out
	}))
	addNote(t, ada, c, "the second visit")
	mustAlarm(t, ada, "is not revision")
}

// An entry in a device's name it never wrote: the operator stores a note
// signed with a key of its own under Ada's laptop's name, and logs it. No
// device takes the note (its signature fails), and Ada's laptop, reading
// the log, finds it in her name.
func TestLyingLogEntryInOwnName(t *testing.T) {
	t.Parallel()
	s, ada, sam, c := logTeam(t)
	op := syncharness.NewOperator(t)
	head := headOf(t, ada, c)
	forged := op.Forge(record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: c, Generation: 1,
		HLC: head.HLC + 1<<20, Device: ada.V.DeviceID(), Seq: 2, Body: head.Body})
	inject(s, forged)
	if _, err := sam.Sync(); err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatal(err)
	}
	mustQuarantine(t, forged.Rev, "signature", sam)
	mustAlarm(t, ada, "never wrote")
	if a, _ := keptAlarm(t, ada, client.LogAlarmKey); !strings.Contains(a.What, forged.Rev.Short()) {
		t.Errorf("the alarm does not name the forged revision: %s", a.What)
	}
}
