// Package metrics exports what a gameauth deployment does as Prometheus
// metrics: a Collector that the host registers in its own registry (the
// package registers nothing anywhere by itself).
//
// The Collector counts what the account service reports (it is an
// account.Observer, and account.Events for revocations), times the requests
// of the handlers the host wraps with Instrument, and reads its gauges —
// blocks in force, the revocation view's sync age, the token cache, Redis —
// from their sources when it is scraped, so that nothing on a request's path
// updates a gauge.
//
//	gameauth_signins_total{method,result}       sign-ins: result "ok", or the refusal's code
//	gameauth_signups_total{method}              accounts created by a sign-in or sign-up
//	gameauth_refreshes_total{result}            refreshes: "ok", or the refusal's code
//	gameauth_refresh_reuse_total                refresh tokens presented again after rotation
//	gameauth_revocations_total{reason}          sessions revoked, by storage.RevokeReason
//	gameauth_store_errors_total{op}             store failures, by operation
//	gameauth_http_request_duration_seconds{route,status}
//	gameauth_blocks_in_force{kind}              player and device blocks in force
//	gameauth_revocation_sync_age_seconds        since the revocation view's last sync
//	gameauth_token_cache_entries, _capacity     the verified-token cache
//	gameauth_token_cache_hits_total, _misses_total
//	gameauth_redis_up                           1 while Redis answers (when configured)
//
// Every label value comes from a bounded set: methods are "email", "guest",
// the providers named in Config.Methods or seen signing someone in, else
// "other"; results and reasons are the service's codes; routes are names
// the host gives or its router's patterns, never a request's path.
package metrics

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// View is the revocation view the gauges read; *revocation.View is one.
type View interface {
	// BlocksInForce counts the player and device blocks in force now.
	BlocksInForce() (players, devices int)
	// LastSync is when the last successful reconciliation started (zero
	// before the first).
	LastSync() time.Time
}

// TokenCache reports the verified-token cache; *tokens.Verifier is one.
type TokenCache interface {
	// CacheStats returns the cache's statistics, and false when there is
	// no cache to report.
	CacheStats() (tokens.CacheStats, bool)
}

// RedisHealth says whether Redis answers; *cluster.Health is one.
type RedisHealth interface {
	Up() bool
}

// Config says where a Collector reads its gauges. Every field is optional:
// a gauge whose source is nil is not reported (gameauth_redis_up, say, when
// no Redis is configured).
type Config struct {
	View       View
	TokenCache TokenCache
	Redis      RedisHealth
	// Methods are the platform sign-in providers configured (besides
	// "email" and "guest", always known), so that their failures are
	// labelled with their names from the start. A method that signs
	// someone in is learned; a failure under any other name, which the
	// client chose, counts as "other".
	Methods []string
	// Clock tells the time for the sync age, the same clock as the
	// view's; nil means time.Now. Request durations are measured with the
	// real monotonic clock whatever Clock says.
	Clock func() time.Time
}

// otherMethod labels sign-in failures under a method that is not known to
// be configured.
const otherMethod = "other"

// unmatchedRoute labels requests that Instrument saw without a route name
// and that no http.ServeMux pattern matched.
const unmatchedRoute = "unmatched"

// durationBuckets are the bounds of the request duration histogram, in
// seconds: from a cached token check on a game route (well under a
// millisecond) to a password hash under load.
func durationBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Collector is the deployment's metrics: a prometheus.Collector for the
// host's registry, an account.Observer and account.Events for the service,
// and middleware for the host's handlers. Its methods are safe for
// concurrent use. gameauth.New makes one and feeds it (GameAuth.Metrics).
type Collector struct {
	cfg Config

	signins     *prometheus.CounterVec
	signups     *prometheus.CounterVec
	refreshes   *prometheus.CounterVec
	reuse       prometheus.Counter
	revocations *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	duration    *prometheus.HistogramVec

	blocks, syncAge, cacheEntries, cacheCap, cacheHits, cacheMisses, redisUp *prometheus.Desc

	mu      sync.RWMutex
	methods map[string]bool // sign-in methods known to be real
}

var (
	_ prometheus.Collector = (*Collector)(nil)
	_ account.Observer     = (*Collector)(nil)
	_ account.Events       = (*Collector)(nil)
)

