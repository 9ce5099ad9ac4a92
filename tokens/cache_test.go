package tokens

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/internal/wallclock"
)

// claimsFor returns the claims of a token of session sid, expiring at exp.
func claimsFor(sid string, exp time.Time) Claims {
	c := testClaims()
	c.SessionID, c.ID, c.IssuedAt, c.ExpiresAt = sid, "jti-"+sid, exp.Add(-time.Hour), exp
	return c
}

func TestCacheExpiry(t *testing.T) {
	now := newClock().Now()
	c := NewCache(10, time.Minute)
	claims := claimsFor("s", now.Add(10*time.Second))
	c.Put("tok", claims, now)

	got, ok := c.Get("tok", now.Add(9*time.Second))
	require.True(t, ok)
	assert.Equal(t, claims, got, "every claim comes back as it was put")
	_, ok = c.Get("tok", now.Add(10*time.Second-time.Nanosecond))
	assert.True(t, ok)
	_, ok = c.Get("tok", now.Add(10*time.Second))
	assert.False(t, ok, "never past exp")
	_, ok = c.Get("tok", now.Add(time.Hour))
	assert.False(t, ok, "never past exp")
	_, ok = c.Get("other", now)
	assert.False(t, ok)

	// TTL is capped.
	c.Put("long", claimsFor("l", now.Add(time.Hour)), now)
	_, ok = c.Get("long", now.Add(59*time.Second))
	assert.True(t, ok)
	_, ok = c.Get("long", now.Add(time.Minute))
	assert.False(t, ok, "capped at maxTTL")

	// Put at a fraction of a second: the cap is rounded down, never up.
	c.Put("late", claimsFor("t", now.Add(time.Hour)), now.Add(time.Second/2))
	_, ok = c.Get("late", now.Add(time.Minute))
	assert.False(t, ok, "capped at maxTTL, rounded down")

	// Already expired: not stored.
	c.Put("dead", claimsFor("d", now), now)
	_, ok = c.Get("dead", now.Add(-time.Second))
	assert.False(t, ok)
}

// TestCacheTimes: an entry gives back exp and iat exactly, or the token is
// not cached (see entryTimes for what fits); a missing iat stays missing.
func TestCacheTimes(t *testing.T) {
	now := newClock().Now()
	exp := now.Add(time.Minute)
	lifetime := func(d time.Duration) func(*Claims) {
		return func(c *Claims) { c.IssuedAt = c.ExpiresAt.Add(-d) }
	}
	for _, tc := range []struct {
		name   string
		mod    func(*Claims)
		cached bool
	}{
		{"whole seconds", func(*Claims) {}, true},
		{"no iat", func(c *Claims) { c.IssuedAt = time.Time{} }, true},
		{"iat equal to exp", lifetime(0), true},
		{"lifetime just under 2^15 s", lifetime(32767 * time.Second), true},
		{"lifetime of 10 hours and 1 second", lifetime(10*time.Hour + time.Second), false},
		{"lifetime of 24 hours", lifetime(24 * time.Hour), true},
		{"lifetime of 22 days", lifetime(22 * 24 * time.Hour), true},
		{"lifetime of 23 days", lifetime(23 * 24 * time.Hour), false},
		{"fractional exp", func(c *Claims) { c.ExpiresAt = c.ExpiresAt.Add(time.Millisecond) }, false},
		{"fractional iat", func(c *Claims) { c.IssuedAt = c.IssuedAt.Add(time.Millisecond) }, false},
		{"iat after exp", lifetime(-time.Second), false},
		{"exp after 2156", func(c *Claims) { c.ExpiresAt, c.IssuedAt = c.ExpiresAt.AddDate(200, 0, 0), time.Time{} }, false},
		{"no exp", func(c *Claims) { c.ExpiresAt = time.Time{} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(10, time.Hour)
			claims := claimsFor("s", exp)
			tc.mod(&claims)
			c.Put("tok", claims, now)
			got, ok := c.Get("tok", now)
			require.Equal(t, tc.cached, ok)
			if ok {
				assert.Equal(t, claims, got)
			}
		})
	}
}

