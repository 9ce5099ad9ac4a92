package tokens

import (
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache remembers verified access tokens so that a token seen again skips
// signature verification. Get must never answer for a token past the
// ExpiresAt of its claims at now.
type Cache interface {
	// Get returns the claims of token if it was verified before and has
	// not expired at now.
	Get(token string, now time.Time) (Claims, bool)
	// Put remembers the claims of a verified token.
	Put(token string, c Claims, now time.Time)
}

// Defaults of NewCache.
const (
	// DefaultCacheEntries bounds a cache at about 25 MiB when every entry
	// is a different session's, and at about 12 MiB when sessions have
	// four tokens each in it (see BoundedCache for the figures).
	DefaultCacheEntries = 100_000
	DefaultCacheTTL     = 10 * time.Minute
)

// BoundedCache is the in-process Cache: a fixed number of 48-byte entries,
// whatever the token's length (the token itself is not kept), each
// pointing to the Identity of its token's session, which the session's
// tokens share.
//
// Memory, as BenchmarkCacheMemory measures it with tokens as an Issuer
// makes them (546 bytes, 106 of them player and session claims): each
// entry costs 48 bytes of table, made stripe by stripe on first use, and
// its jti (24 bytes); each session in the cache costs one Identity, a
// 32-byte header and its claims in one string (112 bytes here), and a
// 24-byte slot of the table that shares it, which is kept between 1/8 and
// 7/8 full (about 31 bytes a session with the default bound filled).
// Filled with as many distinct tokens as its bound, the cache keeps 256
// bytes per entry when each is a different session's, and 125 when each
// session has four (the go-cache keyed by the token that it replaced:
// 999). Sessions coming and going do not add to that: a flood of
// 1,000,000 one-token sessions through a cache of DefaultCacheEntries
// leaves it at the same 24 MiB. So a full cache of DefaultCacheEntries
// takes about 25 MiB at worst; size maxEntries as memory divided by about
// 260 bytes.
//
// It never holds more than its bound: entries live in buckets of eight,
// each token in one of two buckets chosen by its digest; a new token takes
// a free slot of the less full one, and else the place of the entry that
// would stop answering first (an expired one if there is any). So when it
// is full, entries about to expire make room, and nothing is flushed.
// Taking as many tokens as its bound fills about 96% of it.
//
// The methods are safe for concurrent use; a hit takes a read lock on one
// of up to 64 stripes and allocates nothing. Each stripe counts its own
// hits and misses beside its lock, on the cache line the lookup has just
// written, so counting adds no sharing between cores (Stats adds them up).
type BoundedCache struct {
	// The token's key is a 128-bit digest: maphash (the runtime's
	// AES-based hash where the CPU has AES) of the whole token under two
	// seeds drawn for this cache, compared in full on lookup, and never
	// shown outside the process. Not SHA-256: on a 546-byte token it takes
	// 412 ns on the benchmark machine, four times a whole cached Verify
	// (GMAC 123 ns, Poly1305 171 ns), where the two seeded hashes take
	// 33 ns. A keyed hash is enough because a hit only ever answers with
	// the claims of a token that was verified in full, and never past its
	// exp: a string that collides with a cached token passes for that
	// token, nothing more. Someone who holds the token gains nothing by
	// that; someone who does not would have to hit its digest blind, under
	// seeds they never see, for a token whose random jti and signature
	// they cannot know: one chance in 2^128 per entry and attempt. The
	// same odds bound an honest token mistaken for another. The hash
	// reads every byte, so a token that differs in one byte (header,
	// payload or signature) gets an unrelated digest: TestCacheOneByteOff
	// tries every byte of a token.
	seed0, seed1 maphash.Seed
	maxTTL       time.Duration
	ways         int    // slots per bucket
	mask         uint64 // len(stripes) - 1
	stripes      []cacheStripe
	idents       identityTable
}

const (
	cacheWays         = 8
	maxCacheStripes   = 64
	minStripeBuckets  = 4
	cacheStripeUnused = 128 - 80 // padding of a cacheStripe to 128 bytes
)

type cacheStripe struct {
	mu           sync.RWMutex
	hits, misses atomic.Uint64 // lookups answered, and not, in this stripe
	buckets      uint64        // in this stripe: the bound's buckets spread evenly
	slots        []cacheSlot   // buckets * ways, made on the first Put
	n            int           // slots in use
	_            [cacheStripeUnused]byte
}

// cacheSlot is one entry: 48 bytes.
type cacheSlot struct {
	k0, k1 uint64    // the token's digest
	who    *Identity // nil: the slot is free
	jti    string
	times  entryTimes
}

// entryTimes are the exp and iat of a token and when its entry stops
// answering, in 8 bytes. Tokens carry whole seconds; claims an entry could
// not give back exactly are not cached: fractions of a second, an exp
// outside 2020 to 2156, a lifetime (exp minus iat) of over 9 hours that is
// not whole minutes, or of over 22 days.
type entryTimes struct {
	exp   uint32 // Unix seconds since cacheEpoch
	life  uint16 // exp minus iat, a span; noSpan without iat
	early uint16 // how long before exp the entry stops answering (maxTTL), a span rounded up
}

// cacheEpoch is 2020-01-01 in Unix seconds: entryTimes.exp counts from it.
const cacheEpoch = 1577836800

// A span is a duration of whole seconds in 16 bits: below 2^15 seconds
// (9 hours) as seconds, above in minutes, flagged by spanMinutes.
const (
	spanMinutes = 1 << 15
	noSpan      = math.MaxUint16
)

// packSpan returns d seconds as a span, rounded up to the minute if
// roundUp, and whether it fits.
func packSpan(d int64, roundUp bool) (uint16, bool) {
	switch {
	case d < 0:
		return 0, false
	case d < spanMinutes:
		return uint16(d), true
	}
	m := d / 60
	if d%60 != 0 {
		if !roundUp {
			return 0, false
		}
		m++
	}
	if m >= noSpan-spanMinutes {
		return 0, false
	}
	return uint16(spanMinutes | m), true
}

func unpackSpan(s uint16) int64 {
	if s&spanMinutes != 0 {
		return 60 * int64(s&^spanMinutes)
	}
	return int64(s)
}

// newEntryTimes returns the times of an entry for cl put at now, capped at
// maxTTL, or false if the entry would not answer or cannot hold them.
func newEntryTimes(cl *Claims, now time.Time, maxTTL time.Duration) (entryTimes, bool) {
	exp := cl.ExpiresAt.Unix()
	if cl.ExpiresAt.Nanosecond() != 0 || exp < cacheEpoch || exp-cacheEpoch > math.MaxUint32 {
		return entryTimes{}, false
	}
	t := entryTimes{exp: uint32(exp - cacheEpoch), life: noSpan}
	capped := now.Add(maxTTL).Unix() // rounded down: never late
	var ok bool
	if t.early, ok = packSpan(max(exp-capped, 0), true); !ok || t.until() <= now.Unix() {
		return entryTimes{}, false
	}
	if iat := cl.IssuedAt; !iat.IsZero() {
		if t.life, ok = packSpan(exp-iat.Unix(), false); !ok || iat.Nanosecond() != 0 {
			return entryTimes{}, false
		}
	}
	return t, true
}

// until is the Unix second at which the entry stops answering.
func (t entryTimes) until() int64 { return cacheEpoch + int64(t.exp) - unpackSpan(t.early) }

// get returns the IssuedAt (zero if none) and ExpiresAt of t.
func (t entryTimes) get() (iat, exp time.Time) {
	e := cacheEpoch + int64(t.exp)
	if t.life != noSpan {
		iat = time.Unix(e-unpackSpan(t.life), 0).UTC()
	}
	return iat, time.Unix(e, 0).UTC()
}

// NewCache returns a BoundedCache that holds at most maxEntries tokens
// (default DefaultCacheEntries; rounded down to a multiple of eight),
// each for at most maxTTL (default DefaultCacheTTL) and never past its exp.
// Expiry is decided with the now passed in, to the second: an entry stops
// answering at the start of the second its exp or maxTTL falls in (to the
// minute, when the cap falls more than 9 hours before exp).
func NewCache(maxEntries int, maxTTL time.Duration) *BoundedCache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxTTL <= 0 {
		maxTTL = DefaultCacheTTL
	}
	ways := min(cacheWays, maxEntries)
	buckets := maxEntries / ways
	stripes := 1
	for stripes < maxCacheStripes && buckets/(stripes*2) >= minStripeBuckets {
		stripes *= 2
	}
	c := &BoundedCache{
		seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed(),
		maxTTL: maxTTL, ways: ways, mask: uint64(stripes - 1),
		stripes: make([]cacheStripe, stripes),
		idents:  identityTable{seed: maphash.MakeSeed()},
	}
	for i := range c.stripes {
		c.stripes[i].buckets = uint64(buckets / stripes)
		if i < buckets%stripes {
			c.stripes[i].buckets++
		}
	}
	return c
}

