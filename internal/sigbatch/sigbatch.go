// Package sigbatch checks Ed25519 signatures one at a time and in batches
// with the same rules (ZIP-215, the ones batch verification can keep), so
// that every device, the server and a court's verifier reach the same
// verdict on any signature, however a batch is made up.
package sigbatch

import (
	"crypto/ed25519"
	"runtime"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

var options = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// One reports whether sig is pub's signature of msg.
func One(pub ed25519.PublicKey, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
		voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, options)
}

// Verify checks n signatures, item(i) giving the i'th key, message and
// signature (a nil key: not valid): in batches of 128 (about three times
// the speed of one at a time when all are good; a batch with a bad one is
// checked one by one), spread over the machine's cores.
func Verify(n int, item func(i int) (pub ed25519.PublicKey, msg, sig []byte)) []bool {
	ok := make([]bool, n)
	const chunk = 128
	verify := func(lo, hi int) {
		bv := voi.NewBatchVerifierWithCapacity(hi - lo)
		var idx []int
		for j := lo; j < hi; j++ {
			pub, msg, sig := item(j)
			if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
				continue
			}
			bv.AddWithOptions(voi.PublicKey(pub), msg, sig, options)
			idx = append(idx, j)
		}
		if len(idx) == 0 {
			return
		}
		_, valid := bv.Verify(nil)
		for k, j := range idx {
			ok[j] = valid[k]
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	if workers <= 1 {
		for i := 0; i < n; i += chunk {
			verify(i, min(i+chunk, n))
		}
		return ok
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(chunk)) - chunk
				if i >= n {
					return
				}
				verify(i, min(i+chunk, n))
			}
		}()
	}
	wg.Wait()
	return ok
}
