package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

var playerKeys = []string{"UserUniqueID", "OpenID", "Nickname", "LinkedID", "LinkedType",
	"PurchaseCount", "PurchaseCurrencyCode", "PurchaseTotalPrice", "PurchaseVoidedCount",
	"PurchaseVoidedCurrencyCode", "PurchaseVoidedTotalPrice", "Country", "Timezone", "Offset", "JoinPeriod"}

func requireTokenResponse(t *testing.T, r resp) {
	t.Helper()
	tok, ok := r.Body["Token"].(map[string]any)
	require.True(t, ok, r.Raw)
	assert.ElementsMatch(t, []string{"AccessToken", "RefreshToken", "ExpiresIn"}, keys(tok))
	assert.NotEmpty(t, tok["AccessToken"])
	assert.NotEmpty(t, tok["RefreshToken"])
	assert.Equal(t, 3600.0, tok["ExpiresIn"])
	pl, ok := r.Body["Player"].(map[string]any)
	require.True(t, ok, r.Raw)
	assert.ElementsMatch(t, playerKeys, keys(pl))
	assert.NotEqual(t, pl["UserUniqueID"], pl["OpenID"])
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestSignUpAndSignIn(t *testing.T) {
	e := newEnv(t)
	r := e.put("/email/signup", with(device("dev-a"), "linked_id", "  Hero@Example.COM ", "linked_password", "correct horse", "nickname", "Hero"))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	requireTokenResponse(t, r)
	assert.Equal(t, "hero@example.com", r.str("Player", "LinkedID"))
	assert.Equal(t, "email", r.str("Player", "LinkedType"))
	assert.Equal(t, "Hero", r.str("Player", "Nickname"))
	assert.Equal(t, "KR", r.str("Player", "Country"), "from device_language KO")
	assert.Equal(t, "UTC", r.str("Player", "Timezone"))
	assert.Equal(t, 0.0, r.num("Player", "Offset"))
	assert.Equal(t, 0.0, r.num("Player", "JoinPeriod"))
	assert.NotContains(t, r.Body, "GuestKey")
	id := r.str("Player", "UserUniqueID")

	// The access token names the player and the session.
	claims, err := e.toks.Verifier.Verify(r.str("Token", "AccessToken"))
	require.NoError(t, err)
	assert.Equal(t, id, claims.Subject)
	assert.Equal(t, "Hero", claims.Nickname)
	assert.Equal(t, "dev-a", claims.DeviceID)
	assert.Len(t, claims.SessionID, 22)

	e.clock.Advance(50 * time.Hour)
	for _, path := range []string{"/email/signin", "/api/v20240101/email/signin"} {
		r = e.call(http.MethodPost, path, with(device("dev-a"), "linked_id", "HERO@example.com", "linked_password", "correct horse", "timezone", "Asia/Seoul"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		requireTokenResponse(t, r)
		assert.Equal(t, id, r.str("Player", "UserUniqueID"))
		assert.Equal(t, "Asia/Seoul", r.str("Player", "Timezone"))
		assert.Equal(t, 540.0, r.num("Player", "Offset"))
		assert.Equal(t, 2.0, r.num("Player", "JoinPeriod"))
	}

	r = e.put("/api/v20240101/email/signup", with(device("dev-b"), "linked_id", "other@example.com", "linked_password", "12345678"))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
}

func TestPlayerInfoPurchasesCountryTimezone(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.DefaultTimezone = "America/New_York"
		c.CountryResolver = func(_ context.Context, addr netip.Addr, d DeviceInfo) string {
			if addr.String() == "198.51.100.7" && d.DeviceID == "dev-a" {
				return "de"
			}
			return ""
		}
	})
	p := e.signUp("dev-a")
	require.NoError(t, e.svc.SetPurchases(context.Background(), p.id, storage.Purchases{
		Count: 3, CurrencyCode: "KRW", TotalPrice: 3300, VoidedCount: 1, VoidedCurrencyCode: "KRW", VoidedTotalPrice: 1100,
	}))
	r := e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "DE", r.str("Player", "Country"))
	assert.Equal(t, "America/New_York", r.str("Player", "Timezone"))
	assert.Equal(t, -300.0, r.num("Player", "Offset"), "EST in March 1st")
	assert.Equal(t, 3.0, r.num("Player", "PurchaseCount"))
	assert.Equal(t, "KRW", r.str("Player", "PurchaseCurrencyCode"))
	assert.Equal(t, 3300.0, r.num("Player", "PurchaseTotalPrice"))
	assert.Equal(t, 1.0, r.num("Player", "PurchaseVoidedCount"))
	assert.Equal(t, 1100.0, r.num("Player", "PurchaseVoidedTotalPrice"))
	assert.ErrorIs(t, e.svc.SetPurchases(context.Background(), "nobody", storage.Purchases{}), ErrAccountNotFound)
}

