// Package cluster lets several server processes behind a load balancer act as
// one: a revocation broadcast and a shared sign-in rate limit over Redis.
//
// Every node keeps its own revocation view (package revocation) and key ring
// (package tokens), both reconciled from the shared store at an interval. The
// Broadcaster makes that immediate: what the account service on one node
// revokes, blocks or rotates is published on a Redis channel and applied by
// every other node as it arrives. Redis is an accelerator, not the source of
// truth: when a node misses messages (Redis down, a dropped connection) it
// catches up from the store's change feed as soon as it is subscribed again,
// and says so in its log. While Redis is known to be down (see Health) no
// request waits on it.
//
// Every client go-redis offers works: one server, Sentinel (a failover
// client) and Redis Cluster; NewClient makes the right one from a URL.
package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gameauth/gameauth/storage"
)

// Local is this node's state the broadcast keeps current: a
// *revocation.View is one.
type Local interface {
	SessionsRevoked(ctx context.Context, revs []storage.Revocation)
	BlockChanged(ctx context.Context, b storage.Block)
	// Sync reconciles with the store: how a node catches up after it may
	// have missed messages.
	Sync(ctx context.Context) error
}

// KeyRing is reloaded when another node rotates the signing key, so this
// node verifies the new key's tokens at once; *tokens.Ring is one.
type KeyRing interface {
	Reload(ctx context.Context) error
}

// Config configures a Broadcaster. Redis, Local and NodeID are required.
type Config struct {
	Redis redis.UniversalClient
	// Channel is the pub/sub channel. Default "gameauth:events".
	//
	// The broadcast uses classic PUBLISH/SUBSCRIBE, not Redis 7's sharded
	// SPUBLISH/SSUBSCRIBE, on every kind of deployment: it works on any Redis
	// version, Sentinel and Cluster alike, and on a Cluster a PUBLISH to any
	// node reaches subscribers on every node. Sharding would only spare the
	// cluster bus a fan-out that, at a few messages per sign-out, costs
	// nothing.
	Channel string
	Local   Local
	Keys    KeyRing
	// NodeID names this process; its own messages are not applied twice.
	NodeID string
	Logger *slog.Logger
	// Health is shared with the node's Limiter (NewLimiter takes it from
	// Broadcaster.Health); nil: New makes one.
	Health *Health
	// Timeout bounds how long a publish may hold up the request that
	// revoked something. Default 1s.
	Timeout time.Duration
}

// Broadcaster publishes this node's revocations and applies other nodes'.
// It implements account.Events: wire it as the service's Events, and it
// forwards every event to Local as well.
type Broadcaster struct {
	cfg Config
	log *slog.Logger
}

// Health is the Redis health this Broadcaster reports to and obeys: pass it
// to the node's Limiter, and read Up for a metric.
func (b *Broadcaster) Health() *Health { return b.cfg.Health }

// message is what goes over the channel.
type message struct {
	Node     string               `json:"n"`
	Sessions []storage.Revocation `json:"s,omitempty"`
	Block    *storage.Block       `json:"b,omitempty"`
	KeyID    string               `json:"k,omitempty"`
}

// New returns a Broadcaster; Run subscribes it.
func New(cfg Config) *Broadcaster {
	if cfg.Channel == "" {
		cfg.Channel = "gameauth:events"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Health == nil {
		cfg.Health = NewHealth(HealthConfig{Redis: cfg.Redis, Logger: log})
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	return &Broadcaster{cfg: cfg, log: log}
}

// SessionsRevoked applies revs locally and publishes them.
func (b *Broadcaster) SessionsRevoked(ctx context.Context, revs []storage.Revocation) {
	b.cfg.Local.SessionsRevoked(ctx, revs)
	b.publish(ctx, message{Sessions: revs})
}

// BlockChanged applies the block change locally and publishes it.
func (b *Broadcaster) BlockChanged(ctx context.Context, blk storage.Block) {
	b.cfg.Local.BlockChanged(ctx, blk)
	b.publish(ctx, message{Block: &blk})
}

// KeyRotated publishes the rotation; this node's ring already has the key.
func (b *Broadcaster) KeyRotated(ctx context.Context, kid string) {
	b.publish(ctx, message{KeyID: kid})
}

// publish sends m, unless Redis is known to be down. A message not sent is
// not retried, nor logged one by one (Health logs the outage once): the other
// nodes pick the change up from the store's change feed at their next sync,
// a few seconds later.
func (b *Broadcaster) publish(ctx context.Context, m message) {
	m.Node = b.cfg.NodeID
	data, err := json.Marshal(m)
	if err != nil {
		b.log.ErrorContext(ctx, "gameauth: broadcast encode failed", "err", err)
		return
	}
	// The store has committed the change: a client hanging up now must not
	// keep it from the other nodes.
	_, _ = call(context.WithoutCancel(ctx), b.cfg.Health, b.cfg.Timeout, func(ctx context.Context) (int64, error) {
		return b.cfg.Redis.Publish(ctx, b.cfg.Channel, data).Result()
	})
}

// Run subscribes and applies other nodes' messages until ctx is done. After
// every (re)subscription that follows an error, it catches up from the store.
// Losing the subscription marks Redis down in Health, getting it back marks
// Redis up.
func (b *Broadcaster) Run(ctx context.Context) error {
	ps := b.cfg.Redis.Subscribe(ctx, b.cfg.Channel)
	// Receive blocks in a read that ctx does not interrupt; closing the
	// subscription does.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	defer ps.Close()
	// missed is set by an error and cleared by the subscription that
	// follows it. Any subscription after an error catches up, even when the
	// first confirmation was never read: messages may have gone by unseen.
	missed := false
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !missed {
				b.log.WarnContext(ctx, "gameauth: broadcast subscription lost; relying on store reconciliation until it is back", "err", err)
			}
			missed = true
			b.cfg.Health.markDown(ctx, err)
			// go-redis reconnects on the next Receive; don't spin while
			// Redis is down.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.cfg.Health.markUp(ctx, "the broadcast subscription is back")
			if missed {
				b.catchUp(ctx)
			}
			missed = false
		case *redis.Message:
			b.apply(ctx, m.Payload)
		}
	}
}

func (b *Broadcaster) catchUp(ctx context.Context) {
	if err := b.cfg.Local.Sync(ctx); err != nil {
		b.log.WarnContext(ctx, "gameauth: catch-up from the store failed; the periodic sync will retry", "err", err)
		return
	}
	if b.cfg.Keys != nil {
		if err := b.cfg.Keys.Reload(ctx); err != nil {
			b.log.WarnContext(ctx, "gameauth: key ring reload failed", "err", err)
		}
	}
	b.log.InfoContext(ctx, "gameauth: broadcast subscription back; caught up from the store's change feed")
}

func (b *Broadcaster) apply(ctx context.Context, payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		b.log.WarnContext(ctx, "gameauth: ignoring malformed broadcast", "err", err)
		return
	}
	if m.Node == b.cfg.NodeID {
		return
	}
	if len(m.Sessions) > 0 {
		b.cfg.Local.SessionsRevoked(ctx, m.Sessions)
	}
	if m.Block != nil {
		b.cfg.Local.BlockChanged(ctx, *m.Block)
	}
	if m.KeyID != "" && b.cfg.Keys != nil {
		if err := b.cfg.Keys.Reload(ctx); err != nil {
			b.log.WarnContext(ctx, "gameauth: key ring reload after a remote rotation failed", "err", err)
		}
	}
}
