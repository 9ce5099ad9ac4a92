package account_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// ---- same answer, same work ----

func TestUnknownEmailCostsWhatAWrongPasswordCosts(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	dp, err := e.svc.DummyHashParams()
	require.NoError(t, err)
	assert.Equal(t, e.svc.HashParams(), dp, "the dummy hash has the configured parameters")

	runs := func(email string) (resp, int64) {
		before := e.svc.HashRuns()
		r := e.put("/email/signin", with(device("dev-a"), "linked_id", email, "linked_password", "wrong password"))
		return r, e.svc.HashRuns() - before
	}
	unknown, nu := runs("nobody@example.com")
	wrong, nw := runs(p.email)
	requireError(t, unknown, http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, wrong, http.StatusUnauthorized, CodeInvalidCredentials)
	assert.Equal(t, wrong.Raw, unknown.Raw, "the same answer")
	assert.Equal(t, int64(1), nu)
	assert.Equal(t, nw, nu, "the same argon2 work")
}

// ---- rate limits ----

func TestSignInRateLimitPerAccountAndAddress(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.SignInLimit = 3 })
	p := e.signUp("dev-a")
	attempt := func(email, addr string, opts ...reqOpt) resp {
		return e.put("/email/signin", with(device("dev-a"), "linked_id", email, "linked_password", "wrong password"), append(opts, fromAddr(addr))...)
	}
	// Per account, across addresses.
	for i := range 3 {
		requireError(t, attempt(p.email, fmt.Sprintf("192.0.2.%d:1", i+1)), http.StatusUnauthorized, CodeInvalidCredentials)
	}
	r := attempt(strings.ToUpper(p.email), "192.0.2.9:1")
	requireError(t, r, http.StatusTooManyRequests, CodeRateLimited)
	assert.Equal(t, "20", r.Header.Get("Retry-After"), "3 a minute: one back every 20 s")
	// Even the right password waits.
	r = e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password), fromAddr("192.0.2.10:1"))
	requireError(t, r, http.StatusTooManyRequests, CodeRateLimited)
	e.clock.Advance(20 * time.Second)
	r = e.put("/email/signin", with(device("dev-a"), "linked_id", p.email, "linked_password", p.password), fromAddr("192.0.2.11:1"))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	// Per address, across accounts; unknown emails count the same.
	for i := range 3 {
		requireError(t, attempt(fmt.Sprintf("u%d@example.com", i), "203.0.113.1:5"), http.StatusUnauthorized, CodeInvalidCredentials)
	}
	requireError(t, attempt("u9@example.com", "203.0.113.1:6"), http.StatusTooManyRequests, CodeRateLimited)
	// X-Forwarded-For from an untrusted peer changes nothing.
	requireError(t, attempt("u8@example.com", "203.0.113.1:7", header("X-Forwarded-For", "198.18.0.1")), http.StatusTooManyRequests, CodeRateLimited)
	requireError(t, attempt("u7@example.com", "[2001:db8::1]:7"), http.StatusUnauthorized, CodeInvalidCredentials)

	// New guests and sign-ups count per address.
	for range 3 {
		require.Equal(t, http.StatusCreated, e.put("/guest/signin", device("dev-z"), fromAddr("198.51.100.50:1")).Status)
	}
	requireError(t, e.put("/guest/signin", device("dev-z"), fromAddr("198.51.100.50:1")), http.StatusTooManyRequests, CodeRateLimited)
	requireError(t, e.put("/email/signup", with(device("d"), "linked_id", "n@example.com", "linked_password", "12345678"), fromAddr("198.51.100.50:1")),
		http.StatusTooManyRequests, CodeRateLimited)
}