// TestCacheCapRounding: a cap more than 9 hours before exp is kept to the
// minute, rounded down; one closer to exp, to the second.
func TestCacheCapRounding(t *testing.T) {
	now := newClock().Now()
	for _, tc := range []struct {
		name      string
		maxTTL    time.Duration
		lifetime  time.Duration
		answersTo time.Duration // the last whole second the entry answers
	}{
		{"cap to the second", 10*time.Minute + 30*time.Second, time.Hour, 10*time.Minute + 29*time.Second},
		{"cap to the minute", 10*time.Minute + 30*time.Second, 24 * time.Hour, 9*time.Minute + 59*time.Second},
		{"cap at a whole minute", 10 * time.Minute, 24 * time.Hour, 10*time.Minute - time.Second},
		{"cap beyond exp", 48 * time.Hour, 24 * time.Hour, 24*time.Hour - time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(10, tc.maxTTL)
			c.Put("tok", claimsFor("s", now.Add(tc.lifetime)), now)
			_, ok := c.Get("tok", now.Add(tc.answersTo))
			assert.True(t, ok)
			_, ok = c.Get("tok", now.Add(tc.answersTo+time.Second))
			assert.False(t, ok)
		})
	}
	// A cap of under a minute on a long-lived token rounds to nothing.
	c := NewCache(10, 30*time.Second)
	c.Put("tok", claimsFor("s", now.Add(24*time.Hour)), now)
	assert.Zero(t, c.Len())
}

func TestCacheBound(t *testing.T) {
	now := newClock().Now()
	for _, n := range []int{1, 7, 8, 10, 100, 1000, 100_000} {
		c := NewCache(n, time.Hour)
		assert.LessOrEqual(t, c.Cap(), n, "the bound is never exceeded (%d)", n)
		assert.GreaterOrEqual(t, c.Cap(), min(n, 8), "a small bound still holds whole buckets (%d)", n)
		assert.Equal(t, max(n/8*8, min(n, 8)), c.Cap(), "rounded down to a multiple of 8 (%d)", n)
	}

	c := NewCache(100, time.Hour)
	for i := range 1000 {
		c.Put(fmt.Sprintf("token-%d", i), claimsFor(fmt.Sprint(i), now.Add(time.Hour)), now)
		require.LessOrEqual(t, c.Len(), c.Cap())
	}
	assert.Equal(t, c.Cap(), c.Len(), "a thousand distinct tokens fill every slot")
	_, ok := c.Get("token-999", now)
	assert.True(t, ok, "the newest entry is kept")
	assert.Equal(t, c.Cap(), identities(c), "an Identity per session held, no more")

	// Concurrent writers cannot overshoot either, nor upset the counts.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				tok := fmt.Sprintf("w%d-%d", w, i)
				c.Put(tok, claimsFor(fmt.Sprint(i%7), now.Add(time.Hour)), now)
				if id, ok := c.Get(tok, now); ok {
					assert.Equal(t, "jti-"+fmt.Sprint(i%7), id.ID)
				}
				assert.LessOrEqual(t, c.Len(), c.Cap())
			}
		})
	}
	wg.Wait()
	assert.Equal(t, c.Cap(), c.Len())
	assert.LessOrEqual(t, identities(c), c.Cap())
}

func TestCacheDefaults(t *testing.T) {
	c := NewCache(0, 0)
	assert.Equal(t, DefaultCacheEntries, c.Cap())
	assert.Equal(t, DefaultCacheTTL, c.maxTTL)
}

