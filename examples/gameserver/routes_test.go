package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
