package memory

import (
	"context"
	"slices"

	"github.com/gameauth/gameauth/storage"
)

// CreateAccount implements storage.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAccount(a)
}

// createAccount is CreateAccount under the lock: nothing is written on a
// conflict.
func (s *Store) createAccount(a storage.Account) error {
	if _, ok := s.accounts[a.ID]; ok {
		return storage.Conflict(storage.FieldID)
	}
	link := storage.Link{Type: a.LinkedType, ID: a.LinkedID}
	if _, ok := s.byLink[link]; ok {
		return storage.Conflict(storage.FieldLink)
	}
	key := storage.NicknameKey(a.Nickname)
	if key != "" {
		if _, ok := s.byNick[key]; ok {
			return storage.Conflict(storage.FieldNickname)
		}
		s.byNick[key] = a.ID
	}
	s.byLink[link] = a.ID
	s.idents[a.ID] = []storage.Identity{{Type: a.LinkedType, Subject: a.LinkedID, LinkedAt: a.CreatedAt}}
	s.accounts[a.ID] = &a
	return nil
}

// GetAccount implements storage.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.account(id)
}

// GetAccountByLink implements storage.Accounts.
func (s *Store) GetAccountByLink(ctx context.Context, linkType, linkID string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byLink[storage.Link{Type: linkType, ID: linkID}]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return s.account(id)
}

// GetAccountByNickname implements storage.Accounts.
func (s *Store) GetAccountByNickname(ctx context.Context, nickname string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := storage.NicknameKey(nickname)
	if key == "" {
		return storage.Account{}, storage.ErrNotFound
	}
	id, ok := s.byNick[key]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return s.account(id)
}

// account returns a copy of the account; the caller holds the lock.
func (s *Store) account(id string) (storage.Account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return *a, nil // an Account holds no slices: a value copy is a deep copy
}

// lookup returns clone(m[key]), or ErrNotFound if m has no such key; the
// caller holds the lock.
func lookup[T any](m map[string]*T, key string, clone func(*T) T) (T, error) {
	v, ok := m[key]
	if !ok {
		var zero T
		return zero, storage.ErrNotFound
	}
	return clone(v), nil
}

// UpdateAccount implements storage.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, id string, u storage.AccountUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return storage.ErrNotFound
	}
	// Check every unique field before changing anything.
	oldLink := storage.Link{Type: a.LinkedType, ID: a.LinkedID}
	if u.Link != nil && u.IfLink != nil && *u.IfLink != oldLink {
		return storage.Conflict(storage.FieldState)
	}
	if u.Link != nil && *u.Link != oldLink {
		if _, ok := s.byLink[*u.Link]; ok {
			return storage.Conflict(storage.FieldLink)
		}
		if u.Link.Type != oldLink.Type && slices.ContainsFunc(s.idents[id], func(i storage.Identity) bool { return i.Type == u.Link.Type }) {
			return storage.Conflict(storage.FieldIdentityType)
		}
	}
	oldKey := storage.NicknameKey(a.Nickname)
	if u.Nickname != nil {
		if key := storage.NicknameKey(*u.Nickname); key != "" {
			if holder, ok := s.byNick[key]; ok && holder != id {
				return storage.Conflict(storage.FieldNickname)
			}
		}
	}

	if u.Link != nil && *u.Link != oldLink {
		delete(s.byLink, oldLink)
		s.byLink[*u.Link] = id
		s.idents[id] = append(slices.DeleteFunc(s.idents[id], func(i storage.Identity) bool { return i.Link() == oldLink }),
			storage.Identity{Type: u.Link.Type, Subject: u.Link.ID, LinkedAt: u.At})
		a.LinkedType, a.LinkedID = u.Link.Type, u.Link.ID
	}
	if u.Nickname != nil {
		if oldKey != "" {
			delete(s.byNick, oldKey)
		}
		if key := storage.NicknameKey(*u.Nickname); key != "" {
			s.byNick[key] = id
		}
		a.Nickname = *u.Nickname
	}
	if u.PasswordHash != nil {
		a.PasswordHash = *u.PasswordHash
	}
	if u.Purchases != nil {
		a.Purchases = *u.Purchases
	}
	if u.Country != nil {
		a.Country = *u.Country
	}
	if u.Timezone != nil {
		a.Timezone = *u.Timezone
	}
	a.UpdatedAt = u.At
	return nil
}

// DeleteAccount implements storage.Accounts.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return storage.ErrNotFound
	}
	for _, i := range s.idents[id] {
		delete(s.byLink, i.Link())
	}
	delete(s.idents, id)
	if key := storage.NicknameKey(a.Nickname); key != "" {
		delete(s.byNick, key)
	}
	delete(s.accounts, id)
	return nil
}

var _ storage.Registrar = (*Store)(nil)

// Register implements storage.Registrar: both under one hold of the lock.
func (s *Store) Register(ctx context.Context, a storage.Account, sess storage.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return storage.Conflict(storage.FieldID)
	}
	if err := s.createAccount(a); err != nil {
		return err
	}
	_, err := s.createSession(sess, 0)
	return err
}
