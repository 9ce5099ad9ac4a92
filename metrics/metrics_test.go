package metrics_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/internal/promtest"
	"github.com/gameauth/gameauth/metrics"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// sources are gauge sources whose readings the test sets.
type sources struct {
	players, devices int
	lastSync         time.Time
	stats            tokens.CacheStats
	hasCache         bool
	up               bool
}

func (s *sources) BlocksInForce() (int, int)             { return s.players, s.devices }
func (s *sources) LastSync() time.Time                   { return s.lastSync }
func (s *sources) CacheStats() (tokens.CacheStats, bool) { return s.stats, s.hasCache }
func (s *sources) Up() bool                              { return s.up }
func (s *sources) clock() func() time.Time               { return func() time.Time { return t0 } }
func register(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	// The pedantic registry checks that Collect yields only described
	// metrics, consistently.
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	return reg
}

func TestObserveCountsEachKind(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		events []account.Event
		want   map[string]float64
	}{
		{"sign-in", []account.Event{{Kind: account.EventSignIn, Method: "guest"}},
			map[string]float64{`gameauth_signins_total{method="guest",result="ok"}`: 1}},
		{"sign-up is a sign-in too", []account.Event{{Kind: account.EventSignUp, Method: "email"}},
			map[string]float64{`gameauth_signins_total{method="email",result="ok"}`: 1, `gameauth_signups_total{method="email"}`: 1}},
		{"failed sign-in by code", []account.Event{
			{Kind: account.EventSignInFailed, Method: "email", Reason: account.CodeInvalidCredentials},
			{Kind: account.EventSignInFailed, Method: "email", Reason: account.CodeInvalidCredentials},
			{Kind: account.EventSignInFailed, Method: "guest", Reason: account.CodeRateLimited},
		}, map[string]float64{
			`gameauth_signins_total{method="email",result="INVALID_CREDENTIALS"}`: 2,
			`gameauth_signins_total{method="guest",result="RATE_LIMITED"}`:        1,
			`gameauth_signins_total{method="email",result="ok"}`:                  0,
		}},
		{"refresh results", []account.Event{
			{Kind: account.EventRefresh, Reason: "ok"},
			{Kind: account.EventRefresh, Reason: account.CodeRefreshExpired},
		}, map[string]float64{
			`gameauth_refreshes_total{result="ok"}`:                    1,
			`gameauth_refreshes_total{result="REFRESH_TOKEN_EXPIRED"}`: 1,
		}},
		{"reuse", []account.Event{{Kind: account.EventRefreshReused}},
			map[string]float64{`gameauth_refresh_reuse_total`: 1}},
		{"store errors by op", []account.Event{
			{Kind: account.EventStoreError, Reason: "GetSession"},
			{Kind: account.EventStoreError, Reason: "GetSession"},
			{Kind: account.EventStoreError, Reason: "CreateAccount"},
		}, map[string]float64{
			`gameauth_store_errors_total{op="GetSession"}`:    2,
			`gameauth_store_errors_total{op="CreateAccount"}`: 1,
		}},
		{"audit-only kinds count nothing", []account.Event{
			{Kind: account.EventNicknameChanged}, {Kind: account.EventSignOut}, {Kind: account.EventBlockAdded},
		}, map[string]float64{`gameauth_refresh_reuse_total`: 0, `gameauth_refreshes_total{result="ok"}`: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := metrics.New(metrics.Config{})
			reg := register(t, c)
			for _, e := range tt.events {
				c.Observe(ctx, e)
			}
			for series, want := range tt.want {
				assert.Equal(t, want, promtest.Value(t, reg, series), series)
			}
		})
	}
}