// TestCacheEvictsSoonestExpiring: a full cache makes room with the entry
// that would stop answering first, expired or not.
func TestCacheEvictsSoonestExpiring(t *testing.T) {
	clock := newClock()
	now := clock.Now()
	c := NewCache(8, time.Hour) // one bucket of eight
	require.Equal(t, 8, c.Cap())
	for i := range 8 {
		c.Put(fmt.Sprint("tok-", i), claimsFor(fmt.Sprint(i), now.Add(time.Duration(8-i)*time.Minute)), now)
	}
	c.Put("tok-8", claimsFor("8", now.Add(30*time.Minute)), now)
	_, ok := c.Get("tok-7", now)
	assert.False(t, ok, "the entry expiring first made room")
	for i := range 7 {
		_, ok := c.Get(fmt.Sprint("tok-", i), now)
		assert.True(t, ok, "tok-%d kept", i)
	}

	// Putting a token again takes its own slot, not another's.
	c.Put("tok-0", claimsFor("0", now.Add(8*time.Minute)), now)
	for i := range 9 {
		_, ok := c.Get(fmt.Sprint("tok-", i), now)
		assert.Equal(t, i != 7, ok, "tok-%d", i)
	}
	assert.Equal(t, 8, c.Len())
	assert.Equal(t, 8, identities(c))
}

// TestCacheOneByteOff: a token that differs from a cached one in any byte,
// or is a byte longer or shorter, is never answered from the cache, and
// Verify refuses it.
func TestCacheOneByteOff(t *testing.T) {
	f := newFixture(t, RingConfig{})
	v, cache := f.cachingVerifier(10)
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	_, err = v.Verify(tok)
	require.NoError(t, err)
	now := f.clock.Now()
	_, ok := cache.Get(tok, now)
	require.True(t, ok)

	var variants []string
	for i := range len(tok) {
		for _, b := range []byte{tok[i] ^ 1, tok[i] ^ 0x20, 'A', '.'} {
			if b != tok[i] {
				variants = append(variants, tok[:i]+string(b)+tok[i+1:])
			}
		}
	}
	variants = append(variants, tok[1:], tok[:len(tok)-1], tok+"A", "A"+tok, tok+".")
	for _, bad := range variants {
		_, ok := cache.Get(bad, now)
		require.False(t, ok, "a token one byte off is answered from the cache")
		_, err := v.Verify(bad)
		require.ErrorIs(t, err, ErrTokenInvalid)
	}
	assert.Equal(t, 1, cache.Len(), "refused tokens are not cached")
}

func TestVerifierWithCache(t *testing.T) {
	f := newFixture(t, RingConfig{})
	v, cache := f.cachingVerifier(10)
	tok, issued, err := f.iss.Issue(testClaims())
	require.NoError(t, err)

	got, err := v.Verify(tok)
	require.NoError(t, err)
	uncached, err := f.ver.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, uncached, got)
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
	_, err = v.VerifyIdentity(tok)
	require.ErrorIs(t, err, ErrTokenExpired)

	// Failures are not cached.
	bad := "x.y.z"
	_, err = v.Verify(bad)
	require.ErrorIs(t, err, ErrTokenInvalid)
	_, ok = cache.Get(bad, f.clock.Now())
	assert.False(t, ok)
}