func TestRateLimitTrustedProxies(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.SignInLimit = 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	attempt := func(email, xff string) resp {
		return e.put("/email/signin", with(device("d"), "linked_id", email, "linked_password", "wrong password"),
			fromAddr("10.1.1.1:443"), header("X-Forwarded-For", xff))
	}
	// Two clients behind the proxy are told apart...
	for i := range 2 {
		requireError(t, attempt(fmt.Sprintf("a%d@example.com", i), "203.0.113.5, 10.2.2.2"), http.StatusUnauthorized, CodeInvalidCredentials)
		requireError(t, attempt(fmt.Sprintf("b%d@example.com", i), "203.0.113.6"), http.StatusUnauthorized, CodeInvalidCredentials)
	}
	// ...and each is limited on its own address, whatever it prepends.
	requireError(t, attempt("a9@example.com", "1.2.3.4, 203.0.113.5"), http.StatusTooManyRequests, CodeRateLimited)
	requireError(t, attempt("c0@example.com", "203.0.113.7"), http.StatusUnauthorized, CodeInvalidCredentials)
}

// TestRateLimitIPv6ByPrefix: an IPv6 client is limited by its /64, which
// one customer usually gets whole; IPv4, written plainly or IPv4-mapped,
// stays per address.
func TestRateLimitIPv6ByPrefix(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.SignInLimit = 2 })
	attempt := func(i int, addr string) resp {
		return e.put("/email/signin", with(device("d"), "linked_id", fmt.Sprintf("v6-%d@example.com", i), "linked_password", "wrong password"), fromAddr(addr))
	}
	requireError(t, attempt(0, "[2001:db8:1:2::1]:1"), http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, attempt(1, "[2001:db8:1:2:ffff:ffff:ffff:fffe]:2"), http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, attempt(2, "[2001:db8:1:2:abcd::99]:3"), http.StatusTooManyRequests, CodeRateLimited)
	requireError(t, attempt(3, "[2001:db8:1:3::1]:4"), http.StatusUnauthorized, CodeInvalidCredentials)

	// IPv4-mapped is the IPv4 address, not a /64 of ::ffff:0:0/96.
	requireError(t, attempt(4, "[::ffff:192.0.2.7]:1"), http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, attempt(5, "192.0.2.7:2"), http.StatusUnauthorized, CodeInvalidCredentials)
	requireError(t, attempt(6, "[::ffff:192.0.2.7]:3"), http.StatusTooManyRequests, CodeRateLimited)
	requireError(t, attempt(7, "[::ffff:192.0.2.8]:1"), http.StatusUnauthorized, CodeInvalidCredentials)

	// The Go API, which takes the address as given, keys it alike.
	signIn := func(i int, addr string) error {
		_, err := e.svc.SignInEmail(context.Background(), Client{Device: DeviceInfo{Platform: "ios", DeviceID: "d"}, Addr: netip.MustParseAddr(addr)},
			fmt.Sprintf("v6-api-%d@example.com", i), "wrong password")
		return err
	}
	require.ErrorIs(t, signIn(0, "::ffff:198.51.100.1"), ErrInvalidCredentials)
	require.ErrorIs(t, signIn(1, "198.51.100.1"), ErrInvalidCredentials)
	require.ErrorIs(t, signIn(2, "::ffff:198.51.100.1"), ErrRateLimited)
	require.ErrorIs(t, signIn(3, "198.51.100.2"), ErrInvalidCredentials)
	require.ErrorIs(t, signIn(4, "2001:db8:9:9::1%eth0"), ErrInvalidCredentials)
	require.ErrorIs(t, signIn(5, "2001:db8:9:9::2"), ErrInvalidCredentials)
	require.ErrorIs(t, signIn(6, "2001:db8:9:9::3"), ErrRateLimited, "a zone does not make another /64")
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, time.Time) (bool, time.Duration, error) {
	return false, 0, errors.New("redis down")
}

func TestLimiterErrorFailsOpen(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.Limiter = failingLimiter{} })
	p := e.signUp("dev-a")
	e.signIn(p, "dev-a")
	assert.Contains(t, e.logs.String(), "rate limiter failed")
}

// ---- secrets never logged ----