// A refused sign-in's method is whatever the client sent: only methods
// known to be configured, or seen signing someone in, keep their name.
func TestMethodLabelIsBounded(t *testing.T) {
	ctx := context.Background()
	c := metrics.New(metrics.Config{Methods: []string{"apple"}})
	reg := register(t, c)
	for _, m := range []string{"apple", "steam", "made-up-1", "made-up-2"} {
		c.Observe(ctx, account.Event{Kind: account.EventSignInFailed, Method: m, Reason: account.CodeProviderNotConfigured})
	}
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_signins_total{method="apple",result="PROVIDER_NOT_CONFIGURED"}`))
	assert.Equal(t, 3.0, promtest.Value(t, reg, `gameauth_signins_total{method="other",result="PROVIDER_NOT_CONFIGURED"}`))

	// A host's own verifier signed someone in with steam: steam is real.
	c.Observe(ctx, account.Event{Kind: account.EventSignIn, Method: "steam"})
	c.Observe(ctx, account.Event{Kind: account.EventSignInFailed, Method: "steam", Reason: account.CodeProviderTokenInvalid})
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_signins_total{method="steam",result="PROVIDER_TOKEN_INVALID"}`))

	assert.Equal(t, 7, promtest.Count(t, reg, "gameauth_signins_total"), "email, guest, apple at ok from the start; apple, other, steam failures; steam ok")
}

