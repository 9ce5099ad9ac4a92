package account

import (
	"context"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// MAC labels of the secrets the service derives from the server secret.
const (
	labelWithdrawalKey = "gameauth/account/withdrawal-key/v1"
	labelResetCode     = "gameauth/account/reset-code/v1"
)

// errPurged is internal: the account's withdrawal deadline had passed, so it
// was purged on the spot. Each flow answers as if it had never existed.
var errPurged = errors.New("account: purged")

func hashSecret(s string) []byte { return tokens.HashSecret(s) }

// unavailable answers UNAVAILABLE for a store failure, and logs it: at
// ERROR, throttled per operation (logThrottle), so that an outage writes a
// line every few seconds, not one a request; at DEBUG when the request had
// ended before the store answered (a client hanging up is not a store
// failure, and anyone can cause one). Store errors carry record keys at
// most, never a secret.
func (s *Service) unavailable(ctx context.Context, op string, err error) error {
	s.logFailure(ctx, "gameauth: store failed", op, err)
	if ctx.Err() == nil {
		s.observe(ctx, Event{Kind: EventStoreError, Reason: op})
	}
	e := ErrUnavailable.with("service temporarily unavailable")
	e.Err = err
	return e
}

// internal is unavailable for a failure that is not the store's (signing,
// a cancelled request while waiting for a hash slot).
func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.logFailure(ctx, "gameauth: internal failure", op, err)
	e := ErrUnavailable.with("service temporarily unavailable")
	e.Err = err
	return e
}

func (s *Service) logFailure(ctx context.Context, msg, op string, err error) {
	if ctx.Err() != nil {
		// Not a failure of ours: the request ended first.
		s.log.DebugContext(ctx, "gameauth: request ended before it was answered", "op", op, "err", ctx.Err())
		return
	}
	if ok, left := s.failures.allow(op, s.clock()); ok {
		s.log.ErrorContext(ctx, msg, "op", op, "err", err, "suppressed", left)
	}
}

// undo runs a compensation after a later step failed. It outlives the
// request's cancellation: a client hanging up must not leave a half-write.
func (s *Service) undo(ctx context.Context, op string, f func(context.Context) error) {
	if f == nil {
		return
	}
	if err := f(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "gameauth: could not undo a partial write", "op", op, "err", err)
	}
}

// revoked tells Events about sessions revoked at now.
func (s *Service) revoked(ctx context.Context, accountID string, ids []string, reason storage.RevokeReason, now time.Time) {
	if s.cfg.Events == nil || len(ids) == 0 {
		return
	}
	revs := make([]storage.Revocation, len(ids))
	for i, id := range ids {
		revs[i] = storage.Revocation{SessionID: id, AccountID: accountID, Reason: reason, At: now}
	}
	s.cfg.Events.SessionsRevoked(ctx, revs)
}

// ---- account state ----

// purge deletes a withdrawn account whose grace period is over, and all the
// store keeps about the player (storage.Eraser: sessions, blocks, reset
// codes, identities), and turns its withdrawal into a tombstone. The
// tombstone comes last: if a step fails, the withdrawal is still pending and
// due, and the next purge (the janitor's, or the next request's) finishes
// it, every step being harmless to do again.
func (s *Service) purge(ctx context.Context, accountID string, now time.Time) error {
	if e, ok := s.store.(storage.Eraser); ok {
		email := ""
		a, err := s.store.GetAccount(ctx, accountID)
		switch {
		case err == nil && a.LinkedType == storage.LinkEmail:
			email = a.LinkedID
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return s.unavailable(ctx, "GetAccount", err)
		}
		if err := e.ErasePlayer(ctx, accountID, email); err != nil {
			return s.unavailable(ctx, "ErasePlayer", err)
		}
	}
	if err := s.store.DeleteAccount(ctx, accountID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "DeleteAccount", err)
	}
	if err := s.store.MarkPurged(ctx, accountID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "MarkPurged", err)
	}
	s.log.InfoContext(ctx, "gameauth: purged withdrawn account", "account", accountID)
	s.observe(ctx, Event{Kind: EventAccountPurged, PlayerID: accountID})
	return nil
}

// purgeIfDue purges the account if its withdrawal's grace period is over,
// and reports whether it did.
func (s *Service) purgeIfDue(ctx context.Context, accountID string, now time.Time) (bool, error) {
	w, err := s.store.GetAccountWithdrawal(ctx, accountID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.unavailable(ctx, "GetAccountWithdrawal", err)
	}
	if now.Before(w.Deadline) {
		return false, nil
	}
	return true, s.purge(ctx, accountID, now)
}