// Cap returns the number of entries the cache holds at most: maxEntries
// rounded down to whole buckets of eight.
func (c *BoundedCache) Cap() int {
	n := 0
	for i := range c.stripes {
		n += int(c.stripes[i].buckets) * c.ways
	}
	return n
}

// Len returns the number of entries held, some of which may have expired.
func (c *BoundedCache) Len() int {
	n := 0
	for i := range c.stripes {
		s := &c.stripes[i]
		s.mu.RLock()
		n += s.n
		s.mu.RUnlock()
	}
	return n
}

// CacheStats is what a BoundedCache holds and has answered, for metrics.
type CacheStats struct {
	// Entries is the number of entries held (some may have expired),
	// Capacity the most it holds (Len and Cap).
	Entries, Capacity int
	// Hits counts lookups the cache answered; Misses those it did not (a
	// token not in it, or past its entry's end), which went on to a full
	// verification.
	Hits, Misses uint64
}

// Stats returns the cache's entries and its hit and miss counts since it
// was made. It reads every stripe, so it is for a scrape, not a request.
func (c *BoundedCache) Stats() CacheStats {
	st := CacheStats{Entries: c.Len(), Capacity: c.Cap()}
	for i := range c.stripes {
		st.Hits += c.stripes[i].hits.Load()
		st.Misses += c.stripes[i].misses.Load()
	}
	return st
}

