package main

import (
	"context"
	"encoding/json"
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

// testServer serves routes on a memory store.
func testServer(t *testing.T) *httptest.Server {
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(routes(auth, "admin-secret"))
	t.Cleanup(srv.Close)
	return srv
}

// Outside /auth/ too, every refusal is a BaseResponse: a client parses one
// shape whatever route it called.
func TestRoutesAnswerJSONEverywhere(t *testing.T) {
	srv := testServer(t)

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

// A path that is not clean, or the mount point without its slash, is
// answered like any other path, in the contract's shape: net/http's mux
// would redirect it (307) with an HTML body or none, or, through
// jsonRefusals, a 307 carrying "no such endpoint".
func TestRoutesAnswerJSONForPathsNotClean(t *testing.T) {
	srv := testServer(t)
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
