package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Game clients as the fault tests drive them, and what they saw.

// tally counts the answers clients got and keeps what a player must never
// see: a 5xx other than 503 UNAVAILABLE, an answer that is not one JSON
// object in the contract's shape, or a session lost.
type tally struct {
	mu       sync.Mutex
	status   map[int]int // 0: no answer (refused, reset, timed out)
	lat      []time.Duration
	problems []string
}

func newTally() *tally { return &tally{status: map[int]int{}} }

// record counts r and checks the shape every answer must have.
func (y *tally) record(what string, r reply) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if r.err != nil {
		y.status[0]++
		return
	}
	y.status[r.status]++
	y.lat = append(y.lat, r.took)
	if p := shapeProblem(r); p != "" {
		y.problems = append(y.problems, what+": "+p)
	}
}

// shapeProblem says what is wrong with an answer, or "".
func shapeProblem(r reply) string {
	code, _ := r.body["ErrorCode"].(string)
	switch {
	case r.status >= 500 && !(r.status == http.StatusServiceUnavailable && code == "UNAVAILABLE"):
		return fmt.Sprintf("%d %s", r.status, r.raw)
	case !strings.HasPrefix(r.ctype, "application/json") && r.ctype != "application/jwk-set+json":
		return fmt.Sprintf("%d with Content-Type %q: %.200q", r.status, r.ctype, r.raw)
	case r.jsonErr != nil:
		return fmt.Sprintf("%d not one JSON object (%v): %.200q", r.status, r.jsonErr, r.raw)
	case r.status >= 400 && (code == "" || r.body["Message"] == nil):
		return fmt.Sprintf("%d without ErrorCode and Message: %.200q", r.status, r.raw)
	case r.status < 400 && code != "":
		return fmt.Sprintf("%d with ErrorCode: %.200q", r.status, r.raw)
	}
	return ""
}

func (y *tally) problem(format string, args ...any) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.problems = append(y.problems, fmt.Sprintf(format, args...))
}

func (y *tally) count(status int) int {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.status[status]
}

// serverErrors counts the 5xx answers, 503 included.
func (y *tally) serverErrors() int {
	y.mu.Lock()
	defer y.mu.Unlock()
	n := 0
	for c, k := range y.status {
		if c >= 500 {
			n += k
		}
	}
	return n
}

func (y *tally) total() int {
	y.mu.Lock()
	defer y.mu.Unlock()
	n := 0
	for _, c := range y.status {
		n += c
	}
	return n
}

func (y *tally) failures() []string {
	y.mu.Lock()
	defer y.mu.Unlock()
	return slices.Clone(y.problems)
}

// quantile of the answered requests' latencies.
func (y *tally) quantile(q float64) time.Duration {
	y.mu.Lock()
	defer y.mu.Unlock()
	return quantile(y.lat, q)
}

func quantile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// String is the line a test logs: requests, answers by status, latencies.
func (y *tally) String() string {
	y.mu.Lock()
	defer y.mu.Unlock()
	var codes []int
	n := 0
	for c, k := range y.status {
		codes = append(codes, c)
		n += k
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, y.status[c]))
	}
	return fmt.Sprintf("%d requests (%s); latency p50 %v p99 %v max %v", n, strings.Join(parts, " "),
		quantile(y.lat, .5).Round(time.Millisecond), quantile(y.lat, .99).Round(time.Millisecond),
		quantile(y.lat, 1).Round(time.Millisecond))
}

// player is one game client with a session.
type player struct {
	name            string
	client          *http.Client
	access, refresh string // the newest the client received
	guestKey        string

	mu  sync.Mutex
	oks []time.Time // when a refresh succeeded
}