// Get implements Cache.
func (c *BoundedCache) Get(token string, now time.Time) (Claims, bool) {
	e, ok := c.lookup(token, now.Unix())
	if !ok {
		return Claims{}, false
	}
	return e.claims(), true
}

// claims returns the claims of the token of e.
func (e *cacheSlot) claims() Claims {
	iat, exp := e.times.get()
	return e.who.claims(e.jti, iat, exp)
}

// Put implements Cache. It keeps no reference to token, and copies the
// claims it keeps.
func (c *BoundedCache) Put(token string, cl Claims, now time.Time) { c.put(token, &cl, now) }

// lookup returns the entry of token if it answers at Unix second now.
func (c *BoundedCache) lookup(token string, now int64) (cacheSlot, bool) {
	k0, k1 := c.digest(token)
	s := &c.stripes[k0&c.mask]
	b1, b2 := s.bucketsOf(c.ways, k0, k1)
	s.mu.RLock()
	e, ok := s.find(b1, c.ways, k0, k1)
	if !ok && b2 != b1 {
		e, ok = s.find(b2, c.ways, k0, k1)
	}
	s.mu.RUnlock()
	ok = ok && now < e.times.until()
	if ok {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	return e, ok
}

// put remembers cl for token and returns the Identity the entry shares, or
// nil when cl is not cached (already expired, or times the entry cannot
// hold).
func (c *BoundedCache) put(token string, cl *Claims, now time.Time) *Identity {
	t, ok := newEntryTimes(cl, now, c.maxTTL)
	if !ok {
		return nil
	}
	e := cacheSlot{times: t}
	if e.who = c.idents.acquire(identityOf(cl)); e.who == nil {
		return nil
	}
	e.jti = strings.Clone(cl.ID) // it may be a slice of a larger buffer
	e.k0, e.k1 = c.digest(token)
	s := &c.stripes[e.k0&c.mask]
	b1, b2 := s.bucketsOf(c.ways, e.k0, e.k1)
	s.mu.Lock()
	if s.slots == nil {
		s.slots = make([]cacheSlot, int(s.buckets)*c.ways)
	}
	old := s.place(b1, b2, c.ways, &e)
	s.mu.Unlock()
	if old != nil {
		c.idents.release(old)
	}
	return e.who
}

// digest is the key of token (see BoundedCache for why it is enough).
func (c *BoundedCache) digest(token string) (k0, k1 uint64) {
	return maphash.Comparable(c.seed0, token), maphash.Comparable(c.seed1, token)
}

// bucketsOf returns the first slot of the two buckets of s a digest may
// live in (the stripe is chosen by the low bits of k0; these, by the high).
func (s *cacheStripe) bucketsOf(ways int, k0, k1 uint64) (b1, b2 int) {
	h1, _ := bits.Mul64(k0, s.buckets)
	h2, _ := bits.Mul64(k1, s.buckets)
	return int(h1) * ways, int(h2) * ways
}

// find returns the entry with digest k0, k1 in the bucket starting at b.
func (s *cacheStripe) find(b, ways int, k0, k1 uint64) (cacheSlot, bool) {
	if s.slots == nil {
		return cacheSlot{}, false
	}
	for i := range s.slots[b : b+ways] {
		if e := &s.slots[b+i]; e.k0 == k0 && e.k1 == k1 && e.who != nil {
			return *e, true
		}
	}
	return cacheSlot{}, false
}

// place writes e into one of the buckets starting at b1 and b2, and returns
// the Identity of the entry it replaced, if any. It takes the slot that
// already holds e's digest, else a free slot of the less full bucket, else
// the entry that stops answering first: an expired one before any other.
// Among entries that stop answering in the same second, the digest of e
// picks one at random, so that new entries do not keep replacing each
// other.
func (s *cacheStripe) place(b1, b2, ways int, e *cacheSlot) *Identity {
	free := [2]int{-1, -1}
	var used [2]int
	soonest, soonestUntil := -1, int64(math.MaxInt64)
	start := int(e.k1>>32) % ways
	for j, b := range [2]int{b1, b2} {
		if j == 1 && b2 == b1 {
			break
		}
		for k := range ways {
			i := b + (start+k)%ways
			w := &s.slots[i]
			switch {
			case w.who == nil:
				if free[j] < 0 {
					free[j] = i
				}
				continue
			case w.k0 == e.k0 && w.k1 == e.k1:
				return s.replace(i, e)
			}
			used[j]++
			if until := w.times.until(); until < soonestUntil {
				soonest, soonestUntil = i, until
			}
		}
	}
	i := free[0]
	if i < 0 || (free[1] >= 0 && used[1] < used[0]) {
		i = free[1]
	}
	if i < 0 {
		return s.replace(soonest, e)
	}
	s.slots[i] = *e
	s.n++
	return nil
}

func (s *cacheStripe) replace(i int, e *cacheSlot) *Identity {
	old := s.slots[i].who
	s.slots[i] = *e
	return old
}
