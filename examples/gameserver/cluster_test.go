package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The multi-process test: three example servers on loopback ports sharing
// one PostgreSQL schema and one Redis, as behind a load balancer. It needs
// the local PostgreSQL (GAMEAUTH_TEST_POSTGRES) and Redis (GAMEAUTH_TEST_REDIS;
// the test starts a private redis-server of its own so it can stop it).

const adminToken = "test-admin-token"

type cluster struct {
	caller
	bin   string
	dsn   string
	redis *redisServer
	nodes []*node
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{caller: newCaller(t)}
	c.dsn, c.redis = clusterServices(t, "the multi-process test") // the nodes get the schema as their search_path
	c.bin = buildGameserver(t)

	// Three nodes starting together on an empty schema: migrations and the
	// first key ring must not race.
	c.nodes = make([]*node, 3)
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.nodes[i] = c.startNode() }()
	}
	wg.Wait()
	for i, n := range c.nodes {
		require.NotEmpty(t, n.base, "node %d did not start:\n%s", i+1, n.logs)
		logOnFailure(t, fmt.Sprintf("node %d", i+1), n)
	}
	return c
}

func (c *cluster) startNode() *node {
	return launch(c.t, c.bin, "-addr", "127.0.0.1:0", "-postgres", c.dsn, "-redis", c.redis.url(),
		"-admin-token", adminToken, "-signin-limit", "100000", "-key-propagation", "1s")
}

func (c *cluster) signUp(on int, email string) (access, refresh, id string) {
	r := c.must(c.call("POST", c.nodes[on].base+"/auth/email/signup", "",
		with(device("dev-"+email), "linked_id", email, "linked_password", "correct horse")), http.StatusCreated)
	access, refresh = pair(r)
	return access, refresh, r.body["Player"].(map[string]any)["UserUniqueID"].(string)
}

func (c *cluster) refresh(on int, token string) reply {
	return c.call("POST", c.nodes[on].base+"/auth/token/refresh", "", map[string]any{"refresh_token": token})
}

func (c *cluster) me(on int, access string) reply {
	return c.call("GET", c.nodes[on].base+"/me", access, nil)
}

func (c *cluster) admin(on int, method, path string, body any) reply {
	return c.call(method, c.nodes[on].base+path, adminToken, body)
}

