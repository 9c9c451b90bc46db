package syncharness

import (
	"crypto/ed25519"
	crand "crypto/rand"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Adversary plays a hostile server in front of a real one (as a
// faultproxy Rewrite): it watches the revisions going by and slips forged
// ones into pull answers — what a server that holds every public key, every
// ciphertext and no device's private key can make:
//
//   - a tombstone of a note it saw, in its writer's name;
//   - a tombstone from a device that does not exist;
//   - a keyring of a new epoch for a case it saw, wrapped to a key of its
//     own, in a member's name (a forged key epoch);
//   - a revision it saw with its body swapped, in its writer's name.
//
// Every device must quarantine every one of them and converge on the honest
// revisions alone.
type Adversary struct {
	mu     sync.Mutex
	rng    *rand.Rand
	share  int // chance in 100 that a pull answer gets a forgery
	key    ed25519.PrivateKey
	seen   []*record.Revision
	forged map[record.RevID]string // forged revision → what it was
}

// NewAdversary makes an adversary that forges into share% of pull answers.
func NewAdversary(seed uint64, share int) *Adversary {
	_, priv, _ := ed25519.GenerateKey(crand.Reader)
	return &Adversary{rng: rand.New(rand.NewPCG(seed, seed^0x51ed)), share: share, key: priv, forged: map[record.RevID]string{}}
}

// Forged lists every revision the adversary slipped into an answer.
func (a *Adversary) Forged() map[record.RevID]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[record.RevID]string, len(a.forged))
	for k, v := range a.forged {
		out[k] = v
	}
	return out
}

// Rewrite is the faultproxy hook.
func (a *Adversary) Rewrite(r *http.Request, reqBody []byte, status int, body []byte) []byte {
	if status != http.StatusOK || r.URL.Path != protocol.PathPull {
		if r.URL.Path == protocol.PathPush {
			if revs, err := protocol.DecodeBatch(reqBody, nil, protocol.MaxPushRevisions); err == nil {
				a.observe(revs)
			}
		}
		return body
	}
	var hdr protocol.PullHeader
	revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPullLimit)
	if err != nil {
		return body // a truncated answer: let the device deal with it
	}
	a.observe(revs)
	a.mu.Lock()
	defer a.mu.Unlock()
	// At least once, then in share% of the answers.
	if len(a.seen) == 0 || (len(a.forged) > 0 && a.rng.IntN(100) >= a.share) {
		return body
	}
	for n, tries := 1+a.rng.IntN(2), 0; n > 0 && tries < 20; tries++ {
		if f, what := a.forge(); f != nil {
			n--
			revs = append(revs, f)
			a.forged[f.Rev] = what
		}
	}
	out, err := protocol.EncodeBatch(hdr, revs)
	if err != nil {
		return body
	}
	return out
}

func (a *Adversary) observe(revs []*record.Revision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range revs {
		c := *r
		c.Body = append([]byte(nil), r.Body...)
		a.seen = append(a.seen, &c)
	}
	if len(a.seen) > 5000 {
		a.seen = a.seen[len(a.seen)-5000:]
	}
}

// forge makes one forged revision from what it has seen (a.mu held).
func (a *Adversary) forge() (*record.Revision, string) {
	base := a.seen[a.rng.IntN(len(a.seen))]
	f := &record.Revision{RecordID: base.RecordID, Kind: base.Kind, CaseID: base.CaseID, Parents: []record.RevID{base.Rev},
		Generation: base.Generation + 1, HLC: base.HLC + 1<<20, Device: base.Device, Seq: base.Seq + 1_000_000}
	what := ""
	switch a.rng.IntN(4) {
	case 0: // a tombstone in the writer's name
		if base.Kind == record.KindKeyring {
			return nil, ""
		}
		f.Deleted, f.Body = true, base.Body
		what = "tombstone in " + base.Device + "'s name"
	case 1: // a tombstone from nobody
		if base.Kind == record.KindKeyring {
			return nil, ""
		}
		f.Deleted, f.Body, f.Device, f.Seq = true, base.Body, "ghost-device", 1+uint64(a.rng.IntN(1000))
		what = "tombstone from an unknown device"
	case 2: // a forged key epoch
		kb, err := sealed.DecodeKeyring(base.Body)
		if base.Kind != record.KindKeyring || err != nil {
			return nil, ""
		}
		epoch := kb.Epoch + 1
		k := crypto.NewCaseKey(base.CaseID, epoch)
		id, err := crypto.NewIdentity()
		if err != nil {
			return nil, ""
		}
		wrapped, err := crypto.WrapKey(k, id.Recipient())
		if err != nil {
			return nil, ""
		}
		f.RecordID, f.Parents, f.Generation = record.KeyringID(base.CaseID, epoch), nil, 1
		f.Body = sealed.Keyring{Epoch: epoch, Wrapped: wrapped, Membership: trust.Membership{Team: kb.Membership.Team, Members: kb.Membership.Members}}.Marshal()
		what = "keyring of a forged epoch"
	default: // a body swapped
		if len(base.Body) == 0 {
			return nil, ""
		}
		f.Body = append([]byte(nil), base.Body...)
		f.Body[len(f.Body)-1] ^= 1
		what = "edited body in " + base.Device + "'s name"
	}
	f.Seal()
	f.Sign(func(m []byte) []byte { return ed25519.Sign(a.key, m) })
	if f.Validate() != nil {
		return nil, ""
	}
	return f, what
}
