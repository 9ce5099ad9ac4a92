package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/cluster"
)

// deployment is a kind of Redis the shared-state tests run against. connect
// sets it up (or skips the test) and returns a maker of clients: node i gets
// a client of its own, as separate processes would.
type deployment struct {
	name    string
	connect func(t *testing.T) func(node int) redis.UniversalClient
}

func deployments() []deployment {
	return []deployment{
		{"one server", func(t *testing.T) func(int) redis.UniversalClient {
			opt := *redisClient(t).Options()
			return func(int) redis.UniversalClient {
				c := redis.NewClient(&opt)
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
		}},
		{"cluster", func(t *testing.T) func(int) redis.UniversalClient {
			addrs := startRedisCluster(t)
			return func(node int) redis.UniversalClient {
				// Each node knows the cluster by a different seed.
				first := addrs[node%len(addrs)]
				var others []string
				for _, a := range addrs {
					if a != first {
						others = append(others, "addr="+a)
					}
				}
				c, err := cluster.NewClient("redis://" + first + "?" + strings.Join(others, "&"))
				require.NoError(t, err)
				require.IsType(t, &redis.ClusterClient{}, c)
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
		}},
	}
}

// forEachMaster runs fn on every master: the one server, or each master of a
// cluster.
func forEachMaster(t *testing.T, rdb redis.UniversalClient, fn func(c *redis.Client) error) {
	t.Helper()
	ctx := context.Background()
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		require.NoError(t, cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error { return fn(c) }))
		return
	}
	c, ok := rdb.(*redis.Client)
	require.True(t, ok, "unexpected client %T", rdb)
	require.NoError(t, fn(c))
}

// waitSubscribed waits until the channel has n subscribers. On a cluster
// PUBSUB NUMSUB counts only the node it asks, so every master is asked.
func waitSubscribed(t *testing.T, rdb redis.UniversalClient, channel string, n int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		var sum atomic.Int64
		forEachMaster(t, rdb, func(c *redis.Client) error {
			m, err := c.PubSubNumSub(context.Background(), channel).Result()
			sum.Add(m[channel])
			return err
		})
		return sum.Load() == n
	}, 5*time.Second, 5*time.Millisecond)
}

// mastersHolding reports how many masters hold keys matching pattern, of how
// many there are.
func mastersHolding(t *testing.T, rdb redis.UniversalClient, pattern string) (holding, masters int) {
	t.Helper()
	var h, m atomic.Int64
	forEachMaster(t, rdb, func(c *redis.Client) error {
		m.Add(1)
		keys, _, err := c.Scan(context.Background(), 0, pattern, 10000).Result()
		if len(keys) > 0 {
			h.Add(1)
		}
		return err
	})
	return int(h.Load()), int(m.Load())
}

// killClient cuts the connection of the client named name, and no other.
func killClient(t *testing.T, rdb *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := rdb.ClientList(ctx).Result()
	require.NoError(t, err)
	for line := range strings.SplitSeq(list, "\n") {
		if !strings.Contains(" "+line+" ", " name="+name+" ") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				require.NoError(t, rdb.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
				return
			}
		}
	}
	require.Fail(t, fmt.Sprintf("no client named %s", name))
}

// callCounter is a go-redis hook recording the commands a client sends (a
// pub/sub connection's excepted), so a test can tell "Redis was skipped"
// from "Redis failed fast".
type callCounter struct {
	mu   sync.Mutex
	cmds []string
}

// sent returns the commands sent so far, leaving out a connection's set-up
// (HELLO, CLIENT SETINFO, …), which go-redis also passes through hooks.
func (c *callCounter) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, name := range c.cmds {
		switch name {
		case "hello", "client", "auth", "select":
		default:
			out = append(out, name)
		}
	}
	return out
}

func (c *callCounter) record(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds = append(c.cmds, names...)
}

func (c *callCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *callCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(cmd.Name())
		return next(ctx, cmd)
	}
}
func (c *callCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.record(cmd.Name())
		}
		return next(ctx, cmds)
	}
}

// fakeClock is an injected clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