// checkAccount is the state a sign-in must find in the store: not
// withdrawn, not blocked, device not blocked, in that order. A withdrawal
// past its deadline purges the account and returns errPurged. It is the one
// place that decides what a hold (storage.RefreshState.Held) means.
func (s *Service) checkAccount(ctx context.Context, a storage.Account, deviceID string, now time.Time) error {
	if err := s.checkWithdrawal(ctx, a, now); err != nil {
		return err
	}
	blocks, err := s.store.ActiveBlocks(ctx, storage.BlockPlayer, a.ID, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if b, ok := storage.Widest(blocks, "", now); ok {
		return blockError(b, a.Nickname)
	}
	return s.checkDeviceBlock(ctx, deviceID, now)
}

// checkWithdrawal answers ACCOUNT_WITHDRAWN, with its key, for an account
// with a pending withdrawal; past the deadline it purges the account and
// returns errPurged.
func (s *Service) checkWithdrawal(ctx context.Context, a storage.Account, now time.Time) error {
	w, err := s.store.GetAccountWithdrawal(ctx, a.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return s.unavailable(ctx, "GetAccountWithdrawal", err)
	case !now.Before(w.Deadline):
		if err := s.purge(ctx, a.ID, now); err != nil {
			return err
		}
		return errPurged
	}
	e := ErrAccountWithdrawn.with("account is withdrawn; it will be purged at " + w.Deadline.UTC().Format(time.RFC3339))
	e.WithdrawalKey = s.withdrawalKey(a.ID, w.RequestedAt)
	return e
}

// checkDeviceBlock answers DEVICE_BLOCKED for a device under an
// account-wide block.
func (s *Service) checkDeviceBlock(ctx context.Context, deviceID string, now time.Time) error {
	if deviceID == "" {
		return nil
	}
	blocks, err := s.store.ActiveBlocks(ctx, storage.BlockDevice, deviceID, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if b, ok := storage.Widest(blocks, "", now); ok {
		return blockError(b, "")
	}
	return nil
}

// session reads a token's session: TOKEN_INVALID when there is none.
func (s *Service) session(ctx context.Context, id string) (storage.Session, error) {
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return sess, ErrTokenInvalid
	}
	if err != nil {
		return sess, s.unavailable(ctx, "GetSession", err)
	}
	return sess, nil
}

// authorizeSession is authorize, and p's session as the store has it: for
// the flows that change what the session's tokens say.
func (s *Service) authorizeSession(ctx context.Context, p Principal) (storage.Account, storage.Session, error) {
	a, err := s.authorize(ctx, p)
	if err != nil {
		return a, storage.Session{}, err
	}
	sess, err := s.session(ctx, p.SessionID)
	return a, sess, err
}

// account reads a token's player: ACCOUNT_NOT_FOUND when there is none.
func (s *Service) account(ctx context.Context, id string) (storage.Account, error) {
	a, err := s.store.GetAccount(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, ErrAccountNotFound
	}
	if err != nil {
		return a, s.unavailable(ctx, "GetAccount", err)
	}
	return a, nil
}

// sessionEnded is the answer for a revoked session.
func sessionEnded(reason storage.RevokeReason) error {
	if reason == storage.ReasonReplaced {
		return ErrSessionReplaced
	}
	return ErrSessionRevoked
}

// resetHash is how a reset code is stored: a MAC under the server secret,
// since eight digits hashed plainly would fall to a dictionary at once.
func (s *Service) resetHash(email, code string) []byte {
	return s.ring.MAC(labelResetCode, []byte(email), []byte(code))
}

// Revocations is a node's view of what ends an access token before it
// expires: revoked sessions and blocks in force, kept in memory and current
// across nodes (*revocation.View is one). The middleware asks it on every
// request; the service asks it in its authenticated flows.
type Revocations interface {
	// SessionRevoked reports whether the session was revoked, and why.
	SessionRevoked(sessionID string) (storage.RevokeReason, bool)
	// Blocked returns the block in force on the subject that covers
	// service, the widest if several do (storage.Widest).
	Blocked(kind storage.BlockKind, subject, service string) (storage.Block, bool)
}

// Refusal is the answer the revocation view gives p's token on a route of
// service ("" for a route that names none): nil when it may pass;
// SESSION_REVOKED or SESSION_REPLACED when its session ended;
// ACCOUNT_BLOCKED or DEVICE_BLOCKED when a block covers the route. The
// middleware refuses game requests with it, and the service's
// authenticated flows start from it.
func Refusal(rv Revocations, p Principal, service string) error {
	_, err := refusal(rv, p, p.Nickname, service)
	return err
}

// refusal is Refusal, with the nickname ACCOUNT_BLOCKED names; reason is
// set when the session was revoked.
func refusal(rv Revocations, p Principal, nickname, service string) (reason storage.RevokeReason, err error) {
	if reason, revoked := rv.SessionRevoked(p.SessionID); revoked {
		return reason, sessionEnded(reason)
	}
	if b, ok := rv.Blocked(storage.BlockPlayer, p.UserUniqueID, service); ok {
		return "", blockError(b, nickname)
	}
	if p.DeviceID != "" {
		if b, ok := rv.Blocked(storage.BlockDevice, p.DeviceID, service); ok {
			return "", blockError(b, "")
		}
	}
	return "", nil
}

// authorize returns p's account when p may act now, or the answer docs/API.md
// gives in the order it gives them: ACCOUNT_NOT_FOUND; the session's end
// (SESSION_REVOKED, SESSION_REPLACED); ACCOUNT_WITHDRAWN with its key;
// ACCOUNT_BLOCKED; DEVICE_BLOCKED. The account is one store read; the
// session and the blocks come from the revocation view, as at the
// middleware. A withdrawal revokes every session of the account, so the
// view knows those sessions ended; the withdrawal itself, and its key, are
// looked up only then.
//
// A session that ended for another reason than the withdrawal answers that
// reason first, so that a token whose session was replaced, signed out,
// caught in reuse, or ended by a password change or an admin never learns
// the withdrawal key (a bearer secret that restores the account) or a
// block's details.
func (s *Service) authorize(ctx context.Context, p Principal) (storage.Account, error) {
	a, err := s.account(ctx, p.UserUniqueID)
	if err != nil {
		return a, err
	}
	reason, err := refusal(s.view, p, a.Nickname, "")
	if reason != storage.ReasonWithdrawn {
		return a, err
	}
	switch err := s.checkWithdrawal(ctx, a, s.clock()); {
	case errors.Is(err, errPurged):
		return a, ErrAccountNotFound
	case err != nil:
		return a, err
	}
	return a, ErrSessionRevoked // restored since: the session stays ended
}
