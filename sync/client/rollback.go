package client

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// A server that goes back in time without saying so (issue 17): a
// PostgreSQL failover to an asynchronous standby that lagged, a disk
// snapshot restored without a new epoch. It has lost revisions it had
// acknowledged, and this device, which took them off its outbox, would
// never send them again; its pull cursor may point past changes the server
// now numbers anew. The server's word for what it holds of this device,
// acked_seq, then goes backwards (and its log no longer extends the
// checkpoint this device kept). Either runs the repair a restore runs
// (410): pull from the start, ask the server which of this device's
// revisions it lacks (revs-diff), push them back. Nothing is removed from
// the vault on the server's word, so a server that lies about going back
// costs a repair, never data; and what it says after the repair is the new
// mark, so a steady lie costs one repair, not one a round. When only
// acked_seq went back and the log still extends the kept checkpoint, the
// device first asks whether the server lacks any revision it had
// acknowledged; if none, nothing is pulled again or pushed back, so a
// server alternating the lie with the truth costs a revs-diff of this
// device's revisions every other round, not a pull from the start.

// ServerAckedKey is where the vault keeps the highest acked_seq the server
// has given this device.
const ServerAckedKey = "server-acked"

// ServerLostKey is where the vault keeps the last time the server was
// found to have lost what it acknowledged, for the user and IT to see.
const ServerLostKey = "server-lost"

// ServerLostNote says when the server was found behind what it had
// acknowledged, and what was done.
type ServerLostNote struct {
	At       time.Time `json:"at"`
	Acked    uint64    `json:"acked"`     // the highest acked_seq it had given
	Now      uint64    `json:"now"`       // what it said then
	LogFork  bool      `json:"log_fork"`  // its log no longer extended the kept checkpoint
	HeldAll  bool      `json:"held_all"`  // it held every revision it had acknowledged: only its acked_seq was wrong, nothing repaired
	Repaired int       `json:"repaired"`  // revisions pushed back
	ServerAt uint64    `json:"server_at"` // acked_seq after the repair: the new mark
}

// repairOwedKey marks a repair found needed after a round's own (the log
// found forked by the round's last audit): the next round runs it.
const repairOwedKey = "server-lost-repair-owed"

// beginAckWatch reads the mark, and a repair owed, at the start of a
// round.
func (s *Syncer) beginAckWatch() error {
	s.serverLost, s.didRepair, s.lostFrom, s.lostTo = false, false, 0, 0
	m, err := s.v.Locals("server-")
	if err != nil {
		return err
	}
	s.serverAcked, _ = strconv.ParseUint(string(m[ServerAckedKey]), 10, 64)
	s.serverLost = m[repairOwedKey] != nil
	return nil
}

// logForked notes that the server's log no longer extends the checkpoint
// this device kept: it may have lost what it acknowledged.
func (s *Syncer) logForked() error {
	s.serverLost = true
	return s.v.PutLocal(repairOwedKey, []byte("1"))
}

// noteAcked takes the server's acked_seq from a push or pull answer: below
// the mark, the server lost what it acknowledged; above it, it is the new
// mark.
func (s *Syncer) noteAcked(acked uint64) error {
	if s.rollback || acked > s.v.LastSeq() {
		return nil // this vault is behind the server (restoreOwn): the other way round
	}
	switch {
	case acked < s.serverAcked:
		if !s.serverLost {
			s.serverLost, s.lostFrom, s.lostTo = true, s.serverAcked, acked
		}
	case acked > s.serverAcked && !s.serverLost:
		s.serverAcked = acked
		return s.v.PutLocal(ServerAckedKey, []byte(strconv.FormatUint(acked, 10)))
	}
	return nil
}

// repairIfLost runs the repair once in a round that found the server
// behind what it acknowledged (unless a 410 ran it already), pulls again,
// and takes what the server says then as the new mark.
func (s *Syncer) repairIfLost(ctx context.Context, sum *Summary, progress func(Progress), hdr *protocol.PullHeader) error {
	if !s.serverLost {
		return nil
	}
	before := sum.Repaired
	heldAll := false
	if !s.didRepair {
		if s.lostFrom > 0 && s.logKey() != "" {
			// Only its acked_seq went back; its log still extends what
			// this laptop kept (a server that lost changes loses their
			// log entries too, which the log audit takes as a fork and
			// repairs in full). Ask first whether it lacks any of this
			// device's revisions it had acknowledged: if none, its word
			// was wrong, not its store, and nothing needs a pull from the
			// start (a server alternating that lie with the truth would
			// otherwise cost one every other round).
			lacks, err := s.lacksOwn(ctx, s.lostTo, s.lostFrom)
			if err != nil {
				return err
			}
			heldAll = !lacks
		}
		if !heldAll {
			if err := s.repair(ctx, sum, progress); err != nil {
				return err
			}
			h, err := s.pull(ctx, sum, progress)
			if err != nil {
				return err
			}
			*hdr = h
		}
	}
	note, _ := json.Marshal(ServerLostNote{At: time.Now().UTC(), Acked: s.lostFrom, Now: s.lostTo, LogFork: s.lostFrom == 0 && s.lostTo == 0,
		HeldAll: heldAll, Repaired: sum.Repaired - before, ServerAt: hdr.AckedSeq})
	if err := s.v.PutLocal(ServerLostKey, note); err != nil {
		return err
	}
	s.serverLost, s.serverAcked = false, hdr.AckedSeq
	if err := s.v.DeleteLocal(repairOwedKey); err != nil {
		return err
	}
	return s.v.PutLocal(ServerAckedKey, []byte(strconv.FormatUint(hdr.AckedSeq, 10)))
}

// lacksOwn asks the server (revs-diff) whether it lacks any of this
// device's revisions numbered above from and up to to: those its acked_seq
// going from to down to from says it no longer holds.
func (s *Syncer) lacksOwn(ctx context.Context, from, to uint64) (bool, error) {
	mine, err := s.v.DeviceRevisions()
	if err != nil {
		return false, err
	}
	var ids []record.RevID
	for _, r := range mine {
		if r.Seq > from && r.Seq <= to {
			ids = append(ids, r.Rev)
		}
	}
	for chunk := range slices.Chunk(ids, protocol.MaxDiffRevs) {
		lacks, err := s.c.RevsDiff(ctx, chunk)
		if err != nil {
			return false, err
		}
		if len(lacks) > 0 {
			return true, nil
		}
	}
	return false, nil
}
