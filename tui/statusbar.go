package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// SyncState is what the status bar shows about synchronisation.
type SyncState struct {
	// Enrolled: the device has a server to sync with.
	Enrolled bool
	// Online: the server answered the last attempt.
	Online bool
	// Syncing: a push or pull is under way; Progress (0–1) and Detail
	// ("pushing 120 of 400") describe it.
	Syncing  bool
	Progress float64
	Detail   string
	// LastSync is when the last sync finished (zero: never).
	LastSync time.Time
	// Probing: the server cannot be reached and is being asked every few
	// seconds whether it is back.
	Probing bool
	// Pending is the number of changes waiting to be pushed. Negative means
	// "unknown": the status bar then shows the vault's outbox length.
	Pending int
	// Conflicts found by the last pull (the vault counts them too).
	Conflicts int
	// Err is the last failure, shown briefly ("server unreachable").
	Err string
	// Warning is something about trust a person must see and that stays
	// until it is resolved: records quarantined because their signature or
	// their writer's right did not hold, a vault found behind the server, a
	// new device receiving this user's case keys. Shown before everything
	// else on the left.
	Warning string
}

// SyncStatus is how the TUI reads the syncer's state. The syncer (a later
// package) implements it; the TUI polls State about once a second, so State
// must be cheap and safe to call from another goroutine. A nil SyncStatus
// means "local only: not enrolled".
type SyncStatus interface {
	State() SyncState
}

// SyncNower is a SyncStatus that can be asked for a round now (the sync
// now key).
type SyncNower interface {
	SyncNow()
}

// syncPollInterval is how often the status bar polls SyncStatus.
const syncPollInterval = time.Second

// syncTickMsg asks the status bar to poll the sync state again.
type syncTickMsg struct{}

// statusBar is the line above the help: vault name, counts, changes waiting
// to sync, and the sync state. The root model owns it.
type statusBar struct {
	env      *env
	sync     SyncStatus
	name     string
	stats    *statsMsg
	progress [2]int // notes decrypted, of total
	notice   string
	noticeOK bool
	isErr    bool
	state    SyncState
	lastSeen time.Time // LastSync at the previous poll
}

func (s *statusBar) pollCmd() tea.Cmd {
	if s.sync == nil {
		return nil
	}
	return tea.Tick(syncPollInterval, func(time.Time) tea.Msg { return syncTickMsg{} })
}

// syncChanged polls the sync state and reports whether a sync finished
// since the last poll.
func (s *statusBar) syncChanged() bool {
	if s.sync == nil {
		return false
	}
	s.state = s.sync.State()
	changed := !s.state.LastSync.Equal(s.lastSeen)
	s.lastSeen = s.state.LastSync
	return changed
}

func (s *statusBar) setStats(m statsMsg) {
	if m.err != nil {
		s.stats = nil
		return
	}
	s.stats = &m
}

// setNotice shows text until the next key press.
func (s *statusBar) setNotice(text string, isErr bool) {
	s.notice, s.isErr, s.noticeOK = text, isErr, false
}

// clearNotice drops a notice that has been seen for one key press. Errors
// stay one key longer than other notices.
func (s *statusBar) clearNotice() {
	if s.notice == "" {
		return
	}
	if s.isErr && !s.noticeOK {
		s.noticeOK = true
		return
	}
	s.notice = ""
}

