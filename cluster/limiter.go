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
// key in fixed one-minute windows (one INCR round trip). While Redis is
// unreachable each node falls back to its own local limit, and says so in its
// log once per outage. It implements account.Limiter.
type Limiter struct {
	rdb       redis.UniversalClient
	perMinute int64
	prefix    string
	fallback  Fallback
	log       *slog.Logger
	down      atomic.Bool
	// retryAt (unix nanos) is when to try Redis again after a failure:
	// until then attempts go straight to the fallback instead of each
	// waiting out a dial timeout.
	retryAt atomic.Int64
}

// retryDelay is how long the limiter keeps to its fallback after Redis
// failed before it tries Redis again.
const retryDelay = time.Second

// LimiterConfig configures a Limiter. Redis, PerMinute and Fallback are
// required.
type LimiterConfig struct {
	Redis     redis.UniversalClient
	PerMinute int
	// Prefix of the counters' keys. Default "gameauth:rl:".
	Prefix   string
	Fallback Fallback
	Logger   *slog.Logger
}

// NewLimiter returns a Limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	l := &Limiter{rdb: cfg.Redis, perMinute: int64(cfg.PerMinute), prefix: cfg.Prefix, fallback: cfg.Fallback, log: cfg.Logger}
	if l.prefix == "" {
		l.prefix = "gameauth:rl:"
	}
	if l.log == nil {
		l.log = slog.Default()
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
	if l.down.Load() && time.Now().UnixNano() < l.retryAt.Load() {
		return l.fallback.Allow(ctx, key, now)
	}
	window := now.Truncate(time.Minute)
	left := window.Add(time.Minute).Sub(now)
	// Keys hold emails and addresses: Redis sees only their hash.
	sum := sha256.Sum256([]byte(key))
	k := l.prefix + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(window.Unix(), 10)
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	n, err := incr.Run(ctx, l.rdb, []string{k}, (left + time.Second).Milliseconds()).Int64()
	if err != nil {
		l.retryAt.Store(time.Now().Add(retryDelay).UnixNano())
		if l.down.CompareAndSwap(false, true) {
			l.log.WarnContext(ctx, "gameauth: shared rate limit unreachable; each node limits on its own until Redis is back", "err", err)
		}
		return l.fallback.Allow(ctx, key, now)
	}
	if l.down.CompareAndSwap(true, false) {
		l.log.InfoContext(ctx, "gameauth: shared rate limit is back")
	}
	if n > l.perMinute {
		return false, left, nil
	}
	return true, 0, nil
}
