package cluster_test

import (
	"fmt"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/revocation"
)

// A node's Broadcaster and Limiter share one Health, so that an outage
// either of them meets spares the requests of both; Up feeds a metric.
func ExampleBroadcaster_Health() {
	rdb, err := cluster.NewClient("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()
	view := revocation.New(emptyFeed{}, revocation.Config{}) // the store, in a real node
	b := cluster.New(cluster.Config{Redis: rdb, Local: view, NodeID: "node-1"})
	limiter := cluster.NewLimiter(cluster.LimiterConfig{
		Redis: rdb, PerMinute: 10, Fallback: account.NewLocalLimiter(10),
		Health: b.Health(),
	})
	_ = limiter // account.Config.Limiter; b is account.Config.Events, and b.Run subscribes
	fmt.Println("Redis up:", b.Health().Up())
	// Output: Redis up: true
}
