package tokens

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenRingCreatesOnce(t *testing.T) {
	f := newFixture(t, RingConfig{})
	assert.Equal(t, 1, f.store.count(useSig))
	assert.Equal(t, 1, f.store.count(useSecret))
	// Reopening loads, it does not create.
	_, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now})
	require.NoError(t, err)
	assert.Equal(t, 1, f.store.count(useSig))
	assert.Equal(t, 1, f.store.count(useSecret))
}

func TestOpenRingConcurrentStart(t *testing.T) {
	store := &memKeys{}
	clock := newClock()
	rings := make([]*Ring, 8)
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() {
			r, err := OpenRing(t.Context(), RingConfig{Store: store, Clock: clock.Now})
			assert.NoError(t, err)
			rings[i] = r
		})
	}
	wg.Wait()
	assert.Equal(t, 1, store.count(useSecret), "one server secret")
	for _, r := range rings {
		require.NoError(t, r.Reload(t.Context()))
	}
	// After a reload every process signs with the same key and shares the
	// secret, and each verifies what any other issued.
	want := rings[0].set.Load().signer(clock.Now()).id
	for i, r := range rings {
		assert.Equal(t, want, r.set.Load().signer(clock.Now()).id)
		assert.Equal(t, rings[0].MAC("x"), r.MAC("x"))
		tok, _, err := NewIssuer(r, IssuerConfig{}).Issue(testClaims())
		require.NoError(t, err)
		_, err = NewVerifier(rings[(i+1)%len(rings)], VerifierConfig{}).Verify(tok)
		require.NoError(t, err)
	}
}

func TestRotation(t *testing.T) {
	f := newFixture(t, RingConfig{})
	ctx := t.Context()
	oldTok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	oldKid := decodeSegment(t, oldTok, 0)["kid"]

	f.clock.Advance(10 * time.Minute)
	newKid, err := f.ring.Rotate(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, oldKid, newKid)
	newTok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	assert.Equal(t, newKid, decodeSegment(t, newTok, 0)["kid"], "the new key signs at once without Propagation")

	// The old token verifies until it expires...
	f.clock.Advance(50 * time.Minute)
	require.NoError(t, f.ring.Reload(ctx))
	_, err = f.ver.Verify(oldTok)
	require.NoError(t, err)
	// ...then not: first by exp, then the key itself is gone.
	f.clock.Advance(time.Minute)
	_, err = f.ver.Verify(oldTok)
	require.ErrorIs(t, err, ErrTokenExpired)

	f.clock.Advance(DefaultVerifyFor) // past rotation + VerifyFor
	lenient := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Skew: 24 * time.Hour})
	_, err = lenient.Verify(oldTok)
	require.ErrorIs(t, err, ErrTokenInvalid, "a retired key verifies nothing, even before Reload")
	require.NoError(t, f.ring.Reload(ctx))
	assert.Equal(t, 1, f.store.count(useSig), "Reload deleted the retired key")
	_, ok := f.ring.set.Load().byKid[oldKid.(string)]
	assert.False(t, ok)
	raw, err := f.ring.JWKS()
	require.NoError(t, err)
	assert.NotContains(t, string(raw), oldKid)
	assert.Contains(t, string(raw), newKid)
	_, err = f.ver.Verify(newTok)
	require.ErrorIs(t, err, ErrTokenExpired)
}

func TestRotationPropagation(t *testing.T) {
	f := newFixture(t, RingConfig{Propagation: 5 * time.Minute})
	ctx := t.Context()
	other, err := OpenRing(ctx, RingConfig{Store: f.store, Clock: f.clock.Now})
	require.NoError(t, err)
	oldKid := f.ring.set.Load().signer(f.clock.Now()).id

	newKid, err := f.ring.Rotate(ctx)
	require.NoError(t, err)
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	assert.Equal(t, oldKid, decodeSegment(t, tok, 0)["kid"], "a pending key does not sign yet")
	raw, err := f.ring.JWKS()
	require.NoError(t, err)
	assert.Contains(t, string(raw), newKid, "a pending key is published before it signs")

	require.NoError(t, other.Reload(ctx)) // the other process learns the key in time
	f.clock.Advance(5 * time.Minute)
	tok, _, err = f.iss.Issue(testClaims())
	require.NoError(t, err)
	assert.Equal(t, newKid, decodeSegment(t, tok, 0)["kid"])
	_, err = NewVerifier(other, VerifierConfig{Issuer: testIss, Audience: testAud}).Verify(tok)
	require.NoError(t, err)
}

func TestReloadPicksUpOtherProcessKeys(t *testing.T) {
	f := newFixture(t, RingConfig{})
	other, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now})
	require.NoError(t, err)
	f.clock.Advance(time.Second)
	_, err = other.Rotate(t.Context())
	require.NoError(t, err)
	tok, _, err := NewIssuer(other, IssuerConfig{Issuer: testIss, Audience: testAud}).Issue(testClaims())
	require.NoError(t, err)
	_, err = f.ver.Verify(tok)
	require.ErrorIs(t, err, ErrTokenInvalid, "unknown until reloaded")
	require.NoError(t, f.ring.Reload(t.Context()))
	_, err = f.ver.Verify(tok)
	require.NoError(t, err)
}

