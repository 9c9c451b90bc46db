package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/netwatch"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
	"github.com/fieldcase/fieldcase/tui"
)

// syncBridge runs the background syncer while the TUI holds the vault
// unlocked, and reports its state to the status bar (which polls State every
// second). The syncer needs the unlocked vault (the device token is sealed
// in it), so it starts after unlock and stops at the idle lock.
type syncBridge struct {
	ctx context.Context
	v   *store.Vault
	log *slog.Logger
	l   *i18n.Locale // the language of what the status bar says; nil: English

	mu         sync.Mutex
	runner     *client.Runner
	cancel     context.CancelFunc
	done       chan struct{}
	lastOutbox int
	startErr   string
	warnAt     time.Time // LastSync the warning was computed for
	warning    string
}

var _ tui.SyncStatus = (*syncBridge)(nil)

func (b *syncBridge) State() tui.SyncState {
	unlocked := b.v.Unlocked()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case unlocked && b.runner == nil && b.startErr == "":
		b.start()
	case !unlocked && b.runner != nil:
		b.stop()
	case !unlocked:
		b.startErr = "" // try again after the next unlock
	}
	st := tui.SyncState{Enrolled: true, Pending: -1, Err: b.startErr}
	if b.runner == nil {
		return st
	}
	rs := b.runner.State()
	// A local change since the last poll: sync it soon, not in 30 s.
	if n := b.v.OutboxLen(); n > b.lastOutbox && !rs.Syncing {
		b.runner.Kick()
		b.lastOutbox = n
	} else {
		b.lastOutbox = n
	}
	st.Online, st.Syncing, st.LastSync, st.Probing, st.Err = rs.Online, rs.Syncing, rs.LastSync, rs.Probing, plainSyncError(b.lang(), rs.Err)
	if !rs.LastSync.Equal(b.warnAt) || b.warnAt.IsZero() {
		b.warning, b.warnAt = trustWarning(b.lang(), b.v), rs.LastSync
	}
	st.Warning = b.warning
	if rs.Syncing {
		p := rs.Progress
		if p.Total > 0 {
			st.Progress = float64(p.Done) / float64(p.Total)
			st.Detail = phaseDetail(b.lang(), p.Phase, true, p.Done, p.Total)
		} else if p.Done > 0 {
			st.Detail = phaseDetail(b.lang(), p.Phase, false, p.Done, 0)
		}
	}
	return st
}

// lang is the bridge's language.
func (b *syncBridge) lang() *i18n.Locale {
	if b.l == nil {
		return i18n.English()
	}
	return b.l
}

// phaseDetail says how far a sync phase has got: "pushing 3 of 10" while
// the total is known, "pulled 3" after.
func phaseDetail(l *i18n.Locale, phase string, ongoing bool, done, total int) string {
	ids, ok := phaseIDs[phase]
	switch {
	case !ok && ongoing:
		return fmt.Sprintf("%sing %d of %d", phase, done, total) // i18n: a phase phaseIDs does not know, as before
	case !ok:
		return fmt.Sprintf("%sed %d", phase, done) // i18n: as above
	case ongoing:
		return l.T(ids[0], "Done", done, "Total", total) // i18n: the ids are the literals of phaseIDs
	}
	return l.T(ids[1], "Done", done) // i18n: as above
}

// phaseIDs are the messages of sync/client's phases: under way, and done.
var phaseIDs = map[string][2]string{
	"push":     {"bridge.pushing", "bridge.pushed"},
	"pull":     {"bridge.pulling", "bridge.pulled"},
	"upload":   {"bridge.uploading", "bridge.uploaded"},
	"download": {"bridge.downloading", "bridge.downloaded"},
	"repair":   {"bridge.repairing", "bridge.repaired"},
}

