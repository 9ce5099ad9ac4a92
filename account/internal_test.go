package account

// Unit tests of the package's internals; the flows are tested from outside,
// through the HTTP handler and the Go API (package account_test).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyArgon makes tests fast; the parameters' handling is tested apart.
var tinyArgon = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestHashConcurrencyIsBounded(t *testing.T) {
	h := newHasher(tinyArgon.withDefaults(), 2)
	ctx := context.Background()
	// Many at once all finish...
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := h.hash(ctx, "password")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(16), h.runs.Load())
	assert.Empty(t, h.sem, "every slot given back")

	// ...but with every slot taken, a hash waits for one instead of running,
	// and gives up with its request.
	h.sem <- struct{}{}
	h.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := h.hash(cctx, "password")
		done <- err
	}()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, int64(16), h.runs.Load(), "it never ran")
	<-h.sem
	_, err := h.hash(ctx, "password")
	assert.NoError(t, err)
}

func TestPHC(t *testing.T) {
	ctx := context.Background()
	p := Argon2Params{}.withDefaults()
	assert.Equal(t, Argon2Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}, p, "OWASP defaults")
	h := newHasher(tinyArgon.withDefaults(), 1)
	phc, err := h.hash(ctx, "pässwörd 🎮")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$"), phc)
	ok, stale, err := h.verify(ctx, phc, "pässwörd 🎮")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, stale)
	ok, _, err = h.verify(ctx, phc, "password")
	require.NoError(t, err)
	assert.False(t, ok)

	stronger := newHasher(Argon2Params{Memory: 128, Time: 2, Threads: 1}.withDefaults(), 1)
	ok, stale, err = stronger.verify(ctx, phc, "pässwörd 🎮")
	require.NoError(t, err)
	assert.True(t, ok, "old parameters keep verifying")
	assert.True(t, stale, "and ask for a rehash")

	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,x=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5"} {
		_, _, err := h.verify(ctx, bad, "x")
		assert.ErrorIs(t, err, errBadHash, bad)
	}
}

func TestRulesUnits(t *testing.T) {
	for lang, want := range map[string]string{"KO": "KR", "ko": "KR", "JA": "JP", "en-GB": "GB", "en_US": "US", "pt-BR": "BR", "": "", "??": "", "zh-Hant": "TW"} {
		assert.Equal(t, want, regionOf(lang), lang)
	}
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, newAccountID())
	assert.Regexp(t, `^[a-z2-7]{24}$`, newOpenID())
	assert.Regexp(t, `^[0-9]{8}$`, newResetCode())
	assert.Regexp(t, `^[A-Za-z0-9_-]{22}$`, newSessionID())
	seen := map[string]bool{}
	for range 1000 {
		c := newResetCode()
		seen[c[:1]] = true
	}
	assert.Len(t, seen, 10, "leading digits all occur: codes are zero-padded, uniform")
	for _, ok := range []string{"a@b.co", "first.last+tag@example.com"} {
		assert.NoError(t, checkEmail("f", ok), ok)
	}
	for _, bad := range []string{"", "a", "a@b", "A <a@b.co>", "a@b.co (c)", "a b@c.de", strings.Repeat("a", 250) + "@b.co"} {
		assert.Error(t, checkEmail("f", normalizeEmail(bad)), bad)
	}
}

