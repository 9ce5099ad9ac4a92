package account

import (
	"context"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// Refresh exchanges a refresh token for a new pair (docs/API.md
// /token/refresh): every refresh rotates, and the token presented stops
// working, but for a retry inside the grace window, which gets the same
// refresh token again. A session that ended elsewhere answers
// first (endedElsewhere), then the account's state, then the session's,
// then the compare-and-swap of the rotation. A store that implements
// storage.Refresher does the common case in one step (refreshFast); the
// rest, and every other store, take the long way below.
func (s *Service) Refresh(ctx context.Context, c Client, token string) (g *Grant, err error) {
	defer func() {
		if ctx.Err() == nil {
			reason := "ok"
			if err != nil {
				reason = code(err)
			}
			s.observe(ctx, Event{Kind: EventRefresh, ClientAddr: c.Addr, Reason: reason})
		}
	}()
	if token == "" {
		return nil, ErrTokenMissing.with("refresh_token is empty")
	}
	sid, hash, err := s.ring.ParseRefreshToken(token)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	next, nextHash, err := s.ring.NextRefreshToken(token)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	now := s.clock()
	rot := storage.Rotation{Presented: hash, Next: nextHash, Now: now, Grace: s.cfg.RefreshGrace}
	if rf, ok := s.store.(storage.Refresher); ok {
		if res, done, err := s.refreshFast(ctx, rf, c, sid, next, rot); done {
			return res, err
		}
	}
	sess, err := s.session(ctx, sid)
	if err != nil {
		return nil, err
	}
	a, err := s.account(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	if err := endedElsewhere(sess); err != nil {
		return nil, err
	}
	if err := s.checkAccount(ctx, a, sess.DeviceID, now); err != nil {
		if errors.Is(err, errPurged) {
			return nil, ErrAccountNotFound
		}
		return nil, err
	}
	if sess.Revoked() {
		return nil, sessionEnded(sess.RevokeReason)
	}
	if !now.Before(sess.ExpiresAt) {
		return nil, ErrRefreshExpired
	}
	access, _, err := s.issue(a, sid, sess.DeviceID)
	if err != nil {
		return nil, s.internal(ctx, "Issue", err)
	}
	got, err := s.store.RotateRefresh(ctx, sid, rot)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrTokenInvalid
	case errors.Is(err, storage.ErrSessionRevoked):
		return nil, sessionEnded(got.RevokeReason)
	case errors.Is(err, storage.ErrRefreshExpired):
		return nil, ErrRefreshExpired
	case errors.Is(err, storage.ErrRefreshReused):
		return nil, s.reused(ctx, c, a.ID, sid, now)
	default:
		return nil, s.unavailable(ctx, "RotateRefresh", err)
	}
	return &Grant{
		AccessToken:  access,
		RefreshToken: next,
		ExpiresIn:    s.issuer.TTL(),
		Player:       s.player(a, c.Timezone, now),
		SessionID:    sid,
	}, nil
}

// refreshFast is a refresh in the store's one step (storage.Refresher): the
// common answers straight from it. It reports done false, having written
// nothing, when the precise answer needs the account's state looked up
// (withdrawn, blocked, purged) or the session or account is missing; the
// caller then goes the long way, which gives it exactly as before. Every
// answer it gives itself is the one the long way gives for that state.
func (s *Service) refreshFast(ctx context.Context, rf storage.Refresher, c Client, sid, next string,
	rot storage.Rotation) (*Grant, bool, error) {
	st, err := rf.Refresh(ctx, sid, rot)
	switch {
	case err == nil && st.Held:
		return nil, false, nil
	case err == nil:
		access, _, err := s.issue(st.Account, sid, st.Session.DeviceID)
		if err != nil {
			return nil, true, s.internal(ctx, "Issue", err)
		}
		return &Grant{
			AccessToken:  access,
			RefreshToken: next,
			ExpiresIn:    s.issuer.TTL(),
			Player:       s.player(st.Account, c.Timezone, rot.Now),
			SessionID:    sid,
		}, true, nil
	case errors.Is(err, storage.ErrNotFound):
		return nil, false, nil
	case errors.Is(err, storage.ErrSessionRevoked):
		if st.Session.RevokeReason == storage.ReasonWithdrawn {
			// ACCOUNT_WITHDRAWN with its key while the withdrawal is
			// pending, not found once purged: the long way knows which.
			return nil, false, nil
		}
		return nil, true, sessionEnded(st.Session.RevokeReason)
	case errors.Is(err, storage.ErrRefreshExpired):
		return nil, true, ErrRefreshExpired
	case errors.Is(err, storage.ErrRefreshReused):
		return nil, true, s.reused(ctx, c, st.Account.ID, sid, rot.Now)
	default:
		return nil, true, s.unavailable(ctx, "Refresh", err)
	}
}

// reused reports a refresh token presented again after its rotation: the
// store has revoked the session.
func (s *Service) reused(ctx context.Context, c Client, accountID, sid string, now time.Time) error {
	s.log.WarnContext(ctx, "gameauth: refresh token reused; session revoked", "account", accountID, "session", sid)
	s.observe(ctx, Event{Kind: EventRefreshReused, PlayerID: accountID, SessionID: sid, ClientAddr: c.Addr})
	s.revoked(ctx, accountID, []string{sid}, storage.ReasonReused, now)
	return ErrRefreshReused
}

// endedElsewhere is the answer for a session that ended for another reason
// than its account's withdrawal: it is given before the account's state, so
// that a token whose session was replaced, signed out, caught in reuse or
// ended by a password change or an admin never learns the withdrawal key
// (a bearer secret that restores the account) or the block's details. The
// sessions a withdrawal ended still get ACCOUNT_WITHDRAWN with the key.
func endedElsewhere(sess storage.Session) error {
	if sess.Revoked() && sess.RevokeReason != storage.ReasonWithdrawn {
		return sessionEnded(sess.RevokeReason)
	}
	return nil
}
