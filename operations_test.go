package gameauth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/internal/promtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
)

// flakyStore is the memory store with failures the test switches on, and a
// signal when the revocation view has read the change feed for the nth time.
type flakyStore struct {
	*memory.Store
	failLookups  atomic.Bool // GetAccountByLink fails (a sign-in's store error)
	failAccounts atomic.Bool // GetAccount fails (the readiness check)

	mu      sync.Mutex
	syncs   int
	synced  chan struct{} // closed at the syncsAt-th RevokedSince
	syncsAt int
}

var errDown = errors.New("store down")

func newFlakyStore(syncsAt int) *flakyStore {
	return &flakyStore{Store: memory.New(), synced: make(chan struct{}), syncsAt: syncsAt}
}

func (s *flakyStore) GetAccountByLink(ctx context.Context, typ, id string) (storage.Account, error) {
	if s.failLookups.Load() {
		return storage.Account{}, errDown
	}
	return s.Store.GetAccountByLink(ctx, typ, id)
}

func (s *flakyStore) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	if s.failAccounts.Load() {
		return storage.Account{}, errDown
	}
	return s.Store.GetAccount(ctx, id)
}

func (s *flakyStore) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	s.mu.Lock()
	if s.syncs++; s.syncs == s.syncsAt {
		close(s.synced)
	}
	s.mu.Unlock()
	return s.Store.RevokedSince(ctx, since)
}

// settled waits until New's sync and the background Run's first one have
// both read the feed, so that the view's LastSync stays where the clock
// was (Interval is an hour: no tick comes during the test).
func (s *flakyStore) settled(t *testing.T) {
	t.Helper()
	select {
	case <-s.synced:
	case <-time.After(10 * time.Second):
		t.Fatal("the revocation view never synced in the background")
	}
}

// opsServer is the example's surface: the account handler and a game
// route, all timed by route pattern, with /metrics, /healthz and /readyz.
func opsServer(t *testing.T, auth *gameauth.GameAuth) (base string, reg *prometheus.Registry) {
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(auth.Metrics())
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("GET /me", auth.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("{}"))
	})))
	mux.Handle("GET /healthz", auth.Health())
	mux.Handle("GET /readyz", auth.Ready())
	srv := httptest.NewServer(auth.Metrics().Instrument("")(mux))
	t.Cleanup(srv.Close)
	return srv.URL, reg
}

