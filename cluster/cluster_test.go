package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
)

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("GAMEAUTH_TEST_REDIS")
	if url == "" {
		t.Skip("GAMEAUTH_TEST_REDIS not set: skipping Redis tests")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err())
	return c
}

func unique(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// syncBuffer is a log sink safe for the broadcaster's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// countingFallback is a local limiter that allows everything and counts.
type countingFallback struct{ n atomic.Int64 }

func (c *countingFallback) Allow(context.Context, string, time.Time) (bool, time.Duration, error) {
	c.n.Add(1)
	return true, 0, nil
}

func TestLimiterIsSharedAcrossNodes(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			connect := d.connect(t)
			prefix := unique("gameauth-test:rl:")
			node := func(i int) *cluster.Limiter {
				return cluster.NewLimiter(cluster.LimiterConfig{Redis: connect(i), PerMinute: 3, Prefix: prefix, Fallback: &countingFallback{}})
			}
			a, b := node(0), node(1)
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 12, 0, 15, 0, time.UTC)

			allowed := 0
			for i := 0; i < 4; i++ {
				for _, l := range []*cluster.Limiter{a, b} {
					ok, retry, err := l.Allow(ctx, "acct:ada@example.com", now)
					require.NoError(t, err)
					if ok {
						allowed++
					} else {
						assert.Equal(t, 45*time.Second, retry, "rest of the minute")
					}
				}
			}
			assert.Equal(t, 3, allowed, "two nodes share one budget")

			ok, _, err := a.Allow(ctx, "addr:203.0.113.9", now)
			require.NoError(t, err)
			assert.True(t, ok, "other keys have their own budget")

			ok, _, err = b.Allow(ctx, "acct:ada@example.com", now.Add(45*time.Second))
			require.NoError(t, err)
			assert.True(t, ok, "a new window starts at the next minute")

			// Many keys: on a Cluster their counters live on every master,
			// and each is still one budget for both nodes.
			for k := range 30 {
				key := fmt.Sprintf("addr:198.51.100.%d", k)
				allowed := 0
				for range 3 {
					for _, l := range []*cluster.Limiter{a, b} {
						ok, _, err := l.Allow(ctx, key, now)
						require.NoError(t, err)
						if ok {
							allowed++
						}
					}
				}
				assert.Equal(t, 3, allowed, "key %s: one budget across nodes", key)
			}
			holding, masters := mastersHolding(t, connect(0), prefix+"*")
			assert.Equal(t, masters, holding, "every master holds counters")
		})
	}
}

func TestLimiterFallsBackWhenRedisIsDown(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	var logs syncBuffer
	fb := &countingFallback{}
	l := cluster.NewLimiter(cluster.LimiterConfig{Redis: dead, PerMinute: 3, Fallback: fb, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := 0; i < 3; i++ {
		ok, _, err := l.Allow(context.Background(), "acct:ada@example.com", time.Now())
		require.NoError(t, err)
		assert.True(t, ok)
	}
	assert.Equal(t, int64(3), fb.n.Load())
	assert.Equal(t, 1, bytes.Count([]byte(logs.String()), []byte("shared rate limit unreachable")), "logged once per outage")
	assert.NotContains(t, logs.String(), "ada@example.com")
}

// local is a cluster.Local that records what it was told.
type local struct {
	*revocation.View
	syncs atomic.Int64
}

func (l *local) Sync(ctx context.Context) error {
	l.syncs.Add(1)
	return l.View.Sync(ctx)
}

type emptyFeed struct{}

func (emptyFeed) RevokedSince(context.Context, time.Time) ([]storage.Revocation, error) {
	return nil, nil
}
func (emptyFeed) ListActiveBlocks(context.Context, time.Time) ([]storage.Block, error) {
	return nil, nil
}

type ring struct{ reloads atomic.Int64 }

func (r *ring) Reload(context.Context) error { r.reloads.Add(1); return nil }

type node struct {
	b     *cluster.Broadcaster
	local *local
	ring  *ring
	logs  *syncBuffer
}

// startNode runs a Broadcaster; health may be nil.
func startNode(t *testing.T, ctx context.Context, rdb redis.UniversalClient, channel, id string, health *cluster.Health) *node {
	n := &node{local: &local{View: revocation.New(emptyFeed{}, revocation.Config{})}, ring: &ring{}, logs: &syncBuffer{}}
	n.b = cluster.New(cluster.Config{Redis: rdb, Channel: channel, Local: n.local, Keys: n.ring, NodeID: id,
		Logger: slog.New(slog.NewTextHandler(n.logs, nil)), Health: health})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = n.b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func TestBroadcastReachesOtherNodes(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			connect := d.connect(t)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			channel := unique("gameauth-test:events:")
			a := startNode(t, ctx, connect(0), channel, "a", nil)
			b := startNode(t, ctx, connect(1), channel, "b", nil)
			waitSubscribed(t, connect(0), channel, 2)

			now := time.Now()
			a.b.BlockChanged(ctx, storage.Block{Key: "bk", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: now})
			_, ok := a.local.Blocked(storage.BlockPlayer, "p1", "")
			assert.True(t, ok, "applied locally at once")
			require.Eventually(t, func() bool { _, ok := b.local.Blocked(storage.BlockPlayer, "p1", ""); return ok },
				2*time.Second, time.Millisecond)

			b.b.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "s1", Reason: storage.ReasonReused, At: now}})
			require.Eventually(t, func() bool { r, ok := a.local.SessionRevoked("s1"); return ok && r == storage.ReasonReused },
				2*time.Second, time.Millisecond)

			a.b.KeyRotated(ctx, "kid-2")
			require.Eventually(t, func() bool { return b.ring.reloads.Load() == 1 }, 2*time.Second, time.Millisecond)
			assert.Equal(t, int64(0), a.ring.reloads.Load(), "the rotating node does not reload its own rotation")
			assert.True(t, a.b.Health().Up())
		})
	}
}

