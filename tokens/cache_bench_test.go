package tokens

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"github.com/stretchr/testify/require"
)

// BenchmarkCacheMemory fills a cache to its bound (DefaultCacheEntries) with
// distinct tokens and reports the live heap it keeps per entry (B/entry):
// the live heap after two full collections once the cache is full, minus
// the same before it was made, over the entries it holds.
//
// The tokens are made first, as an Issuer makes them (EdDSA, one issuer and
// audience, 546 bytes), and stay alive through the measurement, so they are
// in both figures and cancel out: what is left is what the cache keeps.
// Each Put gets its claims as Verify hands them over, every string a fresh
// allocation, so that a cache keeping them is charged for them.
//
// per-session=1 gives every token its own player and session (the worst
// case: nothing to share); per-session=4 makes the same number of tokens
// from a quarter as many sessions, four each, put in turn (session 1..n,
// then 1..n again) as their refreshes would come. Each has three caches:
// bounded, this package's; go-cache-digest, go-cache behind the Cache
// interface with the same 128-bit digest as key, the same entries and the
// same shared Identities (what the dependency rule asks to try first); and
// go-cache-token, the go-cache keyed by the token itself that BoundedCache
// replaced.
func BenchmarkCacheMemory(b *testing.B) {
	f := newFixture(b, RingConfig{})
	iss := NewIssuer(f.ring, IssuerConfig{Issuer: "gameauth", Audience: "gameauth", Clock: f.clock.Now})
	now := f.clock.Now()
	for _, perSession := range []int{1, 4} {
		toks := benchTokens(b, iss, DefaultCacheEntries, perSession)
		b.Run(fmt.Sprintf("per-session=%d", perSession), func(b *testing.B) {
			for _, impl := range []struct {
				name string
				make func() (Cache, func() int)
			}{
				{"bounded", func() (Cache, func() int) {
					c := NewCache(DefaultCacheEntries, time.Hour)
					return c, c.Len
				}},
				{"go-cache-digest", func() (Cache, func() int) {
					c := newGoCacheDigest(DefaultCacheEntries, time.Hour)
					return c, c.c.ItemCount
				}},
				{"go-cache-token", func() (Cache, func() int) {
					c := newGoCacheToken(DefaultCacheEntries, time.Hour)
					return c, c.c.ItemCount
				}},
			} {
				b.Run(impl.name, func(b *testing.B) {
					var perEntry, entries float64
					runs := 0
					for b.Loop() {
						before := liveHeap()
						c, n := impl.make()
						for _, t := range toks {
							c.Put(t.token, cloneClaims(t.claims), now)
						}
						after := liveHeap()
						runtime.KeepAlive(c)
						entries = float64(n())
						perEntry += float64(after-before) / entries
						runs++
					}
					b.ReportMetric(perEntry/float64(runs), "B/entry")
					b.ReportMetric(entries, "entries")
				})
			}
		})
	}
}

// BenchmarkVerifyCached is Verify of a token seen before, through a
// BoundedCache (bounded, as BenchmarkVerify/eddsa-cached) and through the
// go-cache keyed by the token that it replaced (go-cache-token), the
// reference measured in the same run; and VerifyIdentity through a
// BoundedCache (bounded-identity).
func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b, RingConfig{})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(b, err)
	for _, tc := range []struct {
		name     string
		cache    Cache
		identity bool
	}{
		{"bounded", NewCache(0, 0), false},
		{"bounded-identity", NewCache(0, 0), true},
		{"go-cache-token", newGoCacheToken(0, 0), false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: tc.cache})
			_, err := v.Verify(tok)
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if err := verifyOnce(v, tok, tc.identity); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCachedParallel is BenchmarkVerifyCached/bounded-identity
// (the middleware's call) from every core at once: one-token sends every
// call to one stripe, the worst case for anything the stripes share;
// many-tokens spreads 4,096 sessions' tokens over the stripes, as players
// are.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	f := newFixture(b, RingConfig{})
	many := benchTokens(b, f.iss, 4096, 1)
	for _, tc := range []struct {
		name string
		toks []benchToken
	}{
		{"one-token", many[:1]},
		{"many-tokens", many},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: NewCache(0, 0)})
			for _, t := range tc.toks {
				_, err := v.VerifyIdentity(t.token)
				require.NoError(b, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := v.VerifyIdentity(tc.toks[i%len(tc.toks)].token); err != nil {
						b.Error(err)
						return
					}
					i += 7 // a stride prime to the pool, so goroutines do not walk in step
				}
			})
		})
	}
}