func TestGuest(t *testing.T) {
	e := newEnv(t)
	r := e.put("/guest/signin", device("dev-g"))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	requireTokenResponse(t, r)
	key := r.str("GuestKey")
	require.Len(t, key, 43)
	assert.Equal(t, "guest", r.str("Player", "LinkedType"))
	assert.Equal(t, "", r.str("Player", "LinkedID"))
	id := r.str("Player", "UserUniqueID")

	r = e.put("/guest/signin", with(device("dev-g"), "guest_key", key))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	requireTokenResponse(t, r)
	assert.NotContains(t, r.Body, "GuestKey")
	assert.Equal(t, id, r.str("Player", "UserUniqueID"))

	r = e.put("/guest/signin", with(device("dev-g"), "guest_key", key+"x"))
	requireError(t, r, http.StatusUnauthorized, CodeInvalidCredentials)

	// The key is stored only as its hash.
	a, err := e.mem.GetAccount(context.Background(), id)
	require.NoError(t, err)
	assert.NotContains(t, a.LinkedID, key)
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	r := e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	requireTokenResponse(t, r)
	next := r.str("Token", "RefreshToken")
	assert.NotEqual(t, p.refresh, next)
	assert.NotEqual(t, p.access, r.str("Token", "AccessToken"))

	// Inside the grace window the old token gets the same new pair.
	e.clock.Advance(5 * time.Second)
	r = e.put("/token/signin", map[string]any{"refresh_token": p.refresh})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, next, r.str("Token", "RefreshToken"))

	// The new one rotates on.
	r = e.put("/token/refresh", with(device("dev-a"), "refresh_token", next))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	third := r.str("Token", "RefreshToken")

	// Past the window, the first one is reuse: the session ends.
	e.clock.Advance(11 * time.Second)
	r = e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
	requireError(t, r, http.StatusUnauthorized, CodeRefreshReused)
	r = e.put("/token/refresh", map[string]any{"refresh_token": third})
	requireError(t, r, http.StatusUnauthorized, CodeSessionRevoked)
	r = e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
	requireError(t, r, http.StatusUnauthorized, CodeSessionRevoked)
	assert.Contains(t, e.events.reasons(), sessionOf(t, e, p.access))
	assert.Equal(t, storage.ReasonReused, e.events.reasons()[sessionOf(t, e, p.access)])
}

func sessionOf(t *testing.T, e *env, access string) string {
	t.Helper()
	c, err := e.toks.Verifier.Verify(access)
	require.NoError(t, err)
	return c.SessionID
}

func TestTokenStatusForms(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	cases := []struct {
		method, path string
		body         any
		opts         []reqOpt
	}{
		{http.MethodGet, "/token/status", nil, []reqOpt{bearerOpt(p.access)}},
		{http.MethodPut, "/token/status", map[string]any{}, []reqOpt{bearerOpt(p.access)}},
		{http.MethodPost, "/token/status", map[string]any{"access_token": p.access}, nil},
		{http.MethodPut, "/api/v20240401/token/status", map[string]any{"access_token": p.access}, nil},
		{http.MethodPut, "/api/v20240401/alive", nil, []reqOpt{header("Authorization", "bearer "+p.access)}},
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			r := e.call(c.method, c.path, c.body, c.opts...)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, "CONNECTED", r.str("Status"))
			exp, err := time.Parse(time.RFC3339, r.str("ExpiresAt"))
			require.NoError(t, err)
			assert.Equal(t, e.clock.Now().Add(time.Hour), exp)
			assert.Equal(t, p.id, r.str("Player", "UserUniqueID"))
		})
	}
	r := e.call(http.MethodGet, "/token/status", nil)
	requireError(t, r, http.StatusUnauthorized, CodeTokenMissing)
}

func TestSignOut(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = 3 })
	p := e.signUp("dev-a")
	p2 := e.signIn(p, "dev-b")
	p3 := e.signIn(p, "dev-c")

	r := e.put("/signout", nil, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "SIGNED_OUT", r.str("Status"))
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)), http.StatusUnauthorized, CodeSessionRevoked)
	requireError(t, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}), http.StatusUnauthorized, CodeSessionRevoked)
	// Signing out again is harmless.
	require.Equal(t, http.StatusOK, e.put("/signout", nil, bearerOpt(p.access)).Status)
	// From a signed-out session, "all" is refused.
	requireError(t, e.put("/signout", map[string]any{"all": true}, bearerOpt(p.access)), http.StatusUnauthorized, CodeSessionRevoked)

	require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p3.access)).Status)
	r = e.put("/api/v20240401/token/signout", map[string]any{"all": true}, bearerOpt(p2.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for _, q := range []player{p2, p3} {
		requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(q.access)), http.StatusUnauthorized, CodeSessionRevoked)
	}
	reasons := e.events.reasons()
	for _, q := range []player{p, p2, p3} {
		assert.Equal(t, storage.ReasonSignedOut, reasons[sessionOf(t, e, q.access)])
	}
}

func TestSingleDevicePolicy(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	p2 := e.signIn(p, "dev-b")
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)), http.StatusUnauthorized, CodeSessionReplaced)
	requireError(t, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}), http.StatusUnauthorized, CodeSessionReplaced)
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p2.access)).Status)
	assert.Equal(t, storage.ReasonReplaced, e.events.reasons()[sessionOf(t, e, p.access)])
}

