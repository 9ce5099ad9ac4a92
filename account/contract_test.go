package account_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// Tests of docs/API.md rules that a client written against it relies on and that
// the flow tests do not pin on their own.

// docs/API.md: "Unknown request fields are ignored." Every endpoint that reads a
// body gets fields it does not know, at the top level and nested, next to
// the ones it does.
func TestUnknownFieldsIgnored(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = -1 })
	extra := func(m map[string]any) map[string]any {
		return with(m, "client_version", "1.2.3", "unknown_flag", true, "nested", map[string]any{"a": []any{1, "b", nil}}, "Extra", nil)
	}
	dev := device("dev-x")

	r := e.put("/email/signup", extra(with(dev, "linked_id", "extra@example.com", "linked_password", "12345678", "nickname", "Extra")))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	r = e.put("/email/signin", extra(with(dev, "linked_id", "extra@example.com", "linked_password", "12345678")))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	access, refresh := r.str("Token", "AccessToken"), r.str("Token", "RefreshToken")
	e.secret(access, refresh)

	r = e.put("/token/refresh", extra(map[string]any{"refresh_token": refresh}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	access = r.str("Token", "AccessToken")
	e.secret(access, r.str("Token", "RefreshToken"))

	r = e.put("/token/status", extra(map[string]any{"access_token": access}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.put("/nickname", extra(map[string]any{"nickname": "Extra2"}), bearerOpt(access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.put("/nickname/exists", extra(map[string]any{"nickname": "extra2"}))
	require.Equal(t, "EXISTS", r.str("Status"), r.Raw)
	r = e.put("/password", extra(map[string]any{"linked_password": "12345678", "new_password": "87654321"}), bearerOpt(access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.put("/password/reset", extra(map[string]any{"linked_id": "extra@example.com"}))
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	code := e.mailer.last(t).code
	e.secret(code)
	r = e.put("/password/reset/confirm", extra(map[string]any{"linked_id": "extra@example.com", "code": code, "new_password": "abcdefgh"}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	r = e.put("/guest/signin", extra(device("dev-g")))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	g := r.str("Token", "AccessToken")
	e.secret(g, r.str("Token", "RefreshToken"), r.str("GuestKey"))
	r = e.put("/email/link", extra(map[string]any{"linked_id": "linked-extra@example.com", "linked_password": "12345678"}), bearerOpt(g))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	g = r.str("Token", "AccessToken")
	e.secret(g, r.str("Token", "RefreshToken"))

	r = e.put("/withdrawal", extra(map[string]any{"memo": "bye"}), bearerOpt(g))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	key := r.str("WithdrawalKey")
	e.secret(key)
	r = e.put("/withdrawal/search", extra(map[string]any{"withdrawal_key": key}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.put("/withdrawal/restore", extra(with(dev, "withdrawal_key", key)))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	p := e.signUp("dev-b")
	bk, err := e.svc.BlockPlayer(context.Background(), p.id, BlockSpec{Reason: "r", Services: []string{"chat"}})
	require.NoError(t, err)
	r = e.put("/block/reason", extra(map[string]any{"block_key": bk}))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.put("/signout", extra(map[string]any{"all": true}), bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
}

// docs/API.md: "Bodies over 64 KiB get 413": 64 KiB itself is read.
func TestBodyLimitBoundary(t *testing.T) {
	e := newEnv(t)
	body := func(n int) string {
		const head, tail = `{"nickname":"Edge","x":"`, `"}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}
	exact, over := body(MaxBodyBytes), body(MaxBodyBytes+1)
	require.Len(t, exact, MaxBodyBytes)
	for _, chunked := range []bool{false, true} {
		var opts []reqOpt
		if chunked {
			opts = append(opts, func(r *http.Request) { r.ContentLength = -1 })
		}
		r := e.put("/nickname/exists", exact, opts...)
		require.Equal(t, http.StatusOK, r.Status, "chunked %v: %s", chunked, r.Raw)
		assert.Equal(t, "NOT_EXISTS", r.str("Status"))
		requireError(t, e.put("/nickname/exists", over, opts...), http.StatusRequestEntityTooLarge, CodeInvalidRequest)
	}
}

// docs/API.md puts WWW-Authenticate on the middleware's errors only; the
// handler's answers never carry it.
func TestHandlerSendsNoWWWAuthenticate(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	e.clock.Advance(2 * time.Hour)
	for _, r := range []resp{
		e.call(http.MethodGet, "/token/status", nil),
		e.call(http.MethodGet, "/token/status", nil, bearerOpt("a.b.c")),
		e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)),
		e.put("/signout", nil),
		e.put("/token/refresh", map[string]any{"refresh_token": "nope"}),
		e.put("/email/signin", with(device("d"), "linked_id", p.email, "linked_password", "wrong password")),
	} {
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		assert.Empty(t, r.Header.Values("WWW-Authenticate"), r.Raw)
	}
}

// Every endpoint that docs/API.md marks "Bearer" answers the token rows of the
// error table the same way, on every path and alias.
func TestBearerEndpointsTokenErrors(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	g := e.guest("dev-g")
	type ep struct {
		method, path string
		body         map[string]any
		guest        bool
	}
	eps := []ep{
		{http.MethodGet, "/token/status", nil, false},
		{http.MethodPost, "/api/v20240401/token/status", nil, false},
		{http.MethodPut, "/api/v20240401/alive", nil, false},
		{http.MethodPut, "/signout", nil, false},
		{http.MethodPost, "/api/v20240401/token/signout", nil, false},
		{http.MethodPut, "/email/link", map[string]any{"linked_id": "l@example.com", "linked_password": "12345678"}, true},
		{http.MethodPut, "/password", map[string]any{"linked_password": "correct horse", "new_password": "12345678"}, false},
		{http.MethodGet, "/nickname", nil, false},
		{http.MethodGet, "/api/v20240401/nickname/get", nil, false},
		{http.MethodPut, "/nickname", map[string]any{"nickname": "Someone"}, false},
		{http.MethodPost, "/api/v20240401/nickname/put", map[string]any{"nickname": "Someone"}, false},
		{http.MethodPut, "/withdrawal", nil, false},
		{http.MethodPost, "/api/v20240401/token/withdrawal", nil, false},
	}
	for _, c := range eps {
		t.Run(c.method+c.path, func(t *testing.T) {
			access := p.access
			if c.guest {
				access = g.access
			}
			requireError(t, e.call(c.method, c.path, c.body), http.StatusUnauthorized, CodeTokenMissing)
			requireError(t, e.call(c.method, c.path, c.body, header("Authorization", "Basic "+access)), http.StatusUnauthorized, CodeTokenMissing)
			requireError(t, e.call(c.method, c.path, c.body, bearerOpt("a.b.c")), http.StatusUnauthorized, CodeTokenInvalid)
			requireError(t, e.call(c.method, c.path, c.body, bearerOpt(access+"x")), http.StatusUnauthorized, CodeTokenInvalid)
		})
	}
	e.clock.Advance(time.Hour + 31*time.Second) // past exp and the verifier's skew
	for _, c := range eps {
		access := p.access
		if c.guest {
			access = g.access
		}
		requireError(t, e.call(c.method, c.path, c.body, bearerOpt(access)), http.StatusUnauthorized, CodeTokenExpired)
	}
}

// docs/API.md: passwords have at least 8 characters, not bytes, wherever a new
// one is set.
func TestPasswordLengthInCharacters(t *testing.T) {
	e := newEnv(t)
	seven, eight := "가나다라마바사", "가나다라마바사아" // 21 and 24 bytes
	r := e.put("/email/signup", with(device("d"), "linked_id", "k@example.com", "linked_password", seven))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "linked_password")
	r = e.put("/email/signup", with(device("d"), "linked_id", "k@example.com", "linked_password", eight))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	e.secret(r.str("Token", "AccessToken"), r.str("Token", "RefreshToken"))
	access := r.str("Token", "AccessToken")

	r = e.put("/password", map[string]any{"linked_password": eight, "new_password": seven}, bearerOpt(access))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "new_password")

	g := e.guest("dev-g")
	r = e.put("/email/link", map[string]any{"linked_id": "g@example.com", "linked_password": "1234567"}, bearerOpt(g.access))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "linked_password")

	require.Equal(t, http.StatusAccepted, e.put("/password/reset", map[string]any{"linked_id": "k@example.com"}).Status)
	code := e.mailer.last(t).code
	e.secret(code)
	r = e.put("/password/reset/confirm", map[string]any{"linked_id": "k@example.com", "code": code, "new_password": seven})
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "new_password")
	r = e.put("/password/reset/confirm", map[string]any{"linked_id": " K@Example.com ", "code": code, "new_password": "12345678"})
	require.Equal(t, http.StatusOK, r.Status, "the short password did not spend the code, and the email is normalized: %s", r.Raw)
}

// docs/API.md: JoinPeriod is whole days since the account was created; Offset is
// minutes east of UTC of Timezone, now.
func TestJoinPeriodAndOffset(t *testing.T) {
	e := newEnv(t)
	created := e.clock.Now()
	a := storage.Account{ID: "id", OpenID: "open", LinkedType: storage.LinkEmail, CreatedAt: created, Timezone: "UTC"}
	for _, c := range []struct {
		after time.Duration
		want  int
	}{
		{-time.Hour, 0}, // a clock behind the store's
		{0, 0},
		{23*time.Hour + 59*time.Minute, 0},
		{24 * time.Hour, 1},
		{36 * time.Hour, 1},
		{47*time.Hour + 59*time.Minute, 1},
		{48 * time.Hour, 2},
		{400 * 24 * time.Hour, 400},
	} {
		assert.Equal(t, c.want, e.svc.PlayerAt(a, "", created.Add(c.after)).JoinPeriod, "after %v", c.after)
	}

	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		tz   string
		at   time.Time
		want int
	}{
		{"Asia/Seoul", winter, 540},
		{"Asia/Kathmandu", winter, 345},
		{"Asia/Kolkata", summer, 330},
		{"America/St_Johns", winter, -210},
		{"America/St_Johns", summer, -150},
		{"America/New_York", summer, -240},
		{"Europe/London", summer, 60},
		{"Pacific/Chatham", winter, 825},
		{"Not/AZone", winter, 0}, // unknown: the stored zone, UTC
	} {
		p := e.svc.PlayerAt(a, c.tz, c.at)
		assert.Equal(t, c.want, p.Offset, c.tz)
		if c.tz != "Not/AZone" {
			assert.Equal(t, c.tz, p.Timezone)
		} else {
			assert.Equal(t, "UTC", p.Timezone)
		}
	}
}

// A session that ended for another reason than the withdrawal itself (a
// newer sign-in replaced it, it was signed out, its refresh token was
// reused, a password change or an admin ended it) must not learn the
// account's withdrawal key, a bearer secret that restores the account, nor
// the details of its block. It gets its own answer, as a refresh of it
// would without the withdrawal. The sessions the withdrawal ended still see
// ACCOUNT_WITHDRAWN with the key (TestWithdrawalAndRestore).
func TestEndedSessionLearnsNoAccountSecrets(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		end  func(e *env, old, cur player)
		code string
	}{
		{"replaced", func(*env, player, player) {}, CodeSessionReplaced},
		{"signed out", func(e *env, old, _ player) {
			require.Equal(e.t, http.StatusOK, e.put("/signout", nil, bearerOpt(old.access)).Status)
		}, CodeSessionRevoked},
		{"reused", func(e *env, old, _ player) {
			require.Equal(e.t, http.StatusOK, e.put("/token/refresh", map[string]any{"refresh_token": old.refresh}).Status)
			e.clock.Advance(time.Minute)
			requireError(e.t, e.put("/token/refresh", map[string]any{"refresh_token": old.refresh}), http.StatusUnauthorized, CodeRefreshReused)
		}, CodeSessionRevoked},
		{"password changed", func(e *env, _, cur player) {
			r := e.put("/password", map[string]any{"linked_password": cur.password, "new_password": "brand new pass"}, bearerOpt(cur.access))
			require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		}, CodeSessionRevoked},
		{"admin", func(e *env, old, _ player) {
			// Revoke all, then sign in again: only old stays ended.
			require.NoError(e.t, e.svc.RevokePlayerSessions(ctx, old.id))
		}, CodeSessionRevoked},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keep := 2
			if c.code == CodeSessionReplaced {
				keep = 0 // single-device: the second sign-in replaces the first
			}
			e := newEnv(t, func(cfg *envConfig) { cfg.MaxSessions = keep })
			old := e.signUp("dev-old")
			cur := e.signIn(old, "dev-new")
			c.end(e, old, cur)
			cur.password = "brand new pass"
			if c.name != "password changed" {
				cur.password = old.password
			}
			cur = e.signIn(cur, "dev-new")

			// requireError also checks that no WithdrawalKey, BlockKey or
			// ErrorData comes with the answer.
			check := func() {
				t.Helper()
				r := e.call(http.MethodGet, "/token/status", nil, bearerOpt(old.access))
				requireError(t, r, http.StatusUnauthorized, c.code)
				r = e.put("/token/refresh", map[string]any{"refresh_token": old.refresh})
				requireError(t, r, http.StatusUnauthorized, c.code)
				r = e.put("/nickname", map[string]any{"nickname": "Thief"}, bearerOpt(old.access))
				requireError(t, r, http.StatusUnauthorized, c.code)
			}

			// Blocked: the ended session is told it ended, not the block.
			_, err := e.svc.BlockPlayer(ctx, old.id, BlockSpec{Reason: "r"})
			require.NoError(t, err)
			check()
			require.NoError(t, e.svc.UnblockPlayer(ctx, old.id))

			// Withdrawn: the key goes to the current session's holder only.
			key := e.withdraw(cur, nil)
			check()
			r := e.call(http.MethodGet, "/token/status", nil, bearerOpt(cur.access))
			requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
			assert.Equal(t, key, r.str("WithdrawalKey"))
		})
	}
}

// docs/API.md: nicknames are unique case-insensitively. Two nicknames that are
// the same text in different Unicode normal forms ("é" as one code point or
// as "e" and a combining accent) look the same and are one nickname; it is
// kept in NFC.
func TestNicknameUnicodeEquivalence(t *testing.T) {
	e := newEnv(t)
	p, q := e.signUp("dev-a"), e.signUp("dev-b")
	decomposed, composed := "Cafe\u0301", "Café"
	r := e.put("/nickname", map[string]any{"nickname": decomposed}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, composed, r.str("Nickname"), "stored and answered in NFC")
	assert.Equal(t, composed, e.call(http.MethodGet, "/nickname", nil, bearerOpt(p.access)).str("Nickname"))

	assert.Equal(t, "EXISTS", e.put("/nickname/exists", map[string]any{"nickname": "CAFÉ"}).str("Status"))
	assert.Equal(t, "EXISTS", e.put("/nickname/exists", map[string]any{"nickname": "CAFE\u0301"}).str("Status"))
	requireError(t, e.put("/nickname", map[string]any{"nickname": "café"}, bearerOpt(q.access)), http.StatusConflict, CodeNicknameTaken)
	requireError(t, e.put("/email/signup", with(device("d"), "linked_id", "c@example.com", "linked_password", "12345678", "nickname", "cafe\u0301")),
		http.StatusConflict, CodeNicknameTaken)

	// Twenty characters as the player sees them, whatever the form sent.
	twenty := strings.Repeat("e\u0301", 20) // 40 code points, 20 in NFC
	r = e.put("/nickname", map[string]any{"nickname": twenty}, bearerOpt(q.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, strings.Repeat("é", 20), r.str("Nickname"))
}

// INVALID_REQUEST names the field and says what it must be: a client that
// sent a fraction for a count of days is not told "must be a JSON number".
func TestInvalidRequestSaysWhatTheFieldMustBe(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	for body, want := range map[string]string{
		`{"period":1.5}`:   "period: must be a JSON whole number",
		`{"period":"7"}`:   "period: must be a JSON whole number",
		`{"period":1e400}`: "period: must be a JSON whole number",
		`{"memo":7}`:       "memo: must be a JSON string",
		`{"memo":["x"]}`:   "memo: must be a JSON string",
	} {
		r := e.put("/withdrawal", body, bearerOpt(p.access))
		requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
		assert.Equal(t, want, r.str("Message"), body)
	}
	r := e.put("/signout", `{"all":1}`, bearerOpt(p.access))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Equal(t, "all: must be a JSON boolean", r.str("Message"))
}

// docs/API.md: inside the grace window (default 10 s) a client that lost the
// answer to its refresh gets the same new refresh token again, and an access
// token of the same session; from the window's end on, the old token is
// reuse. The window runs from the rotation, and a retry does not extend it.
func TestRefreshGraceWindowBounds(t *testing.T) {
	for _, c := range []struct {
		name  string
		grace time.Duration
	}{{"default", 0}, {"configured", 3 * time.Second}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *envConfig) { cfg.RefreshGrace = c.grace })
			window := c.grace
			if window == 0 {
				window = DefaultRefreshGrace
			}
			require.Equal(t, 10*time.Second, DefaultRefreshGrace, "docs/API.md's default")

			p := e.signUp("dev-a")
			r := e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			next := r.str("Token", "RefreshToken")
			e.secret(next, r.str("Token", "AccessToken"))

			e.clock.Advance(window - time.Millisecond)
			r = e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, next, r.str("Token", "RefreshToken"))
			e.secret(r.str("Token", "AccessToken"))
			assert.Equal(t, sessionOf(t, e, p.access), sessionOf(t, e, r.str("Token", "AccessToken")))

			e.clock.Advance(time.Millisecond) // the window's end: no longer inside
			requireError(t, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}), http.StatusUnauthorized, CodeRefreshReused)
			requireError(t, e.put("/token/refresh", map[string]any{"refresh_token": next}), http.StatusUnauthorized, CodeSessionRevoked)
		})
	}
}

// The withdrawal key a later sign-in shows is the one /withdrawal gave, also
// after the signing key was rotated: it is derived from the server secret,
// which rotation keeps.
func TestWithdrawalKeySurvivesKeyRotation(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	key := e.withdraw(p, nil)
	_, err := e.svc.RotateSigningKey(context.Background())
	require.NoError(t, err)
	r := e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password))
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
	assert.Equal(t, key, r.str("WithdrawalKey"))
	require.Equal(t, http.StatusOK, e.put("/withdrawal/search", map[string]any{"withdrawal_key": r.str("WithdrawalKey")}).Status)
}

// docs/API.md: a withdrawn account signs in nowhere until restored — a guest
// with its key included — and after the grace period it counts as purged.
func TestWithdrawnGuest(t *testing.T) {
	e := newEnv(t)
	g := e.guest("dev-g")
	key := e.withdraw(g, nil)
	signIn := func() resp { return e.put("/guest/signin", with(device("dev-g"), "guest_key", g.guestKey)) }

	r := signIn()
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
	assert.Equal(t, key, r.str("WithdrawalKey"))
	require.Equal(t, http.StatusOK, e.put("/withdrawal/restore", with(device("dev-g"), "withdrawal_key", key)).Status)
	r = signIn()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	e.secret(r.str("Token", "AccessToken"), r.str("Token", "RefreshToken"))
	assert.Equal(t, g.id, r.str("Player", "UserUniqueID"))

	g.access = r.str("Token", "AccessToken")
	e.withdraw(g, map[string]any{"period": 1})
	e.clock.Advance(24 * time.Hour)
	requireError(t, signIn(), http.StatusUnauthorized, CodeInvalidCredentials)
}

// Text no store keeps faithfully — bytes that are not UTF-8, and NUL — is
// refused with INVALID_REQUEST naming the field, in every field of every
// endpoint, before any store sees it (PostgreSQL answered NUL with a store
// failure, 503, and invalid UTF-8 was quietly replaced, so "\xffX@b.c" and
// "\xfeX@b.c" signed in to one account).
func TestHostileText(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	g := e.guest("dev-g")
	dev := `"platform":"pc","device_id":"d1"`
	type tc struct {
		path, body, field string
		auth              string
	}
	var cases []tc
	for _, bad := range []struct{ name, text string }{{"NUL", `x\u0000y`}, {"invalid UTF-8", "x\xffy"}} {
		for _, c := range []tc{
			{"/guest/signin", `{"platform":"` + bad.text + `","device_id":"d1"}`, "platform", ""},
			{"/guest/signin", `{"platform":"pc","device_id":"` + bad.text + `"}`, "device_id", ""},
			{"/guest/signin", `{"platform":"pc","device_id":"d1","device_model":"` + bad.text + `"}`, "device_model", ""},
			{"/guest/signin", `{"platform":"pc","device_id":"d1","device_os":"` + bad.text + `"}`, "device_os", ""},
			{"/guest/signin", `{"platform":"pc","device_id":"d1","device_language":"` + bad.text + `"}`, "device_language", ""},
			{"/guest/signin", `{` + dev + `,"guest_key":"` + bad.text + `"}`, "guest_key", ""},
			{"/email/signup", `{` + dev + `,"linked_id":"` + bad.text + `@b.co","linked_password":"12345678"}`, "linked_id", ""},
			{"/email/signup", `{` + dev + `,"linked_id":"n@b.co","linked_password":"1234567` + bad.text + `"}`, "linked_password", ""},
			{"/email/signup", `{` + dev + `,"linked_id":"n@b.co","linked_password":"12345678","nickname":"` + bad.text + `"}`, "nickname", ""},
			{"/email/signin", `{` + dev + `,"linked_id":"` + bad.text + `@b.co","linked_password":"12345678"}`, "linked_id", ""},
			{"/email/signin", `{` + dev + `,"linked_id":"` + p.email + `","linked_password":"` + bad.text + `"}`, "linked_password", ""},
			{"/password/reset", `{"linked_id":"` + bad.text + `@b.co"}`, "linked_id", ""},
			{"/password/reset/confirm", `{"linked_id":"` + bad.text + `@b.co","code":"12345678","new_password":"12345678"}`, "linked_id", ""},
			{"/password/reset/confirm", `{"linked_id":"n@b.co","code":"` + bad.text + `","new_password":"12345678"}`, "code", ""},
			{"/nickname/exists", `{"nickname":"` + bad.text + `"}`, "nickname", ""},
			{"/withdrawal/search", `{"withdrawal_key":"` + bad.text + `"}`, "withdrawal_key", ""},
			{"/withdrawal/restore", `{` + dev + `,"withdrawal_key":"` + bad.text + `"}`, "withdrawal_key", ""},
			{"/block/reason", `{"block_key":"` + bad.text + `"}`, "block_key", ""},
			{"/nickname", `{"nickname":"` + bad.text + `"}`, "nickname", p.access},
			{"/password", `{"linked_password":"` + bad.text + `","new_password":"12345678"}`, "linked_password", p.access},
			{"/withdrawal", `{"memo":"` + bad.text + `"}`, "memo", p.access},
			{"/email/link", `{"linked_id":"` + bad.text + `@b.co","linked_password":"12345678"}`, "linked_id", g.access},
		} {
			c.field = bad.name + " " + c.field
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		t.Run(c.field+" "+c.path, func(t *testing.T) {
			var opts []reqOpt
			if c.auth != "" {
				opts = append(opts, bearerOpt(c.auth))
			}
			r := e.put(c.path, c.body, opts...)
			requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
			field := c.field[strings.LastIndexByte(c.field, ' ')+1:]
			assert.True(t, strings.HasPrefix(r.str("Message"), field+": "), "names %s: %s", field, r.Raw)
		})
	}

	// The report's case: two emails that differ in a byte that is not UTF-8
	// are not one account.
	r := e.put("/email/signup", "{"+dev+`,"linked_id":"`+"\xffX@b.co"+`","linked_password":"12345678"}`)
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Equal(t, "linked_id: is not valid UTF-8", r.str("Message"))
	// A body that is not a JSON object is still refused as a whole.
	r = e.put("/guest/signin", "[\"\xff\"]")
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Equal(t, "request body is not valid UTF-8", r.str("Message"))
}

// The Go API refuses the same text: a game's own protocol hands the service
// whatever bytes arrived.
func TestHostileTextThroughTheGoAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, bad := range []string{"x\x00y", "x\xffy"} {
		_, err := e.svc.SignInGuest(ctx, Client{Device: DeviceInfo{Platform: bad, DeviceID: "d"}}, "")
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = e.svc.SignUpEmail(ctx, Client{Device: DeviceInfo{Platform: "pc", DeviceID: "d"}}, bad+"@b.co", "12345678", "")
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = e.svc.BlockReason(ctx, bad)
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = e.svc.BlockDevice(ctx, bad, BlockSpec{Reason: "r"})
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = e.svc.BlockDevice(ctx, "d", BlockSpec{Reason: bad})
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = e.svc.NicknameExists(ctx, bad)
		assert.ErrorIs(t, err, ErrInvalidRequest)
	}
}

// docs/API.md's error table and Codes are one list: a code added to one
// and not the other fails here.
func TestErrorTableMatchesCodes(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "API.md"))
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(doc), "| HTTP | ErrorCode | when | extra fields |")
	require.True(t, ok)
	table, _, _ = strings.Cut(table, "\n\n")
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([A-Z_]+)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[2])
		code := m[2]
		e := &Error{Code: code}
		for _, s := range Sentinels() {
			if s.Code == code {
				e = s
			}
		}
		assert.Equal(t, m[1], strconv.Itoa(e.Status), "%s's status", code)
	}
	assert.ElementsMatch(t, Codes(), documented)
}

// TestNullBodyIsAnEmptyObject pins docs/API.md: an empty body and a JSON
// null are an empty object; any other body that is not one object is 400.
func TestNullBodyIsAnEmptyObject(t *testing.T) {
	e := newEnv(t)
	p := e.guest("dev-a")
	for _, body := range []string{"", "null", "{}"} {
		r := e.put("/email/signup", body)
		requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
		assert.Contains(t, r.str("Message"), "is required", "%q: a missing field, as for {}", body)
		r = e.put("/token/status", body, bearerOpt(p.access))
		assert.Equal(t, http.StatusOK, r.Status, "%q: no field is required: %s", body, r.Raw)
	}
	for _, body := range []string{"[]", `"x"`, "1", "true", "{} {}"} {
		r := e.put("/token/status", body, bearerOpt(p.access))
		requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	}
}
