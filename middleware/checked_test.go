package middleware_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// cachedSetup is the middleware as gameauth.New wires it: a verifier with
// a BoundedCache, whose Identities record the view's generation at which a
// session was last found in good standing.
type cachedSetup struct {
	clock  *testclock.Clock
	verify *tokens.Verifier
	issue  func(t *testing.T) string
	view   *revocation.View
	auth   *middleware.Authenticator
}

func newCachedSetup(t *testing.T) *cachedSetup {
	t.Helper()
	clock := testclock.New(t0)
	store := memory.New()
	ring, err := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: store, Clock: clock.Now})
	require.NoError(t, err)
	s := &cachedSetup{clock: clock}
	s.verify = tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: "i", Audience: "a", Cache: tokens.NewCache(64, time.Hour)})
	iss := tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: "i", Audience: "a"})
	s.issue = func(t *testing.T) string {
		t.Helper()
		c := claims
		c.ExpiresAt = time.Time{}
		tok, _, err := iss.Issue(c)
		require.NoError(t, err)
		return tok
	}
	s.view = revocation.New(store, revocation.Config{Clock: clock.Now})
	s.auth = middleware.New(s.verify, s.view, middleware.Config{})
	return s
}

// status answers tok's request on a route of service ("" for none).
func (s *cachedSetup) status(tok, service string) (int, any) {
	var opts []middleware.Option
	if service != "" {
		opts = append(opts, middleware.Service(service))
	}
	res := do(s.auth.Require(echo, opts...), bearer(tok))
	return res.status, res.body["ErrorCode"]
}

// A session found in good standing is not looked up again until the view
// changes; every change is seen at the next request, whichever token of
// the session it carries, and a check for a service is never taken from
// one for no service.
func TestCheckedSessionSeesEveryChange(t *testing.T) {
	s := newCachedSetup(t)
	ctx := context.Background()
	tok, other := s.issue(t), s.issue(t)
	now := s.clock.Now()
	want := func(status int, code any, tok, service, why string) {
		t.Helper()
		for range 2 { // the second request is answered by the recorded check, if any
			got, gotCode := s.status(tok, service)
			require.Equal(t, status, got, why)
			require.Equal(t, code, gotCode, why)
		}
	}
	want(200, nil, tok, "", "in good standing")
	want(200, nil, other, "", "another token of the session")

	s.view.BlockChanged(ctx, storage.Block{Key: "b1", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "abuse", CreatedAt: now})
	want(403, "ACCOUNT_BLOCKED", tok, "", "blocked")
	want(403, "ACCOUNT_BLOCKED", other, "", "blocked, the other token")
	s.view.BlockChanged(ctx, storage.Block{Key: "b1", Kind: storage.BlockPlayer, Subject: "player-1", CreatedAt: now, LiftedAt: now})
	want(200, nil, tok, "", "unblocked")

	s.view.BlockChanged(ctx, storage.Block{Key: "b2", Kind: storage.BlockDevice, Subject: "dev-1", Reason: "cheat", CreatedAt: now})
	want(403, "DEVICE_BLOCKED", other, "", "device blocked")
	s.view.BlockChanged(ctx, storage.Block{Key: "b2", Kind: storage.BlockDevice, Subject: "dev-1", CreatedAt: now, LiftedAt: now})
	want(200, nil, other, "", "device unblocked")

	s.view.BlockChanged(ctx, storage.Block{Key: "b3", Kind: storage.BlockPlayer, Subject: "player-1", Reason: "spam", Services: []string{"chat"}, CreatedAt: now})
	want(200, nil, tok, "", "a chat block, off chat")
	want(403, "ACCOUNT_BLOCKED", tok, "chat", "a chat block, on chat, right after a check off it")
	want(200, nil, tok, "", "off chat again")

	// A block of a later sync (another node's, say) is seen as well.
	require.NoError(t, s.view.Sync(ctx))
	want(200, nil, tok, "", "synced, nothing new")

	s.view.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "sess-1", AccountID: "player-1", Reason: storage.ReasonSignedOut, At: now}})
	want(401, "SESSION_REVOKED", tok, "", "signed out")
	want(401, "SESSION_REVOKED", other, "", "signed out, the other token")
}

// Two authenticators over one verifier (so one Identity per session) and
// two views never take each other's checks: generations are never shared.
func TestCheckedSessionPerView(t *testing.T) {
	s := newCachedSetup(t)
	tok := s.issue(t)
	revoked := revocation.New(memory.New(), revocation.Config{Clock: s.clock.Now})
	revoked.SessionsRevoked(context.Background(), []storage.Revocation{{SessionID: "sess-1", Reason: storage.ReasonAdmin, At: t0}})
	strict := middleware.New(s.verify, revoked, middleware.Config{})
	// Each view has changed as often since it was made.
	s.view.SessionsRevoked(context.Background(), []storage.Revocation{{SessionID: "sess-other", Reason: storage.ReasonAdmin, At: t0}})
	for range 3 {
		got, _ := s.status(tok, "")
		require.Equal(t, http.StatusOK, got)
		res := do(strict.Require(echo), bearer(tok))
		require.Equal(t, http.StatusUnauthorized, res.status)
		assert.Equal(t, "SESSION_REVOKED", res.body["ErrorCode"])
	}
}

// Requests racing a revocation: once SessionsRevoked has returned, no
// request that starts after it gets through, however many checks were
// recorded before.
func TestCheckedSessionRacesARevocation(t *testing.T) {
	s := newCachedSetup(t)
	tok := s.issue(t)
	h := s.auth.Require(echo)
	var revoked atomic.Bool
	var late atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := revoked.Load()
				if res := do(h, bearer(tok)); after && res.status != http.StatusUnauthorized {
					late.Add(1)
				}
			}
		})
	}
	for range 200 {
		do(h, bearer(tok)) // let the checks be recorded
	}
	s.view.SessionsRevoked(context.Background(), []storage.Revocation{{SessionID: "sess-1", Reason: storage.ReasonReused, At: t0}})
	revoked.Store(true)
	for range 200 {
		do(h, bearer(tok))
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, late.Load(), "requests let through after the revocation")
}
