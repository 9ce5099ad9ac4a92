package federated_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flood sends n tokens with made-up kids at once and checks that each is
// refused as a bad credential.
func flood(t *testing.T, f *jwtFixture, round, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok := mint(t, f.alg, f.key, map[string]any{"kid": fmt.Sprintf("made-up-%d-%d", round, i)}, f.claims())
			_, errs[i] = f.set.Verify(context.Background(), f.provider, federated.Credential{IDToken: tok})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, federated.ErrInvalidCredential)
	}
}

// TestUnknownKidFlood: made-up kids cost the vendor one key-set fetch per
// 30 s, however many arrive, for every ID-token provider.
func TestUnknownKidFlood(t *testing.T) {
	for name, build := range map[string]func(*testing.T) *jwtFixture{
		"apple": appleFixture, "google": googleFixture, "oidc": oidcECFixture,
	} {
		t.Run(name, func(t *testing.T) {
			f := build(t)
			require.EqualValues(t, 1, f.fetches(), "Warm fetches the key set once")

			flood(t, f, 1, 50)
			assert.EqualValues(t, 2, f.fetches(), "the first unknown kid refetches once")

			f.clk.Advance(10 * time.Second)
			flood(t, f, 2, 50)
			assert.EqualValues(t, 2, f.fetches(), "no refetch within 30 s")

			_, err := f.set.Verify(context.Background(), f.provider, federated.Credential{
				IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, f.claims()),
			})
			require.NoError(t, err, "a good token still verifies during the flood")

			f.clk.Advance(21 * time.Second)
			flood(t, f, 3, 50)
			assert.EqualValues(t, 3, f.fetches(), "one more refetch after 30 s")
		})
	}
}

// TestKeyRotation: a token signed by a key the vendor has just published
// verifies on the refetch its unknown kid triggers.
func TestKeyRotation(t *testing.T) {
	f := appleFixture(t)
	next := rsaKey(t)
	f.iss.Publish(federatedtest.PublicKey{KeyID: "apple-2", Alg: "RS256", Key: &next.PublicKey})

	id, err := f.set.Verify(context.Background(), federated.Apple, federated.Credential{
		IDToken: mint(t, "RS256", next, map[string]any{"kid": "apple-2"}, f.claims()),
	})
	require.NoError(t, err)
	assert.Equal(t, "player-1", id.Subject)
	assert.EqualValues(t, 2, f.fetches())

	_, err = f.set.Verify(context.Background(), federated.Apple, federated.Credential{
		IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, f.claims()),
	})
	require.ErrorIs(t, err, federated.ErrInvalidCredential, "the retired key no longer verifies")
}

// TestKeySetOutage: while the key set cannot be fetched, a token whose key
// we do not have is answered ErrUnavailable, never ErrInvalidCredential,
// and the set is fetched again at most every 30 s until it comes back.
func TestKeySetOutage(t *testing.T) {
	t.Run("down from the start", func(t *testing.T) {
		clk := newClock()
		v := federatedtest.NewApple(t, federatedtest.IssuerOptions{ClientIDs: []string{"app"}, KeyID: "a", Now: clk.Now})
		v.Fail(http.StatusInternalServerError)
		s := newSet(t, federatedtest.Config(v), v.Client(), clk)
		tok := v.Mint(federatedtest.Token{Subject: "p", Expiry: clk.Now().Add(time.Hour)})
		verify := func() error {
			_, err := s.Verify(context.Background(), federated.Apple, federated.Credential{IDToken: tok})
			return err
		}
		// jwk.Cache's first fetch, in the background, has been refused.
		require.Eventually(t, func() bool { return v.Calls(federatedtest.KeysPath) == 1 }, 5*time.Second, time.Millisecond)
		err := verify()
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
		require.EqualValues(t, 2, v.Calls(federatedtest.KeysPath), "Verify fetched once more")

		v.Heal()
		clk.Advance(10 * time.Second)
		require.ErrorIs(t, verify(), federated.ErrUnavailable, "within 30 s of the failed fetch, no new one")
		clk.Advance(21 * time.Second)
		require.NoError(t, verify(), "the next fetch, 30 s on, recovers")
	})
	t.Run("rotation during an outage", func(t *testing.T) {
		f := appleFixture(t)
		f.iss.Fail(http.StatusServiceUnavailable)
		next := rsaKey(t)
		_, err := f.set.Verify(context.Background(), federated.Apple, federated.Credential{
			IDToken: mint(t, "RS256", next, map[string]any{"kid": "apple-2"}, f.claims()),
		})
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)

		_, err = f.set.Verify(context.Background(), federated.Apple, federated.Credential{
			IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, f.claims()),
		})
		require.NoError(t, err, "cached keys keep verifying while the vendor is down")
	})
	t.Run("slow", func(t *testing.T) {
		clk := newClock()
		v := federatedtest.NewOIDC(t, "sso", federatedtest.IssuerOptions{ClientIDs: []string{"g"}, Now: clk.Now})
		v.Hang()
		cfg := federatedtest.Config(v)
		cfg.Timeout = federated.Duration(200 * time.Millisecond)
		s := newSet(t, cfg, v.Client(), clk)
		tok := v.Mint(federatedtest.Token{Subject: "p", Expiry: clk.Now().Add(time.Hour)})
		start := time.Now()
		_, err := s.Verify(context.Background(), "sso", federated.Credential{IDToken: tok})
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
		assert.Less(t, time.Since(start), 3*time.Second, "bounded by the timeout")
	})
}

