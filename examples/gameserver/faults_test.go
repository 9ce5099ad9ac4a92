package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fault suite (issue 13): the example server, as real processes, under
// an operator's worst day. Each test asserts what a player would notice:
// no session lost, no 500 and no answer outside the contract's shape,
// service back within a stated time, memory bounded. Clocks are real here
// (processes take no injected clock), so the bounds are generous but still
// assertions; each test logs its figures.

// postgresArgs runs a node on the PostgreSQL at dsn, with sign-in limits
// out of the way of the traffic.
func postgresArgs(dsn string, more ...string) []string {
	return append([]string{"-addr", "127.0.0.1:0", "-postgres", dsn, "-signin-limit", "0", "-key-propagation", "1s"}, more...)
}

// PostgreSQL restarted under refresh traffic on two nodes: once as an
// operator restarts it (fast shutdown), once crashed and down for 3 s
// (immediate shutdown, recovery on start). While it is down refreshes
// answer 503 and clients retry their token; no session is lost, and every
// client refreshes again within 5 s of PostgreSQL's return.
func TestFaultPostgresRestart(t *testing.T) {
	pg := startPrivatePostgres(t)
	bin := buildGameserver(t)
	a := mustLaunch(t, bin, postgresArgs(pg.dsn)...)
	b := mustLaunch(t, bin, postgresArgs(pg.dsn)...)
	nodes := newNodeSet(a.base, b.base)
	ps := newPlayers(t, a.base, "pg-restart-", 12, 2*time.Second)
	y := newTally()
	stop := traffic(ps, y, nodes.get, 20*time.Millisecond)
	defer stop()

	const bound = 5 * time.Second
	for _, fault := range []struct {
		name string
		down time.Duration
		mode string
	}{{"fast restart", 0, "fast"}, {"crash, down 3 s", 3 * time.Second, "immediate"}} {
		time.Sleep(time.Second)
		before := y.count(http.StatusServiceUnavailable) + y.count(0)
		pg.stop(fault.mode)
		time.Sleep(fault.down)
		pg.start()
		up := time.Now()
		took, ok := recovery(ps, up, 20*time.Second)
		failed := y.count(http.StatusServiceUnavailable) + y.count(0) - before
		t.Logf("%s: every client refreshed again %v after PostgreSQL was back; %d refreshes failed meanwhile (503 or no answer)",
			fault.name, took.Round(time.Millisecond), failed)
		assert.True(t, ok && took < bound, "%s: clients refreshed again after %v, bound %v", fault.name, took, bound)
	}
	time.Sleep(time.Second)
	stop()
	t.Logf("traffic: %v", y)
	assert.Empty(t, y.failures())
	stillRefreshes(t, ps, b.base)
}