// On the system clock a hit is judged by wallclock.Seconds, which reads no
// clock (its own tests show it is never behind): a token seen before is
// answered from the cache.
func TestVerifierOnTheSystemClock(t *testing.T) {
	r, err := OpenRing(context.Background(), RingConfig{Store: &memKeys{}})
	require.NoError(t, err)
	v := NewVerifier(r, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: NewCache(10, time.Hour)})
	require.True(t, v.coarse, "the ring's default clock is the system clock")
	assert.False(t, NewVerifier(r, VerifierConfig{Clock: time.Now}).coarse, "any other clock is read on every hit")
	assert.False(t, NewVerifier(r, VerifierConfig{Skew: -1}).coarse, "with no skew to cover a late refresh, so is the system clock")

	tok, _, err := NewIssuer(r, IssuerConfig{Issuer: testIss, Audience: testAud}).Issue(testClaims())
	require.NoError(t, err)
	for range 2 {
		_, err = v.VerifyIdentity(tok)
		require.NoError(t, err)
	}
	st, _ := v.CacheStats()
	assert.Equal(t, CacheStats{Entries: 1, Capacity: 8, Hits: 1, Misses: 1}, st)

	// Past exp by Seconds, which is never behind the clock, the entry
	// does not answer: the verdict is the verifier's.
	tok, _, err = NewIssuer(r, IssuerConfig{Issuer: testIss, Audience: testAud, TTL: time.Minute,
		Clock: func() time.Time { return time.Unix(wallclock.Seconds(), 0).Add(-2 * time.Minute) }}).Issue(testClaims())
	require.NoError(t, err)
	_, err = v.VerifyIdentity(tok)
	require.ErrorIs(t, err, ErrTokenExpired)
}

func TestVerifyIdentity(t *testing.T) {
	f := newFixture(t, RingConfig{})
	issue := func(mod func(*Claims)) string {
		c := testClaims()
		mod(&c)
		tok, _, err := f.iss.Issue(c)
		require.NoError(t, err)
		return tok
	}
	same := func(*Claims) {}
	tok1, tok2 := issue(same), issue(same)
	renamed := issue(func(c *Claims) { c.Nickname = "Villain" })
	other := issue(func(c *Claims) { c.SessionID = "other-session" })
	want := testClaims()

	check := func(t *testing.T, id *Identity, c Claims) {
		t.Helper()
		assert.Equal(t, []string{c.Subject, c.SessionID, c.OpenID, c.Nickname, c.LinkedType, c.Country, c.DeviceID},
			[]string{id.Subject(), id.SessionID(), id.OpenID(), id.Nickname(), id.LinkedType(), id.Country(), id.DeviceID()})
	}

	t.Run("bounded cache: one shared Identity per session", func(t *testing.T) {
		v, cache := f.cachingVerifier(100)
		a, err := v.VerifyIdentity(tok1)
		require.NoError(t, err)
		check(t, a, want)
		b, err := v.VerifyIdentity(tok2)
		require.NoError(t, err)
		assert.Same(t, a, b, "tokens of one session share their Identity")
		again, err := v.VerifyIdentity(tok1)
		require.NoError(t, err)
		assert.Same(t, a, again)
		c, err := v.Verify(tok2)
		require.NoError(t, err)
		assert.Equal(t, want.Nickname, c.Nickname)

		r, err := v.VerifyIdentity(renamed)
		require.NoError(t, err)
		assert.NotSame(t, a, r, "a changed claim is another Identity")
		assert.Equal(t, "Villain", r.Nickname())
		o, err := v.VerifyIdentity(other)
		require.NoError(t, err)
		assert.NotSame(t, a, o)
		assert.Equal(t, "other-session", o.SessionID())
		assert.Equal(t, 4, cache.Len())
		assert.Equal(t, 3, identities(cache))

		allocs := testing.AllocsPerRun(100, func() {
			if _, err := v.VerifyIdentity(tok1); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, "a hit allocates nothing")

		_, err = v.VerifyIdentity(tamperSig(tok1))
		require.ErrorIs(t, err, ErrTokenInvalid)
		_, err = v.VerifyIdentity(strings.Repeat("a", MaxTokenSize+1))
		require.ErrorIs(t, err, ErrTokenInvalid)
	})

	t.Run("no cache", func(t *testing.T) {
		a, err := f.ver.VerifyIdentity(tok1)
		require.NoError(t, err)
		check(t, a, want)
		b, err := f.ver.VerifyIdentity(tok1)
		require.NoError(t, err)
		assert.NotSame(t, a, b, "without a BoundedCache each call has its own")
		_, err = f.ver.VerifyIdentity("")
		require.ErrorIs(t, err, ErrTokenInvalid)
	})

	t.Run("another Cache", func(t *testing.T) {
		v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: otherCache{NewCache(10, time.Hour)}})
		a, err := v.VerifyIdentity(tok1)
		require.NoError(t, err)
		check(t, a, want)
		b, err := v.VerifyIdentity(tok1)
		require.NoError(t, err)
		check(t, b, want)
	})

	t.Run("nil *BoundedCache", func(t *testing.T) {
		var none *BoundedCache
		v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: none})
		a, err := v.VerifyIdentity(tok1)
		require.NoError(t, err)
		check(t, a, want)
		_, err = v.Verify(tok1)
		require.NoError(t, err)
	})
}