// TestFirstLoadLeavesTheRefetch: a sign-in that loads a key set the Set
// does not have yet (an OIDC issuer's, found on first use, or one whose
// first background fetch failed or is not done) is not the one refetch
// per 30 s an unknown kid may make: a key the vendor publishes right after
// still verifies, and while the vendor is down such a token answers
// ErrUnavailable, not ErrInvalidCredential (TestFirstLoadThenDown).
func TestFirstLoadLeavesTheRefetch(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	v := federatedtest.NewApple(t, federatedtest.IssuerOptions{ClientIDs: []string{"app"}, Now: clk.Now})
	v.Fail(http.StatusInternalServerError)
	s := newSet(t, federatedtest.Config(v), v.Client(), clk)
	require.Eventually(t, func() bool { return v.Calls(federatedtest.KeysPath) == 1 }, 5*time.Second, time.Millisecond,
		"jwk.Cache's first fetch, in the background, is refused")
	v.Heal()
	verify := func() error {
		_, err := s.Verify(ctx, federated.Apple, federated.Credential{IDToken: v.Mint(federatedtest.Token{Subject: "p"})})
		return err
	}
	require.NoError(t, verify(), "the first sign-in loads the set")
	require.EqualValues(t, 2, v.Calls(federatedtest.KeysPath))

	clk.Advance(time.Second)
	v.Rotate()
	require.NoError(t, verify(), "a key published since the load is fetched")
	require.EqualValues(t, 3, v.Calls(federatedtest.KeysPath))

	clk.Advance(time.Second)
	_, err := s.Verify(ctx, federated.Apple, federated.Credential{IDToken: mint(t, "RS256", v.Key(), map[string]any{"kid": "made-up"}, v.Claims(federatedtest.Token{Subject: "p"}))})
	requireErr(t, err, federated.ErrInvalidCredential, "no key for the token's kid")
	assert.EqualValues(t, 3, v.Calls(federatedtest.KeysPath), "that refetch was the one of the next 30 s")
}

// TestFirstLoadThenDown: an OIDC issuer's key set is found and loaded by
// the first sign-in; the vendor down after it, a token under a new kid is
// ErrUnavailable.
func TestFirstLoadThenDown(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	o := federatedtest.NewOIDC(t, "sso", federatedtest.IssuerOptions{Now: clk.Now})
	s := newSet(t, federatedtest.Config(o), o.Client(), clk)
	// No Warm: the first sign-in finds the key set through discovery.
	_, err := s.Verify(ctx, "sso", federated.Credential{IDToken: o.Mint(federatedtest.Token{Subject: "p"})})
	require.NoError(t, err)
	clk.Advance(time.Second)
	o.Close()
	o.Rotate()
	_, err = s.Verify(ctx, "sso", federated.Credential{IDToken: o.Mint(federatedtest.Token{Subject: "p"})})
	requireErr(t, err, federated.ErrUnavailable, "key set")
}