func TestMaxSessions(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = 2 })
	p := e.signUp("dev-a")
	e.clock.Advance(time.Second)
	p2 := e.signIn(p, "dev-b")
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)).Status)
	e.clock.Advance(time.Second)
	p3 := e.signIn(p, "dev-c")
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)), http.StatusUnauthorized, CodeSessionReplaced)
	for _, q := range []player{p2, p3} {
		require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(q.access)).Status)
	}

	u := newEnv(t, func(c *envConfig) { c.MaxSessions = -1 })
	q := u.signUp("d0")
	for i := range 5 {
		u.signIn(q, "d"+string(rune('1'+i)))
	}
	require.Equal(t, http.StatusOK, u.call(http.MethodGet, "/token/status", nil, bearerOpt(q.access)).Status)
}

func TestLinkEmail(t *testing.T) {
	e := newEnv(t)
	g := e.guest("dev-g")
	r := e.put("/email/link", map[string]any{"linked_id": "Linked@Example.com", "linked_password": "s3cret-pass"}, bearerOpt(g.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	requireTokenResponse(t, r)
	assert.Equal(t, "email", r.str("Player", "LinkedType"))
	assert.Equal(t, "linked@example.com", r.str("Player", "LinkedID"))
	assert.Equal(t, g.id, r.str("Player", "UserUniqueID"))
	newAccess := r.str("Token", "AccessToken")
	c, err := e.toks.Verifier.Verify(newAccess)
	require.NoError(t, err)
	assert.Equal(t, "email", c.LinkedType)
	assert.Equal(t, "dev-g", c.DeviceID)

	// The guest session is exchanged; the guest key is no longer an identity.
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(g.access)), http.StatusUnauthorized, CodeSessionRevoked)
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(newAccess)).Status)
	requireError(t, e.put("/guest/signin", with(device("dev-g"), "guest_key", g.guestKey)), http.StatusUnauthorized, CodeInvalidCredentials)
	r = e.put("/email/signin", with(device("dev-g"), "linked_id", "linked@example.com", "linked_password", "s3cret-pass"))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	// Only guests link; and the email must be free.
	p := e.signUp("dev-p")
	requireError(t, e.put("/email/link", map[string]any{"linked_id": "x@example.com", "linked_password": "s3cret-pass"}, bearerOpt(p.access)),
		http.StatusBadRequest, CodeInvalidRequest)
	g2 := e.guest("dev-g2")
	requireError(t, e.put("/email/link", map[string]any{"linked_id": p.email, "linked_password": "s3cret-pass"}, bearerOpt(g2.access)),
		http.StatusConflict, CodeEmailTaken)
	requireError(t, e.put("/email/link", map[string]any{"linked_id": "y@example.com", "linked_password": "s3cret-pass"}),
		http.StatusUnauthorized, CodeTokenMissing)
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = -1 })
	p := e.signUp("dev-a")
	other := e.signIn(p, "dev-b")
	requireError(t, e.put("/password", map[string]any{"linked_password": "wrong password", "new_password": "brand new pass"}, bearerOpt(p.access)),
		http.StatusUnauthorized, CodeInvalidCredentials)
	r := e.put("/password", map[string]any{"linked_password": p.password, "new_password": "short"}, bearerOpt(p.access))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "new_password")

	r = e.put("/password", map[string]any{"linked_password": p.password, "new_password": "brand new pass"}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "PASSWORD_CHANGED", r.str("Status"))
	require.Equal(t, http.StatusOK, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)).Status, "this session stays")
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(other.access)), http.StatusUnauthorized, CodeSessionRevoked)
	assert.Equal(t, storage.ReasonPasswordChanged, e.events.reasons()[sessionOf(t, e, other.access)])
	requireError(t, e.put("/email/signin", with(device("d"), "linked_id", p.email, "linked_password", p.password)), http.StatusUnauthorized, CodeInvalidCredentials)
	p.password = "brand new pass"
	e.signIn(p, "dev-c")

	g := e.guest("dev-g")
	requireError(t, e.put("/password", map[string]any{"linked_password": "anything1", "new_password": "brand new pass"}, bearerOpt(g.access)),
		http.StatusBadRequest, CodeInvalidRequest)
}

func TestPasswordReset(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = -1 })
	p := e.signUp("dev-a")
	other := e.signIn(p, "dev-b")

	for _, email := range []string{p.email, "nobody@example.com"} {
		r := e.put("/password/reset", map[string]any{"linked_id": strings.ToUpper(email)})
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		assert.Equal(t, "RESET_SENT", r.str("Status"))
	}
	require.Len(t, e.mailer.sent, 1, "only the existing email gets a code")
	sent := e.mailer.last(t)
	assert.Equal(t, p.email, sent.email)
	require.Len(t, sent.code, 8)
	e.secret(sent.code)

	confirm := func(code, pw string) resp {
		return e.put("/password/reset/confirm", map[string]any{"linked_id": p.email, "code": code, "new_password": pw})
	}
	wrong := "00000000"
	if sent.code == wrong {
		wrong = "11111111"
	}
	requireError(t, confirm(wrong, "a new password"), http.StatusBadRequest, CodeResetCodeInvalid)
	r := confirm(sent.code, "a new password")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "PASSWORD_CHANGED", r.str("Status"))
	for _, q := range []player{p, other} {
		requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(q.access)), http.StatusUnauthorized, CodeSessionRevoked)
	}
	requireError(t, confirm(sent.code, "another password"), http.StatusBadRequest, CodeResetCodeInvalid)
	p.password = "a new password"
	e.signIn(p, "dev-c")

	// Codes expire.
	require.Equal(t, http.StatusAccepted, e.put("/password/reset", map[string]any{"linked_id": p.email}).Status)
	code := e.mailer.last(t).code
	e.secret(code)
	e.clock.Advance(16 * time.Minute)
	requireError(t, confirm(code, "yet another one"), http.StatusBadRequest, CodeResetCodeInvalid)

	// A few per day: then still 202, but nothing is sent.
	n := len(e.mailer.sent)
	for range 10 {
		require.Equal(t, http.StatusAccepted, e.put("/password/reset", map[string]any{"linked_id": p.email}).Status)
	}
	assert.Equal(t, DefaultResetCodesPerDay, len(e.mailer.sent)-n+2, "5 per day: 2 used before")
	for _, s := range e.mailer.sent {
		e.secret(s.code)
	}
}

