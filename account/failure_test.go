package account_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// snapshot is the state of the store as a client can observe it. Accounts
// past their withdrawal deadline count as gone, purged or not (docs/API.md); a
// session that did not exist before and exists revoked after was never
// handed out, which compare allows.
type snapshot struct {
	accounts, links, nicks, sessions, withdrawals, blocks map[string]string
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	m := e.mem
	now := e.clock.Now()
	f := e.fault
	f.mu.Lock()
	accounts := slices.Collect(maps.Keys(f.seenAccounts))
	sessions := slices.Collect(maps.Keys(f.seenSessions))
	devices := slices.Collect(maps.Keys(f.seenDevices))
	links := slices.Collect(maps.Keys(f.seenLinks))
	nicks := slices.Collect(maps.Keys(f.seenNicks))
	hashes := slices.Collect(maps.Keys(f.seenKeyHashes))
	f.mu.Unlock()

	s := snapshot{map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}}
	gone := func(id string) bool {
		if _, err := m.GetAccount(ctx, id); errors.Is(err, storage.ErrNotFound) {
			return true
		}
		w, err := m.GetAccountWithdrawal(ctx, id)
		return err == nil && !now.Before(w.Deadline)
	}
	for _, id := range accounts {
		if gone(id) {
			s.accounts[id] = "gone"
			continue
		}
		a, err := m.GetAccount(ctx, id)
		require.NoError(e.t, err)
		state := fmt.Sprintf("%+v", a)
		ids, err := m.ListIdentities(ctx, id)
		require.NoError(e.t, err)
		state += fmt.Sprintf(" identities=%v", ids)
		if w, err := m.GetAccountWithdrawal(ctx, id); err == nil {
			state += fmt.Sprintf(" withdrawal=%x %s %v", w.KeyHash, w.Memo, w.Deadline)
		}
		for _, kind := range []storage.BlockKind{storage.BlockPlayer} {
			bs, err := m.ActiveBlocks(ctx, kind, id, now)
			require.NoError(e.t, err)
			for _, b := range bs {
				state += " block=" + b.Key
			}
		}
		s.accounts[id] = state
	}
	holder := func(a storage.Account, err error) string {
		if errors.Is(err, storage.ErrNotFound) || (err == nil && gone(a.ID)) {
			return "none"
		}
		require.NoError(e.t, err)
		return a.ID
	}
	for _, l := range links {
		s.links[l.Type+":"+l.ID] = holder(m.GetAccountByLink(ctx, l.Type, l.ID))
	}
	for _, n := range nicks {
		s.nicks[n] = holder(m.GetAccountByNickname(ctx, n))
	}
	for _, id := range sessions {
		ss, err := m.GetSession(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			s.sessions[id] = "absent"
		case ss.Revoked():
			s.sessions[id] = "revoked:" + string(ss.RevokeReason)
		default:
			require.NoError(e.t, err)
			s.sessions[id] = fmt.Sprintf("live:%x:%x:%d", ss.RefreshHash, ss.PrevRefreshHash, ss.Generation)
		}
	}
	for _, d := range devices {
		bs, err := m.ActiveBlocks(ctx, storage.BlockDevice, d, now)
		require.NoError(e.t, err)
		for _, b := range bs {
			s.blocks[d] += b.Key + " "
		}
	}
	for _, h := range hashes {
		w, err := m.GetWithdrawal(ctx, []byte(h))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			s.withdrawals[hex.EncodeToString([]byte(h))] = "absent"
		case !w.PurgedAt.IsZero() || !now.Before(w.Deadline):
			s.withdrawals[hex.EncodeToString([]byte(h))] = "expired"
		default:
			s.withdrawals[hex.EncodeToString([]byte(h))] = "pending"
		}
	}
	return s
}