// TestMetricsMoveWithTheFlows drives each flow through gameauth.New and
// reads the host's registry after it.
func TestMetricsMoveWithTheFlows(t *testing.T) {
	ctx := context.Background()
	clock := testclock.Default()
	store := newFlakyStore(2)
	auth, err := gameauth.New(ctx, gameauth.Config{
		Store: store, Clock: clock.Now,
		Account:    account.Config{PasswordHashing: cheap},
		Revocation: revocation.Config{Interval: time.Hour},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, auth.Close()) })
	base, reg := opsServer(t, auth)
	store.settled(t)
	get := func(series string) float64 { return promtest.Value(t, reg, series) }

	// Sign-up, then a wrong password, then a good one.
	access, refresh, player := signUp(t, base, "ada@example.com", "Ada", "laptop-1")
	id := player["UserUniqueID"].(string)
	assert.Equal(t, 1.0, get(`gameauth_signups_total{method="email"}`))
	assert.Equal(t, 1.0, get(`gameauth_signins_total{method="email",result="ok"}`))
	signIn := func(password string) reply {
		return call(t, "POST", base+"/auth/email/signin", "", map[string]any{
			"linked_id": "ada@example.com", "linked_password": password, "platform": "pc", "device_id": "laptop-1"})
	}
	require.Equal(t, http.StatusUnauthorized, signIn("wrong horse").status)
	assert.Equal(t, 1.0, get(`gameauth_signins_total{method="email",result="INVALID_CREDENTIALS"}`))
	r := signIn("correct horse") // replaces the sign-up's session on this device
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 2.0, get(`gameauth_signins_total{method="email",result="ok"}`))
	assert.Equal(t, 1.0, get(`gameauth_signups_total{method="email"}`), "a sign-in is no sign-up")
	assert.Equal(t, 1.0, get(`gameauth_revocations_total{reason="replaced"}`))
	access, refresh = tokensOf(t, r)

	// The token cache: the first request verifies the token, the next is
	// answered from the cache.
	hits, misses := get(`gameauth_token_cache_hits_total`), get(`gameauth_token_cache_misses_total`)
	for range 3 {
		require.Equal(t, http.StatusOK, call(t, "GET", base+"/me", access, nil).status)
	}
	assert.Equal(t, hits+2, get(`gameauth_token_cache_hits_total`))
	assert.Equal(t, misses+1, get(`gameauth_token_cache_misses_total`))
	assert.GreaterOrEqual(t, get(`gameauth_token_cache_entries`), 1.0)
	assert.Equal(t, float64(100_000), get(`gameauth_token_cache_capacity`))

	// Refresh: ok, then the rotated-away token again after the grace
	// window: reuse, which revokes the session.
	r = call(t, "POST", base+"/auth/token/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 1.0, get(`gameauth_refreshes_total{result="ok"}`))
	clock.Advance(account.DefaultRefreshGrace + time.Second)
	r = call(t, "POST", base+"/auth/token/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, "REFRESH_TOKEN_REUSED", r.body["ErrorCode"], r.body)
	assert.Equal(t, 1.0, get(`gameauth_refresh_reuse_total`))
	assert.Equal(t, 1.0, get(`gameauth_refreshes_total{result="REFRESH_TOKEN_REUSED"}`))
	assert.Equal(t, 1.0, get(`gameauth_revocations_total{reason="reused"}`))

	// A store error: the sign-in answers UNAVAILABLE, counted by operation
	// (and not as a refused sign-in: it was no attempt on the account).
	store.failLookups.Store(true)
	require.Equal(t, http.StatusServiceUnavailable, signIn("correct horse").status)
	store.failLookups.Store(false)
	assert.Equal(t, 1.0, get(`gameauth_store_errors_total{op="GetAccountByLink"}`))
	assert.NotContains(t, promtest.LabelValues(t, reg, "gameauth_signins_total", "result"), "UNAVAILABLE")

	// Blocks in force, read from the view at scrape time.
	_, err = auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "spam", Services: []string{"chat"}})
	require.NoError(t, err)
	_, err = auth.Service().BlockDevice(ctx, "laptop-9", account.BlockSpec{Reason: "cheat", Until: clock.Now().Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, 1.0, get(`gameauth_blocks_in_force{kind="player"}`))
	assert.Equal(t, 1.0, get(`gameauth_blocks_in_force{kind="device"}`))
	clock.Advance(time.Minute)
	assert.Equal(t, 0.0, get(`gameauth_blocks_in_force{kind="device"}`), "a block that ended is not in force")
	require.NoError(t, auth.Service().UnblockPlayer(ctx, id))
	assert.Equal(t, 0.0, get(`gameauth_blocks_in_force{kind="player"}`))

	// An operator revokes every session; a player signs out.
	a2, _ := tokensOf(t, signIn("correct horse"))
	require.NoError(t, auth.Service().RevokePlayerSessions(ctx, id))
	assert.Equal(t, 1.0, get(`gameauth_revocations_total{reason="admin"}`))
	assert.Equal(t, http.StatusUnauthorized, call(t, "GET", base+"/me", a2, nil).status)
	a3, _ := tokensOf(t, signIn("correct horse"))
	require.Equal(t, http.StatusOK, call(t, "POST", base+"/auth/signout", a3, nil).status)
	assert.Equal(t, 1.0, get(`gameauth_revocations_total{reason="signed_out"}`))

	// The view's sync age follows the clock (no sync since New's).
	clock.Advance(7 * time.Second)
	assert.Equal(t, (account.DefaultRefreshGrace + time.Second + time.Minute + 7*time.Second).Seconds(),
		get(`gameauth_revocation_sync_age_seconds`))

	// Request durations, by the mux's patterns; paths nobody serves are
	// one label between them.
	for _, p := range []string{"/nothing", "/wp-admin", "/.env", "/" + strings.Repeat("a", 300)} {
		call(t, "GET", base+p, "", nil)
	}
	assert.Equal(t, 4.0, get(`gameauth_http_request_duration_seconds{route="unmatched",status="404"}`))
	assert.Equal(t, 3.0, get(`gameauth_http_request_duration_seconds{route="GET /me",status="200"}`))
	assert.Equal(t, 1.0, get(`gameauth_http_request_duration_seconds{route="GET /me",status="401"}`))
	assert.Equal(t, 1.0, get(`gameauth_http_request_duration_seconds{route="/auth/",status="201"}`))
	assert.Equal(t, []string{"/auth/", "GET /me", "unmatched"},
		promtest.LabelValues(t, reg, "gameauth_http_request_duration_seconds", "route"))

	// No Redis configured: no Redis series.
	assert.Zero(t, promtest.Count(t, reg, "gameauth_redis_up"))
}

