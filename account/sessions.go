package account

import (
	"context"
	"errors"

	"github.com/gameauth/gameauth/storage"
)

// TokenStatus is the state of p's token now (docs/API.md /token/status):
// good, with the player shown in timezone ("" for their own), or the error
// a sign-in would get now (ACCOUNT_WITHDRAWN with its key, ACCOUNT_BLOCKED
// with its key and details, ...).
func (s *Service) TokenStatus(ctx context.Context, p Principal, timezone string) (*TokenStatus, error) {
	a, err := s.authorize(ctx, p)
	if err != nil {
		return nil, err
	}
	return &TokenStatus{ExpiresAt: p.ExpiresAt, Player: s.player(a, timezone, s.clock())}, nil
}

// SignOut ends p's session (docs/API.md /signout). Signing out a session
// that is already over is not an error, and a blocked player may sign out.
func (s *Service) SignOut(ctx context.Context, p Principal) error {
	if _, err := s.account(ctx, p.UserUniqueID); err != nil {
		return err
	}
	if _, revoked := s.view.SessionRevoked(p.SessionID); revoked {
		return nil
	}
	now := s.clock()
	if err := s.store.RevokeSession(ctx, p.SessionID, storage.ReasonSignedOut, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "RevokeSession", err)
	}
	s.revoked(ctx, p.UserUniqueID, []string{p.SessionID}, storage.ReasonSignedOut, now)
	s.observe(ctx, Event{Kind: EventSignOut, PlayerID: p.UserUniqueID, SessionID: p.SessionID, DeviceID: p.DeviceID})
	return nil
}

// SignOutAll ends every session of p's player (docs/API.md /signout with
// "all"); it needs p's session to be live.
func (s *Service) SignOutAll(ctx context.Context, p Principal) error {
	if _, err := s.account(ctx, p.UserUniqueID); err != nil {
		return err
	}
	if reason, revoked := s.view.SessionRevoked(p.SessionID); revoked {
		return sessionEnded(reason)
	}
	now := s.clock()
	ids, err := s.store.RevokeSessions(ctx, p.UserUniqueID, "", storage.ReasonSignedOut, now)
	if err != nil {
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.revoked(ctx, p.UserUniqueID, ids, storage.ReasonSignedOut, now)
	s.observe(ctx, Event{Kind: EventSignOut, PlayerID: p.UserUniqueID, SessionID: p.SessionID, DeviceID: p.DeviceID, Reason: "all"})
	return nil
}
