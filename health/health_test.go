package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/health"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/storage"
)

// store answers GetAccount with err, after blocking until release is
// closed (ignoring ctx, as a wedged store would) when block is set.
type store struct {
	err     error
	block   bool
	release chan struct{}
}

func (s *store) GetAccount(context.Context, string) (storage.Account, error) {
	if s.block {
		<-s.release
	}
	return storage.Account{}, s.err
}

type view struct{ last time.Time }

func (v view) LastSync() time.Time { return v.last }

type redis bool

func (r redis) Up() bool { return bool(r) }

type answer struct {
	Status int
	Body   map[string]any
}

func get(t *testing.T, h http.Handler, method string) (answer, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/readyz", nil))
	var body map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	}
	return answer{rec.Code, body}, rec.Header()
}

func TestReady(t *testing.T) {
	clock := testclock.Default()
	now := clock.Now()
	found := storage.ErrNotFound
	tests := []struct {
		name  string
		cfg   health.Config
		want  answer
		state string
	}{
		{"ready", health.Config{Store: &store{err: found}, View: view{now.Add(-2 * time.Second)}},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "2s ago"}}, ""},
		{"an account found is an answer too", health.Config{Store: &store{}, View: view{now}},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "0s ago"}}, ""},
		{"store down", health.Config{Store: &store{err: errors.New("dial tcp 10.0.0.9:5432: secret-host")}, View: view{now}},
			answer{503, map[string]any{"Status": "NOT_READY", "Store": "unavailable", "RevocationSync": "0s ago"}}, ""},
		{"store timed out", health.Config{Store: &store{err: context.DeadlineExceeded}, View: view{now}},
			answer{503, map[string]any{"Status": "NOT_READY", "Store": "timeout", "RevocationSync": "0s ago"}}, ""},
		{"never synced", health.Config{Store: &store{err: found}, View: view{}},
			answer{503, map[string]any{"Status": "NOT_READY", "Store": "ok", "RevocationSync": "never"}}, ""},
		{"synced three intervals ago", health.Config{Store: &store{err: found}, View: view{now.Add(-15 * time.Second)}},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "15s ago"}}, ""},
		{"synced longer ago", health.Config{Store: &store{err: found}, View: view{now.Add(-16 * time.Second)}},
			answer{503, map[string]any{"Status": "NOT_READY", "Store": "ok", "RevocationSync": "16s ago"}}, ""},
		{"interval from the config", health.Config{Store: &store{err: found}, View: view{now.Add(-time.Minute)}, Interval: time.Minute},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "1m0s ago"}}, ""},
		{"Redis up", health.Config{Store: &store{err: found}, View: view{now}, Redis: redis(true)},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "0s ago", "Redis": "up"}}, ""},
		{"Redis down is no failure", health.Config{Store: &store{err: found}, View: view{now}, Redis: redis(false)},
			answer{200, map[string]any{"Status": "READY", "Store": "ok", "RevocationSync": "0s ago", "Redis": "down"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = clock.Now
			got, hdr := get(t, health.Ready(tt.cfg), http.MethodGet)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
			assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"))
		})
	}
}

// A store that never answers, even past its context, fails the check at
// the timeout: the handler does not wait on it.
func TestReadyStoreWedged(t *testing.T) {
	s := &store{block: true, release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	h := health.Ready(health.Config{Store: s, View: view{time.Now()}, Timeout: 20 * time.Millisecond})
	got, _ := get(t, h, http.MethodGet)
	assert.Equal(t, 503, got.Status)
	assert.Equal(t, "timeout", got.Body["Store"])
}

func TestMethods(t *testing.T) {
	ready := health.Ready(health.Config{Store: &store{err: storage.ErrNotFound}, View: view{time.Now()}})
	for name, h := range map[string]http.Handler{"live": health.Live(), "ready": ready} {
		t.Run(name, func(t *testing.T) {
			got, _ := get(t, h, http.MethodHead)
			assert.Equal(t, answer{Status: 200}, got, "HEAD: the status, no body")
			got, hdr := get(t, h, http.MethodPost)
			assert.Equal(t, 405, got.Status)
			assert.Equal(t, "INVALID_REQUEST", got.Body["ErrorCode"])
			assert.Equal(t, "GET, HEAD", hdr.Get("Allow"))
		})
	}
	got, _ := get(t, health.Live(), http.MethodGet)
	assert.Equal(t, answer{200, map[string]any{"Status": "ALIVE"}}, got)
}

// Mount Live and Ready where the orchestrator probes them.
func Example() {
	sync := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.Live())
	mux.Handle("GET /readyz", health.Ready(health.Config{
		Store: &store{err: storage.ErrNotFound}, // a storage.Store
		View:  view{sync},                       // a *revocation.View
		Clock: func() time.Time { return sync.Add(3 * time.Second) },
	}))
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 {"Status":"ALIVE"}
	// 200 {"Status":"READY","Store":"ok","RevocationSync":"3s ago"}
}
