package account

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/gameauth/gameauth/storage"
)

// ChangePassword replaces p's password, if current is the password now
// (docs/API.md /password). The player's other sessions end.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	if err := checkPresented("linked_password", current); err != nil {
		return err
	}
	if err := checkNewPassword("new_password", next); err != nil {
		return err
	}
	a, err := s.authorize(ctx, p)
	if err != nil {
		return err
	}
	if a.PasswordHash == "" {
		return invalidField("linked_password", "the account has no password; link an email first")
	}
	now := s.clock()
	key := a.ID
	if a.LinkedType == storage.LinkEmail {
		key = a.LinkedID // shared with sign-in attempts on this email
	}
	if err := s.allow(ctx, now, acctKey(key)); err != nil {
		return err
	}
	ok, _, err := s.hasher.verify(ctx, a.PasswordHash, current)
	if err != nil && !errors.Is(err, errBadHash) {
		return s.internal(ctx, "verify", err)
	}
	if !ok {
		return ErrInvalidCredentials.with("wrong password")
	}
	hash, err := s.hasher.hash(ctx, next)
	if err != nil {
		return s.internal(ctx, "hash", err)
	}
	if err := s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &hash, At: now}); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrAccountNotFound
		}
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	ids, err := s.store.RevokeSessions(ctx, a.ID, p.SessionID, storage.ReasonPasswordChanged, now)
	if err != nil {
		s.undo(ctx, "ChangePassword", func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &a.PasswordHash, At: a.UpdatedAt})
		})
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.revoked(ctx, a.ID, ids, storage.ReasonPasswordChanged, now)
	s.observe(ctx, Event{Kind: EventPasswordChanged, PlayerID: a.ID, SessionID: p.SessionID, DeviceID: p.DeviceID})
	return nil
}

// RequestPasswordReset sends a one-time code to email through the Mailer,
// if an account has that email (docs/API.md /password/reset). The answer is
// the same whether or not it has, whether or not its daily quota is used
// up, and whether or not the mailer failed: any other answer would tell who
// has an account.
func (s *Service) RequestPasswordReset(ctx context.Context, c Client, email string) error {
	email, err := newEmail("linked_id", email)
	if err != nil {
		return err
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.Addr)); err != nil {
		return err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkEmail, email)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.unavailable(ctx, "GetAccountByLink", err)
	}
	if purged, err := s.purgeIfDue(ctx, a.ID, now); err != nil || purged {
		return err
	}
	if s.cfg.Mailer == nil {
		s.log.WarnContext(ctx, "gameauth: password reset requested but no Mailer is configured; no code was made", "account", a.ID)
		return nil
	}
	code := newResetCode()
	rc := storage.ResetCode{Email: email, CodeHash: s.resetHash(email, code), CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetCodeTTL)}
	err = s.store.CreateResetCode(ctx, rc, s.cfg.ResetCodesPerDay)
	if errors.Is(err, storage.ErrLimited) {
		s.log.InfoContext(ctx, "gameauth: password reset codes per day used up", "account", a.ID)
		return nil
	}
	if err != nil {
		return s.unavailable(ctx, "CreateResetCode", err)
	}
	if err := s.cfg.Mailer.SendResetCode(ctx, email, code); err != nil {
		// Answered as sent: failing here would tell who has an account.
		// The host's error might quote the code; it is cut out.
		s.log.ErrorContext(ctx, "gameauth: mailer failed to send a reset code", "account", a.ID,
			"err", strings.ReplaceAll(err.Error(), code, "[code]"))
	}
	return nil
}

// ConfirmPasswordReset sets a new password for the account of email, if
// code is the code last sent to it (docs/API.md /password/reset/confirm).
// Every session of the player ends.
func (s *Service) ConfirmPasswordReset(ctx context.Context, c Client, email, code, password string) error {
	email, err := presentedEmail("linked_id", email)
	if err != nil {
		return err
	}
	if err := checkKey("code", code, ErrResetCodeInvalid); err != nil {
		return err
	}
	if err := checkNewPassword("new_password", password); err != nil {
		return err
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(email), addrKey(c.Addr)); err != nil {
		return err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkEmail, email)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrResetCodeInvalid
	}
	if err != nil {
		return s.unavailable(ctx, "GetAccountByLink", err)
	}
	if purged, err := s.purgeIfDue(ctx, a.ID, now); err != nil || purged {
		if err != nil {
			return err
		}
		return ErrResetCodeInvalid
	}
	// Hash before spending the code, so a slow or cancelled hash never
	// burns it.
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return s.internal(ctx, "hash", err)
	}
	codeHash := s.resetHash(email, code)
	err = s.store.ConsumeResetCode(ctx, email, codeHash, now, s.cfg.ResetCodeAttempts)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrResetCodeInvalid
	}
	if err != nil {
		return s.unavailable(ctx, "ConsumeResetCode", err)
	}
	// A spent code cannot be unspent; if a later step fails, the same code
	// is issued again so that the player's retry works.
	reissue := func(ctx context.Context) error {
		return s.store.CreateResetCode(ctx, storage.ResetCode{
			Email: email, CodeHash: codeHash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetCodeTTL),
		}, math.MaxInt32)
	}
	if err := s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &hash, At: now}); err != nil {
		s.undo(ctx, "ConfirmPasswordReset", reissue)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrResetCodeInvalid
		}
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	ids, err := s.store.RevokeSessions(ctx, a.ID, "", storage.ReasonPasswordChanged, now)
	if err != nil {
		s.undo(ctx, "ConfirmPasswordReset", func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &a.PasswordHash, At: a.UpdatedAt})
		})
		s.undo(ctx, "ConfirmPasswordReset", reissue)
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.revoked(ctx, a.ID, ids, storage.ReasonPasswordChanged, now)
	s.observe(ctx, Event{Kind: EventPasswordReset, PlayerID: a.ID, ClientAddr: c.Addr})
	return nil
}
