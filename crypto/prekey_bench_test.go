package crypto

import (
	"errors"
	"testing"
	"time"
)

// BenchmarkUnwrapWithPreKeys measures what trying a device's pre-keys
// costs when a keyring is pulled: a device holds its long-term identity
// and up to six pre-keys (a 7-day rotation kept 35 days after it was
// replaced). Against a baseline of the long-term identity alone, in the
// same process, for a keyring of 8 recipients addressed to the device
// (to its newest pre-key, against the baseline's to its identity) and one
// not addressed to it (every stanza tried by every key).
func BenchmarkUnwrapWithPreKeys(b *testing.B) {
	id, err := NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	var pre []*PreKey
	for range 6 {
		p, _ := NewPreKey()
		pre = append(pre, p)
	}
	others := func(n int) []string {
		var out []string
		for range n {
			p, _ := NewPreKey()
			out = append(out, p.Recipient())
		}
		return out
	}
	k := NewCaseKey("case", 1)
	toID, _ := WrapKey(k, append(others(7), id.Recipient())...)
	toPre, _ := WrapKey(k, append(others(7), pre[5].Recipient())...)
	notMine, _ := WrapKey(k, others(8)...)
	const n = 20
	var base, with, baseMiss, withMiss time.Duration
	run := func(d *time.Duration, wrapped []byte, want error, ps ...*PreKey) {
		t0 := time.Now()
		for range n {
			if _, err := UnwrapKeyWith(wrapped, "case", 1, id, ps...); !errors.Is(err, want) && err != want {
				b.Fatalf("unwrap: %v, want %v", err, want)
			}
		}
		*d += time.Since(t0)
	}
	for b.Loop() {
		run(&base, toID, nil)
		run(&with, toPre, nil, pre...)
		run(&baseMiss, notMine, ErrNotRecipient)
		run(&withMiss, notMine, ErrNotRecipient, pre...)
	}
	b.ReportMetric(float64(with)/float64(base), "addressed-time-ratio")
	b.ReportMetric(float64(withMiss)/float64(baseMiss), "not-addressed-time-ratio")
	b.ReportMetric(float64(base.Microseconds())/float64(n*b.N), "baseline-us/unwrap")
}