func TestResetWithoutMailer(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.Mailer = nil })
	p := e.signUp("dev-a")
	r := e.put("/password/reset", map[string]any{"linked_id": p.email})
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	assert.Contains(t, e.logs.String(), "no Mailer")
}

func TestNickname(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	q := e.signUp("dev-b")
	r := e.call(http.MethodGet, "/nickname", nil, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "", r.str("Nickname"))

	r = e.put("/nickname", map[string]any{"nickname": "Dragon 용"}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "Dragon 용", r.str("Nickname"))
	r = e.call(http.MethodGet, "/api/v20240401/nickname/get", nil, bearerOpt(p.access))
	assert.Equal(t, "Dragon 용", r.str("Nickname"))

	for _, path := range []string{"/nickname/exists", "/api/v20240101/nickname/exists"} {
		assert.Equal(t, "EXISTS", e.put(path, map[string]any{"nickname": "DRAGON 용"}).str("Status"))
		assert.Equal(t, "NOT_EXISTS", e.put(path, map[string]any{"nickname": "Wyvern"}).str("Status"))
	}
	requireError(t, e.put("/api/v20240401/nickname/put", map[string]any{"nickname": "dragon 용"}, bearerOpt(q.access)), http.StatusConflict, CodeNicknameTaken)
	// The owner may change the case of its own.
	r = e.call(http.MethodPost, "/nickname", map[string]any{"nickname": "DRAGON 용"}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	// The access token after a refresh carries the nickname.
	r = e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
	c, err := e.toks.Verifier.Verify(r.str("Token", "AccessToken"))
	require.NoError(t, err)
	assert.Equal(t, "DRAGON 용", c.Nickname)

	for _, bad := range []string{"", " lead", "trail ", "twenty-one characters", "tab\there", "zero\u200b", "\u200bzero"} {
		r := e.put("/nickname", map[string]any{"nickname": bad}, bearerOpt(q.access))
		requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
		assert.Contains(t, r.str("Message"), "nickname")
	}
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "twenty characters!!!"}, bearerOpt(q.access)).Status)
	requireError(t, e.put("/email/signup", with(device("d"), "linked_id", "n@example.com", "linked_password", "12345678", "nickname", "dragon 용")),
		http.StatusConflict, CodeNicknameTaken)
}

func TestWithdrawalAndRestore(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.MaxSessions = -1 })
	p := e.signUp("dev-a")
	other := e.signIn(p, "dev-b")
	r := e.put("/withdrawal", map[string]any{"memo": "taking a break"}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "WITHDRAWAL_PENDING", r.str("Status"))
	key := r.str("WithdrawalKey")
	require.NotEmpty(t, key)
	e.secret(key)
	date, err := time.Parse(time.RFC3339, r.str("WithdrawalDate"))
	require.NoError(t, err)
	assert.Equal(t, e.clock.Now().Add(7*24*time.Hour), date)
	assert.Equal(t, storage.ReasonWithdrawn, e.events.reasons()[sessionOf(t, e, other.access)])

	// Every session ended; a sign-in shows the key again.
	r = e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password))
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
	assert.Equal(t, key, r.str("WithdrawalKey"))
	r = e.call(http.MethodGet, "/token/status", nil, bearerOpt(other.access))
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
	assert.Equal(t, key, r.str("WithdrawalKey"))
	r = e.put("/token/refresh", map[string]any{"refresh_token": other.refresh})
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)

	for _, path := range []string{"/withdrawal/search", "/api/v20240101/withdrawal/search"} {
		r = e.put(path, map[string]any{"withdrawal_key": key})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "WITHDRAWAL_PENDING", r.str("Status"))
		assert.Equal(t, "taking a break", r.str("Memo"))
		assert.Equal(t, date.Format(time.RFC3339), r.str("WithdrawalDate"))
	}

	e.clock.Advance(3 * 24 * time.Hour)
	r = e.put("/api/v20240401/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "RESTORED", r.str("Status"))
	e.signIn(p, "dev-a")
	requireError(t, e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)), http.StatusNotFound, CodeWithdrawalKeyInvalid)

	// A period of its own, bounded.
	p = e.signIn(p, "dev-a")
	r = e.put("/api/v20240401/token/withdrawal", map[string]any{"period": 31}, bearerOpt(p.access))
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "period")
	r = e.put("/withdrawal", map[string]any{"period": 30}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	e.secret(r.str("WithdrawalKey"))
	date, err = time.Parse(time.RFC3339, r.str("WithdrawalDate"))
	require.NoError(t, err)
	assert.Equal(t, e.clock.Now().Add(30*24*time.Hour), date)
}