// New returns a Collector reading its gauges from cfg's sources. Register
// it in the host's registry: reg.MustRegister(c). Two Collectors (two
// GameAuths in one process) go into separate registries, or into one
// through prometheus.WrapRegistererWith with a label that tells them apart.
func New(cfg Config) *Collector {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	c := &Collector{
		cfg: cfg,
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameauth_signins_total",
			Help: `Sign-ins and sign-ups by method (email, guest, a provider, or "other") and result ("ok" or the refusal's error code).`,
		}, []string{"method", "result"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameauth_signups_total",
			Help: "Accounts created by a sign-up or a first sign-in, by method.",
		}, []string{"method"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameauth_refreshes_total",
			Help: `Token refreshes by result ("ok" or the refusal's error code).`,
		}, []string{"result"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gameauth_refresh_reuse_total",
			Help: "Refresh tokens presented again after their rotation; each revoked its session.",
		}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameauth_revocations_total",
			Help: "Sessions revoked by this node, by reason.",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameauth_store_errors_total",
			Help: "Store failures answered UNAVAILABLE, by store operation.",
		}, []string{"op"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gameauth_http_request_duration_seconds",
			Help:    "Duration of HTTP requests by route and status, for the handlers the host instruments.",
			Buckets: durationBuckets(),
		}, []string{"route", "status"}),
		blocks: prometheus.NewDesc("gameauth_blocks_in_force",
			"Blocks in force now in the revocation view, by kind (player, device).", []string{"kind"}, nil),
		syncAge: prometheus.NewDesc("gameauth_revocation_sync_age_seconds",
			"Seconds since the revocation view's last successful sync with the store.", nil, nil),
		cacheEntries: prometheus.NewDesc("gameauth_token_cache_entries",
			"Entries in the verified-token cache, some of which may have expired.", nil, nil),
		cacheCap: prometheus.NewDesc("gameauth_token_cache_capacity",
			"The most entries the verified-token cache holds.", nil, nil),
		cacheHits: prometheus.NewDesc("gameauth_token_cache_hits_total",
			"Access tokens answered from the verified-token cache.", nil, nil),
		cacheMisses: prometheus.NewDesc("gameauth_token_cache_misses_total",
			"Access tokens the verified-token cache did not answer, verified in full.", nil, nil),
		redisUp: prometheus.NewDesc("gameauth_redis_up",
			"1 while Redis (the revocation broadcast, the shared rate limit) answers, 0 while it is down.", nil, nil),
		methods: map[string]bool{storage.LinkEmail: true, storage.LinkGuest: true},
	}
	for _, m := range cfg.Methods {
		c.methods[m] = true
	}
	// The series an operator graphs from the start exist at zero, so that
	// rate() and absence alerts work before the first event.
	for m := range c.methods {
		c.signins.WithLabelValues(m, "ok")
	}
	c.refreshes.WithLabelValues("ok")
	for _, r := range []storage.RevokeReason{storage.ReasonSignedOut, storage.ReasonReplaced, storage.ReasonReused,
		storage.ReasonAdmin, storage.ReasonPasswordChanged, storage.ReasonWithdrawn} {
		c.revocations.WithLabelValues(string(r))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range c.vectors() {
		v.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{c.blocks, c.syncAge, c.cacheEntries, c.cacheCap, c.cacheHits, c.cacheMisses, c.redisUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the counters, and the gauges
// read from their sources now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.vectors() {
		v.Collect(ch)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if v := c.cfg.View; v != nil {
		players, devices := v.BlocksInForce()
		gauge(c.blocks, float64(players), string(storage.BlockPlayer))
		gauge(c.blocks, float64(devices), string(storage.BlockDevice))
		if last := v.LastSync(); !last.IsZero() {
			gauge(c.syncAge, max(c.cfg.Clock().Sub(last).Seconds(), 0))
		}
	}
	if tc := c.cfg.TokenCache; tc != nil {
		if st, ok := tc.CacheStats(); ok {
			gauge(c.cacheEntries, float64(st.Entries))
			gauge(c.cacheCap, float64(st.Capacity))
			ch <- prometheus.MustNewConstMetric(c.cacheHits, prometheus.CounterValue, float64(st.Hits))
			ch <- prometheus.MustNewConstMetric(c.cacheMisses, prometheus.CounterValue, float64(st.Misses))
		}
	}
	if r := c.cfg.Redis; r != nil {
		up := 0.0
		if r.Up() {
			up = 1
		}
		gauge(c.redisUp, up)
	}
}

func (c *Collector) vectors() []prometheus.Collector {
	return []prometheus.Collector{c.signins, c.signups, c.refreshes, c.reuse, c.revocations, c.storeErrors, c.duration}
}

// Observe implements account.Observer: it counts sign-ins, refreshes,
// refresh-token reuse and store errors; other kinds are the audit log's.
func (c *Collector) Observe(_ context.Context, e account.Event) {
	switch e.Kind {
	case account.EventSignIn, account.EventSignUp:
		c.learn(e.Method)
		c.signins.WithLabelValues(e.Method, "ok").Inc()
		if e.Kind == account.EventSignUp {
			c.signups.WithLabelValues(e.Method).Inc()
		}
	case account.EventSignInFailed:
		c.signins.WithLabelValues(c.method(e.Method), e.Reason).Inc()
	case account.EventRefresh:
		c.refreshes.WithLabelValues(e.Reason).Inc()
	case account.EventRefreshReused:
		c.reuse.Inc()
	case account.EventStoreError:
		c.storeErrors.WithLabelValues(e.Reason).Inc()
	}
}

// learn records m as a real sign-in method: someone signed in with it, so
// the service's verifier knows it.
func (c *Collector) learn(m string) {
	c.mu.RLock()
	known := c.methods[m]
	c.mu.RUnlock()
	if !known {
		c.mu.Lock()
		c.methods[m] = true
		c.mu.Unlock()
	}
}

// method is m if it is known to be real, else "other": a refused sign-in's
// method may be any name the client sent.
func (c *Collector) method(m string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.methods[m] {
		return m
	}
	return otherMethod
}

// SessionsRevoked implements account.Events: it counts the revocations by
// reason. Only this node's service calls it, so each revocation is counted
// once across a cluster (the sum over nodes).
func (c *Collector) SessionsRevoked(_ context.Context, revs []storage.Revocation) {
	for _, r := range revs {
		c.revocations.WithLabelValues(string(r.Reason)).Inc()
	}
}

// BlockChanged implements account.Events; blocks are counted at scrape time
// from the revocation view.
func (c *Collector) BlockChanged(context.Context, storage.Block) {}

// KeyRotated implements account.Events; the Collector does not count it.
func (c *Collector) KeyRotated(context.Context, string) {}

// Instrument returns middleware that observes the duration of every request
// of the handler it wraps in gameauth_http_request_duration_seconds, with
// its status ("hijacked" for a connection taken over, as by a WebSocket
// upgrade) and a route label that stays bounded whatever paths clients send:
// route when it is not empty ("auth", "game"); else the pattern the
// http.ServeMux inside matched for the request (r.Pattern, such as
// "GET /me"; a mux behind http.StripPrefix sees a copy of the request, whose
// pattern stays there), or "unmatched" when none did.
func (c *Collector) Instrument(route string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			defer func() {
				// A handler that panics is still timed; the panic goes on.
				c.duration.WithLabelValues(routeOf(route, r), rec.statusLabel()).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

func routeOf(route string, r *http.Request) string {
	switch {
	case route != "":
		return route
	case r.Pattern != "":
		return r.Pattern
	}
	return unmatchedRoute
}

// recorder notes the status a handler answers with. Flush and Hijack pass
// through, and Unwrap lets http.ResponseController reach the rest.
type recorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *recorder) WriteHeader(status int) {
	// 1xx other than 101 are interim: the final status comes later.
	if w.status == 0 && (status >= 200 || status == http.StatusSwitchingProtocols) {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher where the underlying writer can flush.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker where the underlying writer can hijack.
func (w *recorder) Hijack() (conn net.Conn, rw *bufio.ReadWriter, err error) {
	conn, rw, err = http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) statusLabel() string {
	switch {
	case w.hijacked:
		return "hijacked"
	case w.status == 0:
		return "200" // a handler that wrote nothing answers 200
	}
	return strconv.Itoa(w.status)
}