// TestSecretsNeverLogged runs every flow, with and without a store failure
// at each step, and a failing mailer that quotes the code, and checks that
// no secret seen in the run reached the log or an error message.
func TestSecretsNeverLogged(t *testing.T) {
	passwords := []string{"correct horse", "12345678", "another password", "reset password", "nope nope", "old password"}
	check := func(t *testing.T, e *env, rs []resp) {
		t.Helper()
		logs := e.logs.String()
		e.secretsMu.Lock()
		secrets := append(slices.Clone(e.secrets), passwords...)
		e.secretsMu.Unlock()
		e.mailer.mu.Lock()
		for _, s := range e.mailer.sent {
			secrets = append(secrets, s.code)
		}
		e.mailer.mu.Unlock()
		for _, r := range rs {
			for _, k := range []string{"AccessToken", "RefreshToken"} {
				secrets = append(secrets, r.str("Token", k))
			}
			secrets = append(secrets, r.str("GuestKey"), r.str("WithdrawalKey"))
		}
		for _, s := range secrets {
			if s == "" {
				continue
			}
			assert.NotContains(t, logs, s, "a secret in the log")
			for _, r := range rs {
				assert.NotContains(t, r.str("Message"), s, "a secret in an error message")
			}
		}
	}
	var logged int
	for _, fl := range flows() {
		t.Run(fl.name, func(t *testing.T) {
			for n := 1; ; n++ {
				e := newEnv(t, fl.opts...)
				run := fl.setup(e)
				e.mailer.err = errors.New("smtp: cannot deliver code to user")
				r1 := run() // without failure, then with
				e.fault.arm(n)
				r2 := run()
				_, failed := e.fault.disarm()
				check(t, e, []resp{r1, r2})
				logged += len(e.logs.String())
				if failed == "" {
					break
				}
				require.Contains(t, e.logs.String(), "store failed")
			}
		})
	}
	require.Positive(t, logged, "the logs were captured")

	// A mailer whose error quotes the code.
	e := newEnv(t)
	p := e.signUp("dev-a")
	e.mailer.err = &quotingErr{e.mailer}
	require.Equal(t, http.StatusAccepted, e.put("/password/reset", map[string]any{"linked_id": p.email}).Status)
	code := e.mailer.last(t).code
	assert.Contains(t, e.logs.String(), "[code]")
	assert.NotContains(t, e.logs.String(), code)
}

type quotingErr struct{ m *fakeMailer }

func (q *quotingErr) Error() string { return "could not send " + q.m.sent[len(q.m.sent)-1].code }

func TestErrorTextHasNoSecrets(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	key := e.withdraw(p, nil)
	_, err := e.svc.SignInEmail(context.Background(), Client{Device: DeviceInfo{Platform: "ios", DeviceID: "d"}}, p.email, p.password)
	require.ErrorIs(t, err, ErrAccountWithdrawn)
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, key, ae.WithdrawalKey)
	assert.NotContains(t, err.Error(), key)
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), p.password)
}

// ---- concurrency: one winner, clean errors ----

func parallel(n int, f func(i int) resp) []resp {
	out := make([]resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func statuses(rs []resp) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[fmt.Sprintf("%d %s", r.Status, r.code())]++
	}
	return m
}

func TestConcurrentSignUpsOneEmail(t *testing.T) {
	e := newEnv(t)
	rs := parallel(16, func(i int) resp {
		return e.put("/email/signup", with(device(fmt.Sprintf("d%d", i)), "linked_id", "race@example.com", "linked_password", "12345678"))
	})
	assert.Equal(t, map[string]int{"201 ": 1, "409 EMAIL_TAKEN": 15}, statuses(rs))
}

func TestConcurrentNicknameClaims(t *testing.T) {
	e := newEnv(t)
	var ps []player
	for i := range 12 {
		ps = append(ps, e.signUp(fmt.Sprintf("d%d", i)))
	}
	rs := parallel(len(ps), func(i int) resp {
		return e.put("/nickname", map[string]any{"nickname": []string{"Crown", "CROWN", "crown"}[i%3]}, bearerOpt(ps[i].access))
	})
	assert.Equal(t, map[string]int{"200 ": 1, "409 NICKNAME_TAKEN": 11}, statuses(rs))
}