func TestWithdrawalDeadline(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "Gone"}, bearerOpt(p.access)).Status)
	key := e.withdraw(p, nil)
	e.clock.Advance(7*24*time.Hour + time.Second)

	// Past the deadline, before any janitor: it counts as purged.
	requireError(t, e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password)),
		http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)), http.StatusGone, CodeWithdrawalPeriodExpired)
	requireError(t, e.put("/withdrawal/search", map[string]any{"withdrawal_key": key}), http.StatusGone, CodeWithdrawalPeriodExpired)
	assert.Equal(t, "NOT_EXISTS", e.put("/nickname/exists", map[string]any{"nickname": "gone"}).str("Status"))
	_, err := e.mem.GetAccount(context.Background(), p.id)
	assert.ErrorIs(t, err, storage.ErrNotFound)

	// Its email and nickname are free again.
	r := e.put("/email/signup", with(device("dev-z"), "linked_id", p.email, "linked_password", "new owner pw", "nickname", "GONE"))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)

	// The tombstone answers for TombstoneTTL, then the key is unknown.
	e.clock.Advance(89 * 24 * time.Hour)
	require.NoError(t, e.svc.Sweep(context.Background()))
	requireError(t, e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)), http.StatusGone, CodeWithdrawalPeriodExpired)
	e.clock.Advance(2 * 24 * time.Hour)
	require.NoError(t, e.svc.Sweep(context.Background()))
	requireError(t, e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)), http.StatusNotFound, CodeWithdrawalKeyInvalid)
}

func TestStaleHolderIsPurgedOnConflict(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "Taken"}, bearerOpt(p.access)).Status)
	e.withdraw(p, map[string]any{"period": 1})
	q := e.signUp("dev-b")
	requireError(t, e.put("/nickname", map[string]any{"nickname": "taken"}, bearerOpt(q.access)), http.StatusConflict, CodeNicknameTaken)
	requireError(t, e.put("/email/signup", with(device("d"), "linked_id", p.email, "linked_password", "12345678")), http.StatusConflict, CodeEmailTaken)
	e.clock.Advance(24 * time.Hour)
	q = e.signIn(q, "dev-b")
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "taken"}, bearerOpt(q.access)).Status)
	g := e.guest("dev-g")
	require.Equal(t, http.StatusOK, e.put("/email/link", map[string]any{"linked_id": p.email, "linked_password": "12345678"}, bearerOpt(g.access)).Status)
}

