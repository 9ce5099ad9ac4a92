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

func TestWrappedGameServer(t *testing.T) {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{Store: memory.New(), Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(newRouter(auth))
	t.Cleanup(srv.Close)

	do := func(method, path, token, body string) (*http.Response, map[string]any) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res, m
	}

	res, body := do("POST", "/auth/email/signup", "", `{"linked_id":"ada@example.com","linked_password":"correct horse","platform":"pc","device_id":"d1"}`)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	token := body["Token"].(map[string]any)["AccessToken"].(string)
	player := body["Player"].(map[string]any)

	// The game's public route stays public; its player routes need a token.
	res, _ = do("POST", "/score", "", `{"score":7}`)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = do("POST", "/score", token, `{"score":7}`)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	res, board := do("GET", "/leaderboard", "", "")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, map[string]any{player["OpenID"].(string): float64(7)}, board)

	// A matchmaking block refuses the queue and nothing else.
	_, err = auth.Service().BlockPlayer(ctx, player["UserUniqueID"].(string), account.BlockSpec{Reason: "leaver", Services: []string{"matchmaking"}})
	require.NoError(t, err)
	res, body = do("POST", "/queue", token, "")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Equal(t, "ACCOUNT_BLOCKED", body["ErrorCode"])
	res, _ = do("POST", "/score", token, `{"score":9}`)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
}
