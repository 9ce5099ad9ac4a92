package account

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gameauth/gameauth/storage"
)

// Withdraw starts p's withdrawal (docs/API.md /withdrawal): every session
// of the player ends, and the account is purged at the end of a grace
// period of periodDays days (0: Config.WithdrawalGrace; at most
// MaxWithdrawalPeriod). The answer's Key restores the account until then;
// it is shown again to a sign-in of the withdrawn account.
func (s *Service) Withdraw(ctx context.Context, p Principal, periodDays int, memo string) (*Withdrawal, error) {
	maxDays := int(s.cfg.MaxWithdrawalPeriod / (24 * time.Hour))
	period := s.cfg.WithdrawalGrace
	if periodDays != 0 {
		if periodDays < 1 || periodDays > maxDays {
			return nil, invalidField("period", "must be between 1 and "+strconv.Itoa(maxDays)+" days")
		}
		period = time.Duration(periodDays) * 24 * time.Hour
	}
	if err := checkText("memo", memo); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(memo) > maxMemoRunes {
		return nil, invalidField("memo", "must be at most 1000 characters")
	}
	a, err := s.authorize(ctx, p)
	if err != nil {
		return nil, err
	}
	// Whole seconds: the key is derived from RequestedAt, and every store
	// keeps whole seconds exactly.
	at := time.Unix(s.clock().Unix(), 0).UTC()
	key := s.withdrawalKey(a.ID, at)
	w := storage.Withdrawal{
		AccountID:   a.ID,
		KeyHash:     hashSecret(key),
		Memo:        memo,
		RequestedAt: at,
		Deadline:    at.Add(period),
	}
	ids, err := s.store.Withdraw(ctx, w)
	if errors.Is(err, storage.ErrConflict) {
		// Another request withdrew it first: answer as a sign-in would.
		if err := s.checkAccount(ctx, a, "", at); err != nil && !errors.Is(err, errPurged) {
			return nil, err
		}
		return nil, ErrAccountNotFound
	}
	if err != nil {
		return nil, s.unavailable(ctx, "Withdraw", err)
	}
	s.log.InfoContext(ctx, "gameauth: account withdrawn", "account", a.ID, "deadline", w.Deadline)
	s.revoked(ctx, a.ID, ids, storage.ReasonWithdrawn, at)
	s.observe(ctx, Event{Kind: EventWithdrawalRequested, PlayerID: a.ID, SessionID: p.SessionID, DeviceID: p.DeviceID})
	return &Withdrawal{Key: key, Memo: memo, Deadline: w.Deadline}, nil
}

// SearchWithdrawal returns the pending withdrawal that key restores
// (docs/API.md /withdrawal/search); its Key is left empty.
// WITHDRAWAL_PERIOD_EXPIRED once the grace period is over.
func (s *Service) SearchWithdrawal(ctx context.Context, key string) (*Withdrawal, error) {
	if err := checkKey("withdrawal_key", key, ErrWithdrawalKeyInvalid); err != nil {
		return nil, err
	}
	w, err := s.store.GetWithdrawal(ctx, hashSecret(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrWithdrawalKeyInvalid
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetWithdrawal", err)
	}
	now := s.clock()
	if !w.PurgedAt.IsZero() {
		return nil, ErrWithdrawalExpired
	}
	if !now.Before(w.Deadline) {
		if err := s.purge(ctx, w.AccountID, now); err != nil {
			return nil, err
		}
		return nil, ErrWithdrawalExpired
	}
	return &Withdrawal{Memo: w.Memo, Deadline: w.Deadline}, nil
}

// RestoreWithdrawal ends the pending withdrawal that key restores
// (docs/API.md /withdrawal/restore); the player signs in again afterwards.
// WITHDRAWAL_PERIOD_EXPIRED once the grace period is over.
func (s *Service) RestoreWithdrawal(ctx context.Context, c Client, key string) error {
	if err := checkDevice(c.Device); err != nil {
		return err
	}
	if err := checkKey("withdrawal_key", key, ErrWithdrawalKeyInvalid); err != nil {
		return err
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.Addr)); err != nil {
		return err
	}
	if err := s.checkDeviceBlock(ctx, c.Device.DeviceID, now); err != nil {
		return err
	}
	kh := hashSecret(key)
	w, err := s.store.Restore(ctx, kh, now)
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "gameauth: account restored", "account", w.AccountID)
		s.observe(ctx, Event{Kind: EventWithdrawalRestored, PlayerID: w.AccountID, DeviceID: c.Device.DeviceID, ClientAddr: c.Addr})
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return ErrWithdrawalKeyInvalid
	case errors.Is(err, storage.ErrWithdrawalExpired):
		// Past the deadline it counts as purged; purge it now if the
		// janitor has not.
		w, gerr := s.store.GetWithdrawal(ctx, kh)
		if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
			return s.unavailable(ctx, "GetWithdrawal", gerr)
		}
		if gerr == nil && w.PurgedAt.IsZero() {
			if err := s.purge(ctx, w.AccountID, now); err != nil {
				return err
			}
		}
		return ErrWithdrawalExpired
	default:
		return s.unavailable(ctx, "Restore", err)
	}
}

// withdrawalKey derives the restore key of a withdrawal from the server
// secret, so it can be shown again on a later sign-in without being stored.
// requestedAt has whole seconds (see withdraw), which every store keeps.
func (s *Service) withdrawalKey(accountID string, requestedAt time.Time) string {
	mac := s.ring.MAC(labelWithdrawalKey, []byte(accountID), []byte(strconv.FormatInt(requestedAt.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(mac)
}