func (s *statusBar) View(width int, unlocked bool) string {
	st, l := s.env.st, s.env.l
	bar := st.Status
	left := []string{s.name}
	if !unlocked {
		left = append(left, l.T("tui.status.locked"))
	} else if s.stats != nil {
		c := s.stats.stats
		left = append(left, l.N("tui.common.cases", c.Cases))
		switch {
		case s.progress[1] > 0:
			left = append(left, l.T("tui.status.decrypting_percent", "Percent", 100*s.progress[0]/s.progress[1]))
		case !c.NotesLoaded:
			left = append(left, l.T("tui.status.decrypting"))
		default:
			left = append(left, l.N("tui.status.notes", c.Notes))
		}
		if c.Conflicts > 0 {
			left = append(left, l.N("tui.status.conflicts", c.Conflicts))
		}
		if c.Sealed > 0 {
			left = append(left, l.N("tui.status.sealed", c.Sealed))
		}
	}
	if w := s.state.Warning; w != "" && unlocked {
		left = append([]string{st.Error.Inherit(bar).Render("⚠ " + w)}, left...) // i18n: a sign before the syncer's words
	}
	if s.notice != "" {
		ns := st.Notice
		if s.isErr {
			ns = st.Error
		}
		left = []string{ns.Inherit(bar).Render(s.notice)}
	}
	// The sync state is never dropped; detail goes first, then counts.
	rights := []string{s.syncText(unlocked, false) + " ", s.syncText(unlocked, true) + " "}
	for _, r := range rights {
		for n := len(left); n >= 1; n-- {
			l := " " + strings.Join(left[:n], " · ") // i18n: a separator
			gap := width - lipgloss.Width(l) - lipgloss.Width(r)
			if gap >= 1 {
				return bar.Render(l+strings.Repeat(" ", gap)) + st.Offline.Render(r)
			}
		}
	}
	r := rights[1]
	return bar.Render(fitLine(" "+left[0], max(0, width-lipgloss.Width(r)))) + st.Offline.Render(fitLine(r, min(width, lipgloss.Width(r))))
}

// waiting is how many changes of this vault have not reached the server
// (0 when the device has no server to send them to, or it is not known).
func (s *statusBar) waiting() int {
	if s.sync == nil || !s.state.Enrolled {
		return 0
	}
	if s.state.Pending >= 0 {
		return s.state.Pending
	}
	if s.stats != nil {
		return s.stats.outbox
	}
	return 0
}

// sepDot separates the parts of a line (the status bar, titles).
const sepDot = " · " // i18n: a separator

// syncText is the right side: changes waiting and the sync state, with
// "offline" always spelled out when the device is not talking to a server.
func (s *statusBar) syncText(unlocked, short bool) string {
	l := s.env.l
	pending := -1
	if s.stats != nil && unlocked {
		pending = s.stats.outbox
	}
	st := s.state
	if s.sync != nil && st.Pending >= 0 && st.Enrolled {
		pending = st.Pending
	}
	if s.sync == nil || !st.Enrolled {
		// Nothing will sync: a count of changes "to sync" would be noise
		// (the demo vault has thousands), and the device is offline by
		// design, not by a failure.
		if short {
			return l.T("tui.status.local_only")
		}
		return l.T("tui.status.local_only_long")
	}
	var parts []string
	switch {
	case pending > 0 && short:
		parts = append(parts, "↑ "+l.Number(pending)) // i18n: a sign
	case pending > 0:
		parts = append(parts, l.N("tui.status.to_sync", pending))
	case pending == 0:
		parts = append(parts, l.T("tui.status.all_synced"))
	}
	switch {
	case st.Syncing:
		d := l.T("tui.status.syncing")
		if st.Progress > 0 {
			d += fmt.Sprintf(" %d%%", int(st.Progress*100))
		}
		if st.Detail != "" && !short {
			d += " (" + st.Detail + ")"
		}
		parts = append(parts, d)
	case !st.Online:
		o := l.T("tui.status.offline")
		if !st.LastSync.IsZero() && !short {
			o += sepDot + l.T("tui.status.last_reached", "When", dayTime(l, st.LastSync))
		}
		if st.Probing && !short {
			o += sepDot + l.T("tui.status.probing")
		}
		parts = append(parts, o)
	default:
		o := l.T("tui.status.online")
		if !st.LastSync.IsZero() && !short {
			o += sepDot + l.T("tui.status.synced_at", "Time", st.LastSync.Format("15:04"))
		}
		parts = append(parts, o)
	}
	if st.Err != "" && s.sync != nil && !short {
		parts = append(parts, st.Err)
	}
	return strings.Join(parts, sepDot)
}