func requireSameState(t *testing.T, before, after snapshot, msg string) {
	t.Helper()
	assert.Equal(t, before.accounts, pick(after.accounts, before.accounts, "gone"), msg+": accounts")
	for id, st := range after.accounts {
		if _, ok := before.accounts[id]; !ok {
			assert.Equal(t, "gone", st, msg+": account %s was created", id)
		}
	}
	for id, st := range after.sessions {
		was, ok := before.sessions[id]
		if !ok || was == "absent" {
			assert.Contains(t, []string{"absent", "revoked:signed_out"}, st, msg+": session %s was created", id)
			continue
		}
		assert.Equal(t, was, st, msg+": session %s", id)
	}
	assert.Equal(t, before.links, pick(after.links, before.links, "none"), msg+": links")
	assert.Equal(t, before.nicks, pick(after.nicks, before.nicks, "none"), msg+": nicknames")
	assert.Equal(t, before.blocks, pick(after.blocks, before.blocks, ""), msg+": device blocks")
	assert.Equal(t, before.withdrawals, pick(after.withdrawals, before.withdrawals, "absent"), msg+": withdrawals")
}

// pick keeps the keys of ref in m; a key new in m must have the value
// absent (the "nothing" of its kind).
func pick(m, ref map[string]string, absent string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if _, ok := ref[k]; ok {
			out[k] = v
		} else if v != absent {
			out[k] = "NEW:" + v
		}
	}
	return out
}

// flow is one request against a prepared store.
type flow struct {
	name   string
	opts   []func(*envConfig)
	setup  func(e *env) func() resp // returns the request to make
	status int
	code   string // for an expected error
}

// admin renders an admin call's outcome like the handler would.
func admin(err error) resp {
	rec := httptest.NewRecorder()
	if err != nil {
		WriteError(rec, err)
	} else {
		rec.WriteHeader(http.StatusOK)
	}
	r := resp{Status: rec.Code, Raw: rec.Body.String(), Body: map[string]any{}}
	if err != nil {
		var e *Error
		errors.As(err, &e)
		r.Body["ErrorCode"] = e.Code
		r.Body["Message"] = e.Message
	}
	return r
}

