package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fallback is the limiter a node uses on its own while Redis is unreachable;
// account.NewLocalLimiter returns one.
type Fallback interface {
	Allow(ctx context.Context, key string, now time.Time) (bool, time.Duration, error)
}

// Limiter is a sign-in rate limit shared by every node through Redis, so N
// nodes do not give an attacker N times the attempts. It counts attempts per
// key in fixed one-minute windows (one INCR round trip, on one key, so on a
// Redis Cluster it touches one hash slot). While Redis is known to be down
// (see Health) each node falls back to its own local limit at once, without
// trying Redis, and says so in its log once per outage. It implements
// account.Limiter.
type Limiter struct {
	rdb       redis.UniversalClient
	perMinute int64
	prefix    string
	fallback  Fallback
	health    *Health
	timeout   time.Duration
	log       *slog.Logger
	// local is set while attempts are counted by the fallback.
	local atomic.Bool
}

// LimiterConfig configures a Limiter. Redis, PerMinute and Fallback are
// required.
type LimiterConfig struct {
	Redis     redis.UniversalClient
	PerMinute int
	// Prefix of the counters' keys. Default "gameauth:rl:".
	Prefix   string
	Fallback Fallback
	Logger   *slog.Logger
	// Health is shared with the node's Broadcaster (pass its Health()), so
	// that an outage either sees spares both; nil: NewLimiter makes one.
	Health *Health
	// Timeout bounds how long a sign-in waits for Redis before it is
	// limited locally. Default 500ms.
	Timeout time.Duration
}

// NewLimiter returns a Limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	l := &Limiter{rdb: cfg.Redis, perMinute: int64(cfg.PerMinute), prefix: cfg.Prefix, fallback: cfg.Fallback,
		health: cfg.Health, timeout: cfg.Timeout, log: cfg.Logger}
	if l.prefix == "" {
		l.prefix = "gameauth:rl:"
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.health == nil {
		l.health = NewHealth(HealthConfig{Redis: cfg.Redis, Logger: l.log})
	}
	if l.timeout <= 0 {
		l.timeout = 500 * time.Millisecond
	}
	return l
}

// incr counts one attempt and sets the counter to expire with its window.
var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Allow counts an attempt under key at now and reports whether it is within
// the limit; if not, retryAfter is the time left in the window.
func (l *Limiter) Allow(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	window := now.Truncate(time.Minute)
	left := window.Add(time.Minute).Sub(now)
	// Keys hold emails and addresses: Redis sees only their hash.
	sum := sha256.Sum256([]byte(key))
	k := l.prefix + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(window.Unix(), 10)
	n, err := call(ctx, l.health, l.timeout, func(ctx context.Context) (int64, error) {
		return incr.Run(ctx, l.rdb, []string{k}, (left + time.Second).Milliseconds()).Int64()
	})
	if err != nil {
		// A client that hung up says nothing about Redis.
		if ctx.Err() == nil && l.local.CompareAndSwap(false, true) {
			l.log.WarnContext(ctx, "gameauth: shared rate limit unreachable; each node limits on its own until Redis is back", "err", err)
		}
		return l.fallback.Allow(ctx, key, now)
	}
	if l.local.CompareAndSwap(true, false) {
		l.log.InfoContext(ctx, "gameauth: shared rate limit is back")
	}
	if n > l.perMinute {
		return false, left, nil
	}
	return true, 0, nil
}
