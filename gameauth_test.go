package gameauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/sqlite"
	"github.com/gameauth/gameauth/tokens"
)

// cheap keeps argon2 fast in tests.
var cheap = account.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// server is a game server as a host would write it.
func server(t testing.TB, auth *gameauth.GameAuth) *httptest.Server {
	srv := httptest.NewServer(hostRoutes(auth))
	t.Cleanup(srv.Close)
	return srv
}

// hostRoutes are the routes of that game server: the account handler,
// game routes behind the middleware, and a JSON 404 for the rest (a
// ServeMux would answer plain text).
func hostRoutes(auth *gameauth.GameAuth) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such route"})
	})
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.PlayerFrom(r.Context())
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(p)
	})
	mux.Handle("GET /me", auth.Middleware()(me))
	mux.Handle("GET /chat", auth.Middleware(middleware.Service("chat"))(me))
	mux.Handle("GET /lobby", auth.Middleware(middleware.Optional())(me))
	return mux
}

type reply struct {
	status int
	body   map[string]any
}

func call(t testing.TB, method, url, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return reply{res.StatusCode, m}
}

func tokensOf(t testing.TB, r reply) (access, refresh string) {
	t.Helper()
	tok, ok := r.body["Token"].(map[string]any)
	require.True(t, ok, "no Token in %v", r.body)
	return tok["AccessToken"].(string), tok["RefreshToken"].(string)
}

func signUp(t testing.TB, base, email, nickname, device string) (access, refresh string, player map[string]any) {
	t.Helper()
	r := call(t, "POST", base+"/auth/email/signup", "", map[string]any{
		"linked_id": email, "linked_password": "correct horse", "nickname": nickname,
		"platform": "pc", "device_id": device,
	})
	require.Equal(t, http.StatusCreated, r.status, r.body)
	access, refresh = tokensOf(t, r)
	return access, refresh, r.body["Player"].(map[string]any)
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{Store: memory.New(), Account: account.Config{PasswordHashing: cheap}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, auth.Close()) })
	base := server(t, auth).URL

	access, refresh, player := signUp(t, base, "ada@example.com", "Ada", "laptop-1")
	id := player["UserUniqueID"].(string)

	me := call(t, "GET", base+"/me", access, nil)
	require.Equal(t, http.StatusOK, me.status)
	assert.Equal(t, id, me.body["UserUniqueID"])
	assert.Equal(t, "Ada", me.body["Nickname"])
	assert.Equal(t, "laptop-1", me.body["DeviceID"])
	assert.Equal(t, player["OpenID"], me.body["OpenID"])

	// Anonymous requests pass optional routes only.
	assert.Equal(t, http.StatusUnauthorized, call(t, "GET", base+"/me", "", nil).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/lobby", "", nil).status)

	// A chat block refuses chat, and nothing else, from the next request.
	key, err := auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "spam", Services: []string{"chat"}})
	require.NoError(t, err)
	r := call(t, "GET", base+"/chat", access, nil)
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "ACCOUNT_BLOCKED", r.body["ErrorCode"])
	assert.Equal(t, key, r.body["BlockKey"])
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/me", access, nil).status)

	// An account-wide block refuses every route at once; unblocking lifts it.
	_, err = auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "abuse", Until: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, call(t, "GET", base+"/me", access, nil).status)
	require.NoError(t, auth.Service().UnblockPlayer(ctx, id))
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/me", access, nil).status)
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/chat", access, nil).status)

	// Refresh rotates; after a key rotation old and new tokens both verify.
	r = call(t, "POST", base+"/auth/token/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusOK, r.status, r.body)
	access2, _ := tokensOf(t, r)
	_, err = auth.Service().RotateSigningKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/me", access2, nil).status)
	jwks := call(t, "GET", base+"/auth/.well-known/jwks.json", "", nil)
	assert.Len(t, jwks.body["keys"], 2)

	// A device block refuses the device's tokens.
	_, err = auth.Service().BlockDevice(ctx, "laptop-1", account.BlockSpec{Reason: "cheat"})
	require.NoError(t, err)
	r = call(t, "GET", base+"/me", access2, nil)
	assert.Equal(t, "DEVICE_BLOCKED", r.body["ErrorCode"])
	require.NoError(t, auth.Service().UnblockDevice(ctx, "laptop-1"))

	// Sign-out revokes the session at the middleware at once.
	r = call(t, "POST", base+"/auth/signout", access2, nil)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = call(t, "GET", base+"/me", access2, nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "SESSION_REVOKED", r.body["ErrorCode"])
}

