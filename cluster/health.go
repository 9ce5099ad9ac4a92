package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Health is what one node knows of whether Redis is reachable. A node's
// Broadcaster and Limiter share one, so that once either has seen Redis fail,
// no request waits on Redis again until it answers: publishes are dropped at
// once and the limiter counts on its own at once.
//
// Dropping a publish is safe because Redis only makes changes travel faster:
// every node's revocation view also reconciles from the store's change feed,
// and its key ring from the store, at the sync interval (every few seconds),
// and the broadcast subscription catches up from the store when it comes back,
// so a dropped message delays a revocation or a new key on other nodes by at
// most one sync interval.
//
// Redis is marked down by a call that fails or outlasts its timeout, or by the
// loss of the broadcast subscription. It is marked up again when the
// subscription is back, or when a probe answers: while Redis is down, calls
// that skip it start at most one probe per ProbeInterval in the background
// (PING; CLUSTER INFO on a Redis Cluster, whose nodes answer PING while the
// cluster refuses commands). Each transition is logged once.
type Health struct {
	rdb      redis.UniversalClient
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration

	down    atomic.Bool
	probing atomic.Bool
	// nextProbe is when (unix nanoseconds on the injected clock) a call that
	// skips Redis may start the next probe.
	nextProbe atomic.Int64
	// mu orders transitions, so that each is logged exactly once.
	mu sync.Mutex
}

// HealthConfig configures a Health. Redis is required.
type HealthConfig struct {
	Redis redis.UniversalClient
	// ProbeInterval is how often, at most, a down Redis is probed. Default 1s.
	ProbeInterval time.Duration
	Logger        *slog.Logger
	// Clock paces the probes; nil means time.Now.
	Clock func() time.Time
}

// NewHealth returns a Health that believes Redis is up until a call fails.
func NewHealth(cfg HealthConfig) *Health {
	h := &Health{rdb: cfg.Redis, log: cfg.Logger, now: cfg.Clock, interval: cfg.ProbeInterval}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.interval <= 0 {
		h.interval = time.Second
	}
	return h
}

// Up reports whether Redis is believed reachable, for a metric or a
// readiness check; it never calls Redis.
func (h *Health) Up() bool { return !h.down.Load() }

// errDown is what a call returns, at once, while Redis is known to be down.
var errDown = errors.New("cluster: Redis is down; not tried")

// usable reports whether a call should try Redis. While Redis is down it
// answers false at once and, when a probe is due, starts one in the
// background.
func (h *Health) usable() bool {
	if !h.down.Load() {
		return true
	}
	now := h.now().UnixNano()
	if now >= h.nextProbe.Load() && h.probing.CompareAndSwap(false, true) {
		h.nextProbe.Store(now + h.interval.Nanoseconds())
		go h.probe()
	}
	return false
}

// probe asks Redis whether it serves again and marks it up if so.
func (h *Health) probe() {
	defer h.probing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), h.interval)
	defer cancel()
	var err error
	if c, ok := h.rdb.(*redis.ClusterClient); ok {
		var info string
		if info, err = c.ClusterInfo(ctx).Result(); err == nil && !strings.Contains(info, "cluster_state:ok") {
			err = errors.New("cluster_state is not ok")
		}
	} else {
		err = h.rdb.Ping(ctx).Err()
	}
	if err == nil {
		h.markUp(ctx, "a probe answered")
	}
}

// markDown records that Redis failed; the first failure of an outage is
// logged, the rest are not.
func (h *Health) markDown(ctx context.Context, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		return
	}
	// The first probe comes one interval after the failure, not with the
	// next request.
	h.nextProbe.Store(h.now().Add(h.interval).UnixNano())
	h.down.Store(true)
	h.log.WarnContext(ctx, "gameauth: Redis unreachable; no request waits on it until it answers again", "err", err)
}

// markUp records that Redis answers again.
func (h *Health) markUp(ctx context.Context, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		return
	}
	h.down.Store(false)
	h.log.InfoContext(ctx, "gameauth: Redis reachable again", "because", why)
}

// call runs fn against Redis, unless Redis is known to be down, and waits for
// it at most timeout. The wait is enforced here, not left to ctx: a
// go-redis client ignores context deadlines unless its ContextTimeoutEnabled
// option is set, and then waits out its own read timeouts and retries (five
// seconds against a Redis that accepts connections and never answers). An
// abandoned fn finishes in the background within the client's own timeouts.
// A failure, or no answer in time, marks Redis down; the caller giving up
// (ctx done) does not.
func call[T any](ctx context.Context, h *Health, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if !h.usable() {
		return zero, errDown
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	go func() {
		defer cancel()
		v, err := fn(callCtx)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-callCtx.Done():
		select {
		case r = <-done: // answered just in time
		default:
			if ctx.Err() != nil {
				return zero, ctx.Err()
			}
			r.err = fmt.Errorf("cluster: Redis did not answer within %v", timeout)
		}
	}
	if r.err != nil && ctx.Err() == nil {
		h.markDown(ctx, r.err)
	}
	return r.v, r.err
}
