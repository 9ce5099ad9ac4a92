package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
)

// outageNode is one process's Redis side: a client, the Health its
// Broadcaster and Limiter share, and what they told.
type outageNode struct {
	*node
	rdb      *redis.Client
	calls    *callCounter
	health   *cluster.Health
	limiter  *cluster.Limiter
	fallback *countingFallback
	// redisLogs has what the Health and the Limiter logged (node.logs has
	// the Broadcaster's).
	redisLogs *syncBuffer
}

const limiterTimeout = 500 * time.Millisecond

// startOutageNode starts a node whose Health probes on clock, which the
// test never moves: only the subscription can bring Redis back.
func startOutageNode(t *testing.T, ctx context.Context, addr, channel, id string, clock *fakeClock) *outageNode {
	n := &outageNode{rdb: redis.NewClient(&redis.Options{Addr: addr}), calls: &callCounter{}, fallback: &countingFallback{}}
	t.Cleanup(func() { _ = n.rdb.Close() })
	n.rdb.AddHook(n.calls)
	logs := &syncBuffer{}
	n.health = cluster.NewHealth(cluster.HealthConfig{Redis: n.rdb, Clock: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	n.node = startNode(t, ctx, n.rdb, channel, id, n.health)
	n.redisLogs = logs
	require.Same(t, n.health, n.b.Health())
	n.limiter = cluster.NewLimiter(cluster.LimiterConfig{Redis: n.rdb, PerMinute: 3, Fallback: n.fallback,
		Health: n.health, Timeout: limiterTimeout, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return n
}

func TestRedisDownIsSkippedUntilItIsBack(t *testing.T) {
	server, _ := redisBinaries(t)
	srv := startRedisServer(t, server, freePorts(t, 1)[0])
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	channel := unique("gameauth-test:events:")
	clock := newFakeClock()
	a := startOutageNode(t, ctx, srv.addr, channel, "a", clock)
	b := startOutageNode(t, ctx, srv.addr, channel, "b", clock)
	waitSubscribed(t, a.rdb, channel, 2)

	srv.stop()
	// The first call to find Redis gone may wait out its timeout (unless
	// the lost subscription told first); it marks Redis down.
	a.b.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "s0", Reason: storage.ReasonSignedOut}})
	_, _, err := a.limiter.Allow(ctx, "acct:ada@example.com", time.Now())
	require.NoError(t, err)
	require.False(t, a.health.Up(), "a failed call marks Redis down")

	// While Redis is known to be down, nothing waits on it.
	callsBefore, fallbackBefore := len(a.calls.sent()), a.fallback.n.Load()
	start := time.Now()
	for i := range 50 {
		a.b.SessionsRevoked(ctx, []storage.Revocation{{SessionID: fmt.Sprint("s", i), Reason: storage.ReasonSignedOut, At: time.Now()}})
		ok, _, err := a.limiter.Allow(ctx, "acct:ada@example.com", time.Now())
		require.NoError(t, err)
		assert.True(t, ok, "limited locally")
	}
	elapsed := time.Since(start)
	assert.Empty(t, a.calls.sent()[callsBefore:], "no command is sent to Redis while it is known to be down")
	assert.Equal(t, fallbackBefore+50, a.fallback.n.Load(), "every sign-in is limited locally")
	assert.Less(t, elapsed, limiterTimeout, "50 sign-outs and 50 sign-ins take less than one timeout")
	t.Logf("50 publishes + 50 limiter calls while down: %v", elapsed)
	_, revoked := a.local.SessionRevoked("s49")
	assert.True(t, revoked, "the local view still learns at once")
	for _, msg := range []string{"Redis unreachable", "shared rate limit unreachable"} {
		assert.Equal(t, 1, strings.Count(a.redisLogs.String(), msg), "the outage is logged once: %q", msg)
	}

	srv.start()
	// The subscriptions come back, catch up from the store, and mark Redis up.
	require.Eventually(t, func() bool { return a.health.Up() && b.health.Up() }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return a.local.syncs.Load() >= 1 && b.local.syncs.Load() >= 1 },
		5*time.Second, 5*time.Millisecond, "each node catches up from the store: a %d, b %d", a.local.syncs.Load(), b.local.syncs.Load())
	assert.Equal(t, 1, strings.Count(a.redisLogs.String(), "Redis reachable again"), "the recovery is logged once")
	waitSubscribed(t, a.rdb, channel, 2)

	a.b.BlockChanged(ctx, storage.Block{Key: "bk", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: time.Now()})
	require.Eventually(t, func() bool { _, ok := b.local.Blocked(storage.BlockPlayer, "p1", ""); return ok },
		2*time.Second, time.Millisecond, "broadcasts flow again")

	allowed := 0
	for range 4 {
		for _, n := range []*outageNode{a, b} {
			ok, _, err := n.limiter.Allow(ctx, "acct:bob@example.com", time.Now())
			require.NoError(t, err)
			if ok {
				allowed++
			}
		}
	}
	assert.Equal(t, 3, allowed, "the limit is shared again")
	assert.Equal(t, 1, strings.Count(a.redisLogs.String(), "shared rate limit is back"))
}