func TestConcurrentRefreshes(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-a")
	rs := parallel(16, func(int) resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) })
	assert.Equal(t, map[string]int{"200 ": 16}, statuses(rs), "inside the grace window every retry gets the pair")
	next := map[string]bool{}
	for _, r := range rs {
		next[r.str("Token", "RefreshToken")] = true
	}
	assert.Len(t, next, 1, "one rotation")
	s, err := e.mem.GetSession(context.Background(), sessionOf(t, e, p.access))
	require.NoError(t, err)
	assert.Equal(t, int64(1), s.Generation)

	// With a clock that moves past a tiny grace window: one rotation; the
	// requests that come later in time are reuse, which ends the session.
	e = newEnv(t, func(c *envConfig) { c.RefreshGrace = time.Nanosecond })
	p = e.signUp("dev-a")
	rs = parallel(16, func(int) resp {
		e.clock.Advance(time.Millisecond)
		return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
	})
	st := statuses(rs)
	assert.Equal(t, 16, st["200 "]+st["401 REFRESH_TOKEN_REUSED"]+st["401 SESSION_REVOKED"], st)
	next = map[string]bool{}
	for _, r := range rs {
		if r.Status == http.StatusOK {
			next[r.str("Token", "RefreshToken")] = true
		}
	}
	assert.Len(t, next, 1, "one rotation: %v", st)
	s, err = e.mem.GetSession(context.Background(), sessionOf(t, e, p.access))
	require.NoError(t, err)
	assert.Equal(t, int64(1), s.Generation)
}

func TestSimultaneousSignInsOnTwoDevices(t *testing.T) {
	e := newEnv(t)
	p := e.signUp("dev-0")
	for round := range 5 {
		rs := parallel(2, func(i int) resp {
			return e.put("/email/signin", with(device(fmt.Sprintf("dev-%d-%d", round, i)), "linked_id", p.email, "linked_password", p.password))
		})
		require.Equal(t, map[string]int{"200 ": 2}, statuses(rs))
		var live, replaced int
		for _, r := range rs {
			s := e.call(http.MethodGet, "/token/status", nil, bearerOpt(r.str("Token", "AccessToken")))
			switch {
			case s.Status == http.StatusOK:
				live++
			case s.code() == CodeSessionReplaced:
				replaced++
			}
		}
		assert.Equal(t, 1, live, "round %d", round)
		assert.Equal(t, 1, replaced, "round %d", round)
		e.clock.Advance(time.Second)
	}
}

func TestConcurrentLinksOneEmail(t *testing.T) {
	e := newEnv(t)
	var gs []player
	for i := range 8 {
		gs = append(gs, e.guest(fmt.Sprintf("g%d", i)))
	}
	rs := parallel(len(gs), func(i int) resp {
		return e.put("/email/link", map[string]any{"linked_id": "one@example.com", "linked_password": "12345678"}, bearerOpt(gs[i].access))
	})
	assert.Equal(t, map[string]int{"200 ": 1, "409 EMAIL_TAKEN": 7}, statuses(rs))
}

// ---- password hashes ----

func TestRehashOnSignIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.signUp("dev-a")
	phc, err := HashWith(ctx, Argon2Params{Memory: 32, Time: 1, Threads: 1}, p.password)
	require.NoError(t, err)
	require.NoError(t, e.mem.UpdateAccount(ctx, p.id, storage.AccountUpdate{PasswordHash: &phc, At: e.clock.Now()}))
	e.signIn(p, "dev-a")
	a, err := e.mem.GetAccount(ctx, p.id)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$"), a.PasswordHash)
	e.signIn(p, "dev-a")
}

// ---- every error row of docs/API.md ----

