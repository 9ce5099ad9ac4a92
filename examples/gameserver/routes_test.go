package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage/memory"
)

// serveRoutes serves the example's routes on a memory store.
func serveRoutes(t *testing.T, adminToken string) *httptest.Server {
	t.Helper()
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(routes(auth, adminToken))
	t.Cleanup(srv.Close)
	return srv
}

// Outside /auth/ too, every refusal is a BaseResponse: a client parses one
// shape whatever route it called.
func TestRoutesAnswerJSONEverywhere(t *testing.T) {
	srv := serveRoutes(t, "admin-secret")

	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nowhere", http.StatusNotFound, ""},
		{"POST", "/me", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/admin/nowhere", http.StatusUnauthorized, ""},
		{"GET", "/me", http.StatusUnauthorized, ""},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body map[string]any
		assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), c.path)
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body), c.path)
		res.Body.Close()
		assert.Equal(t, c.status, res.StatusCode, "%s %s", c.method, c.path)
		assert.NotEmpty(t, body["ErrorCode"])
		assert.NotEmpty(t, body["Message"])
		if c.allow != "" {
			assert.Equal(t, c.allow, res.Header.Get("Allow"))
		}
	}
}

// The operations endpoints: liveness, readiness, and /metrics with
// gameauth's series (moved by a sign-up and timed by route pattern) beside
// the Go runtime's and the process's.
func TestOperationsEndpoints(t *testing.T) {
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(routes(auth, ""))
	t.Cleanup(srv.Close)

	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	status, body := get("/healthz")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"Status":"ALIVE"}`, body)
	status, body = get("/readyz")
	assert.Equal(t, http.StatusOK, status)
	var ready map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &ready))
	assert.Equal(t, "READY", ready["Status"])
	assert.Equal(t, "ok", ready["Store"])
	assert.Regexp(t, `^\d+s ago$`, ready["RevocationSync"], "synced at start, on the real clock")

	res, err := http.Post(srv.URL+"/auth/guest/signin", "application/json",
		strings.NewReader(`{"platform":"pc","device_id":"pc-1"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)

	status, body = get("/metrics")
	assert.Equal(t, http.StatusOK, status)
	for _, line := range []string{
		`gameauth_signins_total{method="guest",result="ok"} 1`,
		`gameauth_signups_total{method="guest"} 1`,
		`gameauth_http_request_duration_seconds_count{route="/auth/",status="201"} 1`,
		`gameauth_http_request_duration_seconds_count{route="GET /readyz",status="200"} 1`,
		`gameauth_blocks_in_force{kind="player"} 0`,
		`gameauth_token_cache_capacity 100000`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		assert.Contains(t, body, line)
	}
	assert.NotContains(t, body, "gameauth_redis_up", "no Redis configured")
}

// With -admin-token, /admin/ is the operators' console: the page is
// public, under its strict policy; the API beside it wants the token.
func TestRoutesServeTheConsole(t *testing.T) {
	srv := serveRoutes(t, "admin-secret")

	for _, c := range []struct {
		path        string
		status      int
		contentType string
	}{
		{"/admin/", http.StatusOK, "text/html; charset=utf-8"},
		{"/admin/console/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"/admin/players?q=a", http.StatusUnauthorized, "application/json; charset=utf-8"},
	} {
		res, err := http.Get(srv.URL + c.path)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, c.status, res.StatusCode, c.path)
		assert.Equal(t, c.contentType, res.Header.Get("Content-Type"), c.path)
	}
	res, err := http.Get(srv.URL + "/admin/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")

	// Without -admin-token there is no /admin/ at all.
	res, err = http.Get(serveRoutes(t, "").URL + "/admin/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// A path that is not clean, or the mount point without its slash, is
// answered like any other path, in the contract's shape: net/http's mux
// would redirect it (307) with an HTML body or none, or, through
// jsonRefusals, a 307 carrying "no such endpoint".
func TestRoutesAnswerJSONForPathsNotClean(t *testing.T) {
	srv := serveRoutes(t, "admin-secret")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, path := range []string{"/auth", "/auth//email/signup", "/auth/./email/signup", "/auth/email/signup/..", "/me/../me"} {
		for _, method := range []string{"GET", "POST"} {
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
			require.NoError(t, err)
			res, err := client.Do(req)
			require.NoError(t, err)
			var body map[string]any
			decodeErr := json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			assert.False(t, res.StatusCode >= 300 && res.StatusCode < 400, "%s %s: %d to %s", method, path, res.StatusCode, res.Header.Get("Location"))
			assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), "%s %s", method, path)
			if assert.NoError(t, decodeErr, "%s %s", method, path) && res.StatusCode >= 400 {
				assert.Equal(t, "INVALID_REQUEST", body["ErrorCode"], "%s %s", method, path)
			}
		}
	}
}
