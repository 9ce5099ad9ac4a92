package account

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// BlockSpec describes a block to make.
type BlockSpec struct {
	// Reason is shown to the player (/block/reason, ErrorData).
	Reason string
	// Until is when the block ends by itself; zero: permanent.
	Until time.Time
	// Services are the services the block covers, e.g. "chat", which the
	// host's routes name (middleware). Empty: the whole account, sign-in
	// included.
	Services []string
}

// BlockPlayer blocks a player and returns the block's key, which the player
// can look the block up by. ErrAccountNotFound for an unknown player.
func (s *Service) BlockPlayer(ctx context.Context, playerID string, b BlockSpec) (key string, err error) {
	if playerID == "" {
		return "", ErrInvalidRequest.with("player ID is empty")
	}
	if _, err := s.store.GetAccount(ctx, playerID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return "", ErrAccountNotFound
		}
		return "", s.unavailable(ctx, "GetAccount", err)
	}
	return s.block(ctx, storage.BlockPlayer, playerID, b)
}

// UnblockPlayer lifts every block of the player in force now. Lifting
// nothing is not an error.
func (s *Service) UnblockPlayer(ctx context.Context, playerID string) error {
	return s.unblock(ctx, storage.BlockPlayer, playerID)
}

// BlockDevice blocks a device, by the device_id its requests send, and
// returns the block's key.
func (s *Service) BlockDevice(ctx context.Context, deviceID string, b BlockSpec) (key string, err error) {
	if deviceID == "" {
		return "", ErrInvalidRequest.with("device ID is empty")
	}
	return s.block(ctx, storage.BlockDevice, deviceID, b)
}

// UnblockDevice lifts every block of the device in force now.
func (s *Service) UnblockDevice(ctx context.Context, deviceID string) error {
	return s.unblock(ctx, storage.BlockDevice, deviceID)
}

// LookupBlock returns the block with that key, in force or not, or
// ErrBlockKeyInvalid.
func (s *Service) LookupBlock(ctx context.Context, key string) (storage.Block, error) {
	b, err := s.store.GetBlock(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Block{}, ErrBlockKeyInvalid
	}
	if err != nil {
		return storage.Block{}, s.unavailable(ctx, "GetBlock", err)
	}
	return b, nil
}

func (s *Service) block(ctx context.Context, kind storage.BlockKind, subject string, spec BlockSpec) (string, error) {
	now := s.clock()
	if !spec.Until.IsZero() && !spec.Until.After(now) {
		return "", ErrInvalidRequest.with("block end is not in the future")
	}
	var services []string
	for _, sv := range spec.Services {
		if sv = strings.TrimSpace(sv); sv != "" && !slices.Contains(services, sv) {
			services = append(services, sv)
		}
	}
	for attempt := 0; ; attempt++ {
		b := storage.Block{
			Key:       newBlockKey(),
			Kind:      kind,
			Subject:   subject,
			Reason:    spec.Reason,
			Services:  services,
			CreatedAt: now,
			Until:     spec.Until,
		}
		err := s.store.CreateBlock(ctx, b)
		if errors.Is(err, storage.ErrConflict) && attempt < 2 {
			continue // a random key collided
		}
		if err != nil {
			return "", s.unavailable(ctx, "CreateBlock", err)
		}
		s.log.InfoContext(ctx, "gameauth: block created", "kind", string(kind), "subject", subject, "until", spec.Until, "services", services)
		if s.cfg.Events != nil {
			s.cfg.Events.BlockChanged(ctx, b)
		}
		return b.Key, nil
	}
}

func (s *Service) unblock(ctx context.Context, kind storage.BlockKind, subject string) error {
	now := s.clock()
	active, err := s.store.ActiveBlocks(ctx, kind, subject, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if len(active) == 0 {
		return nil
	}
	if _, err := s.store.LiftBlocks(ctx, kind, subject, now); err != nil {
		return s.unavailable(ctx, "LiftBlocks", err)
	}
	s.log.InfoContext(ctx, "gameauth: blocks lifted", "kind", string(kind), "subject", subject, "count", len(active))
	if s.cfg.Events != nil {
		for _, b := range active {
			b.LiftedAt = now
			s.cfg.Events.BlockChanged(ctx, b)
		}
	}
	return nil
}

// RevokePlayerSessions ends every session of the player (SESSION_REVOKED).
func (s *Service) RevokePlayerSessions(ctx context.Context, playerID string) error {
	now := s.clock()
	ids, err := s.store.RevokeSessions(ctx, playerID, "", storage.ReasonAdmin, now)
	if err != nil {
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.log.InfoContext(ctx, "gameauth: sessions revoked by admin", "account", playerID, "count", len(ids))
	s.revoked(ctx, playerID, ids, storage.ReasonAdmin, now)
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
	return kid, nil
}

// SetPurchases replaces the purchase totals shown in the player's info.
func (s *Service) SetPurchases(ctx context.Context, playerID string, p storage.Purchases) error {
	err := s.store.UpdateAccount(ctx, playerID, storage.AccountUpdate{Purchases: &p, At: s.clock()})
	if errors.Is(err, storage.ErrNotFound) {
		return ErrAccountNotFound
	}
	if err != nil {
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	return nil
}

// ---- janitor ----

const purgeBatch = 100

// PurgeWithdrawn purges every account whose withdrawal grace period is
// over, and returns how many it purged: for hosts that run it on their own
// schedule (Run calls it too).
func (s *Service) PurgeWithdrawn(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.clock()
		due, err := s.store.DueWithdrawals(ctx, now, purgeBatch)
		if err != nil {
			return n, s.unavailable(ctx, "DueWithdrawals", err)
		}
		for _, w := range due {
			if err := s.purge(ctx, w.AccountID, now); err != nil {
				return n, err
			}
			n++
		}
		if len(due) < purgeBatch {
			return n, nil
		}
	}
}

// Sweep is one round of the janitor: it purges due withdrawals, deletes
// tombstones older than TombstoneTTL, and sessions that ended more than
// SessionRetention ago.
func (s *Service) Sweep(ctx context.Context) error {
	var errs []error
	if _, err := s.PurgeWithdrawn(ctx); err != nil {
		errs = append(errs, err)
	}
	now := s.clock()
	if _, err := s.store.DeleteTombstones(ctx, now.Add(-s.cfg.TombstoneTTL)); err != nil {
		errs = append(errs, s.unavailable(ctx, "DeleteTombstones", err))
	}
	if _, err := s.store.DeleteSessionsBefore(ctx, now.Add(-s.cfg.SessionRetention)); err != nil {
		errs = append(errs, s.unavailable(ctx, "DeleteSessionsBefore", err))
	}
	return errors.Join(errs...)
}

// Run sweeps at once and then every JanitorInterval until ctx is done, and
// returns nil then. A failed sweep is logged (by the store failure it hit)
// and tried again at the next tick.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.JanitorInterval)
	defer t.Stop()
	for {
		_ = s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
