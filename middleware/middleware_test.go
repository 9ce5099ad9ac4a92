package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// verifier knows a fixed set of tokens.
type verifier map[string]error

var claims = tokens.Claims{
	Subject: "player-1", SessionID: "sess-1", OpenID: "open-1", Nickname: "Hero",
	LinkedType: "email", Country: "KR", DeviceID: "dev-1", ExpiresAt: t0.Add(time.Hour),
}

func (v verifier) Verify(tok string) (tokens.Claims, error) {
	err, ok := v[tok]
	if !ok {
		return tokens.Claims{}, tokens.ErrTokenInvalid
	}
	if err != nil {
		return tokens.Claims{}, err
	}
	return claims, nil
}

type nofeed struct{}

func (nofeed) RevokedSince(context.Context, time.Time) ([]storage.Revocation, error) { return nil, nil }
func (nofeed) ListActiveBlocks(context.Context, time.Time) ([]storage.Block, error) {
	return nil, nil
}

// t0 is the revocation view's clock in these tests: block ends are
// judged against it, never against the machine's clock.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*middleware.Authenticator, *revocation.View) {
	t.Helper()
	view := revocation.New(nofeed{}, revocation.Config{Clock: func() time.Time { return t0 }})
	a := middleware.New(verifier{"good": nil, "old": tokens.ErrTokenExpired}, view, middleware.Config{
		Fallbacks: []middleware.TokenSource{middleware.FromCookie("at"), middleware.FromSubprotocol("access_token.")},
	})
	return a, view
}

// echo answers the player it was given, or 204 without one.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := middleware.PlayerFrom(r.Context())
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = json.NewEncoder(w).Encode(p)
})

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func do(h http.Handler, mutate func(*http.Request)) response {
	r := httptest.NewRequest(http.MethodGet, "/game", nil)
	mutate(r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return response{w.Code, w.Header(), body}
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestPlayerInContext(t *testing.T) {
	a, _ := setup(t)
	for name, mutate := range map[string]func(*http.Request){
		"bearer":           bearer("good"),
		"lower-case":       func(r *http.Request) { r.Header.Set("Authorization", "bearer good") },
		"cookie fallback":  func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: "good"}) },
		"websocket header": func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "game.v1, access_token.good") },
	} {
		t.Run(name, func(t *testing.T) {
			res := do(a.Require(echo), mutate)
			require.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, map[string]any{
				"UserUniqueID": "player-1", "OpenID": "open-1", "Nickname": "Hero", "LinkedType": "email",
				"Country": "KR", "SessionID": "sess-1", "DeviceID": "dev-1",
			}, res.body)
		})
	}
}