func TestRevocationsByReason(t *testing.T) {
	c := metrics.New(metrics.Config{})
	reg := register(t, c)
	for _, reason := range []storage.RevokeReason{storage.ReasonSignedOut, storage.ReasonReplaced, storage.ReasonReused,
		storage.ReasonAdmin, storage.ReasonPasswordChanged, storage.ReasonWithdrawn} {
		assert.Zero(t, promtest.Value(t, reg, `gameauth_revocations_total{reason="`+string(reason)+`"}`), "every reason exists from the start")
	}
	c.SessionsRevoked(context.Background(), []storage.Revocation{
		{SessionID: "a", Reason: storage.ReasonAdmin}, {SessionID: "b", Reason: storage.ReasonAdmin},
		{SessionID: "c", Reason: storage.ReasonReplaced},
	})
	c.BlockChanged(context.Background(), storage.Block{Key: "k"})
	c.KeyRotated(context.Background(), "kid")
	assert.Equal(t, 2.0, promtest.Value(t, reg, `gameauth_revocations_total{reason="admin"}`))
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_revocations_total{reason="replaced"}`))
}

// The gauges are read from their sources when scraped, and only the
// sources configured are reported.
func TestGaugesReadAtScrape(t *testing.T) {
	src := &sources{players: 3, devices: 1, lastSync: t0.Add(-4 * time.Second), up: true, hasCache: true,
		stats: tokens.CacheStats{Entries: 10, Capacity: 100, Hits: 90, Misses: 10}}
	c := metrics.New(metrics.Config{View: src, TokenCache: src, Redis: src, Clock: src.clock()})
	reg := register(t, c)
	for series, want := range map[string]float64{
		`gameauth_blocks_in_force{kind="player"}`: 3,
		`gameauth_blocks_in_force{kind="device"}`: 1,
		`gameauth_revocation_sync_age_seconds`:    4,
		`gameauth_token_cache_entries`:            10,
		`gameauth_token_cache_capacity`:           100,
		`gameauth_token_cache_hits_total`:         90,
		`gameauth_token_cache_misses_total`:       10,
		`gameauth_redis_up`:                       1,
	} {
		assert.Equal(t, want, promtest.Value(t, reg, series), series)
	}

	src.players, src.up, src.stats.Hits = 0, false, 95
	assert.Zero(t, promtest.Value(t, reg, `gameauth_blocks_in_force{kind="player"}`))
	assert.Zero(t, promtest.Value(t, reg, `gameauth_redis_up`))
	assert.Equal(t, 95.0, promtest.Value(t, reg, `gameauth_token_cache_hits_total`))

	// No cache, no sync yet: those series are absent, not zero.
	src.hasCache, src.lastSync = false, time.Time{}
	for _, name := range []string{"gameauth_token_cache_entries", "gameauth_token_cache_hits_total", "gameauth_revocation_sync_age_seconds"} {
		assert.Zero(t, promtest.Count(t, reg, name), name)
	}

	// Without sources (no Redis configured, say) nothing is made up.
	bare := register(t, metrics.New(metrics.Config{}))
	for _, name := range []string{"gameauth_redis_up", "gameauth_blocks_in_force", "gameauth_token_cache_entries"} {
		assert.Zero(t, promtest.Count(t, bare, name), name)
	}
}

// Two Collectors (two GameAuths in one process) register side by side:
// in registries of their own, or in one with a label that tells them apart.
func TestRegistersTwice(t *testing.T) {
	a, b := metrics.New(metrics.Config{}), metrics.New(metrics.Config{})
	require.NotPanics(t, func() {
		prometheus.NewRegistry().MustRegister(a)
		prometheus.NewRegistry().MustRegister(b)
		prometheus.NewRegistry().MustRegister(a) // the same one in a second registry
	})
	shared := prometheus.NewRegistry()
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"game": "a"}, shared).Register(a))
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"game": "b"}, shared).Register(b))
	a.Observe(context.Background(), account.Event{Kind: account.EventRefreshReused})
	assert.Equal(t, 1.0, promtest.Value(t, shared, `gameauth_refresh_reuse_total{game="a"}`))
	assert.Equal(t, 0.0, promtest.Value(t, shared, `gameauth_refresh_reuse_total{game="b"}`))

	assert.Error(t, shared.Register(metrics.New(metrics.Config{})), "a third without its own label collides, as an error")
}

func TestInstrumentLabelsAreBounded(t *testing.T) {
	c := metrics.New(metrics.Config{})
	reg := register(t, c)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("POST /quiet", func(http.ResponseWriter, *http.Request) {})
	byPattern := c.Instrument("")(mux)
	named := c.Instrument("auth")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/token/refresh" {
			http.NotFound(w, r)
		}
	}))

	serve := func(h http.Handler, method, path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
	}
	serve(byPattern, "GET", "/me")
	serve(byPattern, "GET", "/items/1")
	serve(byPattern, "GET", "/items/2")
	serve(byPattern, "POST", "/quiet")
	for i := range 50 { // paths nobody routes: one label between them
		serve(byPattern, "GET", "/probe/"+strings.Repeat("x", i))
		serve(named, "POST", "/scan/"+strings.Repeat("y", i))
	}
	serve(named, "POST", "/token/refresh")

	for series, want := range map[string]float64{
		`gameauth_http_request_duration_seconds{route="GET /me",status="200"}`:         1,
		`gameauth_http_request_duration_seconds{route="GET /items/{id}",status="418"}`: 2,
		`gameauth_http_request_duration_seconds{route="POST /quiet",status="200"}`:     1,
		`gameauth_http_request_duration_seconds{route="unmatched",status="404"}`:       50,
		`gameauth_http_request_duration_seconds{route="auth",status="404"}`:            50,
		`gameauth_http_request_duration_seconds{route="auth",status="200"}`:            1,
	} {
		assert.Equal(t, want, promtest.Value(t, reg, series), series)
	}
	assert.Equal(t, 6, promtest.Count(t, reg, "gameauth_http_request_duration_seconds"), "a hundred distinct paths made no series of their own")
}

// The recorder hands Flush and Hijack through, so streaming and WebSocket
// handlers work behind Instrument; a hijacked request is labelled so.
func TestInstrumentPassesThrough(t *testing.T) {
	c := metrics.New(metrics.Config{})
	reg := register(t, c)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("a"))
		require.NoError(t, http.NewResponseController(w).Flush())
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: game\r\n\r\n")
		_ = rw.Flush()
		_ = conn.Close()
	})
	mux.HandleFunc("GET /early", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
	})
	inst := c.Instrument("")(mux)
	done := make(chan struct{}, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inst.ServeHTTP(w, r)
		done <- struct{}{} // observed: Instrument has returned
	}))
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	_ = res.Body.Close()
	res, err = http.Get(srv.URL + "/early")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusAccepted, res.StatusCode)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: game\r\n\r\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 101 Switching Protocols\r\n", line)

	for range 3 {
		<-done
	}
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_http_request_duration_seconds{route="GET /stream",status="200"}`))
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_http_request_duration_seconds{route="GET /early",status="202"}`), "an interim 103 is not the status")
	assert.Equal(t, 1.0, promtest.Value(t, reg, `gameauth_http_request_duration_seconds{route="GET /ws",status="hijacked"}`))
}
