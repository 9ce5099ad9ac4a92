package openapitest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/docs/openapitest"
	"github.com/gameauth/gameauth/health"
	"github.com/gameauth/gameauth/storage"
)

type store struct{ err error }

func (s store) GetAccount(context.Context, string) (storage.Account, error) {
	return storage.Account{}, s.err
}

type view struct{ last time.Time }

func (v view) LastSync() time.Time { return v.last }

// exchange serves one request with h and checks it against the document.
func exchange(t *testing.T, c *openapitest.Checker, h http.Handler, method, path string) error {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return c.Check(openapitest.Exchange{Request: req, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})
}

// TestProbes checks the health and readiness probes' answers, which no
// wire test of the account handler or the admin API reaches.
func TestProbes(t *testing.T) {
	c, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ready := health.Ready(health.Config{Store: store{storage.ErrNotFound}, View: view{now}})
	notReady := health.Ready(health.Config{Store: store{storage.ErrConflict}, View: view{}})
	for _, x := range []struct {
		h            http.Handler
		method, path string
	}{
		{health.Live(), "GET", "/healthz"},
		{ready, "GET", "/readyz"},
		{notReady, "GET", "/readyz"},
		{ready, "POST", "/readyz"},
	} {
		if err := exchange(t, c, x.h, x.method, x.path); err != nil {
			t.Error(err)
		}
	}
}

// TestCheckerFails: the checker refuses what the document does not say.
func TestCheckerFails(t *testing.T) {
	c, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	wrong := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Status":"ALIVE","Extra":1}`))
	})
	for _, x := range []struct {
		h            http.Handler
		method, path string
		want         string
	}{
		{wrong, "GET", "/healthz", "GET /healthz → 200"},
		{wrong, "GET", "/auth/no-such-endpoint", "did not answer 404"},
		{wrong, "DELETE", "/auth/email/signup", "did not answer 405"},
	} {
		err := exchange(t, c, x.h, x.method, x.path)
		if err == nil || !strings.Contains(err.Error(), x.want) {
			t.Errorf("%s %s: %v, want an error with %q", x.method, x.path, err, x.want)
		}
	}
}