func TestLimiterProbesRedisBackInTheBackground(t *testing.T) {
	server, _ := redisBinaries(t)
	srv := startRedisServer(t, server, freePorts(t, 1)[0])
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr})
	t.Cleanup(func() { _ = rdb.Close() })
	calls := &callCounter{}
	rdb.AddHook(calls)
	clock := newFakeClock()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	health := cluster.NewHealth(cluster.HealthConfig{Redis: rdb, ProbeInterval: time.Second, Clock: clock.Now, Logger: logger})
	fb := &countingFallback{}
	l := cluster.NewLimiter(cluster.LimiterConfig{Redis: rdb, PerMinute: 1, Fallback: fb, Health: health, Timeout: limiterTimeout, Logger: logger})
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 12, 0, 15, 0, time.UTC)
	allow := func(key string) bool {
		ok, _, err := l.Allow(ctx, key, now)
		require.NoError(t, err)
		return ok
	}

	require.True(t, allow("k1"))
	require.False(t, allow("k1"), "counted in Redis")
	srv.stop()
	require.True(t, allow("k1"), "Redis failed: limited locally")
	require.False(t, health.Up())
	srv.start()

	before := len(calls.sent())
	clock.Advance(999 * time.Millisecond)
	require.True(t, allow("k1"), "not yet probed: still local")
	assert.Empty(t, calls.sent()[before:], "no probe before the interval")

	clock.Advance(time.Millisecond)
	require.True(t, allow("k1"), "the call that starts the probe does not wait for it")
	require.Eventually(t, health.Up, 5*time.Second, time.Millisecond, "the probe marks Redis up")
	assert.Equal(t, []string{"ping"}, calls.sent()[before:], "one probe, and no other command")
	assert.Equal(t, int64(3), fb.n.Load())

	require.True(t, allow("k2"), "counted in Redis again")
	require.False(t, allow("k2"))
	assert.Equal(t, int64(3), fb.n.Load(), "no longer local")
	for _, msg := range []string{"Redis unreachable", "shared rate limit unreachable", "Redis reachable again", "shared rate limit is back"} {
		assert.Equal(t, 1, strings.Count(logs.String(), msg), "logged once: %q", msg)
	}
}

// A Redis that accepts connections and never answers (a hung server, a
// half-open connection) costs one timeout, not go-redis's own read timeouts
// and retries on every request. Needs no Redis.
func TestHungRedisCostsOneTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	t.Cleanup(func() { _ = rdb.Close() })
	calls := &callCounter{}
	rdb.AddHook(calls)
	var logs syncBuffer
	const timeout = 200 * time.Millisecond
	b := cluster.New(cluster.Config{Redis: rdb, Local: revocation.New(emptyFeed{}, revocation.Config{}), NodeID: "a", Timeout: timeout,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	fb := &countingFallback{}
	l := cluster.NewLimiter(cluster.LimiterConfig{Redis: rdb, PerMinute: 3, Fallback: fb, Health: b.Health(), Timeout: timeout})
	ctx := context.Background()

	start := time.Now()
	b.KeyRotated(ctx, "kid-2")
	first := time.Since(start)
	assert.GreaterOrEqual(t, first, timeout, "the first publish waits out its timeout")
	assert.Less(t, first, 5*timeout, "and not go-redis's own read timeouts and retries (5s)")
	require.False(t, b.Health().Up())

	before := len(calls.sent())
	start = time.Now()
	for range 50 {
		b.KeyRotated(ctx, "kid-2")
		ok, _, err := l.Allow(ctx, "acct:ada@example.com", time.Now())
		require.NoError(t, err)
		assert.True(t, ok)
	}
	assert.Less(t, time.Since(start), timeout, "50 publishes and sign-ins while down take less than one timeout")
	assert.Empty(t, calls.sent()[before:], "Redis is not tried while down")
	assert.Equal(t, int64(50), fb.n.Load())
	assert.Contains(t, logs.String(), "did not answer within 200ms")
}

// BenchmarkPublish compares what a revocation's publish costs a request
// while Redis is up (one round trip) and while it is known to be down
// (skipped).
func BenchmarkPublish(b *testing.B) {
	url := os.Getenv("GAMEAUTH_TEST_REDIS")
	if url == "" {
		b.Skip("GAMEAUTH_TEST_REDIS not set: skipping Redis benchmarks")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(b, err)
	ctx := context.Background()
	for _, tc := range []struct{ name, addr string }{{"redis up", opt.Addr}, {"redis down", "127.0.0.1:1"}} {
		b.Run(tc.name, func(b *testing.B) {
			o := *opt
			o.Addr = tc.addr
			rdb := redis.NewClient(&o)
			defer rdb.Close()
			bc := cluster.New(cluster.Config{Redis: rdb, Local: revocation.New(emptyFeed{}, revocation.Config{}),
				NodeID: "a", Channel: unique("gameauth-bench:"), Logger: slog.New(slog.DiscardHandler)})
			bc.KeyRotated(ctx, "kid") // finds a down Redis down
			for b.Loop() {
				bc.KeyRotated(ctx, "kid")
			}
		})
	}
}