func TestSignInOnAnotherDeviceReplacesTheSession(t *testing.T) {
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New(), Account: account.Config{PasswordHashing: cheap}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base := server(t, auth).URL
	first, _, _ := signUp(t, base, "bo@example.com", "Bo", "phone")
	r := call(t, "POST", base+"/auth/email/signin", "", map[string]any{
		"linked_id": "bo@example.com", "linked_password": "correct horse", "platform": "pc", "device_id": "tablet",
	})
	require.Equal(t, http.StatusOK, r.status, r.body)
	second, _ := tokensOf(t, r)
	r = call(t, "GET", base+"/me", first, nil)
	assert.Equal(t, "SESSION_REPLACED", r.body["ErrorCode"])
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/me", second, nil).status)
}

func TestRestartKeepsKeysAndRevocations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "game.db")
	auth, err := gameauth.New(ctx, gameauth.Config{DBPath: path, Account: account.Config{PasswordHashing: cheap}})
	require.NoError(t, err)
	srv := server(t, auth)
	access, _, _ := signUp(t, srv.URL, "cy@example.com", "Cy", "pc-1")
	other, _, _ := signUp(t, srv.URL, "di@example.com", "Di", "pc-2")
	require.Equal(t, http.StatusOK, call(t, "POST", srv.URL+"/auth/signout", other, nil).status)
	srv.Close()
	require.NoError(t, auth.Close())
	require.NoError(t, auth.Close(), "Close twice is fine")
	_, err = os.Stat(path)
	require.NoError(t, err, "the embedded default is a SQLite file at DBPath")

	// A new process on the same file verifies the old tokens (same key ring)
	// and still refuses the signed-out session (view loaded from the store).
	auth, err = gameauth.New(ctx, gameauth.Config{DBPath: path, Account: account.Config{PasswordHashing: cheap}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base := server(t, auth).URL
	assert.Equal(t, http.StatusOK, call(t, "GET", base+"/me", access, nil).status)
	r := call(t, "GET", base+"/me", other, nil)
	assert.Equal(t, "SESSION_REVOKED", r.body["ErrorCode"])
}

func TestTwoNodesShareRevocationsOverRedis(t *testing.T) {
	url := os.Getenv("GAMEAUTH_TEST_REDIS")
	if url == "" {
		t.Skip("GAMEAUTH_TEST_REDIS not set: skipping the Redis broadcast test")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	// Two nodes on one store: each its own connection pool, as two
	// processes would have. A long SyncInterval shows that the broadcast,
	// not the periodic reconciliation, carries the block.
	node := func() (*gameauth.GameAuth, string) {
		store, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		auth, err := gameauth.New(ctx, gameauth.Config{Store: store, RedisURL: url, Account: account.Config{PasswordHashing: cheap}, Revocation: revocation.Config{Interval: time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = auth.Close(); _ = store.Close() })
		return auth, server(t, auth).URL
	}
	a, baseA := node()
	_, baseB := node()
	access, _, player := signUp(t, baseA, "eve@example.com", "Eve", "pc-1")
	require.Equal(t, http.StatusOK, call(t, "GET", baseB+"/me", access, nil).status)

	_, err := a.Service().BlockPlayer(ctx, player["UserUniqueID"].(string), account.BlockSpec{Reason: "abuse"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return call(t, "GET", baseB+"/me", access, nil).status == http.StatusForbidden
	}, 2*time.Second, 2*time.Millisecond, "node B refuses the token blocked on node A")
}

func ExampleNew() {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{
		Store: memory.New(), // default: SQLite in ./gameauth.db
		Account: account.Config{
			PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}, // default: OWASP's argon2id; cheap for the example
		},
	})
	if err != nil {
		panic(err)
	}
	defer auth.Close()

	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("GET /me", auth.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.PlayerFrom(r.Context())
		fmt.Fprintf(w, "hello %s", p.Nickname)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, _ := http.Post(srv.URL+"/auth/email/signup", "application/json", bytes.NewBufferString(
		`{"linked_id":"ada@example.com","linked_password":"correct horse","nickname":"Ada","platform":"pc","device_id":"d1"}`))
	var signup struct{ Token struct{ AccessToken string } }
	_ = json.NewDecoder(res.Body).Decode(&signup)
	res.Body.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+signup.Token.AccessToken)
	res, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, string(body))
	// Output: 200 hello Ada
}

