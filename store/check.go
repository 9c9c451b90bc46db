package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
)

// ErrInconsistent means the vault's indexes disagree with the revisions they
// index (Check).
var ErrInconsistent = errors.New("the vault's indexes disagree with its revisions")

// Check verifies, as bbolt's Tx.Check does for its pages, that every index
// of the vault agrees with the revisions: each record's heads entry names
// exactly the revisions of the record that no stored revision names as a
// parent (record.Heads), each with its generation, clock and tombstone flag;
// every parent a stored revision names is marked in haskids; the record
// count is the number of heads entries; every outbox entry names a stored
// revision. Unlocked, the heads and haskids tags are checked too. It reads
// and never repairs; tests run it when they close a vault.
func (v *Vault) Check() error {
	v.mu.RLock()
	var m *vaultMAC
	if v.vaultKey != nil && v.format >= 2 {
		m = newVaultMAC(v.vaultKey)
	}
	format := v.format
	v.mu.RUnlock()
	var problems []error
	bad := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...))
		}
	}
	err := v.view(func(btx *bolt.Tx) error {
		revs, heads := btx.Bucket(bucketRevs), btx.Bucket(bucketHeads)
		kids, outbox := btx.Bucket(bucketHasKids), btx.Bucket(bucketOutbox)
		// Every record's revisions, grouped by record key (revs are
		// case/record/rev, rev being the last 32 bytes).
		byRecord := map[string][]*record.Revision{}
		if err := revs.ForEach(func(k, b []byte) error {
			if len(k) < 34 || k[len(k)-33] != '/' {
				bad("revs key %q", k)
				return nil
			}
			r, rest, err := record.UnmarshalRevision(bytes.Clone(b))
			if err != nil || len(rest) != 0 || r.Validate() != nil || !bytes.Equal(r.Rev[:], k[len(k)-32:]) ||
				!bytes.Equal(recordKey(r.CaseID, r.RecordID), k[:len(k)-33]) {
				bad("revision at %q does not decode, verify or belong there", k[:len(k)-33])
				return nil
			}
			byRecord[string(k[:len(k)-33])] = append(byRecord[string(k[:len(k)-33])], r)
			for _, p := range r.Parents {
				t := kids.Get(p[:])
				if t == nil || (m != nil && !m.verify(t, "haskids", p[:])) {
					bad("revision %s names %s as parent, which haskids does not mark", r.Rev.Short(), p.Short())
				}
			}
			return nil
		}); err != nil {
			return err
		}
		records := uint64(0)
		if err := heads.ForEach(func(k, b []byte) error {
			records++
			var body []byte
			var ver byte
			switch {
			case format < 2:
				body, ver = b, headsV1
			case m == nil && len(b) > macSize:
				body, ver = b[:len(b)-macSize], headsV2
			case m != nil:
				var err error
				if body, ver, err = v.openHeads(m, k, b); err != nil {
					bad("heads entry %q: %v", k, err)
					return nil
				}
			default:
				bad("heads entry %q is too short", k)
				return nil
			}
			e, err := unmarshalHeads(body, ver)
			if err != nil {
				bad("heads entry %q: %v", k, err)
				return nil
			}
			all := byRecord[string(k)]
			delete(byRecord, string(k))
			var want []record.Head
			for _, r := range record.Heads(all) {
				if r.Kind != e.Kind {
					bad("record %q is a %s in heads, its revision %s a %s", k, e.Kind, r.Rev.Short(), r.Kind)
				}
				want = append(want, record.HeadOf(r))
			}
			got := slices.Clone(e.Heads)
			byRev := func(a, b record.Head) int { return bytes.Compare(a.Rev[:], b.Rev[:]) }
			slices.SortFunc(got, byRev)
			slices.SortFunc(want, byRev)
			if !slices.Equal(got, want) {
				bad("record %q: heads entry %v, its revisions' heads %v", k, shortHeads(got), shortHeads(want))
			}
			return nil
		}); err != nil {
			return err
		}
		for k := range byRecord {
			bad("record %q has revisions and no heads entry", k)
		}
		if n := btx.Bucket(bucketMeta).Get(metaRecords); len(n) == 8 && u64From(n) != records {
			bad("the record count says %d, the heads bucket holds %d", u64From(n), records)
		}
		return outbox.ForEach(func(k, rk []byte) error {
			if revs.Get(rk) == nil {
				bad("outbox entry %x names %q, which is not stored", k, rk)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("checking the vault: %w", err)
	}
	return errors.Join(problems...)
}

func u64From(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func shortHeads(hs []record.Head) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s(gen %d, hlc %d, deleted %v)", h.Rev.Short(), h.Gen, h.HLC, h.Deleted))
	}
	return out
}
