package tokens

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCacheExpiry(t *testing.T) {
	now := newClock().Now()
	c := NewCache(10, time.Minute)
	claims := Claims{Subject: "p", ExpiresAt: now.Add(10 * time.Second)}
	c.Put("tok", claims, now)

	got, ok := c.Get("tok", now.Add(9*time.Second))
	require.True(t, ok)
	assert.Equal(t, claims, got)
	_, ok = c.Get("tok", now.Add(10*time.Second))
	assert.False(t, ok, "never past exp")
	_, ok = c.Get("other", now)
	assert.False(t, ok)

	// TTL is capped.
	long := Claims{Subject: "p", ExpiresAt: now.Add(time.Hour)}
	c.Put("long", long, now)
	_, ok = c.Get("long", now.Add(59*time.Second))
	assert.True(t, ok)
	_, ok = c.Get("long", now.Add(time.Minute))
	assert.False(t, ok, "capped at maxTTL")

	// Already expired: not stored.
	c.Put("dead", Claims{Subject: "p", ExpiresAt: now}, now)
	_, ok = c.Get("dead", now.Add(-time.Second))
	assert.False(t, ok)
}

func TestCacheBound(t *testing.T) {
	now := newClock().Now()
	c := NewCache(100, time.Hour).(*boundedCache)
	for i := range 1000 {
		c.Put(fmt.Sprintf("token-%d", i), Claims{Subject: "p", ExpiresAt: now.Add(time.Hour)}, now)
		require.LessOrEqual(t, c.c.ItemCount(), 100)
	}
	_, ok := c.Get("token-999", now)
	assert.True(t, ok, "the newest entry is kept")

	// Concurrent writers cannot overshoot either.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				c.Put(fmt.Sprintf("w%d-%d", w, i), Claims{Subject: "p", ExpiresAt: now.Add(time.Hour)}, now)
				_, _ = c.Get(fmt.Sprintf("w%d-%d", w, i), now)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, c.c.ItemCount(), 100)
}

func TestCacheDefaults(t *testing.T) {
	c := NewCache(0, 0).(*boundedCache)
	assert.Equal(t, DefaultCacheEntries, c.max)
	assert.Equal(t, DefaultCacheTTL, c.maxTTL)
}

func TestVerifierWithCache(t *testing.T) {
	f := newFixture(t, RingConfig{})
	cache := NewCache(10, time.Hour)
	v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: cache})
	tok, issued, err := f.iss.Issue(testClaims())
	require.NoError(t, err)

	got, err := v.Verify(tok)
	require.NoError(t, err)
	cached, ok := cache.Get(tok, f.clock.Now())
	require.True(t, ok, "a verified token is cached")
	assert.Equal(t, got, cached)
	again, err := v.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, got, again)
	assert.Equal(t, issued.ID, again.ID)

	// A token that only resembles a cached one is verified in full.
	_, err = v.Verify(tamperSig(tok))
	require.ErrorIs(t, err, ErrTokenInvalid)

	// Past exp the cache does not answer and the verdict is Expired.
	f.clock.Advance(time.Hour + DefaultSkew)
	_, err = v.Verify(tok)
	require.ErrorIs(t, err, ErrTokenExpired)

	// Failures are not cached.
	bad := "x.y.z"
	_, err = v.Verify(bad)
	require.ErrorIs(t, err, ErrTokenInvalid)
	_, ok = cache.Get(bad, f.clock.Now())
	assert.False(t, ok)
}