func flows() []flow {
	ctx := context.Background()
	dueHolder := func(e *env) player {
		p := e.signUpAs("stale@example.com", "old password", "dev-s")
		require.Equal(e.t, http.StatusOK, e.put("/nickname", map[string]any{"nickname": "Stale"}, bearerOpt(p.access)).Status)
		e.withdraw(p, map[string]any{"period": 1})
		e.clock.Advance(25 * time.Hour)
		return p
	}
	return []flow{
		{name: "signup", status: 201, setup: func(e *env) func() resp {
			return func() resp {
				return e.put("/email/signup", with(device("dev-a"), "linked_id", "new@example.com", "linked_password", "12345678", "nickname", "Newbie"))
			}
		}},
		{name: "signup over a purged-due holder", status: 201, setup: func(e *env) func() resp {
			dueHolder(e)
			return func() resp {
				return e.put("/email/signup", with(device("dev-a"), "linked_id", "stale@example.com", "linked_password", "12345678", "nickname", "STALE"))
			}
		}},
		{name: "signin replacing a session", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp {
				return e.put("/email/signin", with(device("dev-b"), "linked_id", p.email, "linked_password", p.password))
			}
		}},
		{name: "signin with rehash", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			old := Argon2Params{Memory: 32, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
			phc, err := HashWith(ctx, old, p.password)
			require.NoError(e.t, err)
			require.NoError(e.t, e.mem.UpdateAccount(ctx, p.id, storage.AccountUpdate{PasswordHash: &phc, At: e.clock.Now()}))
			return func() resp {
				return e.put("/email/signin", with(device("dev-b"), "linked_id", p.email, "linked_password", p.password))
			}
		}},
		{name: "signin past withdrawal deadline", status: 401, code: CodeInvalidCredentials, setup: func(e *env) func() resp {
			p := dueHolder(e)
			return func() resp {
				return e.put("/email/signin", with(device("dev-b"), "linked_id", p.email, "linked_password", p.password))
			}
		}},
		{name: "signin wrong password", status: 401, code: CodeInvalidCredentials, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp {
				return e.put("/email/signin", with(device("dev-b"), "linked_id", p.email, "linked_password", "nope nope"))
			}
		}},
		{name: "guest create", status: 201, setup: func(e *env) func() resp {
			return func() resp { return e.put("/guest/signin", device("dev-g")) }
		}},
		{name: "guest signin", status: 200, setup: func(e *env) func() resp {
			g := e.guest("dev-g")
			return func() resp { return e.put("/guest/signin", with(device("dev-h"), "guest_key", g.guestKey)) }
		}},
		{name: "refresh", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh reuse", status: 401, code: CodeRefreshReused, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}).Status)
			e.clock.Advance(time.Minute)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh retry", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}).Status)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh signed out", status: 401, code: CodeSessionRevoked, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			require.Equal(e.t, 200, e.put("/signout", nil, bearerOpt(p.access)).Status)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh withdrawn", status: 403, code: CodeAccountWithdrawn, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.withdraw(p, nil)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh past withdrawal deadline", status: 404, code: CodeAccountNotFound, setup: func(e *env) func() resp {
			p := dueHolder(e)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh blocked", status: 403, code: CodeAccountBlocked, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "refresh device blocked", status: 403, code: CodeDeviceBlocked, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockDevice(ctx, "dev-a", BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp { return e.put("/token/refresh", map[string]any{"refresh_token": p.refresh}) }
		}},
		{name: "token status", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)) }
		}},
		{name: "token status withdrawn", status: 403, code: CodeAccountWithdrawn, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.withdraw(p, nil)
			return func() resp { return e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)) }
		}},
		{name: "signout", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.put("/signout", nil, bearerOpt(p.access)) }
		}},
		{name: "signout all", status: 200, opts: []func(*envConfig){func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.signIn(p, "dev-b")
			return func() resp { return e.put("/signout", map[string]any{"all": true}, bearerOpt(p.access)) }
		}},
		{name: "link", status: 200, setup: func(e *env) func() resp {
			g := e.guest("dev-g")
			return func() resp {
				return e.put("/email/link", map[string]any{"linked_id": "linked@example.com", "linked_password": "12345678"}, bearerOpt(g.access))
			}
		}},
		{name: "link over a purged-due holder", status: 200, opts: []func(*envConfig){func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			dueHolder(e)
			g := e.guest("dev-g")
			return func() resp {
				return e.put("/email/link", map[string]any{"linked_id": "stale@example.com", "linked_password": "12345678"}, bearerOpt(g.access))
			}
		}},
		{name: "password change", status: 200, opts: []func(*envConfig){func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.signIn(p, "dev-b")
			return func() resp {
				return e.put("/password", map[string]any{"linked_password": p.password, "new_password": "another password"}, bearerOpt(p.access))
			}
		}},
		{name: "reset request", status: 202, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.put("/password/reset", map[string]any{"linked_id": p.email}) }
		}},
		{name: "reset confirm", status: 200, opts: []func(*envConfig){func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.signIn(p, "dev-b")
			require.Equal(e.t, 202, e.put("/password/reset", map[string]any{"linked_id": p.email}).Status)
			code := e.mailer.last(e.t).code
			e.secret(code)
			return func() resp {
				return e.put("/password/reset/confirm", map[string]any{"linked_id": p.email, "code": code, "new_password": "reset password"})
			}
		}},
		{name: "nickname get", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.call(http.MethodGet, "/nickname", nil, bearerOpt(p.access)) }
		}},
		{name: "nickname set", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.put("/nickname", map[string]any{"nickname": "Knight"}, bearerOpt(p.access)) }
		}},
		{name: "nickname set over a purged-due holder", status: 200, setup: func(e *env) func() resp {
			dueHolder(e)
			p := e.signUp("dev-a")
			return func() resp { return e.put("/nickname", map[string]any{"nickname": "stale"}, bearerOpt(p.access)) }
		}},
		{name: "nickname exists", status: 200, setup: func(e *env) func() resp {
			dueHolder(e)
			return func() resp { return e.put("/nickname/exists", map[string]any{"nickname": "stale"}) }
		}},
		{name: "withdraw", status: 200, opts: []func(*envConfig){func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.signIn(p, "dev-b")
			return func() resp { return e.put("/withdrawal", map[string]any{"memo": "bye"}, bearerOpt(p.access)) }
		}},
		{name: "withdrawal search", status: 200, setup: func(e *env) func() resp {
			key := e.withdraw(e.signUp("dev-a"), nil)
			return func() resp { return e.put("/withdrawal/search", map[string]any{"withdrawal_key": key}) }
		}},
		{name: "withdrawal search expired", status: 410, code: CodeWithdrawalPeriodExpired, setup: func(e *env) func() resp {
			key := e.withdraw(e.signUp("dev-a"), map[string]any{"period": 1})
			e.clock.Advance(25 * time.Hour)
			return func() resp { return e.put("/withdrawal/search", map[string]any{"withdrawal_key": key}) }
		}},
		{name: "restore", status: 200, setup: func(e *env) func() resp {
			key := e.withdraw(e.signUp("dev-a"), nil)
			return func() resp { return e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)) }
		}},
		{name: "restore expired", status: 410, code: CodeWithdrawalPeriodExpired, setup: func(e *env) func() resp {
			key := e.withdraw(e.signUp("dev-a"), map[string]any{"period": 1})
			e.clock.Advance(25 * time.Hour)
			return func() resp { return e.put("/withdrawal/restore", with(device("dev-a"), "withdrawal_key", key)) }
		}},
		{name: "block reason", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			key, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp { return e.put("/block/reason", map[string]any{"block_key": key}) }
		}},
		{name: "signin blocked", status: 403, code: CodeAccountBlocked, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp {
				return e.put("/email/signin", with(device("dev-b"), "linked_id", p.email, "linked_password", p.password))
			}
		}},
		{name: "admin block player", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { _, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "x"}); return admin(err) }
		}},
		{name: "admin unblock player", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			_, err := e.svc.BlockPlayer(ctx, p.id, BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp { return admin(e.svc.UnblockPlayer(ctx, p.id)) }
		}},
		{name: "admin block device", status: 200, setup: func(e *env) func() resp {
			e.fault.seen("device", "dev-x")
			return func() resp { _, err := e.svc.BlockDevice(ctx, "dev-x", BlockSpec{Reason: "x"}); return admin(err) }
		}},
		{name: "admin unblock device", status: 200, setup: func(e *env) func() resp {
			e.fault.seen("device", "dev-x")
			_, err := e.svc.BlockDevice(ctx, "dev-x", BlockSpec{Reason: "x"})
			require.NoError(e.t, err)
			return func() resp { return admin(e.svc.UnblockDevice(ctx, "dev-x")) }
		}},
		{name: "admin revoke sessions", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return admin(e.svc.RevokePlayerSessions(ctx, p.id)) }
		}},
		{name: "federated signin, new account", status: 201, opts: []func(*envConfig){withProviders}, setup: func(e *env) func() resp {
			e.fault.seen("link", storage.Link{Type: "apple", ID: "new"})
			return func() resp { return e.put("/federated/signin", fedSignIn("apple", "apple:new", "dev-a")) }
		}},
		{name: "federated signin", status: 200, opts: []func(*envConfig){withProviders}, setup: func(e *env) func() resp {
			require.Equal(e.t, http.StatusCreated, e.put("/federated/signin", fedSignIn("apple", "apple:old", "dev-a")).Status)
			return func() resp { return e.put("/federated/signin", fedSignIn("apple", "apple:old", "dev-b")) }
		}},
		{name: "federated link of a guest", status: 200, opts: []func(*envConfig){withProviders}, setup: func(e *env) func() resp {
			g := e.guest("dev-g")
			e.fault.seen("link", storage.Link{Type: "apple", ID: "g"})
			return func() resp {
				return e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:g"}, bearerOpt(g.access))
			}
		}},
		{name: "federated link of an email account", status: 200, opts: []func(*envConfig){withProviders}, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			e.fault.seen("link", storage.Link{Type: "google", ID: "p"})
			return func() resp {
				return e.put("/federated/link", map[string]any{"provider": "google", "id_token": "google:p"}, bearerOpt(p.access))
			}
		}},
		{name: "federated unlink of the primary", status: 200, opts: []func(*envConfig){withProviders, func(c *envConfig) { c.MaxSessions = -1 }}, setup: func(e *env) func() resp {
			r := e.put("/federated/signin", fedSignIn("apple", "apple:u", "dev-a"))
			require.Equal(e.t, http.StatusCreated, r.Status)
			r = e.put("/federated/link", map[string]any{"provider": "google", "id_token": "google:u"}, bearerOpt(r.str("Token", "AccessToken")))
			require.Equal(e.t, http.StatusOK, r.Status)
			access := r.str("Token", "AccessToken")
			return func() resp {
				return e.put("/federated/unlink", map[string]any{"provider": "apple"}, bearerOpt(access))
			}
		}},
		{name: "identities", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return e.call(http.MethodGet, "/identities", nil, bearerOpt(p.access)) }
		}},
		{name: "admin set purchases", status: 200, setup: func(e *env) func() resp {
			p := e.signUp("dev-a")
			return func() resp { return admin(e.svc.SetPurchases(ctx, p.id, storage.Purchases{Count: 1})) }
		}},
	}
}