// trustWarning is what the status bar must keep saying about trust, most
// serious first, or "".
func trustWarning(l *i18n.Locale, v *store.Vault) string {
	if m, err := v.Locals("log-"); err == nil {
		for _, k := range []string{client.LogAlarmKey, client.LogForkKey} {
			var a client.LogAlarm
			if m[k] != nil && json.Unmarshal(m[k], &a) == nil {
				return l.T("bridge.log_failed", "What", a.What)
			}
		}
	}
	if q, err := v.Quarantine(); err == nil && len(q) > 0 {
		return l.T("bridge.quarantined", "N", len(q), "Summary", store.QuarantineSummary(q))
	}
	locals, err := v.Locals("")
	if err != nil {
		return ""
	}
	if js := locals[client.RollbackKey]; js != nil {
		var n client.RollbackNote
		if json.Unmarshal(js, &n) == nil && time.Since(n.At) < 7*24*time.Hour {
			return l.T("bridge.rollback", "Restored", n.Restored)
		}
	}
	if js := locals[client.EscrowStatusKey]; js != nil {
		var st client.EscrowStatus
		if json.Unmarshal(js, &st) == nil && st.Waiting > 0 && st.Problem != "" && time.Since(st.Since) > time.Hour {
			// An hour's grace: a laptop between networks is not news.
			return l.T("bridge.escrow_waiting", "Waiting", st.Waiting, "Problem", st.Problem)
		}
	}
	if js := locals[client.TrustNoticeKey]; js != nil {
		var n client.TrustNotice
		if json.Unmarshal(js, &n) == nil && time.Since(n.At) < 7*24*time.Hour {
			for _, d := range n.Changes.NewDevices {
				if d.Mine {
					return l.T("bridge.new_laptop", "Name", strconv.Quote(d.Name), "Fingerprint", d.Fingerprint)
				}
			}
			if n.Changes.NewRecovery != "" {
				return l.T("bridge.new_recovery", "Recovery", n.Changes.NewRecovery)
			}
		}
	}
	return ""
}

func (b *syncBridge) start() {
	s, err := newSyncer(b.lang(), b.v)
	if err != nil {
		b.startErr = err.Error()
		b.log.Warn("sync not started", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(b.ctx)
	b.runner = client.NewRunner(s, b.v.LastSync(), func(st client.State) {
		if st.LastError != "" && !st.Syncing {
			b.log.Info("sync round failed", "err", st.LastError)
		}
	})
	if ch, err := netwatch.Watch(ctx); err != nil {
		b.log.Info("network changes not watched: the probes every few seconds remain", "err", err)
	} else {
		b.runner.NetChanges = ch
	}
	b.cancel, b.done = cancel, make(chan struct{})
	go func() {
		defer close(b.done)
		b.runner.Run(ctx)
	}()
	b.log.Info("sync started")
}

func (b *syncBridge) stop() {
	b.cancel()
	<-b.done // the round in flight ends on the cancelled context
	b.runner, b.cancel, b.done = nil, nil, nil
	b.log.Info("sync stopped (vault locked)")
}

// Close stops the syncer, if running.
func (b *syncBridge) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runner != nil {
		b.stop()
	}
}

// plainSyncError is what the status bar says about a failed round: short,
// and in words a caseworker uses. "offline" itself is already shown.
func plainSyncError(l *i18n.Locale, err error) string {
	switch {
	case errors.Is(err, client.ErrServerTrouble):
		return l.T("bridge.server_trouble")
	case err == nil, errors.Is(err, client.ErrOffline), errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, client.ErrRevoked):
		return l.T("bridge.revoked")
	case errors.Is(err, client.ErrUnauthorized):
		return l.T("bridge.unauthorized")
	case errors.Is(err, client.ErrFingerprint):
		return l.T("bridge.fingerprint")
	case errors.Is(err, client.ErrVersion):
		return l.T("bridge.version")
	case errors.Is(err, client.ErrLogAlarm):
		return l.T("bridge.log_alarm")
	case errors.Is(err, store.ErrAgencyMismatch):
		return l.T("bridge.agency_mismatch")
	case errors.Is(err, store.ErrNoAgency):
		return l.T("bridge.no_agency")
	case errors.Is(err, store.ErrKeyringExpired):
		return l.T("bridge.keyring_expired")
	}
	return l.T("bridge.failed", "Err", err.Error())
}