func TestAlgorithmSwitch(t *testing.T) {
	f := newFixture(t, RingConfig{})
	edTok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	es, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now, Algorithm: ES256})
	require.NoError(t, err)
	esIss := NewIssuer(es, IssuerConfig{Issuer: testIss, Audience: testAud})
	tok, _, err := esIss.Issue(testClaims())
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", decodeSegment(t, tok, 0)["alg"], "a new key sorts strictly after the current one")
	f.clock.Advance(time.Second)
	tok, _, err = esIss.Issue(testClaims())
	require.NoError(t, err)
	assert.Equal(t, "ES256", decodeSegment(t, tok, 0)["alg"])
	again, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now, Algorithm: ES256})
	require.NoError(t, err)
	require.NoError(t, again.Reload(t.Context()))
	assert.Equal(t, 2, f.store.count(useSig), "reopening with the same algorithm adds nothing")
	esVer := NewVerifier(es, VerifierConfig{Issuer: testIss, Audience: testAud})
	_, err = esVer.Verify(edTok)
	require.NoError(t, err, "the EdDSA key keeps verifying after the switch")
}

func TestSealedKeys(t *testing.T) {
	kek := make([]byte, 32)
	kek[0] = 1
	f := newFixture(t, RingConfig{KEK: kek})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	secret := f.ring.MAC("x")

	keys, err := f.store.ListKeys(t.Context())
	require.NoError(t, err)
	for _, k := range keys {
		assert.Equal(t, privSealed, k.Private[0], "key %s sealed at rest", k.ID)
	}

	// The right KEK opens the same ring.
	again, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now, KEK: kek})
	require.NoError(t, err)
	_, err = NewVerifier(again, VerifierConfig{Issuer: testIss, Audience: testAud}).Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, secret, again.MAC("x"))

	wrong := make([]byte, 32)
	for _, tc := range []struct {
		name string
		kek  []byte
	}{{"wrong KEK", wrong}, {"no KEK", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now, KEK: tc.kek})
			require.ErrorIs(t, err, ErrKeyUnsealable)
			assert.Equal(t, 1, f.store.count(useSig), "no new ring was made")
			assert.Equal(t, 1, f.store.count(useSecret))
		})
	}

	// A sealed part moved onto another record does not open.
	f.store.mu.Lock()
	for i := range f.store.keys {
		if f.store.keys[i].Use == useSig {
			f.store.keys[i].ActiveAt = f.store.keys[i].ActiveAt.Add(-time.Second)
			f.store.keys[i].Algorithm = string(ES256)
		}
	}
	f.store.mu.Unlock()
	_, err = OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now, KEK: kek})
	require.ErrorIs(t, err, ErrKeyUnsealable)
	require.ErrorIs(t, f.ring.Reload(t.Context()), ErrKeyUnsealable)
	_, err = f.ver.Verify(tok)
	require.NoError(t, err, "a failed Reload keeps the keys it had")
}

func TestOpenRingConfig(t *testing.T) {
	for name, cfg := range map[string]RingConfig{
		"no store":         {},
		"short KEK":        {Store: &memKeys{}, KEK: []byte("short")},
		"unknown alg":      {Store: &memKeys{}, Algorithm: "RS256"},
		"none alg":         {Store: &memKeys{}, Algorithm: "none"},
		"negative propag.": {Store: &memKeys{}, Propagation: -time.Second},
	} {
		_, err := OpenRing(t.Context(), cfg)
		assert.Error(t, err, name)
	}
}

func TestUnsafeStoredKidRefused(t *testing.T) {
	store := &memKeys{}
	require.NoError(t, store.AddKey(t.Context(), storage.Key{ID: "../etc/passwd", Use: useSig, Algorithm: string(EdDSA), Private: append([]byte{privRaw}, make([]byte, 32)...)}))
	_, err := OpenRing(t.Context(), RingConfig{Store: store})
	require.Error(t, err)
}

// failingKeys fails every call.
type failingKeys struct{}

func (failingKeys) ListKeys(context.Context) ([]storage.Key, error) {
	return nil, assert.AnError
}
func (failingKeys) AddKey(context.Context, storage.Key) error { return assert.AnError }
func (failingKeys) DeleteKey(context.Context, string) error   { return assert.AnError }

func TestOpenRingStoreDown(t *testing.T) {
	_, err := OpenRing(t.Context(), RingConfig{Store: failingKeys{}})
	require.ErrorIs(t, err, assert.AnError)
}

func TestConcurrentVerifyDuringRotate(t *testing.T) {
	f := newFixture(t, RingConfig{})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				_, err := f.ver.Verify(tok)
				assert.NoError(t, err)
				_, _, err = f.iss.Issue(testClaims())
				assert.NoError(t, err)
			}
		})
	}
	for range 5 {
		_, err := f.ring.Rotate(t.Context())
		require.NoError(t, err)
	}
	wg.Wait()
}

func TestFreshRingSignsForSlowClocks(t *testing.T) {
	f := newFixture(t, RingConfig{})
	behind := NewIssuer(f.ring, IssuerConfig{Clock: func() time.Time { return f.clock.Now().Add(-2 * time.Second) }})
	_, _, err := behind.Issue(testClaims())
	require.NoError(t, err, "a process whose clock is behind the key's ActiveAt still signs")
}