func TestClientAddr(t *testing.T) {
	h := &handler{cfg: HandlerConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	cases := []struct {
		remote string
		hdr    map[string]string
		want   string
	}{
		{"203.0.113.1:5", nil, "203.0.113.1"},
		{"203.0.113.1:5", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "203.0.113.1"},
		{"203.0.113.1:5", map[string]string{"X-Real-IP": "198.51.100.1"}, "203.0.113.1"},
		{"10.0.0.1:5", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"},
		{"10.0.0.1:5", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"10.0.0.1:5", map[string]string{"X-Forwarded-For": "10.0.0.8, 10.0.0.9"}, "10.0.0.8"},
		{"10.0.0.1:5", map[string]string{"X-Forwarded-For": "garbage, 10.0.0.9"}, "10.0.0.9"},
		{"10.0.0.1:5", map[string]string{"X-Real-IP": "198.51.100.2"}, "198.51.100.2"},
		{"10.0.0.1:5", nil, "10.0.0.1"},
		{"[fd00::1]:5", map[string]string{"X-Forwarded-For": "2001:db8::7"}, "2001:db8::7"},
		{"[::ffff:203.0.113.1]:5", nil, "203.0.113.1"},
		{"pipe", nil, "invalid IP"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPut, "/", nil)
		r.RemoteAddr = c.remote
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		assert.Equal(t, c.want, h.clientAddr(r).String(), "%s %v", c.remote, c.hdr)
	}
}

func BenchmarkArgon2DefaultHash(b *testing.B) {
	h := newHasher(Argon2Params{}.withDefaults(), 1)
	for b.Loop() {
		if _, err := h.hash(context.Background(), "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLocalLimiter(t *testing.T) {
	l := NewLocalLimiter(2).(*localLimiter)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 2 {
		ok, _, err := l.Allow(ctx, "k", t0)
		require.NoError(t, err)
		require.True(t, ok, "attempt %d", i)
	}
	ok, after, _ := l.Allow(ctx, "k", t0)
	require.False(t, ok)
	assert.Equal(t, 30*time.Second, after)
	ok, _, _ = l.Allow(ctx, "other", t0)
	assert.True(t, ok, "keys are independent")
	ok, _, _ = l.Allow(ctx, "k", t0.Add(30*time.Second))
	assert.True(t, ok)
	// Idle buckets are dropped.
	l.Allow(ctx, "fresh", t0.Add(5*time.Minute))
	assert.Len(t, l.buckets, 1)
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                   "addr:192.0.2.1",
		"::ffff:192.0.2.1":            "addr:192.0.2.1",
		"2001:db8:1:2::1":             "addr:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ff:1": "addr:2001:db8:1:2::/64",
		"2001:db8:1:3::1":             "addr:2001:db8:1:3::/64",
		"fe80::1%eth0":                "addr:fe80::/64",
		"::1":                         "addr:::/64",
	} {
		assert.Equal(t, want, addrKey(netip.MustParseAddr(in)), in)
	}
	assert.Empty(t, addrKey(netip.Addr{}))
}

func TestErrorValues(t *testing.T) {
	e := ErrAccountBlocked.with("account is blocked until tomorrow")
	e.BlockKey = "k"
	var err error = fmt.Errorf("wrapped: %w", e)
	assert.ErrorIs(t, err, ErrAccountBlocked)
	assert.NotErrorIs(t, err, ErrDeviceBlocked)
	assert.Equal(t, "ACCOUNT_BLOCKED: account is blocked until tomorrow", e.Error())

	u := &Error{Code: CodeUnavailable, Status: 503, Message: "x", Err: errStore}
	assert.ErrorIs(t, u, errStore)
	assert.ErrorIs(t, u, ErrUnavailable)

	rec := httptest.NewRecorder()
	WriteError(rec, errors.New("raw failure"))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.JSONEq(t, `{"ErrorCode":"UNAVAILABLE","Message":"service temporarily unavailable"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	rl := ErrRateLimited.with("slow down")
	rl.RetryAfter = 1500 * time.Millisecond
	WriteError(rec, rl)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
}

var errStore = errors.New("store failed")

func TestLegacyCodeTable(t *testing.T) {
	for contract, want := range map[string][2]string{
		CodeAccountNotFound:    {"30000", "NotFoundAccountException"},
		CodeInvalidCredentials: {"30001", "NotMatchAccountException"},
		CodeTokenInvalid:       {"30001", "NotMatchAccountException"},
		CodeTokenExpired:       {"30002", "ExpiredTokenException"},
		CodeRefreshExpired:     {"30002", "ExpiredTokenException"},
		CodeTokenMissing:       {"30005", "NullTokenException"},
		CodeAccountWithdrawn:   {"30007", "WithDrawalException"},
		CodeAccountBlocked:     {"70002", "BlockedAccountException"},
		CodeSessionRevoked:     {CodeSessionRevoked, ""},
		CodeRateLimited:        {CodeRateLimited, ""},
	} {
		code, msg := LegacyCodes.Code(contract)
		assert.Equal(t, want, [2]string{code, msg}, contract)
		code, msg = ContractCodes.Code(contract)
		assert.Equal(t, [2]string{contract, ""}, [2]string{code, msg})
	}
	rec := httptest.NewRecorder()
	LegacyCodes.Write(rec, ErrTokenExpired)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.JSONEq(t, `{"ErrorCode":"30002","Message":"ExpiredTokenException"}`, rec.Body.String())
}