// A host's own Observer still hears every Event beside the metrics.
func TestHostObserverStillHearsEvents(t *testing.T) {
	obs := &recordingObserver{}
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: cheap, Observer: obs}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base, reg := opsServer(t, auth)
	signUp(t, base, "bo@example.com", "Bo", "pc-1")
	assert.Equal(t, []string{account.EventSignUp}, obs.kinds())
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_signups_total{method="email"}`))
}

type recordingObserver struct {
	mu sync.Mutex
	ks []string
}

func (o *recordingObserver) Observe(_ context.Context, e account.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ks = append(o.ks, e.Kind)
}

func (o *recordingObserver) kinds() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.ks...)
}

// Two GameAuths in one process each register their collector in a fresh
// registry, and count apart.
func TestTwoGameAuthsRegisterTheirMetrics(t *testing.T) {
	var regs []*prometheus.Registry
	var bases []string
	for range 2 {
		auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(), Account: account.Config{PasswordHashing: cheap}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = auth.Close() })
		var base string
		var reg *prometheus.Registry
		require.NotPanics(t, func() { base, reg = opsServer(t, auth) })
		regs, bases = append(regs, reg), append(bases, base)
	}
	signUp(t, bases[0], "cy@example.com", "Cy", "pc-1")
	assert.Equal(t, 1.0, promtest.Value(t, regs[0], `gameauth_signups_total{method="email"}`))
	assert.Zero(t, promtest.Count(t, regs[1], "gameauth_signups_total"), "the other counted nothing")
}

type health struct {
	status int
	body   map[string]any
}

func probe(t *testing.T, url string) health {
	r := call(t, "GET", url, "", nil)
	return health{r.status, r.body}
}

func TestHealthAndReadiness(t *testing.T) {
	ctx := context.Background()
	clock := testclock.Default()
	store := newFlakyStore(2)
	auth, err := gameauth.New(ctx, gameauth.Config{Store: store, Clock: clock.Now,
		Account: account.Config{PasswordHashing: cheap}, Revocation: revocation.Config{Interval: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base, _ := opsServer(t, auth)
	store.settled(t)

	assert.Equal(t, health{http.StatusOK, map[string]any{"Status": "ALIVE"}}, probe(t, base+"/healthz"))
	assert.Equal(t, health{http.StatusOK, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "0s ago"}},
		probe(t, base+"/readyz"), "no Redis configured: none reported")

	store.failAccounts.Store(true)
	assert.Equal(t, health{http.StatusServiceUnavailable, map[string]any{"Status": "NOT_READY", "Store": "unavailable", "RevocationSync": "0s ago"}},
		probe(t, base+"/readyz"))
	assert.Equal(t, http.StatusOK, probe(t, base+"/healthz").status, "alive all the same")
	store.failAccounts.Store(false)

	// Three intervals without a sync are still fine; a second more is not.
	clock.Advance(3 * time.Hour)
	assert.Equal(t, http.StatusOK, probe(t, base+"/readyz").status)
	clock.Advance(time.Second)
	assert.Equal(t, health{http.StatusServiceUnavailable, map[string]any{"Status": "NOT_READY", "Store": "ok", "RevocationSync": "3h0m1s ago"}},
		probe(t, base+"/readyz"))
}

// With Redis configured and unreachable, the node is ready all the same
// and says Redis is down; the metric says so too.
func TestReadyWithRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String() // nothing listens here once closed
	require.NoError(t, ln.Close())

	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: cheap}, RedisURL: "redis://" + closed + "/0?dial_timeout=100ms"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base, reg := opsServer(t, auth)

	// The broadcast's subscription fails at once; wait for Health to know.
	var h health
	require.Eventually(t, func() bool {
		h = probe(t, base+"/readyz")
		return h.body["Redis"] == "down"
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, http.StatusOK, h.status)
	assert.Equal(t, "READY", h.body["Status"])
	assert.Equal(t, 0.0, promtest.Value(t, reg, `gameauth_redis_up`))
	assert.Equal(t, 1, promtest.Count(t, reg, "gameauth_redis_up"))
}