// TestCacheForgetsIdentities: an Identity leaves the identity table with
// the last entry pointing to it, and one handed out stays intact.
func TestCacheForgetsIdentities(t *testing.T) {
	now := newClock().Now()
	c := NewCache(8, time.Hour)
	exp := now.Add(time.Hour)
	for i := range 8 { // expiring first, so that b's replace them
		c.Put(fmt.Sprint("a-", i), claimsFor("a", now.Add(time.Duration(i+1)*time.Minute)), now)
	}
	require.Equal(t, 1, identities(c), "eight tokens of one session, one Identity")
	e, ok := c.lookup("a-0", now.Unix())
	require.True(t, ok)
	held := e.who
	for i := range 8 {
		c.Put(fmt.Sprint("b-", i), claimsFor(fmt.Sprint("b", i), exp), now)
		assert.Equal(t, min(i+2, 8), identities(c), "after %d", i)
	}
	assert.Equal(t, "a", held.SessionID(), "an Identity handed out stays intact")
	assert.Equal(t, testClaims().Subject, held.Subject())

	// The session comes back: a new Identity, not the forgotten one.
	c.Put("a-new", claimsFor("a", exp), now)
	e, ok = c.lookup("a-new", now.Unix())
	require.True(t, ok)
	assert.NotSame(t, held, e.who)
	assert.Equal(t, held.fields(), e.who.fields())
}

func TestIdentity(t *testing.T) {
	var none *Identity
	assert.Empty(t, none.Subject()+none.DeviceID(), "a nil Identity has empty claims")

	c := Claims{Subject: "sub", SessionID: "", OpenID: "open", Nickname: "Ünïcode ☃", LinkedType: "email", Country: "", DeviceID: "d"}
	id, err := newIdentity(identityOf(&c))
	require.NoError(t, err)
	assert.Equal(t, c, id.claims("", time.Time{}, time.Time{}))
	assert.Equal(t, identityOf(&c), id.fields())

	c.DeviceID = strings.Repeat("x", 1<<16)
	_, err = newIdentity(identityOf(&c))
	require.ErrorIs(t, err, errIdentitySize)
	cache := NewCache(10, time.Hour)
	now := newClock().Now()
	c.ExpiresAt = now.Add(time.Minute)
	cache.Put("big", c, now)
	_, ok := cache.Get("big", now)
	assert.False(t, ok, "claims too large to pack are not cached")
}

// cachingVerifier returns a Verifier like f's with a BoundedCache of n
// entries.
func (f *fixture) cachingVerifier(n int) (*Verifier, *BoundedCache) {
	c := NewCache(n, time.Hour)
	return NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: c}), c
}

// otherCache is a Cache that is not a *BoundedCache.
type otherCache struct{ c *BoundedCache }

func (o otherCache) Get(tok string, now time.Time) (Claims, bool) { return o.c.Get(tok, now) }
func (o otherCache) Put(tok string, c Claims, now time.Time)      { o.c.Put(tok, c, now) }