// BenchmarkVerifyUncached is Verify of tokens never seen before, with the
// cache taking each in and making room for it: no-cache (a Verifier
// without one), bounded, bounded-identity (VerifyIdentity) and
// go-cache-token (the cache BoundedCache replaced), beside the floor of one
// crypto/ed25519 verification of a signing input of the same size. The
// caches hold 64 entries and the tokens come from a pool of 8,192, so
// nearly every one is a miss that evicts.
func BenchmarkVerifyUncached(b *testing.B) {
	f := newFixture(b, RingConfig{})
	toks := benchTokens(b, f.iss, 8192, 1)
	k := f.ring.set.Load().signer(f.clock.Now())
	dot := strings.LastIndexByte(toks[0].token, '.')
	input := []byte(toks[0].token[:dot])
	sig, err := b64.DecodeString(toks[0].token[dot+1:])
	require.NoError(b, err)
	b.Run("floor-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(k.edPub, input, sig) {
				b.Fatal("bad signature")
			}
		}
	})
	for _, tc := range []struct {
		name     string
		cache    Cache
		identity bool
	}{
		{"no-cache", nil, false},
		{"bounded", NewCache(64, 0), false},
		{"bounded-identity", NewCache(64, 0), true},
		{"go-cache-token", newGoCacheToken(64, 0), false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: tc.cache})
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				tok := toks[i%len(toks)].token
				i++
				if err := verifyOnce(v, tok, tc.identity); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// verifyOnce verifies tok with VerifyIdentity if identity, else Verify.
func verifyOnce(v *Verifier, tok string, identity bool) error {
	var err error
	if identity {
		_, err = v.VerifyIdentity(tok)
	} else {
		_, err = v.Verify(tok)
	}
	return err
}

// benchToken is a token and the claims Verify would find in it.
type benchToken struct {
	token  string
	claims Claims
}

// benchTokens issues n distinct tokens, perSession tokens for each of
// n/perSession sessions of as many players, ordered session by session in
// rounds. The claims are shaped as account.Service makes them: a UUID sub,
// a 22-character sid, a 24-character open_id.
func benchTokens(b *testing.B, iss *Issuer, n, perSession int) []benchToken {
	b.Helper()
	sessions := n / perSession
	players := make([]Claims, sessions)
	for i := range players {
		players[i] = Claims{
			Subject: benchUUID(), SessionID: benchRandom(16), OpenID: benchOpenID(),
			Nickname: "Hero", LinkedType: "guest", Country: "KR", DeviceID: fmt.Sprintf("device-%06d", i),
		}
	}
	out := make([]benchToken, sessions*perSession)
	procs := runtime.GOMAXPROCS(0)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			for i := p; i < len(out); i += procs {
				tok, c, err := iss.Issue(players[i%sessions])
				if err != nil {
					errs[p] = err
					return
				}
				out[i] = benchToken{tok, c}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
	return out
}

func benchUUID() string {
	h := hex.EncodeToString([]byte(benchRandomBytes(16)))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func benchRandom(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(benchRandomBytes(n)))
}

func benchOpenID() string {
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).
		EncodeToString([]byte(benchRandomBytes(15)))
}

