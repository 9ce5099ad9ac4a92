package tokens

import (
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
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
	DefaultCacheEntries = 100_000
	DefaultCacheTTL     = 10 * time.Minute
)

// NewCache returns an in-process Cache (go-cache) that holds at most
// maxEntries tokens (default DefaultCacheEntries), each for at most maxTTL
// (default DefaultCacheTTL) and never past its exp.
//
// go-cache has no size bound of its own; this one keeps it on insert: when
// the cache is full, expired entries are swept, and if it is still full it
// starts over empty. That is a bound, not an LRU: a flush costs one
// signature check per live token, and it can only happen once per
// maxEntries insertions, each of which paid a signature check. An entry
// costs about the token's length plus 450 bytes (BENCHMARKS.md, Memory:
// 999 bytes for a typical 546-byte token), so the default bound holds about
// 95 MiB of typical tokens; size maxEntries to your memory.
//
// Expiry is decided with the now passed in; go-cache's own timers (wall
// clock) only reclaim memory.
func NewCache(maxEntries int, maxTTL time.Duration) Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxTTL <= 0 {
		maxTTL = DefaultCacheTTL
	}
	return &boundedCache{
		c:      gocache.New(maxTTL, min(maxTTL, time.Minute)),
		max:    maxEntries,
		maxTTL: maxTTL,
	}
}

type boundedCache struct {
	c      *gocache.Cache
	max    int
	maxTTL time.Duration
	mu     sync.Mutex // serializes Put, so the bound is exact
}

type cacheEntry struct {
	claims Claims
	until  time.Time
}

// Get implements Cache.
func (b *boundedCache) Get(token string, now time.Time) (Claims, bool) {
	v, ok := b.c.Get(token)
	if !ok {
		return Claims{}, false
	}
	e := v.(*cacheEntry)
	if !now.Before(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

// Put implements Cache.
func (b *boundedCache) Put(token string, c Claims, now time.Time) {
	ttl := min(c.ExpiresAt.Sub(now), b.maxTTL)
	if ttl <= 0 {
		return
	}
	e := &cacheEntry{claims: c, until: now.Add(ttl)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c.ItemCount() >= b.max {
		b.c.DeleteExpired()
		if b.c.ItemCount() >= b.max {
			b.c.Flush()
		}
	}
	// Clone: the token may be a slice of a larger request buffer.
	b.c.Set(strings.Clone(token), e, ttl)
}