func TestJanitor(t *testing.T) {
	e := newEnv(t)
	var ps []player
	for i := range 3 {
		ps = append(ps, e.signUp("dev"+string(rune('a'+i))))
	}
	e.withdraw(ps[0], map[string]any{"period": 1})
	e.withdraw(ps[1], map[string]any{"period": 2})
	e.clock.Advance(36 * time.Hour)
	n, err := e.svc.PurgeWithdrawn(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = e.mem.GetAccount(context.Background(), ps[0].id)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	_, err = e.mem.GetAccount(context.Background(), ps[1].id)
	assert.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	e.clock.Advance(24 * time.Hour)
	done := make(chan error)
	go func() { done <- e.svc.Run(ctx) }()
	require.Eventually(t, func() bool {
		_, err := e.mem.GetAccount(context.Background(), ps[1].id)
		return errors.Is(err, storage.ErrNotFound)
	}, 5*time.Second, time.Millisecond, "Run sweeps at once")
	cancel()
	require.NoError(t, <-done, "Run returns nil at ctx's end")
	_, err = e.mem.GetAccount(context.Background(), ps[2].id)
	assert.NoError(t, err)
}

func TestBlocks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.signUp("dev-a")
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "Cheater"}, bearerOpt(p.access)).Status)
	until := e.clock.Now().Add(48 * time.Hour)

	// A service block does not stop sign-in.
	chatKey, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "spam", Services: []string{" chat "}})
	require.NoError(t, err)
	p = e.signIn(p, "dev-a") // the new session replaced the first
	r := e.put("/block/reason", map[string]any{"block_key": chatKey})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	items := r.Body["Items"].([]any)
	require.Len(t, items, 1)
	it := items[0].(map[string]any)
	assert.Equal(t, map[string]any{"UserId": p.id, "Reason": "spam", "Permanent": "Y", "ExpireDate": "permanent",
		"TimeUntilExpire": -1.0, "Services": []any{"chat"}}, it)

	key, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "cheating", Until: until})
	require.NoError(t, err)
	r = e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password))
	requireError(t, r, http.StatusForbidden, CodeAccountBlocked)
	assert.Equal(t, key, r.str("BlockKey"))
	assert.Equal(t, map[string]any{"uuid": p.id, "nickname": "Cheater", "blockReason": "cheating", "blockDate": until.Format(time.RFC3339)}, r.Body["ErrorData"])
	assert.Contains(t, r.str("Message"), until.Format(time.RFC3339))
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)), http.StatusForbidden, CodeAccountBlocked)
	requireError(t, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}), http.StatusForbidden, CodeAccountBlocked)
	requireError(t, e.put("/nickname", map[string]any{"nickname": "Angel"}, bearerOpt(p.access)), http.StatusForbidden, CodeAccountBlocked)
	// Sign-out still works.
	require.Equal(t, http.StatusOK, e.put("/signout", nil, bearerOpt(p.access)).Status)

	r = e.put("/block/v20221201/reason", map[string]any{"block_key": key})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	it = r.Body["Items"].([]any)[0].(map[string]any)
	assert.Equal(t, "N", it["Permanent"])
	assert.Equal(t, until.Format(time.RFC3339), it["ExpireDate"])
	assert.Equal(t, float64(48*3600), it["TimeUntilExpire"])
	assert.Equal(t, []any{}, it["Services"])

	b, err := e.svc.LookupBlock(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "cheating", b.Reason)
	_, err = e.svc.LookupBlock(ctx, "nope")
	assert.ErrorIs(t, err, ErrBlockKeyInvalid)

	// It ends by itself...
	e.clock.Advance(48 * time.Hour)
	e.signIn(p, "dev-a")
	r = e.put("/block/reason", map[string]any{"block_key": key})
	assert.Equal(t, []any{}, r.Body["Items"])
	// ...or when lifted.
	_, err = e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "again"})
	require.NoError(t, err)
	requireError(t, e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password)), http.StatusForbidden, CodeAccountBlocked)
	require.NoError(t, e.svc.UnblockPlayer(ctx, p.id))
	e.signIn(p, "dev-a")
	_, err = e.svc.BlockPlayer(ctx, "nobody", BlockSpec{Reason: "x"})
	assert.ErrorIs(t, err, ErrAccountNotFound)
	_, err = e.svc.BlockPlayer(ctx, p.id, BlockSpec{Until: e.clock.Now().Add(-time.Second)})
	assert.ErrorIs(t, err, ErrInvalidRequest)

	// Devices.
	dk, err := e.svc.BlockDevice(ctx, "dev-bad", BlockSpec{Reason: "emulator"})
	require.NoError(t, err)
	for _, r := range []resp{
		e.put("/email/signin", with(device("dev-bad"), "linked_id", p.email, "linked_password", p.password)),
		e.put("/email/signup", with(device("dev-bad"), "linked_id", "new@example.com", "linked_password", "12345678")),
		e.put("/guest/signin", device("dev-bad")),
	} {
		requireError(t, r, http.StatusForbidden, CodeDeviceBlocked)
		assert.Equal(t, map[string]any{"deviceUniqueId": "dev-bad"}, r.Body["ErrorData"])
	}
	b, err = e.svc.LookupBlock(ctx, dk)
	require.NoError(t, err)
	assert.Equal(t, storage.BlockDevice, b.Kind)
	require.NoError(t, e.svc.UnblockDevice(ctx, "dev-bad"))
	e.signIn(p, "dev-bad")

	var lifted int
	for _, b := range e.events.blocks {
		if !b.LiftedAt.IsZero() {
			lifted++
		}
	}
	assert.Len(t, e.events.blocks, 7, "4 created, 3 lifted")
	assert.Equal(t, 3, lifted)
}

// A block spec is refused, not narrowed or widened: a blank reason, a
// blank or repeated service. Dropping a blank service used to leave none,
// an account-wide block. The HTTP admin API answers the same
// (admin.TestInputMistakesAreRefused).
func TestBlockSpecRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.signUp("dev-a")
	for _, c := range []struct {
		name  string
		spec  BlockSpec
		field string
	}{
		{"no reason", BlockSpec{Services: []string{"chat"}}, "reason"},
		{"blank reason", BlockSpec{Reason: " \t\n"}, "reason"},
		{"blank service", BlockSpec{Reason: "x", Services: []string{" "}}, "services"},
		{"empty service", BlockSpec{Reason: "x", Services: []string{"chat", ""}}, "services"},
		{"repeated service", BlockSpec{Reason: "x", Services: []string{"chat", "chat"}}, "services"},
		{"repeated once trimmed", BlockSpec{Reason: "x", Services: []string{"chat", " chat"}}, "services"},
		{"reason too long", BlockSpec{Reason: strings.Repeat("é", MaxBlockReason+1)}, "reason"},
		{"too many services", BlockSpec{Reason: "x", Services: manyServices(MaxBlockServices + 1)}, "services"},
		{"service name too long", BlockSpec{Reason: "x", Services: []string{"chat", strings.Repeat("s", MaxServiceName+1)}}, "services"},
	} {
		for _, block := range []func() (string, error){
			func() (string, error) { return e.svc.BlockPlayer(ctx, p.id, c.spec) },
			func() (string, error) { return e.svc.BlockDevice(ctx, "dev-a", c.spec) },
		} {
			key, err := block()
			var ae *Error
			require.ErrorAs(t, err, &ae, c.name)
			assert.Equal(t, CodeInvalidRequest, ae.Code, c.name)
			assert.Equal(t, http.StatusBadRequest, ae.Status, c.name)
			assert.Equal(t, c.field, ae.Field, c.name)
			assert.Empty(t, key, c.name)
		}
	}
	// The same refusal comes before the player's existence is looked up.
	_, err := e.svc.BlockPlayer(ctx, "nobody", BlockSpec{})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Empty(t, e.events.blocks, "nothing was blocked")
	r := e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	// Services are kept trimmed.
	key, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "spam", Services: []string{" chat ", "ranking"}})
	require.NoError(t, err)
	b, err := e.svc.LookupBlock(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []string{"chat", "ranking"}, b.Services)

	// The limits themselves are allowed: characters are counted, not
	// bytes, and a service name is measured trimmed.
	long := BlockSpec{Reason: strings.Repeat("é", MaxBlockReason), Services: manyServices(MaxBlockServices)}
	long.Services[0] = " " + strings.Repeat("é", MaxServiceName) + " "
	key, err = e.svc.BlockDevice(ctx, "dev-b", long)
	require.NoError(t, err)
	b, err = e.svc.LookupBlock(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, long.Reason, b.Reason)
	assert.Len(t, b.Services, MaxBlockServices)
}

