package account

import (
	"context"
	"errors"

	"github.com/gameauth/gameauth/storage"
)

// RevokePlayerSessions ends every session of the player (SESSION_REVOKED).
// ErrAccountNotFound for an unknown player, of whom nothing is recorded.
func (s *Service) RevokePlayerSessions(ctx context.Context, playerID string) error {
	if err := checkID("player ID", playerID); err != nil {
		return err
	}
	if _, err := s.account(ctx, playerID); err != nil {
		return err
	}
	now := s.clock()
	ids, err := s.store.RevokeSessions(ctx, playerID, "", storage.ReasonAdmin, now)
	if err != nil {
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.log.InfoContext(ctx, "gameauth: sessions revoked by admin", "account", playerID, "count", len(ids))
	s.revoked(ctx, playerID, ids, storage.ReasonAdmin, now)
	s.observe(ctx, Event{Kind: EventSessionRevoked, PlayerID: playerID, Reason: string(storage.ReasonAdmin)})
	return nil
}

// RotateSigningKey adds a new signing key to the ring and returns its kid.
// Other processes pick it up when they reload their ring.
func (s *Service) RotateSigningKey(ctx context.Context) (kid string, err error) {
	kid, err = s.ring.Rotate(ctx)
	if err != nil {
		return "", s.unavailable(ctx, "Rotate", err)
	}
	s.log.InfoContext(ctx, "gameauth: signing key rotated", "kid", kid)
	if s.cfg.Events != nil {
		s.cfg.Events.KeyRotated(ctx, kid)
	}
	s.observe(ctx, Event{Kind: EventKeyRotated, Reason: kid})
	return kid, nil
}

// SetPurchases replaces the purchase totals shown in the player's info.
func (s *Service) SetPurchases(ctx context.Context, playerID string, p storage.Purchases) error {
	if err := checkID("player ID", playerID); err != nil {
		return err
	}
	if err := errors.Join(checkText("currency code", p.CurrencyCode), checkText("voided currency code", p.VoidedCurrencyCode)); err != nil {
		return err
	}
	err := s.store.UpdateAccount(ctx, playerID, storage.AccountUpdate{Purchases: &p, At: s.clock()})
	if errors.Is(err, storage.ErrNotFound) {
		return ErrAccountNotFound
	}
	if err != nil {
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	return nil
}

// JWKS is the public signing keys as a JSON Web Key Set (RFC 7517), for
// anyone who verifies the access tokens elsewhere.
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	body, err := s.ring.JWKS()
	if err != nil {
		return nil, s.internal(ctx, "JWKS", err)
	}
	return body, nil
}