func TestErrorTable(t *testing.T) {
	ctx := context.Background()
	rows := []struct {
		status int
		code   string
		do     func(e *env) resp
		extra  func(t *testing.T, e *env, r resp)
	}{
		{400, CodeInvalidRequest, func(e *env) resp { return e.put("/email/signin", "{") }, nil},
		{401, CodeTokenMissing, func(e *env) resp { return e.call(http.MethodGet, "/token/status", nil) }, nil},
		{401, CodeTokenMissing, func(e *env) resp { return e.put("/token/refresh", map[string]any{"refresh_token": ""}) }, nil},
		{401, CodeInvalidCredentials, func(e *env) resp {
			return e.put("/email/signin", with(device("d"), "linked_id", "x@example.com", "linked_password", "12345678"))
		}, nil},
		{401, CodeTokenInvalid, func(e *env) resp { return e.call(http.MethodGet, "/token/status", nil, bearerOpt("a.b.c")) }, nil},
		{401, CodeTokenInvalid, func(e *env) resp {
			p := e.signUp("d")
			forged := p.refresh[:len(p.refresh)-2] + "AA"
			if forged == p.refresh {
				forged = p.refresh[:len(p.refresh)-2] + "BB"
			}
			return e.put("/token/refresh", map[string]any{"refresh_token": forged})
		}, nil},
		{401, CodeTokenExpired, func(e *env) resp {
			p := e.signUp("d")
			e.clock.Advance(2 * time.Hour)
			return e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
		}, nil},
		{401, CodeSessionRevoked, func(e *env) resp {
			p := e.signUp("d")
			e.put("/signout", nil, bearerOpt(p.access))
			return e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
		}, nil},
		{401, CodeSessionReplaced, func(e *env) resp {
			p := e.signUp("d")
			e.signIn(p, "d2")
			return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
		}, nil},
		{401, CodeRefreshReused, func(e *env) resp {
			p := e.signUp("d")
			e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
			e.clock.Advance(time.Minute)
			return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
		}, nil},
		{403, CodeAccountWithdrawn, func(e *env) resp {
			p := e.signUp("d")
			e.withdraw(p, nil)
			return e.put("/email/signin", with(device("d"), "linked_id", p.email, "linked_password", p.password))
		}, func(t *testing.T, e *env, r resp) { assert.NotEmpty(t, r.str("WithdrawalKey")) }},
		{403, CodeAccountBlocked, func(e *env) resp {
			p := e.signUp("d")
			_, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "r"})
			require.NoError(e.t, err)
			return e.put("/email/signin", with(device("d"), "linked_id", p.email, "linked_password", p.password))
		}, func(t *testing.T, e *env, r resp) {
			assert.NotEmpty(t, r.str("BlockKey"))
			assert.ElementsMatch(t, []string{"uuid", "nickname", "blockReason", "blockDate"}, keys(r.Body["ErrorData"].(map[string]any)))
			assert.Equal(t, "permanent", r.str("ErrorData", "blockDate"))
		}},
		{403, CodeDeviceBlocked, func(e *env) resp {
			_, err := e.svc.BlockDevice(ctx, "bad", BlockSpec{Reason: "r"})
			require.NoError(e.t, err)
			return e.put("/guest/signin", device("bad"))
		}, func(t *testing.T, e *env, r resp) {
			assert.Equal(t, map[string]any{"deviceUniqueId": "bad"}, r.Body["ErrorData"])
		}},
		{404, CodeAccountNotFound, func(e *env) resp {
			p := e.signUp("d")
			require.NoError(e.t, e.mem.DeleteAccount(ctx, p.id))
			return e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access))
		}, nil},
		{404, CodeWithdrawalKeyInvalid, func(e *env) resp { return e.put("/withdrawal/search", map[string]any{"withdrawal_key": "nope"}) }, nil},
		{404, CodeWithdrawalKeyInvalid, func(e *env) resp {
			return e.put("/withdrawal/restore", with(device("d"), "withdrawal_key", "nope"))
		}, nil},
		{404, CodeBlockKeyInvalid, func(e *env) resp { return e.put("/block/reason", map[string]any{"block_key": "nope"}) }, nil},
		{409, CodeEmailTaken, func(e *env) resp {
			p := e.signUp("d")
			return e.put("/email/signup", with(device("d"), "linked_id", p.email, "linked_password", "12345678"))
		}, nil},
		{409, CodeNicknameTaken, func(e *env) resp {
			p, q := e.signUp("d"), e.signUp("d2")
			e.put("/nickname", map[string]any{"nickname": "Same"}, bearerOpt(p.access))
			return e.put("/nickname", map[string]any{"nickname": "sAME"}, bearerOpt(q.access))
		}, nil},
		{400, CodeResetCodeInvalid, func(e *env) resp {
			p := e.signUp("d")
			return e.put("/password/reset/confirm", map[string]any{"linked_id": p.email, "code": "12", "new_password": "12345678"})
		}, nil},
		{410, CodeRefreshExpired, func(e *env) resp {
			p := e.signUp("d")
			e.clock.Advance(366 * 24 * time.Hour)
			return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
		}, nil},
		{410, CodeWithdrawalPeriodExpired, func(e *env) resp {
			key := e.withdraw(e.signUp("d"), nil)
			e.clock.Advance(8 * 24 * time.Hour)
			_, err := e.svc.PurgeWithdrawn(ctx)
			require.NoError(e.t, err)
			return e.put("/withdrawal/restore", with(device("d"), "withdrawal_key", key))
		}, nil},
		{429, CodeRateLimited, func(e *env) resp {
			var r resp
			for range DefaultSignInLimit + 1 {
				r = e.put("/email/signin", with(device("d"), "linked_id", "x@example.com", "linked_password", "12345678"))
			}
			return r
		}, func(t *testing.T, e *env, r resp) { assert.NotEmpty(t, r.Header.Get("Retry-After")) }},
		{503, CodeUnavailable, func(e *env) resp {
			e.fault.arm(1)
			defer e.fault.disarm()
			return e.put("/nickname/exists", map[string]any{"nickname": "x"})
		}, nil},
		{400, CodeProviderNotConfigured, func(e *env) resp {
			return e.put("/federated/signin", fedSignIn("myspace", "x", "d"))
		}, nil},
		{401, CodeProviderTokenInvalid, func(e *env) resp {
			return e.put("/federated/signin", fedSignIn("apple", "refused", "d"))
		}, nil},
		{503, CodeProviderUnavailable, func(e *env) resp {
			return e.put("/federated/signin", fedSignIn("apple", "down", "d"))
		}, nil},
		{409, CodeIdentityTaken, func(e *env) resp {
			e.put("/federated/signin", fedSignIn("apple", "apple:1", "d"))
			p := e.signUp("d2")
			return e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:1"}, bearerOpt(p.access))
		}, nil},
		{409, CodeProviderAlreadyLinked, func(e *env) resp {
			r := e.put("/federated/signin", fedSignIn("apple", "apple:1", "d"))
			return e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:2"}, bearerOpt(r.str("Token", "AccessToken")))
		}, nil},
		{409, CodeLastIdentity, func(e *env) resp {
			r := e.put("/federated/signin", fedSignIn("apple", "apple:1", "d"))
			return e.put("/federated/unlink", map[string]any{"provider": "apple"}, bearerOpt(r.str("Token", "AccessToken")))
		}, nil},
	}
	codes := map[string]bool{}
	for _, row := range rows {
		t.Run(row.code, func(t *testing.T) {
			e := newEnv(t, withProviders, func(c *envConfig) {
				if row.code == CodeRateLimited {
					c.SignInLimit = 0
				}
			})
			r := row.do(e)
			requireError(t, r, row.status, row.code)
			if row.extra != nil {
				row.extra(t, e, r)
			}
			codes[row.code] = true
		})
	}
	all := Codes()
	var missing []string
	for _, c := range all {
		if !codes[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "every row of docs/API.md is pinned")
}