// manyServices returns n distinct service names.
func manyServices(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "service-" + strconv.Itoa(i)
	}
	return s
}

// The admin flows on a player refuse an unknown one, ACCOUNT_NOT_FOUND, and
// record nothing of them; an unknown session is INVALID_REQUEST answered
// 404; a device has no registry, so unblocking one with no block is no
// error.
func TestAdminUnknownSubjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	assert.ErrorIs(t, e.svc.RevokePlayerSessions(ctx, "no-such-player"), ErrAccountNotFound)
	assert.ErrorIs(t, e.svc.UnblockPlayer(ctx, "no-such-player"), ErrAccountNotFound)
	err := e.svc.RevokeSession(ctx, "no-such-session")
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, CodeInvalidRequest, ae.Code)
	assert.Equal(t, http.StatusNotFound, ae.Status)
	assert.NoError(t, e.svc.UnblockDevice(ctx, "never-seen"))
	assert.Empty(t, e.events.seenEvents(), "nothing happened to record")
}

func TestAdminRevokeAndRotate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.signUp("dev-a")
	require.NoError(t, e.svc.RevokePlayerSessions(ctx, p.id))
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)), http.StatusUnauthorized, CodeSessionRevoked)
	assert.Equal(t, storage.ReasonAdmin, e.events.reasons()[sessionOf(t, e, p.access)])

	before := e.call(http.MethodGet, "/.well-known/jwks.json", nil)
	kid, err := e.svc.RotateSigningKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{kid}, e.events.rotated)
	after := e.call(http.MethodGet, "/.well-known/jwks.json", nil)
	assert.Contains(t, after.Raw, kid)
	assert.NotContains(t, before.Raw, kid)
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	r := e.call(http.MethodGet, "/.well-known/jwks.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "public, max-age=300", r.Header.Get("Cache-Control"))
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Raw), &set))
	require.NotEmpty(t, set.Keys)
	assert.NotContains(t, set.Keys[0], "d", "no private part")
	r = e.put("/.well-known/jwks.json", nil)
	requireError(t, r, http.StatusMethodNotAllowed, CodeInvalidRequest)
	assert.Equal(t, "GET", r.Header.Get("Allow"))
}

// Every path and alias of docs/API.md, with the methods it allows.
var routeTable = []struct {
	allow string
	paths []string
}{
	{"PUT, POST", []string{"/email/signup", "/api/v20240101/email/signup"}},
	{"PUT, POST", []string{"/email/signin", "/api/v20240101/email/signin"}},
	{"PUT, POST", []string{"/guest/signin"}},
	{"PUT, POST", []string{"/token/refresh", "/token/signin"}},
	{"GET, PUT, POST", []string{"/token/status", "/api/v20240401/token/status", "/api/v20240401/alive"}},
	{"PUT, POST", []string{"/signout", "/api/v20240401/token/signout"}},
	{"PUT, POST", []string{"/email/link"}},
	{"PUT, POST", []string{"/password"}},
	{"PUT, POST", []string{"/password/reset"}},
	{"PUT, POST", []string{"/password/reset/confirm"}},
	{"GET, PUT, POST", []string{"/nickname"}},
	{"GET", []string{"/api/v20240401/nickname/get"}},
	{"PUT, POST", []string{"/api/v20240401/nickname/put"}},
	{"PUT, POST", []string{"/nickname/exists", "/api/v20240101/nickname/exists"}},
	{"PUT, POST", []string{"/withdrawal", "/api/v20240401/token/withdrawal"}},
	{"PUT, POST", []string{"/withdrawal/search", "/api/v20240101/withdrawal/search"}},
	{"PUT, POST", []string{"/withdrawal/restore", "/api/v20240401/withdrawal/restore"}},
	{"PUT, POST", []string{"/block/reason", "/block/v20221201/reason"}},
	{"PUT, POST", []string{"/federated/signin"}},
	{"PUT, POST", []string{"/federated/link"}},
	{"PUT, POST", []string{"/federated/unlink"}},
	{"GET", []string{"/identities"}},
	{"GET", []string{"/.well-known/jwks.json"}},
}