func TestMultiProcess(t *testing.T) {
	c := newCluster(t)

	t.Run("sign up on 1, sign in on 2, refresh on 3", func(t *testing.T) {
		c.t = t
		a1, _, id := c.signUp(0, "one@example.com")
		r := c.must(c.call("POST", c.nodes[1].base+"/auth/email/signin", "",
			with(device("dev-one@example.com"), "linked_id", "one@example.com", "linked_password", "correct horse")), http.StatusOK)
		a2, r2 := pair(r)
		r = c.must(c.refresh(2, r2), http.StatusOK)
		a3, _ := pair(r)
		for i := range c.nodes {
			assert.Equal(t, id, c.must(c.me(i, a3), http.StatusOK).body["UserUniqueID"], "node %d", i+1)
		}
		assert.Equal(t, http.StatusOK, c.me(0, a2).status, "same device: the refreshed session's older access token lives on")
		assert.Equal(t, "SESSION_REPLACED", c.me(2, a1).body["ErrorCode"], "the sign-in on node 2 replaced the session of node 1")
	})

	t.Run("a rotated refresh token replayed on another node kills the session everywhere", func(t *testing.T) {
		c.t = t
		_, t1, _ := c.signUp(0, "reuse@example.com")
		_, t2 := pair(c.must(c.refresh(0, t1), http.StatusOK))
		a3, t3 := pair(c.must(c.refresh(1, t2), http.StatusOK))
		r := c.refresh(2, t1)
		require.NoError(t, r.err)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, "REFRESH_TOKEN_REUSED", r.body["ErrorCode"])
		for i := range c.nodes {
			require.Eventually(t, func() bool { return c.me(i, a3).status == http.StatusUnauthorized }, time.Second, 2*time.Millisecond,
				"node %d still accepts the dead session's access token", i+1)
		}
		assert.Equal(t, http.StatusUnauthorized, c.refresh(1, t3).status, "the newest refresh token is dead too")
	})

	t.Run("24 concurrent refreshes of one token over three nodes get one successor", func(t *testing.T) {
		c.t = t
		_, t1, _ := c.signUp(1, "race@example.com")
		var wg sync.WaitGroup
		got := make([]reply, 24)
		for i := range got {
			wg.Add(1)
			go func() { defer wg.Done(); got[i] = c.refresh(i%3, t1) }()
		}
		wg.Wait()
		var successors []string
		for i, r := range got {
			require.NoError(t, r.err)
			require.Equal(t, http.StatusOK, r.status, "caller %d: %v", i, r.body)
			_, next := pair(r)
			successors = append(successors, next)
		}
		slices.Sort(successors)
		assert.Len(t, slices.Compact(successors), 1, "every caller gets the same successor")
		c.must(c.refresh(2, successors[0]), http.StatusOK)
	})

	t.Run("a block on node 1 is refused on node 3 within 100ms at p99", func(t *testing.T) {
		c.t = t
		access, _, id := c.signUp(0, "blocked@example.com")
		var lat []time.Duration
		for i := 0; i < 40; i++ {
			c.must(c.admin(0, "POST", "/admin/players/"+id+"/block", map[string]any{"reason": "test"}), http.StatusOK)
			start := time.Now()
			for c.me(2, access).status != http.StatusForbidden {
				require.Less(t, time.Since(start), 10*time.Second, "node 3 never refused the blocked player")
			}
			lat = append(lat, time.Since(start))
			c.must(c.admin(0, "DELETE", "/admin/players/"+id+"/block", nil), http.StatusOK)
			for c.me(2, access).status != http.StatusOK {
				require.Less(t, time.Since(start), 10*time.Second, "node 3 never saw the unblock")
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
		t.Logf("block on node 1 → refused on node 3: p50 %v, p99 %v over %d blocks", p50, p99, len(lat))
		assert.Less(t, p99, 100*time.Millisecond)
	})

	t.Run("a key rotated on node 1 verifies everywhere at once and signs after the propagation delay", func(t *testing.T) {
		c.t = t
		kids := func(i int) []string {
			r := c.must(c.call("GET", c.nodes[i].base+"/auth/.well-known/jwks.json", "", nil), http.StatusOK)
			var out []string
			for _, k := range r.body["keys"].([]any) {
				out = append(out, k.(map[string]any)["kid"].(string))
			}
			slices.Sort(out)
			return out
		}
		before := kids(0)
		r := c.must(c.admin(0, "POST", "/admin/keys/rotate", nil), http.StatusOK)
		kid := r.body["KeyID"].(string)
		for i := range c.nodes {
			require.Eventually(t, func() bool { return slices.Contains(kids(i), kid) }, time.Second, time.Millisecond,
				"node %d learns the new key", i+1)
		}
		assert.Len(t, kids(2), len(before)+1)
		// Through and past the propagation delay, whichever key a node
		// signs with, every other node accepts the token.
		_, refresh, _ := c.signUp(0, "rotation@example.com")
		deadline := time.Now().Add(1500 * time.Millisecond)
		signedWithNew := false
		for round := 0; time.Now().Before(deadline) || !signedWithNew; round++ {
			require.Less(t, round, 1000)
			r := c.must(c.refresh(round%3, refresh), http.StatusOK)
			var access string
			access, refresh = pair(r)
			for i := range c.nodes {
				c.must(c.me(i, access), http.StatusOK)
			}
			signedWithNew = signedWithNew || headerKid(t, access) == kid
			time.Sleep(20 * time.Millisecond) // pacing real processes, not waiting on a clock
		}
	})

	t.Run("a node killed mid-traffic loses nothing and the others keep serving", func(t *testing.T) {
		c.t = t
		const clients = 8
		chains := make([]string, clients)
		for i := range chains {
			_, chains[i], _ = c.signUp(i%2, fmt.Sprintf("chain%d@example.com", i))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		killed := make(chan struct{})
		for i := range chains {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := 0; round < 30; round++ {
					if i == 0 && round == 10 {
						_ = c.nodes[1].cmd.Process.Kill() // mid-traffic, no shutdown
						close(killed)
					}
					on := (i + round) % 3
					r := c.refresh(on, chains[i])
					if r.err != nil {
						// No answer: the refresh may or may not have
						// committed. Retry the same token elsewhere: the
						// grace window answers with the same successor.
						r = c.refresh((on+1)%3, chains[i])
						if r.err != nil {
							r = c.refresh((on+2)%3, chains[i])
						}
					}
					if r.err != nil || r.status != http.StatusOK {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("client %d round %d on node %d: %v %v %v", i, round, on+1, r.err, r.status, r.body))
						mu.Unlock()
						return
					}
					_, chains[i] = pair(r)
				}
			}()
		}
		wg.Wait()
		<-killed
		require.Empty(t, failures)
		for i, tok := range chains {
			c.must(c.refresh([]int{0, 2}[i%2], tok), http.StatusOK)
		}
	})

	t.Run("with Redis down nodes keep serving and reconcile from the store; then the broadcast resumes", func(t *testing.T) {
		c.t = t
		live := []int{0, 2} // node 2 was killed above
		access, _, id := c.signUp(0, "outage@example.com")
		c.redis.stop()

		// Sign-in works without Redis (the rate limit falls back locally).
		c.must(c.call("POST", c.nodes[2].base+"/auth/email/signin", "",
			with(device("dev-outage@example.com"), "linked_id", "outage@example.com", "linked_password", "correct horse")), http.StatusOK)
		access, _, id = c.signUp(0, "outage2@example.com")
		c.must(c.admin(0, "POST", "/admin/players/"+id+"/block", map[string]any{"reason": "test"}), http.StatusOK)
		require.Eventually(t, func() bool { return c.me(2, access).status == http.StatusForbidden }, 12*time.Second, 20*time.Millisecond,
			"node 3 reconciles the block from the store without Redis")

		c.redis.start()
		for _, i := range live {
			require.Eventually(t, func() bool {
				return strings.Contains(c.nodes[i].logs.String(), "caught up from the store") &&
					strings.Contains(c.nodes[i].logs.String(), "subscription back")
			},
				15*time.Second, 20*time.Millisecond, "node %d resubscribes and says it caught up", i+1)
		}
		assert.Contains(t, c.nodes[2].logs.String(), "shared rate limit unreachable", "node 3 limited the sign-in on its own")
		require.Eventually(t, func() bool {
			c.must(c.call("POST", c.nodes[2].base+"/auth/email/signin", "",
				with(device("dev-outage@example.com"), "linked_id", "outage@example.com", "linked_password", "correct horse")), http.StatusOK)
			return strings.Contains(c.nodes[2].logs.String(), "shared rate limit is back")
		}, 10*time.Second, 100*time.Millisecond)

		// The broadcast carries blocks again: well inside the 5 s sync.
		access, _, id = c.signUp(0, "after@example.com")
		c.must(c.admin(0, "POST", "/admin/players/"+id+"/block", map[string]any{"reason": "test"}), http.StatusOK)
		start := time.Now()
		require.Eventually(t, func() bool { return c.me(2, access).status == http.StatusForbidden }, 5*time.Second, time.Millisecond)
		assert.Less(t, time.Since(start), time.Second, "delivered by the broadcast, not the periodic sync")
	})
}

// headerKid returns the kid of a JWT's header.
func headerKid(t *testing.T, jwt string) string {
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	require.NoError(t, err)
	var h struct {
		Kid string `json:"kid"`
	}
	require.NoError(t, json.Unmarshal(b, &h))
	return h.Kid
}