// A blocked player meets one answer, whichever part refuses it: the
// middleware on a game route, or the handler's token status.
func TestBlockedAnswerIsTheSameFromMiddlewareAndHandler(t *testing.T) {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{Store: memory.New(), Account: account.Config{PasswordHashing: cheap}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	base := server(t, auth).URL
	access, _, player := signUp(t, base, "fay@example.com", "Fay", "pc-9")
	id := player["UserUniqueID"].(string)

	for _, until := range []time.Time{{}, time.Now().Add(48 * time.Hour).Truncate(time.Second)} {
		_, err := auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "abuse", Until: until})
		require.NoError(t, err)
		fromMiddleware := call(t, "GET", base+"/me", access, nil)
		fromHandler := call(t, "GET", base+"/auth/token/status", access, nil)
		require.Equal(t, http.StatusForbidden, fromMiddleware.status)
		require.Equal(t, http.StatusForbidden, fromHandler.status)
		assert.Equal(t, fromHandler.body, fromMiddleware.body)
		data := fromMiddleware.body["ErrorData"].(map[string]any)
		assert.Equal(t, map[string]any{"uuid": id, "nickname": "Fay", "blockReason": "abuse", "blockDate": data["blockDate"]}, data)
		require.NoError(t, auth.Service().UnblockPlayer(ctx, id))
	}

	_, err = auth.Service().BlockDevice(ctx, "pc-9", account.BlockSpec{Reason: "cheat"})
	require.NoError(t, err)
	fromMiddleware := call(t, "GET", base+"/me", access, nil)
	fromHandler := call(t, "GET", base+"/auth/token/status", access, nil)
	assert.Equal(t, "DEVICE_BLOCKED", fromMiddleware.body["ErrorCode"])
	assert.Equal(t, fromHandler.body, fromMiddleware.body)
}

