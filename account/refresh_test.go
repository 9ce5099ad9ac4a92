package account_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// TestRefreshFastPathAnswersAsTheLongWay refreshes in every state a session
// and its account can be in, once through the store's Refresher and once the
// long way (a store without one): the answers, the events and the writes
// are the same, and the common answers cost the fast way one store call.
func TestRefreshFastPathAnswersAsTheLongWay(t *testing.T) {
	ctx := context.Background()
	refresh := func(e *env, tok string) resp {
		return e.put("/token/refresh", map[string]any{"refresh_token": tok})
	}
	// refreshed refreshes p once and returns the new refresh token.
	refreshed := func(e *env, p player) string {
		r := refresh(e, p.refresh)
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		return r.str("Token", "RefreshToken")
	}
	block := func(e *env, id string, spec BlockSpec) {
		_, err := e.svc.BlockPlayer(ctx, id, spec)
		require.NoError(e.t, err)
	}
	for _, c := range []struct {
		name   string
		status int
		code   string
		oneOp  bool // the fast way answers with its one Refresh call
		setup  func(e *env) string
	}{
		{"Rotate", 200, "", true, func(e *env) string { return e.signUp("dev-a").refresh }},
		{"RetryInsideGrace", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			refreshed(e, p)
			e.clock.Advance(DefaultRefreshGrace - time.Second)
			return p.refresh
		}},
		{"RotatedToken", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			return refreshed(e, p)
		}},
		{"ReusedAfterGrace", 401, CodeRefreshReused, true, func(e *env) string {
			p := e.signUp("dev-a")
			refreshed(e, p)
			e.clock.Advance(DefaultRefreshGrace)
			return p.refresh
		}},
		{"LiveTokenAfterReuse", 401, CodeSessionRevoked, true, func(e *env) string {
			p := e.signUp("dev-a")
			next := refreshed(e, p)
			e.clock.Advance(time.Hour)
			requireError(e.t, refresh(e, p.refresh), 401, CodeRefreshReused)
			return next
		}},
		{"Expired", 410, CodeRefreshExpired, true, func(e *env) string {
			p := e.signUp("dev-a")
			e.clock.Advance(DefaultRefreshTTL)
			return p.refresh
		}},
		{"SignedOut", 401, CodeSessionRevoked, true, func(e *env) string {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/signout", nil, bearerOpt(p.access)).Status)
			return p.refresh
		}},
		{"Replaced", 401, CodeSessionReplaced, true, func(e *env) string {
			p := e.signUp("dev-a")
			e.signIn(p, "dev-b")
			return p.refresh
		}},
		{"RevokedByAdmin", 401, CodeSessionRevoked, true, func(e *env) string {
			p := e.signUp("dev-a")
			require.NoError(e.t, e.svc.RevokePlayerSessions(ctx, p.id))
			return p.refresh
		}},
		{"Withdrawn", 403, CodeAccountWithdrawn, false, func(e *env) string {
			p := e.signUp("dev-a")
			e.withdraw(p, nil)
			return p.refresh
		}},
		{"WithdrawnStaleToken", 403, CodeAccountWithdrawn, false, func(e *env) string {
			p := e.signUp("dev-a")
			refreshed(e, p)
			e.withdraw(p, nil)
			e.clock.Advance(time.Hour)
			return p.refresh
		}},
		{"PastWithdrawalDeadline", 404, CodeAccountNotFound, false, func(e *env) string {
			p := e.signUp("dev-a")
			e.withdraw(p, map[string]any{"period": 1})
			e.clock.Advance(25 * time.Hour)
			return p.refresh
		}},
		{"Restored", 401, CodeSessionRevoked, false, func(e *env) string {
			p := e.signUp("dev-a")
			key := e.withdraw(p, nil)
			r := e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key))
			require.Equal(e.t, 200, r.Status, r.Raw)
			return p.refresh
		}},
		{"Blocked", 403, CodeAccountBlocked, false, func(e *env) string {
			p := e.signUp("dev-a")
			block(e, p.id, BlockSpec{Reason: "cheating", Until: e.clock.Now().Add(time.Hour)})
			return p.refresh
		}},
		{"BlockedStaleToken", 403, CodeAccountBlocked, false, func(e *env) string {
			p := e.signUp("dev-a")
			refreshed(e, p)
			block(e, p.id, BlockSpec{Reason: "cheating"})
			e.clock.Advance(time.Hour)
			return p.refresh
		}},
		{"BlockedAndSignedOut", 401, CodeSessionRevoked, false, func(e *env) string {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/signout", nil, bearerOpt(p.access)).Status)
			block(e, p.id, BlockSpec{Reason: "cheating"})
			return p.refresh
		}},
		{"BlockedAndExpired", 403, CodeAccountBlocked, false, func(e *env) string {
			p := e.signUp("dev-a")
			block(e, p.id, BlockSpec{Reason: "cheating"})
			e.clock.Advance(DefaultRefreshTTL)
			return p.refresh
		}},
		{"BlockEnded", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			block(e, p.id, BlockSpec{Reason: "cheating", Until: e.clock.Now().Add(time.Hour)})
			e.clock.Advance(time.Hour)
			return p.refresh
		}},
		{"Unblocked", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			block(e, p.id, BlockSpec{Reason: "cheating"})
			require.NoError(e.t, e.svc.UnblockPlayer(ctx, p.id))
			return p.refresh
		}},
		{"ServiceBlock", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			block(e, p.id, BlockSpec{Reason: "spam", Services: []string{"chat"}})
			_, err := e.svc.BlockDevice(ctx, "dev-a", BlockSpec{Reason: "spam", Services: []string{"chat"}})
			require.NoError(e.t, err)
			return p.refresh
		}},
		{"DeviceBlocked", 403, CodeDeviceBlocked, false, func(e *env) string {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockDevice(ctx, "dev-a", BlockSpec{Reason: "emulator"})
			require.NoError(e.t, err)
			return p.refresh
		}},
		{"OtherDeviceBlocked", 200, "", true, func(e *env) string {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockDevice(ctx, "dev-b", BlockSpec{Reason: "emulator"})
			require.NoError(e.t, err)
			return p.refresh
		}},
		{"AccountGone", 404, CodeAccountNotFound, false, func(e *env) string {
			p := e.signUp("dev-a")
			require.NoError(e.t, e.mem.DeleteAccount(ctx, p.id))
			return p.refresh
		}},
		{"SessionGone", 401, CodeTokenInvalid, false, func(e *env) string {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/signout", nil, bearerOpt(p.access)).Status)
			_, err := e.mem.DeleteSessionsBefore(ctx, e.clock.Now().Add(time.Hour))
			require.NoError(e.t, err)
			return p.refresh
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			type outcome struct {
				status           int
				code, message    string
				keys, errorData  []string
				player           map[string]any
				events           []storage.RevokeReason
				session, account string
			}
			run := func(opts ...func(*envConfig)) (outcome, []string) {
				e := newEnv(t, opts...)
				tok := c.setup(e)
				e.events.mu.Lock()
				nEvents := len(e.events.revs)
				e.events.mu.Unlock()
				e.fault.arm(0) // count the calls, fail none
				r := refresh(e, tok)
				ops := e.fault.calledOps()
				e.fault.disarm()
				o := outcome{status: r.Status, code: r.code(), message: r.str("Message")}
				for k := range r.Body {
					o.keys = append(o.keys, k)
				}
				slices.Sort(o.keys)
				if data, ok := r.Body["ErrorData"].(map[string]any); ok {
					for k, v := range data {
						if k != "uuid" {
							o.errorData = append(o.errorData, k+"="+v.(string))
						}
					}
					slices.Sort(o.errorData)
				}
				if pl, ok := r.Body["Player"].(map[string]any); ok {
					delete(pl, "UserUniqueID")
					delete(pl, "OpenID")
					delete(pl, "LinkedID")
					o.player = pl
				}
				e.events.mu.Lock()
				for _, rv := range e.events.revs[nEvents:] {
					o.events = append(o.events, rv.Reason)
				}
				e.events.mu.Unlock()
				// What the refresh left in the store, for the session the
				// token names and its account.
				sid, _, err := e.toks.Ring.ParseRefreshToken(tok)
				require.NoError(t, err)
				if s, err := e.mem.GetSession(ctx, sid); err == nil {
					o.session = fmt.Sprintf("%s/%d", s.RevokeReason, s.Generation)
					if _, err := e.mem.GetAccount(ctx, s.AccountID); err != nil {
						o.account = "gone"
					}
				} else {
					o.session = "gone"
				}
				return o, ops
			}
			fast, fastOps := run()
			slow, slowOps := run(slowRefresh)
			assert.Equal(t, slow, fast, "the fast way answers and writes as the long way")
			assert.Equal(t, c.status, fast.status)
			assert.Equal(t, c.code, fast.code)
			assert.NotContains(t, slowOps, "Refresh", "a store without Refresher is never asked to")
			require.NotEmpty(t, fastOps)
			assert.Equal(t, "Refresh", fastOps[0], "the fast way starts with Refresh")
			if c.oneOp {
				assert.Equal(t, []string{"Refresh"}, fastOps, "one store call")
			} else {
				assert.Greater(t, len(fastOps), 1, "a state the long way answers")
			}
		})
	}
}