// The stall of issue 13's first defect, scaled down: twice, a transaction
// holds the sessions table in ACCESS EXCLUSIVE mode for 5 s (pg_sleep) while
// 12 clients with a 1 s timeout and 12 with a 10 s timeout refresh back to
// back, with a 2 s grace window (the report: 25 s, 4 s and 40 s clients,
// 10 s grace). The short clients give up and retry their token again and
// again; none may be refused it for a reuse when the stall ends, since none
// received a successor. Every client refreshes within 5 s of the lock's
// release, and game routes, which need no store, answer through the stall.
//
// Before the fix (64b24bc) a stall lost sessions when its first blocked
// statement carried a short client's refresh with a long one's; two stalls
// of back-to-back traffic make that likely (it failed 4 runs in 4 there).
func TestFaultPostgresStall(t *testing.T) {
	pg := startPrivatePostgres(t)
	bin := buildGameserver(t)
	srv := mustLaunch(t, bin, postgresArgs(pg.dsn, "-refresh-grace", "2s")...)
	nodes := newNodeSet(srv.base)
	ps := append(newPlayers(t, srv.base, "short-", 12, time.Second), newPlayers(t, srv.base, "long-", 12, 10*time.Second)...)
	access := ps[0].access // lives on through its session's refreshes
	y := newTally()
	stop := traffic(ps, y, nodes.get, 0) // back to back: statements carry short and long clients together
	defer stop()

	// A game route during the stalls: verified from the token and the
	// in-memory revocation view alone.
	game := newTally()
	gameStop := clients(1, func(ctx context.Context, _ int) {
		client := clientWith(5 * time.Second)
		for ctx.Err() == nil {
			r := postJSON(client, "GET", srv.base+"/me", access, nil)
			game.record("/me", r)
			if r.err == nil && r.status != http.StatusOK {
				game.problem("/me during the stall: %d %s", r.status, r.raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer gameStop()

	conn, err := pgx.Connect(context.Background(), pg.dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	const bound = 5 * time.Second
	for round := 1; round <= 2; round++ {
		time.Sleep(time.Second)
		stallStart := time.Now()
		_, err = conn.Exec(context.Background(),
			"BEGIN; LOCK TABLE gameauth_sessions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT")
		require.NoError(t, err)
		released := time.Now()
		took, ok := recovery(ps, released, 15*time.Second)
		t.Logf("stall %d of %v: every client refreshed again %v after the release", round,
			released.Sub(stallStart).Round(time.Millisecond), took.Round(time.Millisecond))
		assert.True(t, ok && took < bound, "clients refreshed again %v after the release, bound %v", took, bound)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	gameStop()
	t.Logf("refresh traffic: %v", y)
	t.Logf("GET /me through the stalls: %v", game)
	assert.Empty(t, y.failures(), "no session lost, no 500")
	assert.Empty(t, game.failures())
	assert.Zero(t, game.count(0), "game routes answered through the stall")
	assert.Less(t, game.quantile(.99), 250*time.Millisecond, "game routes answered at once through the stall")
	stillRefreshes(t, ps, srv.base)
}

// Redis stopped for 6 s and started again under sign-in and sign-out
// traffic on two nodes. While it is down, guest sign-ins (rate-limited
// through Redis) and sign-outs (published on it) do not wait on it (p99
// under 300 ms; before the fix every sign-out took 1 s and every guest
// sign-in 0.5 s) and a sign-out on one node still reaches the other within
// the 5 s reconciliation interval (7 s bound); within 2 s of Redis's return
// the broadcast carries sign-outs again (under 250 ms; watched for 3 s).
func TestFaultRedisOutage(t *testing.T) {
	dsn, rd := clusterServices(t, "the Redis outage test")
	bin := buildGameserver(t)
	args := postgresArgs(dsn, "-redis", rd.url(), "-signin-limit", "1000000")
	nodes := []*node{mustLaunch(t, bin, args...), mustLaunch(t, bin, args...)}

	// Each figure belongs to the phase it began and ended in (0 Redis up,
	// 1 down, 2 back); one that spans a change counts in none.
	var phase atomic.Int32
	var mu sync.Mutex
	var lat, prop [3][]time.Duration
	var slowAfter time.Time // the last sign-out after Redis's return that the broadcast did not carry
	measure := func(into *[3][]time.Duration, started time.Time, from int32, d time.Duration) {
		if to := phase.Load(); to == from {
			mu.Lock()
			into[from] = append(into[from], d)
			if into == &prop && from == 2 && d >= 250*time.Millisecond && started.After(slowAfter) {
				slowAfter = started
			}
			mu.Unlock()
		}
	}
	y := newTally()
	stopClients := clients(12, func(ctx context.Context, w int) {
		client := clientWith(10 * time.Second)
		a, b := nodes[w%2], nodes[(w+1)%2]
		dev := device(randomName("redis-outage-"))
		watch := w < 6 // half the clients follow their sign-outs to the other node
		var key string
		for ctx.Err() == nil {
			body := dev
			if key != "" {
				body = with(dev, "guest_key", key)
			}
			from := phase.Load()
			r := postJSON(client, "POST", a.base+"/auth/guest/signin", "", body)
			y.record("guest sign-in", r)
			if r.err != nil || r.status >= 300 {
				y.problem("guest sign-in: %v %d %s", r.err, r.status, r.raw)
				return
			}
			measure(&lat, time.Time{}, from, r.took)
			if k, ok := r.body["GuestKey"].(string); ok {
				key = k
			}
			access, _ := pair(r)
			if r := postJSON(client, "GET", b.base+"/me", access, nil); r.status != http.StatusOK {
				y.problem("/me on the other node after sign-in: %v %d %s", r.err, r.status, r.raw)
				return
			}
			from = phase.Load()
			r = postJSON(client, "POST", a.base+"/auth/signout", access, nil)
			y.record("sign-out", r)
			if r.err != nil || r.status != http.StatusOK {
				y.problem("sign-out: %v %d %s", r.err, r.status, r.raw)
				return
			}
			measure(&lat, time.Time{}, from, r.took)
			if !watch {
				continue
			}
			from, signedOut := phase.Load(), time.Now()
			for {
				r := postJSON(client, "GET", b.base+"/me", access, nil)
				if r.status == http.StatusUnauthorized {
					break
				}
				if r.status != http.StatusOK || time.Since(signedOut) > 15*time.Second {
					y.problem("the other node still accepts a signed-out session after %v: %v %d", time.Since(signedOut), r.err, r.status)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			measure(&prop, signedOut, from, time.Since(signedOut))
		}
	})
	defer stopClients()

	time.Sleep(1500 * time.Millisecond)
	rd.stop()
	phase.Store(1)
	time.Sleep(6 * time.Second)
	rd.start()
	back := time.Now()
	phase.Store(2)
	time.Sleep(3 * time.Second)
	stopClients()

	for i, name := range []string{"Redis up", "Redis down", "Redis back"} {
		t.Logf("%s: %d sign-ins and sign-outs, p50 %v p99 %v max %v; %d sign-outs seen on the other node after p50 %v max %v",
			name, len(lat[i]), quantile(lat[i], .5).Round(time.Millisecond), quantile(lat[i], .99).Round(time.Millisecond),
			quantile(lat[i], 1).Round(time.Millisecond), len(prop[i]), quantile(prop[i], .5).Round(time.Millisecond),
			quantile(prop[i], 1).Round(time.Millisecond))
	}
	broadcastBack := time.Duration(0)
	if !slowAfter.IsZero() {
		broadcastBack = slowAfter.Sub(back)
	}
	t.Logf("the broadcast carried every sign-out made later than %v after Redis's return; traffic: %v", broadcastBack.Round(time.Millisecond), y)
	assert.Empty(t, y.failures())
	require.NotEmpty(t, prop[1], "no sign-out followed while Redis was down")
	require.NotEmpty(t, prop[2], "no sign-out followed after Redis came back")
	assert.Less(t, quantile(lat[1], .99), 300*time.Millisecond, "sign-in and sign-out do not wait on a down Redis")
	assert.Less(t, quantile(prop[1], 1), 7*time.Second, "without Redis, sign-outs reach the other node by reconciliation")
	assert.Less(t, broadcastBack, 2*time.Second, "the broadcast carries sign-outs again soon after Redis's return")
	assert.Less(t, quantile(prop[0], .99), 250*time.Millisecond, "with Redis up, the broadcast carries sign-outs")
}

// One of three nodes killed with SIGKILL under refresh traffic, down 2 s,
// and started again on its address. Clients whose request got no answer
// retry their token on the next node: no session is lost, nothing answers
// 5xx, every client refreshes again within 1 s of the kill, and the
// restarted node serves the sessions at once and hears a sign-out made on
// another node through the broadcast (under 1 s).
func TestFaultNodeKilled(t *testing.T) {
	dsn, rd := clusterServices(t, "the node-kill test")
	bin := buildGameserver(t)
	addrs := make([]string, 3)
	nodes := make([]*node, 3)
	start := func(i int) *node {
		return mustLaunch(t, bin, postgresArgs(dsn, "-addr", addrs[i], "-redis", rd.url())...)
	}
	for i := range nodes {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		nodes[i] = start(i)
	}
	set := newNodeSet(nodes[0].base, nodes[1].base, nodes[2].base)
	ps := newPlayers(t, nodes[0].base, "kill-", 12, 2*time.Second)
	y := newTally()
	stop := traffic(ps, y, set.get, 20*time.Millisecond)
	defer stop()

	time.Sleep(1500 * time.Millisecond)
	nodes[1].kill()
	killed := time.Now()
	failover, ok := recovery(ps, killed, 10*time.Second)
	assert.True(t, ok && failover < time.Second, "clients refreshed again %v after the kill, bound 1s", failover)
	time.Sleep(time.Until(killed.Add(2 * time.Second)))
	refusedWhileDown := y.count(0)
	nodes[1] = start(1)
	restarted := time.Now()
	time.Sleep(2 * time.Second)
	stop()
	t.Logf("every client refreshed again %v after the kill; %d requests got no answer (retried on the next node); node 2 back in %v",
		failover.Round(time.Millisecond), refusedWhileDown, restarted.Sub(killed).Round(time.Millisecond))
	t.Logf("traffic: %v", y)
	assert.Empty(t, y.failures(), "no session lost")
	assert.Zero(t, y.serverErrors(), "the store never failed")

	// The restarted node serves the sessions, and hears of a sign-out on
	// node 1 through the broadcast.
	stillRefreshes(t, ps, nodes[1].base)
	client := clientWith(5 * time.Second)
	access := ps[0].access
	require.Equal(t, http.StatusOK, postJSON(client, "GET", nodes[1].base+"/me", access, nil).status)
	require.Equal(t, http.StatusOK, postJSON(client, "POST", nodes[0].base+"/auth/signout", access, nil).status)
	signedOut := time.Now()
	require.Eventually(t, func() bool {
		return postJSON(client, "GET", nodes[1].base+"/me", access, nil).status == http.StatusUnauthorized
	}, 10*time.Second, 5*time.Millisecond)
	heard := time.Since(signedOut)
	t.Logf("a sign-out on node 1 refused on the restarted node 2 after %v", heard.Round(time.Millisecond))
	assert.Less(t, heard, time.Second, "the restarted node hears the broadcast")
}

// The example server on SQLite killed with SIGKILL four times under
// write traffic (refreshes, guest accounts made, email sign-ups) and
// started again on the same file. Whatever a client was told was done
// stays done: every session refreshes with the newest token its client
// received (a request that got no answer is retried with the same token),
// every guest key and email account answered 201 signs in, and the file
// passes PRAGMA integrity_check after each recovery.
func TestFaultSQLiteKilled(t *testing.T) {
	processTest(t)
	bin := buildGameserver(t)
	db := filepath.Join(t.TempDir(), "gameauth.db")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start := func() *node { return mustLaunch(t, bin, "-addr", addr, "-db", db, "-signin-limit", "0") }
	srv := start()
	base := srv.base
	ps := newPlayers(t, base, "sqlite-", 8, 2*time.Second)
	y := newTally()
	stop := traffic(ps, y, newNodeSet(base).get, 10*time.Millisecond)
	defer stop()

	// Accounts made under the kills: kept only when the client got 201.
	type guest struct{ key, device string }
	var mu sync.Mutex
	var guests []guest
	var emails []string
	stopMakers := clients(4, func(ctx context.Context, w int) {
		client := clientWith(2 * time.Second)
		for i := 0; ctx.Err() == nil; i++ {
			if w == 0 && i%4 == 0 { // an email sign-up: an argon2 hash, then two inserts
				email := randomName("k") + "@example.com"
				r := postJSON(client, "POST", base+"/auth/email/signup", "",
					with(device(randomName("e-")), "linked_id", email, "linked_password", "correct horse"))
				y.record("sign-up", r)
				if r.err != nil {
					time.Sleep(10 * time.Millisecond)
				}
				if r.status == http.StatusCreated {
					mu.Lock()
					emails = append(emails, email)
					mu.Unlock()
				}
				continue
			}
			dev := randomName("g-")
			r := postJSON(client, "POST", base+"/auth/guest/signin", "", device(dev))
			y.record("guest sign-in", r)
			switch {
			case r.status == http.StatusCreated:
				mu.Lock()
				guests = append(guests, guest{r.body["GuestKey"].(string), dev})
				mu.Unlock()
			case r.err != nil:
				time.Sleep(10 * time.Millisecond) // the server is down: as a client's retry would
			default:
				y.problem("guest sign-in: %d %s", r.status, r.raw)
			}
		}
	})
	defer stopMakers()

	var restarts []time.Duration
	for round := range 4 {
		time.Sleep(time.Duration(400+200*round) * time.Millisecond)
		srv.kill()
		killed := time.Now()
		srv = start()
		restarts = append(restarts, time.Since(killed))
		requireIntact(t, db)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	stopMakers()
	srv.kill()
	requireIntact(t, db)
	srv = start()

	t.Logf("4 kills; restarted (kill to listening) in %v; traffic: %v", restarts, y)
	assert.Empty(t, y.failures(), "no session lost")
	assert.Zero(t, y.serverErrors(), "the store never failed")
	stillRefreshes(t, ps, srv.base)
	client := clientWith(10 * time.Second)
	for _, g := range guests {
		r := postJSON(client, "POST", srv.base+"/auth/guest/signin", "", with(device(g.device), "guest_key", g.key))
		require.Equal(t, http.StatusOK, r.status, "a guest account answered 201 before a kill: %s", r.raw)
	}
	for _, email := range emails {
		r := postJSON(client, "POST", srv.base+"/auth/email/signin", "",
			with(device("after"), "linked_id", email, "linked_password", "correct horse"))
		require.Equal(t, http.StatusOK, r.status, "an email account answered 201 before a kill: %s", r.raw)
	}
	t.Logf("after the kills: %d sessions refresh, %d guest accounts and %d email accounts sign in", len(ps), len(guests), len(emails))
}

// requireIntact runs SQLite's integrity and foreign-key checks on the file,
// beside the server if one runs (WAL lets a reader in).
func requireIntact(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	var result string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&result))
	require.Equal(t, "ok", result)
	rows, err := db.Query("PRAGMA foreign_key_check")
	require.NoError(t, err)
	defer rows.Close()
	require.False(t, rows.Next(), "a row refers to one that is gone")
	require.NoError(t, rows.Err())
}

// Slow and idle connections (issue 13's fourth defect): 600 attackers
// against the example server, whose descriptors are limited to 512 as a
// small host's would be, for 6 s: 150 trickle their headers a byte at a
// time, 150 send headers and then trickle a body, 150 finish one request
// and then idle on the keep-alive connection, 150 connect and say nothing;
// each reconnects as soon as it is cut. With short server timeouts (1 s for
// headers, 2 s for a request, 2 s idle) and 300 connections at most:
// every normal sign-in, each on a new connection, succeeds within 8 s;
// every slow connection is cut; the server never runs out of descriptors
// and its memory stays under 256 MiB; once the attack ends its descriptors
// come back.
func TestFaultSlowConnections(t *testing.T) {
	processTest(t)
	bin := buildGameserver(t)
	db := filepath.Join(t.TempDir(), "gameauth.db")
	const fdLimit = 512
	srv := mustLaunchCmd(t, exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, fdLimit), bin,
		"-addr", "127.0.0.1:0", "-db", db, "-signin-limit", "0",
		"-read-header-timeout", "1s", "-read-timeout", "2s", "-idle-timeout", "2s", "-max-conns", "300"))
	addr := strings.TrimPrefix(srv.base, "http://")
	newPlayers(t, srv.base, "warm-", 4, time.Second)
	fdsBefore, rssBefore := srv.fds(t), srv.rss(t)

	type kind struct {
		name string
		hold func(c net.Conn) // returns when the server cut c
	}
	trickle := func(c net.Conn, prefix, drip string) {
		closed := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(closed) }()
		if _, err := io.WriteString(c, prefix); err != nil {
			return
		}
		for {
			select {
			case <-closed:
				return
			case <-time.After(250 * time.Millisecond):
				if _, err := io.WriteString(c, drip); err != nil {
					<-closed
					return
				}
			}
		}
	}
	kinds := []kind{
		{"slow headers", func(c net.Conn) {
			trickle(c, "POST /auth/guest/signin HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a")
		}},
		{"slow body", func(c net.Conn) {
			trickle(c, "POST /auth/guest/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"platform\":\"", "a")
		}},
		{"idle keep-alive", func(c net.Conn) {
			br := bufio.NewReader(c)
			if _, err := io.WriteString(c, "GET /auth/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				return
			}
			if res, err := http.ReadResponse(br, nil); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			_, _ = io.Copy(io.Discard, br)
		}},
		{"silent", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }},
	}
	attack, stopAttack := context.WithCancel(context.Background())
	defer stopAttack()
	var mu sync.Mutex
	held := map[string][]time.Duration{}
	var attackers sync.WaitGroup
	for _, k := range kinds {
		for range 150 {
			attackers.Add(1)
			go func() {
				defer attackers.Done()
				for attack.Err() == nil {
					c, err := net.DialTimeout("tcp", addr, 10*time.Second)
					if err != nil {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					start := time.Now()
					k.hold(c)
					c.Close()
					mu.Lock()
					held[k.name] = append(held[k.name], time.Since(start))
					mu.Unlock()
				}
			}()
		}
	}

	// Normal players, each sign-in on a connection of its own, and the
	// server's descriptors, sampled.
	y := newTally()
	var players sync.WaitGroup
	for w := range 8 {
		players.Add(1)
		go func() {
			defer players.Done()
			tr := &http.Transport{DisableKeepAlives: true}
			client := &http.Client{Timeout: 20 * time.Second, Transport: tr}
			for i := 0; attack.Err() == nil; i++ {
				r := postJSON(client, "POST", srv.base+"/auth/guest/signin", "", device(fmt.Sprintf("normal-%d-%d", w, i)))
				y.record("guest sign-in", r)
				if r.err != nil || r.status != http.StatusCreated {
					y.problem("a normal sign-in during the attack: %v %d %s", r.err, r.status, r.raw)
				}
			}
		}()
	}
	maxFDs := 0
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		maxFDs = max(maxFDs, srv.fds(t))
	}
	rssAttack := srv.rss(t)
	stopAttack()
	ended := time.Now()
	players.Wait()
	done := make(chan struct{})
	go func() { attackers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("slow connections still open 20 s after the attack")
	}
	allCut := time.Since(ended)
	var fdsAfter int
	require.Eventually(t, func() bool {
		n, err := srv.readFDs()
		fdsAfter = n
		return err == nil && n <= fdsBefore+5
	}, 10*time.Second, 50*time.Millisecond,
		"the server's descriptors come back (before %d)", fdsBefore)
	rssAfter := srv.rss(t)

	for _, k := range kinds {
		t.Logf("%s: %d connections cut, held p50 %v max %v", k.name, len(held[k.name]),
			quantile(held[k.name], .5).Round(time.Millisecond), quantile(held[k.name], 1).Round(time.Millisecond))
	}
	t.Logf("normal sign-ins during the attack: %v", y)
	t.Logf("server descriptors: %d before, at most %d during (limit %d), %d after; every slow connection cut %v after the attack ended",
		fdsBefore, maxFDs, fdLimit, fdsAfter, allCut.Round(time.Millisecond))
	t.Logf("server RSS: %d MiB before, %d MiB during, %d MiB after", rssBefore>>20, rssAttack>>20, rssAfter>>20)
	assert.Empty(t, y.failures())
	assert.GreaterOrEqual(t, y.count(http.StatusCreated), 16, "normal sign-ins went through, at least two a player")
	assert.Less(t, y.quantile(1), 8*time.Second, "every normal sign-in answered within 8 s")
	assert.Less(t, maxFDs, fdLimit-16)
	assert.NotContains(t, srv.logs.String(), "too many open files")
	assert.Less(t, rssAttack, int64(256<<20), "memory bounded under the attack")
}