func TestMethodsAndPaths(t *testing.T) {
	e := newEnv(t)
	for _, rt := range routeTable {
		for _, path := range rt.paths {
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
				if strings.Contains(rt.allow, m) {
					continue
				}
				r := e.call(m, path, nil)
				assert.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s %s", m, path)
				assert.Equal(t, rt.allow, r.Header.Get("Allow"), "%s %s", m, path)
				if m != http.MethodHead {
					assert.Equal(t, CodeInvalidRequest, r.code(), "%s %s", m, path)
				}
			}
			// An allowed method is routed: an empty body is answered by the
			// endpoint, never 404 or 405.
			m := strings.Split(rt.allow, ", ")[0]
			r := e.call(m, path, nil)
			assert.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, r.Status, "%s %s", m, path)
		}
	}
	r := e.put("/nope", nil)
	requireError(t, r, http.StatusNotFound, CodeInvalidRequest)
	r = e.put("/email/signup/", nil)
	requireError(t, r, http.StatusNotFound, CodeInvalidRequest)
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	big := `{"linked_id":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, rt := range routeTable {
		for _, path := range rt.paths {
			m := strings.Split(rt.allow, ", ")[len(strings.Split(rt.allow, ", "))-1]
			if m == http.MethodGet {
				continue
			}
			r := e.call(m, path, big)
			requireError(t, r, http.StatusRequestEntityTooLarge, CodeInvalidRequest)
			// Without a Content-Length (chunked), the reader stops it.
			r = e.call(m, path, big, func(r *http.Request) { r.ContentLength = -1 })
			requireError(t, r, http.StatusRequestEntityTooLarge, CodeInvalidRequest)
		}
	}
	// Just under the limit is read (and then judged on its content).
	ok := `{"x":"` + strings.Repeat("a", MaxBodyBytes-9) + `"}`
	require.Len(t, ok, MaxBodyBytes-1)
	r := e.put("/nickname/exists", ok)
	requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
	assert.Contains(t, r.str("Message"), "nickname")
}

func TestInvalidRequestNamesField(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	dev := device("dev-a")
	cases := []struct {
		name, path string
		body       any
		field      string
		auth       bool
	}{
		{"malformed", "/email/signin", `{"linked_id":`, "JSON", false},
		{"not an object", "/email/signin", `["a"]`, "JSON object", false},
		{"two objects", "/email/signin", `{} {}`, "one JSON object", false},
		{"missing email", "/email/signup", with(dev, "linked_password", "12345678"), "linked_id", false},
		{"bad email", "/email/signup", with(dev, "linked_id", "not-an-email", "linked_password", "12345678"), "linked_id", false},
		{"short password", "/email/signup", with(dev, "linked_id", "a@example.com", "linked_password", "1234567"), "linked_password", false},
		{"missing platform", "/email/signup", map[string]any{"device_id": "d", "linked_id": "a@example.com", "linked_password": "12345678"}, "platform", false},
		{"missing device", "/email/signin", map[string]any{"platform": "ios", "linked_id": "a@example.com", "linked_password": "x"}, "device_id", false},
		{"device_id type", "/guest/signin", with(dev, "device_id", 5), "device_id", false},
		{"guest_key type", "/guest/signin", with(dev, "guest_key", true), "guest_key", false},
		{"nickname type", "/email/signup", with(dev, "linked_id", "a@example.com", "linked_password", "12345678", "nickname", 3), "nickname", false},
		{"missing password", "/email/signin", with(dev, "linked_id", "a@example.com"), "linked_password", false},
		{"refresh type", "/token/refresh", map[string]any{"refresh_token": 1}, "refresh_token", false},
		{"all type", "/signout", map[string]any{"all": "yes"}, "all", true},
		{"period type", "/withdrawal", map[string]any{"period": "7"}, "period", true},
		{"period fraction", "/withdrawal", map[string]any{"period": 1.5}, "period", true},
		{"period negative", "/withdrawal", map[string]any{"period": -1}, "period", true},
		{"memo long", "/withdrawal", map[string]any{"memo": strings.Repeat("m", 1001)}, "memo", true},
		{"nickname missing", "/nickname/exists", map[string]any{}, "nickname", false},
		{"withdrawal key missing", "/withdrawal/search", map[string]any{}, "withdrawal_key", false},
		{"restore device", "/withdrawal/restore", map[string]any{"withdrawal_key": "k"}, "platform", false},
		{"block key missing", "/block/reason", map[string]any{}, "block_key", false},
		{"reset email", "/password/reset", map[string]any{"linked_id": "nope"}, "linked_id", false},
		{"reset code", "/password/reset/confirm", map[string]any{"linked_id": "a@example.com", "new_password": "12345678"}, "code", false},
		{"new password", "/password/reset/confirm", map[string]any{"linked_id": "a@example.com", "code": "1"}, "new_password", false},
		{"access_token type", "/token/status", map[string]any{"access_token": 7}, "access_token", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []reqOpt
			if c.auth {
				opts = append(opts, bearerOpt(p.access))
			}
			r := e.put(c.path, c.body, opts...)
			requireError(t, r, http.StatusBadRequest, CodeInvalidRequest)
			assert.Contains(t, r.str("Message"), c.field)
		})
	}
}
