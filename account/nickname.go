package account

import (
	"context"
	"errors"

	"github.com/gameauth/gameauth/storage"
)

// Nickname returns p's nickname, "" for none (docs/API.md GET /nickname).
func (s *Service) Nickname(ctx context.Context, p Principal) (string, error) {
	a, err := s.authorize(ctx, p)
	if err != nil {
		return "", err
	}
	return a.Nickname, nil
}

// SetNickname sets p's nickname and returns it as stored, in Unicode NFC
// (docs/API.md PUT /nickname). NICKNAME_TAKEN when another player has it,
// compared case-insensitively.
func (s *Service) SetNickname(ctx context.Context, p Principal, nick string) (string, error) {
	nick, err := checkNickname(nick)
	if err != nil {
		return "", err
	}
	a, err := s.authorize(ctx, p)
	if err != nil {
		return "", err
	}
	if a.Nickname == nick {
		return nick, nil
	}
	now := s.clock()
	if err := s.updateAccount(ctx, a.ID, storage.AccountUpdate{Nickname: &nick, At: now}, now); err != nil {
		return "", err
	}
	s.observe(ctx, Event{Kind: EventNicknameChanged, PlayerID: a.ID, SessionID: p.SessionID, DeviceID: p.DeviceID})
	return nick, nil
}

// NicknameExists reports whether a player has the nickname (docs/API.md
// /nickname/exists), compared case-insensitively. A holder past its
// withdrawal deadline counts as purged.
func (s *Service) NicknameExists(ctx context.Context, nick string) (bool, error) {
	nick, err := checkNickname(nick)
	if err != nil {
		return false, err
	}
	h, err := s.store.GetAccountByNickname(ctx, nick)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.unavailable(ctx, "GetAccountByNickname", err)
	}
	purged, err := s.purgeIfDue(ctx, h.ID, s.clock())
	if err != nil {
		return false, err
	}
	return !purged, nil
}
