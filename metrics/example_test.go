package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/metrics"
)

// A host registers the Collector in its own registry, serves it on an
// internal listener, and times its routes with Instrument. gameauth.New
// makes the Collector and feeds it the service's events (GameAuth.Metrics);
// here one event is reported by hand.
func Example() {
	c := metrics.New(metrics.Config{}) // gameauth.New gives it the view, the token cache and Redis
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	internal := http.NewServeMux() // not the public listener
	internal.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	game := http.NewServeMux()
	game.HandleFunc("GET /rooms/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
	public := c.Instrument("")(game) // labelled by the mux's patterns

	c.Observe(context.Background(), account.Event{Kind: account.EventSignIn, Method: "guest"})
	for _, path := range []string{"/rooms/1", "/rooms/2", "/no/such/path"} {
		public.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for _, lp := range m.GetLabel() {
				labels += fmt.Sprintf(" %s=%q", lp.GetName(), lp.GetValue())
			}
			switch {
			case m.GetHistogram() != nil:
				fmt.Printf("%s%s count %d\n", mf.GetName(), labels, m.GetHistogram().GetSampleCount())
			case mf.GetName() == "gameauth_signins_total":
				fmt.Printf("%s%s %v\n", mf.GetName(), labels, m.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// gameauth_http_request_duration_seconds route="GET /rooms/{id}" status="200" count 2
	// gameauth_http_request_duration_seconds route="unmatched" status="404" count 1
	// gameauth_signins_total method="email" result="ok" 0
	// gameauth_signins_total method="guest" result="ok" 1
}
