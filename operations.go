package gameauth

import (
	"net/http"

	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/health"
	"github.com/gameauth/gameauth/metrics"
	"github.com/gameauth/gameauth/tokens"
)

// Metrics returns the deployment's Prometheus collector, for the host to
// register in its own registry and serve, off the public listener:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(auth.Metrics())
//	adminMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Its Instrument middleware times the host's routes. See package metrics
// for what it exports.
func (g *GameAuth) Metrics() *metrics.Collector { return g.metrics }

// Health returns the liveness handler, for GET /healthz: 200 while the
// process serves.
func (g *GameAuth) Health() http.Handler { return health.Live() }

// Ready returns the readiness handler, for GET /readyz: 200 while the store
// answers within a second and the revocation view is current, 503
// otherwise; Redis, when configured, is reported but never fails it.
func (g *GameAuth) Ready() http.Handler { return g.ready }

// operations makes the metrics collector and the readiness check of g from
// the parts New wired (broadcast is nil without Redis).
func (g *GameAuth) operations(cfg Config, toks *tokens.Suite, broadcast *cluster.Broadcaster) (*metrics.Collector, http.Handler) {
	mc := metrics.Config{View: g.view, TokenCache: toks.Verifier, Methods: g.providers.Names(), Clock: cfg.Revocation.Clock}
	hc := health.Config{Store: g.store, View: g.view, Interval: cfg.Revocation.Interval, Clock: cfg.Revocation.Clock}
	if broadcast != nil {
		mc.Redis, hc.Redis = broadcast.Health(), broadcast.Health()
	}
	return metrics.New(mc), health.Ready(hc)
}