// identities returns the number of Identities c's identity table holds.
func identities(c *BoundedCache) int {
	n := 0
	for i := range c.idents.stripes {
		s := &c.idents.stripes[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

// TestCacheStats: every lookup of the verifier's paths counts once, as a
// hit or a miss, whichever stripe it lands on; an expired entry is a miss.
func TestCacheStats(t *testing.T) {
	f := newFixture(t, RingConfig{})
	v, cache := f.cachingVerifier(1024)
	st, ok := v.CacheStats()
	require.True(t, ok)
	assert.Equal(t, CacheStats{Capacity: 1024}, st)

	var toks []string
	for i := range 50 { // enough to reach several stripes
		c := testClaims()
		c.SessionID = fmt.Sprintf("session-%02d", i)
		tok, _, err := f.iss.Issue(c)
		require.NoError(t, err)
		toks = append(toks, tok)
	}
	for _, tok := range toks {
		_, err := v.Verify(tok) // miss, then cached
		require.NoError(t, err)
		_, err = v.VerifyIdentity(tok) // hit
		require.NoError(t, err)
		_, ok := cache.Get(tok, f.clock.Now()) // hit
		require.True(t, ok)
	}
	assert.Equal(t, CacheStats{Entries: 50, Capacity: 1024, Hits: 100, Misses: 50}, cache.Stats())

	f.clock.Advance(2 * time.Hour) // past every entry's end
	_, err := v.VerifyIdentity(toks[0])
	require.ErrorIs(t, err, ErrTokenExpired)
	st, _ = v.CacheStats()
	assert.Equal(t, uint64(51), st.Misses, "an expired entry is a miss")
	assert.Equal(t, uint64(100), st.Hits)

	_, ok = f.ver.CacheStats()
	assert.False(t, ok, "a verifier without a cache has no statistics")
	other := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: otherCache{NewCache(10, time.Hour)}})
	_, ok = other.CacheStats()
	assert.False(t, ok, "nor has one with a cache of another kind")
}

// TestCacheStripeSize: a stripe fills two cache lines exactly, so that
// stripes locked (and counted) by different cores never share one.
func TestCacheStripeSize(t *testing.T) {
	assert.Equal(t, uintptr(128), unsafe.Sizeof(cacheStripe{}))
}

// TestCacheSlotSize: an entry's slot stays 48 bytes with its atomic fields.
func TestCacheSlotSize(t *testing.T) {
	assert.Equal(t, uintptr(48), unsafe.Sizeof(cacheSlot{}))
}

// An Identity stays 32 bytes, an allocation size of its own, with the
// record of its check: the table keeps the count of its entries.
func TestIdentitySize(t *testing.T) {
	assert.Equal(t, uintptr(32), unsafe.Sizeof(Identity{}))
}

// MarkChecked's record holds for its generation only, and a new token of
// the session put in the cache clears it, though it shares the Identity.
func TestIdentityCheckedAt(t *testing.T) {
	now := newClock().Now()
	c := NewCache(64, time.Hour)
	id := c.put("t1", ptr(claimsFor("s", now.Add(time.Hour))), now)
	require.NotNil(t, id)
	assert.False(t, id.CheckedAt(7), "no record yet")
	assert.False(t, id.CheckedAt(0), "generation 0 is none")
	id.MarkChecked(7)
	assert.True(t, id.CheckedAt(7))
	assert.False(t, id.CheckedAt(8))
	again := c.put("t1", ptr(claimsFor("s", now.Add(time.Hour))), now) // the same token again
	require.Same(t, id, again)
	assert.False(t, id.CheckedAt(7), "cleared when an entry takes the Identity")
	id.MarkChecked(9)
	e, ok := c.lookup("t1", now.Unix())
	require.True(t, ok)
	assert.True(t, e.who.CheckedAt(9), "a hit leaves the record")
	second := c.put("t2", ptr(claimsFor("s", now.Add(time.Hour))), now)
	require.Same(t, id, second, "the session's tokens share one Identity")
	assert.False(t, id.CheckedAt(9), "a new token of the session is checked afresh")
}

func ptr[T any](v T) *T { return &v }