func TestRefusals(t *testing.T) {
	a, view := setup(t)
	ctx := context.Background()
	now := t0
	tests := []struct {
		name       string
		prepare    func()
		mutate     func(*http.Request)
		opts       []middleware.Option
		status     int
		code       string
		invalidTok bool
	}{
		{name: "no token", mutate: func(*http.Request) {}, status: 401, code: "TOKEN_MISSING"},
		{name: "not bearer", mutate: func(r *http.Request) { r.Header.Set("Authorization", "Basic Zm9vOmJhcg==") }, status: 401, code: "TOKEN_MISSING"},
		{name: "bad token", mutate: bearer("forged"), status: 401, code: "TOKEN_INVALID", invalidTok: true},
		{name: "expired", mutate: bearer("old"), status: 401, code: "TOKEN_EXPIRED", invalidTok: true},
		{name: "optional route still refuses a bad token", mutate: bearer("forged"), opts: []middleware.Option{middleware.Optional()}, status: 401, code: "TOKEN_INVALID", invalidTok: true},
		{name: "blocked for chat, on chat", mutate: bearer("good"), opts: []middleware.Option{middleware.Service("chat")}, status: 403, code: "ACCOUNT_BLOCKED",
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-chat", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "spam", Services: []string{"chat"}, CreatedAt: now})
			}},
		{name: "blocked for chat, elsewhere", mutate: bearer("good"), status: 200},
		{name: "blocked for chat, on trade", mutate: bearer("good"), opts: []middleware.Option{middleware.Service("trade")}, status: 200},
		{name: "device blocked", mutate: bearer("good"), status: 403, code: "DEVICE_BLOCKED",
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-dev", Kind: storage.BlockDevice, Subject: "dev-1", Reason: "cheat", CreatedAt: now})
			}},
		{name: "device unblocked", mutate: bearer("good"), status: 200,
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-dev", Kind: storage.BlockDevice, Subject: "dev-1", CreatedAt: now, LiftedAt: now})
			}},
		{name: "player block at its end", mutate: bearer("good"), status: 200,
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-ended", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "abuse", CreatedAt: now.Add(-time.Hour), Until: now})
			}},
		{name: "player blocked everywhere", mutate: bearer("good"), status: 403, code: "ACCOUNT_BLOCKED",
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-all", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "abuse", CreatedAt: now, Until: now.Add(time.Hour)})
			}},
		{name: "session replaced", mutate: bearer("good"), status: 401, code: "SESSION_REPLACED", invalidTok: true,
			prepare: func() {
				view.BlockChanged(ctx, storage.Block{Key: "bk-all", Kind: storage.BlockPlayer, Subject: "player-1", CreatedAt: now, LiftedAt: now})
				view.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "sess-1", Reason: storage.ReasonReplaced, At: now}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare()
			}
			res := do(a.Require(echo, tt.opts...), tt.mutate)
			require.Equal(t, tt.status, res.status, res.body)
			if tt.status == 200 {
				return
			}
			assert.Equal(t, tt.code, res.body["ErrorCode"])
			assert.NotEmpty(t, res.body["Message"])
			assert.Equal(t, "application/json; charset=utf-8", res.header.Get("Content-Type"))
			if tt.invalidTok {
				assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
			} else if tt.code == "TOKEN_MISSING" {
				assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
			} else {
				assert.Empty(t, res.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestBlockedErrorShape(t *testing.T) {
	a, view := setup(t)
	until := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	view.BlockChanged(context.Background(), storage.Block{Key: "bk-1", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "abuse", CreatedAt: until.Add(-time.Hour), Until: until})
	res := do(a.Require(echo), bearer("good"))
	require.Equal(t, 403, res.status)
	assert.Equal(t, map[string]any{
		"ErrorCode": "ACCOUNT_BLOCKED",
		"Message":   "account is blocked until 2026-12-01T00:00:00Z",
		"BlockKey":  "bk-1",
		"ErrorData": map[string]any{"uuid": "player-1", "nickname": "Hero", "blockReason": "abuse", "blockDate": "2026-12-01T00:00:00Z"},
	}, res.body)
}

func TestOptional(t *testing.T) {
	a, _ := setup(t)
	res := do(a.Require(echo, middleware.Optional()), func(*http.Request) {})
	assert.Equal(t, http.StatusNoContent, res.status, "anonymous request through, no player")
	res = do(a.Require(echo, middleware.Optional()), bearer("good"))
	assert.Equal(t, "player-1", res.body["UserUniqueID"])
}

func TestAuthenticateServesOtherEntryPoints(t *testing.T) {
	a, view := setup(t)
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "access_token.good")
	p, err := a.Authenticate(r, "")
	require.NoError(t, err)
	assert.Equal(t, "sess-1", p.SessionID)

	r.Header.Set("Sec-WebSocket-Protocol", "access_token.forged")
	_, err = a.Authenticate(r, "")
	var me *account.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, account.CodeTokenInvalid, me.Code)

	// A token that came without a request (a game's own protocol) gets the
	// same answers, the revocation view's included.
	p, err = a.AuthenticateToken("good", "")
	require.NoError(t, err)
	assert.Equal(t, "player-1", p.UserUniqueID)
	_, err = a.AuthenticateToken("", "")
	assert.ErrorIs(t, err, account.ErrTokenMissing)
	view.SessionsRevoked(context.Background(), []storage.Revocation{{SessionID: "sess-1", Reason: storage.ReasonSignedOut, At: t0}})
	_, err = a.AuthenticateToken("good", "")
	assert.ErrorIs(t, err, account.ErrSessionRevoked)
}

func TestWithPlayer(t *testing.T) {
	ctx := middleware.WithPlayer(context.Background(), middleware.Player{UserUniqueID: "u"})
	p, ok := middleware.PlayerFrom(ctx)
	require.True(t, ok)
	assert.Equal(t, "u", p.UserUniqueID)
	_, ok = middleware.PlayerFrom(context.Background())
	assert.False(t, ok)
}