// clientWith returns an HTTP client that gives up after timeout, does not
// follow redirects (a test sees what the server answered), and keeps enough
// idle connections for the tests' concurrency.
func clientWith(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// newPlayers signs n guests in on base, each on a device of its own.
func newPlayers(t *testing.T, base, prefix string, n int, timeout time.Duration) []*player {
	ps := make([]*player, n)
	for i := range ps {
		p, err := newGuest(base, fmt.Sprintf("%s%d", prefix, i), timeout)
		require.NoError(t, err)
		ps[i] = p
	}
	return ps
}

// newGuest signs a guest in on base, on a new device; its client gives up
// after timeout. It does not fail the test, so that a client goroutine may
// call it.
func newGuest(base, name string, timeout time.Duration) (*player, error) {
	p := &player{name: name, client: clientWith(timeout)}
	r := postJSON(clientWith(10*time.Second), "POST", base+"/auth/guest/signin", "", device(randomName(name+"-")))
	if r.err != nil || r.status != http.StatusCreated {
		return nil, fmt.Errorf("guest sign-in: %v %d %s", r.err, r.status, r.raw)
	}
	p.access, p.refresh = pair(r)
	p.guestKey, _ = r.body["GuestKey"].(string)
	return p, nil
}

// refreshLoop refreshes p's session every pace until ctx ends, on the nodes
// in turn, as a game client does: a request that gets no answer, or 503, is
// retried with the same token (on the next node); a successor replaces it.
// Any other answer refuses a token whose successor the client never
// received: the player lost the session, and the loop ends.
func (p *player) refreshLoop(ctx context.Context, y *tally, nodes func() []string, pace time.Duration) {
	for i := 0; ctx.Err() == nil; i++ {
		bases := nodes()
		r := postJSON(p.client, "POST", bases[i%len(bases)]+"/auth/token/refresh", "", map[string]any{"refresh_token": p.refresh})
		y.record("refresh", r)
		switch {
		case r.err != nil || r.status == http.StatusServiceUnavailable:
			// retried below with the same token
		case r.status == http.StatusOK:
			access, refresh := pair(r)
			if access == "" || refresh == "" {
				y.problem("%s: 200 without tokens: %s", p.name, r.raw)
				return
			}
			p.access, p.refresh = access, refresh
			p.mu.Lock()
			p.oks = append(p.oks, time.Now())
			p.mu.Unlock()
		default:
			y.problem("%s lost its session: refresh answered %d %s", p.name, r.status, r.raw)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pace):
		}
	}
}

// okAfter is when p's first refresh after t succeeded.
func (p *player) okAfter(t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ok := range p.oks {
		if ok.After(t) {
			return ok, true
		}
	}
	return time.Time{}, false
}

// recovery waits (up to limit) until every player has refreshed after t,
// and returns how long after t the last of them did.
func recovery(ps []*player, t time.Time, limit time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(limit)
	for {
		var last time.Duration
		all := true
		for _, p := range ps {
			ok, found := p.okAfter(t)
			if !found {
				all = false
				break
			}
			last = max(last, ok.Sub(t))
		}
		if all {
			return last, true
		}
		if time.Now().After(deadline) {
			return limit, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clients runs n copies of loop (each told its number) until stop is
// called, which waits for them to return; stop may be called again.
func clients(n int, loop func(ctx context.Context, w int)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx, w) }()
	}
	return func() { cancel(); wg.Wait() }
}

// traffic runs each player's refresh loop until stop is called, which
// waits for the loops to end.
func traffic(ps []*player, y *tally, nodes func() []string, pace time.Duration) (stop func()) {
	return clients(len(ps), func(ctx context.Context, w int) { ps[w].refreshLoop(ctx, y, nodes, pace) })
}

// nodeSet is the list of node addresses clients cycle through, which a
// test changes when it restarts a node elsewhere.
type nodeSet struct{ v atomic.Pointer[[]string] }

func newNodeSet(bases ...string) *nodeSet {
	s := &nodeSet{}
	s.set(bases...)
	return s
}

func (s *nodeSet) set(bases ...string) { s.v.Store(&bases) }
func (s *nodeSet) get() []string       { return *s.v.Load() }

// stillRefreshes checks after the traffic that every player's newest token
// refreshes: no session was lost unnoticed.
func stillRefreshes(t *testing.T, ps []*player, base string) {
	t.Helper()
	client := clientWith(10 * time.Second)
	for _, p := range ps {
		r := postJSON(client, "POST", base+"/auth/token/refresh", "", map[string]any{"refresh_token": p.refresh})
		require.NoError(t, r.err)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", p.name, r.raw)
		p.access, p.refresh = pair(r)
	}
}