// TestStoreFailureAtEveryStep fails the Nth store call of each flow, for
// every N the flow reaches: the answer is 503 UNAVAILABLE, the store is as
// it was, no event went out, and the same request then succeeds.
//
// The refresh flows run twice: with the store's Refresher (the memory
// store's one-step refresh, whose one call can fail too) and without it; so
// do the flows that create an account, with the store's Registrar and
// without it.
func TestStoreFailureAtEveryStep(t *testing.T) {
	var all []flow
	for _, fl := range flows() {
		all = append(all, fl)
		without := ""
		switch {
		case strings.HasPrefix(fl.name, "refresh"):
			without = " without Refresher"
		case fl.status == http.StatusCreated:
			without = " without Registrar"
		}
		if without != "" {
			slow := fl
			slow.name += without
			slow.opts = append(slices.Clone(fl.opts), slowRefresh)
			all = append(all, slow)
		}
	}
	for _, fl := range all {
		t.Run(fl.name, func(t *testing.T) {
			steps := 0
			for n := 1; ; n++ {
				e := newEnv(t, fl.opts...)
				run := fl.setup(e)
				before := e.snapshot()
				e.events.mu.Lock()
				nEvents := len(e.events.revs) + len(e.events.blocks)
				e.events.mu.Unlock()
				e.fault.arm(n)
				r := run()
				calls, failed := e.fault.disarm()
				if failed == "" {
					require.Equal(t, fl.status, r.Status, "without failure: %s", r.Raw)
					steps = calls
					break
				}
				msg := fmt.Sprintf("fail at call %d (%s)", n, failed)
				requireError(t, r, http.StatusServiceUnavailable, CodeUnavailable)
				requireSameState(t, before, e.snapshot(), msg)
				e.events.mu.Lock()
				assert.Equal(t, nEvents, len(e.events.revs)+len(e.events.blocks), msg+": no events")
				e.events.mu.Unlock()
				r = run()
				require.Equal(t, fl.status, r.Status, msg+": retry: %s", r.Raw)
				if fl.code != "" {
					require.Equal(t, fl.code, r.code(), msg+": retry")
				}
			}
			require.Positive(t, steps)
		})
	}
}