// The bridge is also the TUI's team service (supervisors): each call makes
// a fresh syncer, as the CLI does, so it works whether or not the
// background runner is up.
var _ tui.TeamService = (*syncBridge)(nil)

func (b *syncBridge) Refresh(ctx context.Context) (*protocol.TeamView, error) {
	s, err := newSyncer(b.lang(), b.v)
	if err != nil {
		return nil, err
	}
	tv, err := s.Team(ctx)
	if err != nil {
		return nil, syncError(b.lang(), err, b.v.OutboxLen())
	}
	return tv, nil
}

func (b *syncBridge) Stored() (*protocol.TeamView, error) { return client.StoredTeam(b.v) }

func (b *syncBridge) Assign(ctx context.Context, caseID string, add, remove []string) (*protocol.TeamCase, error) {
	s, err := newSyncer(b.lang(), b.v)
	if err != nil {
		return nil, err
	}
	tc, err := s.Assign(ctx, caseID, add, remove)
	if err != nil {
		return nil, syncError(b.lang(), err, b.v.OutboxLen())
	}
	b.kick()
	return tc, nil
}

func (b *syncBridge) SetPolicy(ctx context.Context, p record.Policy, version int) (int, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	s, err := newSyncer(b.lang(), b.v)
	if err != nil {
		return 0, err
	}
	js, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	ver, err := s.SetPolicy(ctx, js, version)
	if err != nil {
		return 0, syncError(b.lang(), err, b.v.OutboxLen())
	}
	return ver, nil
}

var _ tui.SyncNower = (*syncBridge)(nil)

// SyncNow asks the background runner for a round at once (the TUI's sync
// now key); it waits for nothing.
func (b *syncBridge) SyncNow() { b.kick() }

// kick asks the background runner for a round now (after an assignment
// rotated a key: the new keyring should reach the server soon).
func (b *syncBridge) kick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runner != nil {
		b.runner.Kick()
	}
}

// The bridge is the destruction queue's link too: approvals and holds are
// statements this laptop signs and the server carries, as the CLI's
// retention commands do.
var _ tui.RetentionService = (*syncBridge)(nil)

// retentionError keeps the refusals the screen explains itself (a hold, a
// laptop behind the log, a case not due, a role) and words the rest as a
// sync failure.
func (b *syncBridge) retentionError(err error) error {
	if errors.Is(err, client.ErrHeld) || errors.Is(err, client.ErrBehindLog) || errors.Is(err, client.ErrNotDue) ||
		errors.Is(err, trust.ErrNotAllowed) {
		return err
	}
	return syncError(i18n.English(), err, b.v.OutboxLen())
}

func (b *syncBridge) ApproveDestruction(ctx context.Context, caseID, reason string) (bool, error) {
	if err := b.v.LoadAll(ctx); err != nil {
		return false, err
	}
	s, err := newSyncer(i18n.English(), b.v)
	if err != nil {
		return false, err
	}
	gone, err := s.ApproveDestruction(ctx, b.v, caseID, reason, record.DateOf(time.Now()))
	if err != nil {
		return false, b.retentionError(err)
	}
	b.kick()
	return gone, nil
}

func (b *syncBridge) PlaceHold(ctx context.Context, caseID, ref, orderedBy, reason string) (string, error) {
	s, err := newSyncer(i18n.English(), b.v)
	if err != nil {
		return "", err
	}
	sg, err := s.PlaceHold(ctx, b.v, caseID, ref, orderedBy, reason)
	if err != nil {
		return "", b.retentionError(err)
	}
	return sg.ID(), nil
}

func (b *syncBridge) ReleaseHold(ctx context.Context, h trust.Hold, reason string) error {
	s, err := newSyncer(i18n.English(), b.v)
	if err != nil {
		return err
	}
	if err := s.ReleaseHold(ctx, b.v, h, reason); err != nil {
		return b.retentionError(err)
	}
	return nil
}