func benchRandomBytes(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

// cloneClaims returns c with every string a new allocation, as Verify
// decodes them.
func cloneClaims(c Claims) Claims {
	for _, s := range []*string{&c.Subject, &c.SessionID, &c.OpenID, &c.Nickname, &c.LinkedType, &c.Country, &c.DeviceID, &c.ID} {
		*s = strings.Clone(*s)
	}
	return c
}

// goCacheToken is the Cache NewCache returned before BoundedCache, kept
// here as the reference of the benchmarks: go-cache keyed by the whole
// token, holding the claims. When full, expired entries are swept, and if
// it is still full it starts over empty.
type goCacheToken struct {
	c      *gocache.Cache
	max    int
	maxTTL time.Duration
	mu     sync.Mutex // serializes Put, so the bound is exact
}

func newGoCacheToken(maxEntries int, maxTTL time.Duration) *goCacheToken {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxTTL <= 0 {
		maxTTL = DefaultCacheTTL
	}
	return &goCacheToken{c: gocache.New(maxTTL, min(maxTTL, time.Minute)), max: maxEntries, maxTTL: maxTTL}
}

type goCacheTokenEntry struct {
	claims Claims
	until  time.Time
}

func (b *goCacheToken) Get(token string, now time.Time) (Claims, bool) {
	v, ok := b.c.Get(token)
	if !ok {
		return Claims{}, false
	}
	e := v.(*goCacheTokenEntry)
	if !now.Before(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

func (b *goCacheToken) Put(token string, c Claims, now time.Time) {
	ttl := min(c.ExpiresAt.Sub(now), b.maxTTL)
	if ttl <= 0 {
		return
	}
	e := &goCacheTokenEntry{claims: c, until: now.Add(ttl)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c.ItemCount() >= b.max {
		b.c.DeleteExpired()
		if b.c.ItemCount() >= b.max {
			b.c.Flush()
		}
	}
	b.c.Set(strings.Clone(token), e, ttl)
}

// goCacheDigest is go-cache behind the Cache interface with what
// BoundedCache keeps: a 128-bit digest as key (BoundedCache's, as a
// 16-byte string), an entry of jti and times, and a shared Identity from
// BoundedCache's identity table. Its bound is goCacheToken's.
type goCacheDigest struct {
	keys   *BoundedCache // its digest, entry times and identity table; its own table stays unused
	c      *gocache.Cache
	max    int
	maxTTL time.Duration
	mu     sync.Mutex
}

// goCacheDigestEntry is a cacheSlot without the digest, which is the key:
// 32 bytes.
type goCacheDigestEntry struct {
	who   *Identity
	jti   string
	times entryTimes
}

func newGoCacheDigest(maxEntries int, maxTTL time.Duration) *goCacheDigest {
	d := &goCacheDigest{keys: NewCache(maxEntries, maxTTL), max: maxEntries, maxTTL: maxTTL}
	d.c = gocache.New(maxTTL, min(maxTTL, time.Minute))
	d.c.OnEvicted(func(_ string, v any) { d.keys.idents.release(v.(*goCacheDigestEntry).who) })
	return d
}

func (d *goCacheDigest) key(token string) string {
	k0, k1 := d.keys.digest(token)
	return string(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(make([]byte, 0, 16), k0), k1))
}

func (d *goCacheDigest) Get(token string, now time.Time) (Claims, bool) {
	v, ok := d.c.Get(d.key(token))
	if !ok {
		return Claims{}, false
	}
	e := v.(*goCacheDigestEntry)
	if now.Unix() >= e.times.until() {
		return Claims{}, false
	}
	iat, exp := e.times.get()
	return e.who.claims(e.jti, iat, exp), true
}

func (d *goCacheDigest) Put(token string, c Claims, now time.Time) {
	t, ok := newEntryTimes(&c, now, d.maxTTL)
	if !ok {
		return
	}
	e := &goCacheDigestEntry{jti: strings.Clone(c.ID), times: t}
	if e.who = d.keys.idents.acquire(identityOf(&c)); e.who == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c.ItemCount() >= d.max {
		d.c.DeleteExpired()
		if d.c.ItemCount() >= d.max {
			for k := range d.c.Items() {
				d.c.Delete(k) // unlike Flush, calls OnEvicted
			}
		}
	}
	d.c.Set(d.key(token), e, time.Unix(t.until(), 0).Sub(now))
}

// liveHeap is the live heap after a full collection, in bytes.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what finalizers of the first kept
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