// The janitor's purge is idempotent: a failure anywhere is finished by the
// next run.
func TestPurgeFailureIsFinishedLater(t *testing.T) {
	for n := 1; n <= 3; n++ {
		e := newEnv(t)
		p := e.signUp("dev-a")
		e.withdraw(p, map[string]any{"period": 1})
		e.clock.Advance(25 * time.Hour)
		e.fault.arm(n)
		_, err := e.svc.PurgeWithdrawn(context.Background())
		_, failed := e.fault.disarm()
		require.NotEmpty(t, failed)
		require.ErrorIs(t, err, ErrUnavailable)
		count, err := e.svc.PurgeWithdrawn(context.Background())
		require.NoError(t, err)
		assert.LessOrEqual(t, count, 1)
		_, err = e.mem.GetAccount(context.Background(), p.id)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		due, err := e.mem.DueWithdrawals(context.Background(), e.clock.Now(), 10)
		require.NoError(t, err)
		assert.Empty(t, due)
	}
}

// downStore is a store whose account lookups fail, as during an outage.
type downStore struct{ storage.Store }

func (downStore) GetAccountByLink(context.Context, string, string) (storage.Account, error) {
	return storage.Account{}, errors.New("connection refused")
}

// An outage writes a line every few seconds per operation, saying how many
// it left out, not one line per request; a client that hung up is not a
// store failure at all.
func TestStoreFailuresLogThrottled(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.store = downStore{c.store} })
	ctx := context.Background()
	dev := Client{Device: DeviceInfo{Platform: "pc", DeviceID: "d"}}
	errorLines := func() []map[string]any {
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["level"] == "ERROR" {
				lines = append(lines, m)
			}
		}
		return lines
	}
	for range 100 {
		_, err := e.svc.SignInEmail(ctx, dev, "a@b.co", "12345678")
		require.ErrorIs(t, err, ErrUnavailable)
	}
	lines := errorLines()
	require.Len(t, lines, 1, "one line for the first failure")
	assert.Equal(t, "GetAccountByLink", lines[0]["op"])
	e.clock.Advance(10 * time.Second)
	_, err := e.svc.SignInEmail(ctx, dev, "a@b.co", "12345678")
	require.ErrorIs(t, err, ErrUnavailable)
	lines = errorLines()
	require.Len(t, lines, 2, "then one a while")
	assert.Equal(t, 99.0, lines[1]["suppressed"])

	// A request that ended before the store answered: its failure is the
	// client's leaving, logged for debugging only.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	e.clock.Advance(time.Minute)
	_, err = e.svc.SignInEmail(gone, dev, "a@b.co", "12345678")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Len(t, errorLines(), 2)
	assert.Contains(t, e.logs.String(), "request ended before it was answered")
}

// TestSignUpWritesOnce: on a store that implements storage.Registrar, a
// sign-in that creates an account writes once — one commit on a database —
// and on one that does not, the account and then the session.
func TestSignUpWritesOnce(t *testing.T) {
	writes := func(ops []string) []string {
		var w []string
		for _, op := range ops {
			if strings.HasPrefix(op, "Create") || op == "Register" {
				w = append(w, op)
			}
		}
		return w
	}
	for _, c := range []struct {
		name string
		opts []func(*envConfig)
		want []string
	}{
		{"Registrar", nil, []string{"Register"}},
		{"without Registrar", []func(*envConfig){slowRefresh}, []string{"CreateAccount", "CreateSession"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			e.fault.arm(0) // count the calls, fail none
			e.guest("dev-a")
			assert.Equal(t, c.want, writes(e.fault.calledOps()), "guest sign-up")
			e.fault.disarm()
			e.fault.arm(0)
			e.signUp("dev-b")
			assert.Equal(t, c.want, writes(e.fault.calledOps()), "email sign-up")
			e.fault.disarm()
		})
	}
}