// A run through every flow yields an event of every audit kind, each with
// the player, session, device and address it concerns, and none holds a
// secret, an email or a nickname.
func TestEventsOfEveryKind(t *testing.T) {
	e := newEnv(t, withProviders, func(c *envConfig) { c.MaxSessions = -1 })
	ctx := WithOperator(context.Background(), "ops-anna")
	p := e.signUp("dev-a")                                                                               // signup
	e.signIn(p, "dev-b")                                                                                 // signin
	e.put("/email/signin", with(device("dev-c"), "linked_id", p.email, "linked_password", "wrong pass")) // signin.failed
	r := e.put("/token/refresh", map[string]any{"refresh_token": p.refresh})
	require.Equal(t, http.StatusOK, r.Status)
	e.clock.Advance(time.Minute)
	e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) // refresh.reused
	q := e.signIn(p, "dev-d")
	require.Equal(t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "Secret Name"}, bearerOpt(q.access)).Status)
	require.Equal(t, http.StatusOK, e.put("/password", map[string]any{"linked_password": p.password, "new_password": "another pass"}, bearerOpt(q.access)).Status)
	require.Equal(t, http.StatusAccepted, e.put("/password/reset", map[string]any{"linked_id": p.email}).Status)
	code := e.mailer.last(t).code
	e.secret(code)
	require.Equal(t, http.StatusOK, e.put("/password/reset/confirm", map[string]any{"linked_id": p.email, "code": code, "new_password": "third pass!"}).Status)
	p.password = "third pass!"
	q = e.signIn(p, "dev-d")
	lr := e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:ev"}, bearerOpt(q.access))
	require.Equal(t, http.StatusOK, lr.Status, lr.Raw)
	q.access = lr.str("Token", "AccessToken")
	require.Equal(t, http.StatusOK, e.put("/federated/unlink", map[string]any{"provider": "apple"}, bearerOpt(q.access)).Status)
	_, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "spam"})
	require.NoError(t, err)
	require.NoError(t, e.svc.UnblockPlayer(ctx, p.id))
	require.NoError(t, e.svc.RevokePlayerSessions(ctx, p.id))
	_, err = e.svc.RotateSigningKey(ctx)
	require.NoError(t, err)
	q = e.signIn(p, "dev-e")
	e.put("/signout", nil, bearerOpt(q.access)) // signout
	q = e.signIn(p, "dev-e")
	key := e.withdraw(q, map[string]any{"period": 1})
	require.Equal(t, http.StatusOK, e.put("/withdrawal/restore", with(device("dev-e"), "withdrawal_key", key)).Status)
	q = e.signIn(p, "dev-e")
	e.withdraw(q, map[string]any{"period": 1})
	e.clock.Advance(25 * time.Hour)
	_, err = e.svc.PurgeWithdrawn(ctx) // account.purged
	require.NoError(t, err)

	events := e.events.seenEvents()
	kinds := map[string]Event{}
	for _, ev := range events {
		kinds[ev.Kind] = ev
	}
	for _, k := range AuditKinds() {
		ev, ok := kinds[k]
		if !assert.True(t, ok, "no %s event", k) {
			continue
		}
		assert.False(t, ev.Time.IsZero(), k)
		if k != EventKeyRotated && k != EventBlockAdded && k != EventBlockRemoved && k != EventSessionRevoked {
			assert.NotEmpty(t, ev.PlayerID, "%s names the player", k)
		}
	}
	assert.Equal(t, "ops-anna", kinds[EventBlockAdded].Operator, "admin actions name the operator")
	assert.Equal(t, "spam", kinds[EventBlockAdded].Reason)
	assert.Equal(t, "INVALID_CREDENTIALS", kinds[EventSignInFailed].Reason)
	assert.Equal(t, p.id, kinds[EventSignInFailed].PlayerID, "a wrong password for a known email names the player")
	assert.Equal(t, "198.51.100.7", kinds[EventSignIn].ClientAddr.String(), "the request's address")
	assert.Equal(t, "198.51.100.7", kinds[EventNicknameChanged].ClientAddr.String(), "a Bearer endpoint's too")
	assert.NotEmpty(t, kinds[EventSignIn].SessionID)
	assert.Equal(t, "email", kinds[EventSignIn].Method)

	// No secret, email or nickname in any field of any event.
	e.secret(p.email, "Secret Name", "secret name")
	e.secretsMu.Lock()
	secrets := slices.Clone(e.secrets)
	e.secretsMu.Unlock()
	for _, ev := range events {
		text := fmt.Sprintf("%#v", ev)
		for _, s := range secrets {
			if len(s) >= 6 {
				assert.NotContains(t, text, s, "event %s", ev.Kind)
			}
		}
	}
}
