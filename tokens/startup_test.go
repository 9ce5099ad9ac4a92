package tokens

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Processes starting together on an empty store must agree on one signing
// key at once: otherwise a token signed on one is refused on another until
// the next Reload.
func TestProcessesStartingTogetherShareOneKey(t *testing.T) {
	store, clock := &memKeys{}, newClock()
	const n = 8
	rings := make([]*Ring, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := OpenRing(context.Background(), RingConfig{Store: store, Clock: clock.Now})
			assert.NoError(t, err)
			rings[i] = r
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, store.count(useSig), "one signing key between them")
	for i, signer := range rings {
		tok, _, err := NewIssuer(signer, IssuerConfig{Issuer: testIss, Audience: testAud, Clock: clock.Now}).Issue(testClaims())
		require.NoError(t, err)
		for j, verifier := range rings {
			_, err := NewVerifier(verifier, VerifierConfig{Issuer: testIss, Audience: testAud, Clock: clock.Now}).Verify(tok)
			assert.NoError(t, err, "signed by process %d, verified by %d", i, j)
		}
	}
}