// Every part's knobs reach through gameauth.Config: the middleware's token
// fallbacks and error writer, the handler's trusted proxies, the tokens'
// lifetime, the service's limits, the clock.
func TestConfigReachesEveryPart(t *testing.T) {
	ctx := context.Background()
	clock := testclock.Default()
	var written []string
	auth, err := gameauth.New(ctx, gameauth.Config{
		Store:   memory.New(),
		Tokens:  tokens.Config{AccessTTL: 10 * time.Minute},
		Account: account.Config{PasswordHashing: cheap, SignInLimit: 1},
		Handler: account.HandlerConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Middleware: middleware.Config{
			Fallbacks: []middleware.TokenSource{middleware.FromSubprotocol("access_token.")},
			ErrorWriter: func(w http.ResponseWriter, r *http.Request, err error) {
				written = append(written, err.Error())
				middleware.WriteError(w, err)
			},
		},
		Clock: clock.Now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := server(t, auth)

	r := call(t, "POST", srv.URL+"/auth/guest/signin", "", map[string]any{"platform": "pc", "device_id": "d1"})
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.Equal(t, 600.0, r.body["Token"].(map[string]any)["ExpiresIn"], "Tokens.AccessTTL")
	access, _ := tokensOf(t, r)

	// A WebSocket client offers its token as a subprotocol.
	req, err := http.NewRequest("GET", srv.URL+"/me", nil)
	require.NoError(t, err)
	req.Header.Set("Sec-WebSocket-Protocol", "game.v1, access_token."+access)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "Middleware.Fallbacks")
	assert.Equal(t, http.StatusUnauthorized, call(t, "GET", srv.URL+"/me", "", nil).status)
	assert.Equal(t, []string{"TOKEN_MISSING: no access token"}, written, "Middleware.ErrorWriter")

	// One sign-up a minute per address, and the address is the proxy's
	// client: a second address still gets its own.
	signupFrom := func(addr string) int {
		b, _ := json.Marshal(map[string]any{"platform": "pc", "device_id": "d2"})
		req, err := http.NewRequest("POST", srv.URL+"/auth/guest/signin", bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("X-Forwarded-For", addr)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusCreated, signupFrom("198.51.100.1"))
	assert.Equal(t, http.StatusTooManyRequests, signupFrom("198.51.100.1"), "Account.SignInLimit")
	assert.Equal(t, http.StatusCreated, signupFrom("198.51.100.2"), "Handler.TrustedProxies")

	// The clock reaches the tokens: ten minutes and the skew later, the
	// token has expired.
	clock.Advance(10*time.Minute + 31*time.Second)
	assert.Equal(t, "TOKEN_EXPIRED", call(t, "GET", srv.URL+"/me", access, nil).body["ErrorCode"])
}

// backends are the shipped stores a test runs on: SQLite always,
// PostgreSQL when GAMEAUTH_TEST_POSTGRES names one (each in a fresh schema).
func backends(t *testing.T) map[string]func(t *testing.T) storage.Store {
	m := map[string]func(t *testing.T) storage.Store{
		"sqlite": func(t *testing.T) storage.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gameauth.db"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
	if dsn := os.Getenv("GAMEAUTH_TEST_POSTGRES"); dsn != "" {
		m["postgres"] = func(t *testing.T) storage.Store {
			s, err := postgres.Open(context.Background(), dsn, postgres.Schema("t_"+strings.ToLower(rand.Text())))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	} else {
		t.Log("GAMEAUTH_TEST_POSTGRES unset: PostgreSQL not tested")
	}
	return m
}

// NUL and bytes that are not UTF-8 are answered 400 INVALID_REQUEST on
// every backend: PostgreSQL answered NUL with 503 (its text cannot hold
// it), and invalid UTF-8 was silently replaced on both.
func TestHostileTextOnEveryBackend(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			auth, err := gameauth.New(context.Background(), gameauth.Config{Store: open(t), Account: account.Config{PasswordHashing: cheap}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = auth.Close() })
			srv := server(t, auth)
			for _, c := range []struct{ path, body, field string }{
				{"/auth/guest/signin", `{"platform":"pc\u0000","device_id":"d1"}`, "platform"},
				{"/auth/email/signin", `{"platform":"pc","device_id":"d1","linked_id":"a\u0000@b.co","linked_password":"12345678"}`, "linked_id"},
				{"/auth/password/reset/confirm", `{"linked_id":"a\u0000@b.co","code":"12345678","new_password":"12345678"}`, "linked_id"},
				{"/auth/block/reason", `{"block_key":"k\u0000"}`, "block_key"},
				{"/auth/email/signup", "{\"platform\":\"pc\",\"device_id\":\"d1\",\"linked_id\":\"\xffX@b.c\",\"linked_password\":\"12345678\"}", "linked_id"},
				{"/auth/email/signup", "{\"platform\":\"pc\",\"device_id\":\"d1\",\"linked_id\":\"\xfeX@b.c\",\"linked_password\":\"12345678\"}", "linked_id"},
			} {
				res, err := http.Post(srv.URL+c.path, "application/json", strings.NewReader(c.body))
				require.NoError(t, err)
				var body map[string]any
				require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
				res.Body.Close()
				assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s %q: %v", c.path, c.body, body)
				assert.Equal(t, "INVALID_REQUEST", body["ErrorCode"])
				assert.True(t, strings.HasPrefix(body["Message"].(string), c.field+": "), "%v", body)
			}
		})
	}
}

// The older PlayNANOO plugin's AccountTokenRefresh branches on ErrorCode
// "30007" to read WithdrawalKey and on "70002" to read BlockKey; in legacy
// mode the handler and the middleware answer its numbers, with the same
// statuses, and every other code as the contract has it.
func TestLegacyErrorCodes(t *testing.T) {
	ctx := context.Background()
	auth, err := gameauth.New(ctx, gameauth.Config{Store: memory.New(), ErrorCodes: account.LegacyCodes,
		Account: account.Config{PasswordHashing: cheap, MaxSessions: -1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := server(t, auth)

	// What the plugin does with a refresh's answer.
	type pluginAnswer struct{ code, message, withdrawalKey, blockKey string }
	refresh := func(tok string) (int, pluginAnswer) {
		r := call(t, "POST", srv.URL+"/auth/token/refresh", "", map[string]any{"refresh_token": tok})
		var a pluginAnswer
		a.code, _ = r.body["ErrorCode"].(string)
		a.message, _ = r.body["Message"].(string)
		switch a.code {
		case "30007":
			a.withdrawalKey, _ = r.body["WithdrawalKey"].(string)
		case "70002":
			a.blockKey, _ = r.body["BlockKey"].(string)
		}
		return r.status, a
	}

	access, rt, player := signUp(t, srv.URL, "old@example.com", "Oldie", "d1")
	id := player["UserUniqueID"].(string)
	key, err := auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "cheating"})
	require.NoError(t, err)
	status, a := refresh(rt)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, pluginAnswer{code: "70002", message: "BlockedAccountException", blockKey: key}, a)
	assert.Equal(t, "70002", call(t, "GET", srv.URL+"/me", access, nil).body["ErrorCode"], "the middleware alike")
	require.NoError(t, auth.Service().UnblockPlayer(ctx, id))

	w := call(t, "POST", srv.URL+"/auth/withdrawal", access, map[string]any{})
	require.Equal(t, http.StatusOK, w.status)
	status, a = refresh(rt)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "30007", a.code)
	assert.Equal(t, "WithDrawalException", a.message)
	assert.Equal(t, w.body["WithdrawalKey"], a.withdrawalKey)

	for _, c := range []struct {
		method, path, token string
		body                any
		status              int
		code, message       string
	}{
		{"GET", "/me", "", nil, 401, "30005", "NullTokenException"},
		{"GET", "/me", "a.b.c", nil, 401, "30001", "NotMatchAccountException"},
		{"GET", "/auth/token/status", "", nil, 401, "30005", "NullTokenException"},
		{"POST", "/auth/email/signin", "", map[string]any{"linked_id": "x@example.com", "linked_password": "wrong pass", "platform": "pc", "device_id": "d"}, 401, "30001", "NotMatchAccountException"},
		{"POST", "/auth/email/signup", "", map[string]any{"linked_id": "bad"}, 400, "INVALID_REQUEST", ""},
	} {
		r := call(t, c.method, srv.URL+c.path, c.token, c.body)
		assert.Equal(t, c.status, r.status, c.path)
		assert.Equal(t, c.code, r.body["ErrorCode"], c.path)
		if c.message != "" {
			assert.Equal(t, c.message, r.body["Message"], c.path)
		}
	}
}

// gatedAuditStore is the memory store whose audit writes wait for gate.
type gatedAuditStore struct {
	*memory.Store
	gate chan struct{}
}

func (g gatedAuditStore) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Store.AppendAudit(ctx, events)
}

// Close writes the audit log's pending events before it returns (the log
// writes behind the requests).
func TestCloseWritesPendingAuditEvents(t *testing.T) {
	ctx := context.Background()
	st := gatedAuditStore{Store: memory.New(), gate: make(chan struct{})}
	g, err := gameauth.New(ctx, gameauth.Config{Store: st})
	require.NoError(t, err)
	_, err = g.Service().SignInGuest(ctx, account.Client{Device: account.DeviceInfo{Platform: "pc", DeviceID: "dev-1"}}, "")
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned with an audit event unwritten")
	case <-time.After(20 * time.Millisecond):
	}
	close(st.gate)
	require.NoError(t, <-closed)
	evs, err := st.ListAudit(ctx, storage.AuditFilter{}, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, account.EventSignUp, evs[0].Kind)
}