func TestBroadcastCatchesUpAfterLosingTheSubscription(t *testing.T) {
	rdb := redisClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	channel := unique("gameauth-test:events:")
	// A client of its own, named so that killing its connection spares
	// every other client of the shared Redis.
	opt := *rdb.Options()
	opt.ClientName = unique("gameauth-test-")
	own := redis.NewClient(&opt)
	t.Cleanup(func() { _ = own.Close() })
	n := startNode(t, ctx, own, channel, "a", nil)
	waitSubscribed(t, rdb, channel, 1)
	require.Equal(t, int64(0), n.local.syncs.Load())

	// Cut the subscriber's connection, as a Redis restart would.
	killClient(t, rdb, opt.ClientName)
	require.Eventually(t, func() bool { return n.local.syncs.Load() >= 1 }, 10*time.Second, 5*time.Millisecond,
		"after resubscribing, the node reconciles from the store")
	assert.Contains(t, n.logs.String(), "subscription lost")
	assert.Eventually(t, func() bool { return bytes.Contains([]byte(n.logs.String()), []byte("caught up")) }, time.Second, time.Millisecond)
	assert.Equal(t, int64(1), n.ring.reloads.Load())
	assert.True(t, n.b.Health().Up(), "the subscription back marks Redis up")
}

// A node whose subscription is cut before it read Redis's confirmation may
// have missed messages as much as one cut later: it catches up once
// subscribed again.
func TestBroadcastCatchesUpWhenTheFirstSubscriptionWasCut(t *testing.T) {
	target := redisClient(t).Options().Addr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	// The first connection reaches Redis until the client subscribes; the
	// confirmation is dropped and the connection closed. The rest reach
	// Redis whole.
	go func() {
		for first := true; ; first = false {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go proxy(c, target, first)
		}
	}()
	opt := *redisClient(t).Options()
	opt.Addr = ln.Addr().String()
	own := redis.NewClient(&opt)
	t.Cleanup(func() { _ = own.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	channel := unique("gameauth-test:events:")
	n := startNode(t, ctx, own, channel, "a", nil)
	require.Eventually(t, func() bool { return n.local.syncs.Load() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the node reconciles from the store once subscribed again")
	assert.Contains(t, n.logs.String(), "subscription lost")
	waitSubscribed(t, redisClient(t), channel, 1)
}

// proxy copies between c and a new connection to target until either
// closes. With cutAtSubscribe it closes both instead of passing on what
// Redis answers to a SUBSCRIBE.
func proxy(c net.Conn, target string, cutAtSubscribe bool) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	var subscribed atomic.Bool
	go func() {
		defer up.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if cutAtSubscribe && bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
					subscribed.Store(true)
				}
				if _, err := up.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 4096)
	for {
		n, err := up.Read(buf)
		if subscribed.Load() {
			return
		}
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A sign-in whose client hung up says nothing about Redis: it is neither
// marked down nor logged as an outage.
func TestLimiterIgnoresCallersThatGaveUp(t *testing.T) {
	opt := *redisClient(t).Options()
	opt.ContextTimeoutEnabled = true // as cluster.NewClient makes them
	rdb := redis.NewClient(&opt)
	t.Cleanup(func() { _ = rdb.Close() })
	var logs syncBuffer
	fb := &countingFallback{}
	l := cluster.NewLimiter(cluster.LimiterConfig{Redis: rdb, PerMinute: 3, Prefix: unique("gameauth-test:rl:"), Fallback: fb,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := l.Allow(ctx, "acct:ada@example.com", time.Now())
	require.NoError(t, err)
	ok, _, err := l.Allow(context.Background(), "acct:ada@example.com", time.Now())
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Empty(t, logs.String(), "no outage logged")
}
