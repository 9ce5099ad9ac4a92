package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
)

// call sends a JSON request to the server and decodes the JSON answer.
func call(t *testing.T, srv *httptest.Server, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var in bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&in).Encode(body))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, &in)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out), "%s %s", method, path)
	return res.StatusCode, out
}

// TestSignUpLandsInTheGamesTable signs a player up through the HTTP handler,
// wired as main wires it, and finds them in the game's users table beside
// the game's own data.
func TestSignUpLandsInTheGamesTable(t *testing.T) {
	ctx := t.Context()
	game := newGameDB(t) // holds legacy-1 (Old.Timer@Example.com, "OldTimer") and legacy-2
	users := newUsers(t, game)
	rest, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gameauth.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rest.Close() })
	auth, err := gameauth.New(ctx, gameauth.Config{
		Store:  storage.Combine(users, rest),
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(routes(auth, game))
	t.Cleanup(srv.Close)

	device := map[string]any{"platform": "pc", "device_id": "device-1"}
	signUp := func(email, nickname string) (int, map[string]any) {
		body := map[string]any{"linked_id": email, "linked_password": "correct horse battery", "nickname": nickname}
		for k, v := range device {
			body[k] = v
		}
		return call(t, srv, http.MethodPost, "/auth/email/signup", "", body)
	}

	before := time.Now().Add(-time.Second)
	status, res := signUp("Hero@Example.com", "Hero")
	require.Equal(t, http.StatusCreated, status, "%v", res)
	token := res["Token"].(map[string]any)["AccessToken"].(string)
	id := res["Player"].(map[string]any)["UserUniqueID"].(string)

	// The player is a row of the game's table: gameauth's fields in the
	// game's columns, and the game's defaults in its own.
	email, name, gold, level := gameColumns(t, game, id)
	assert.Equal(t, "hero@example.com", email.String)
	assert.Equal(t, "Hero", name)
	assert.Equal(t, int64(100), gold, "the game's default")
	assert.Equal(t, int64(1), level, "the game's default")
	var hash, created string
	require.NoError(t, game.QueryRowContext(ctx, `SELECT password_hash, created_at FROM users WHERE id = ?`, id).Scan(&hash, &created))
	assert.True(t, strings.HasPrefix(hash, "$argon2id$"), "password_hash holds an argon2id hash")
	joined, err := time.Parse(time.DateTime, created)
	require.NoError(t, err, "created_at is in the game's format: %q", created)
	assert.WithinRange(t, joined, before, time.Now().Add(time.Second))

	// The game's players already own their emails and display names.
	status, res = signUp("old.timer@example.com", "Someone")
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "EMAIL_TAKEN", res["ErrorCode"])
	status, res = signUp("someone@example.com", "OLDTIMER")
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "NICKNAME_TAKEN", res["ErrorCode"])

	// The game pays out gold; a rename through gameauth leaves it alone.
	_, err = game.ExecContext(ctx, `UPDATE users SET gold = gold + 50 WHERE id = ?`, id)
	require.NoError(t, err)
	status, res = call(t, srv, http.MethodPut, "/auth/nickname", token, map[string]any{"nickname": "Heroic"})
	require.Equal(t, http.StatusOK, status, "%v", res)
	_, name, gold, level = gameColumns(t, game, id)
	assert.Equal(t, "Heroic", name)
	assert.Equal(t, int64(150), gold)
	assert.Equal(t, int64(1), level)

	// GET /me: the token's player, read back from the game's row.
	status, res = call(t, srv, http.MethodGet, "/me", token, nil)
	require.Equal(t, http.StatusOK, status, "%v", res)
	assert.Equal(t, map[string]any{
		"UserUniqueID": id, "OpenID": res["OpenID"], "Nickname": "Heroic", "Gold": 150.0, "Level": 1.0,
	}, res)
	assert.NotEmpty(t, res["OpenID"])
	status, _ = call(t, srv, http.MethodGet, "/me", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)

	// The players the game had before are untouched.
	email, name, gold, level = gameColumns(t, game, "legacy-1")
	assert.Equal(t, "Old.Timer@Example.com", email.String)
	assert.Equal(t, "OldTimer", name)
	assert.Equal(t, int64(5000), gold)
	assert.Equal(t, int64(42), level)
}
