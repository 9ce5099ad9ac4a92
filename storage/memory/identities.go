package memory

import (
	"context"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

var _ storage.Identities = (*Store)(nil)

// ListIdentities implements storage.Identities.
func (s *Store) ListIdentities(ctx context.Context, accountID string) ([]storage.Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.idents[accountID]), nil
}

// LinkIdentity implements storage.Identities.
func (s *Store) LinkIdentity(ctx context.Context, accountID string, id storage.Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[accountID]; !ok {
		return storage.ErrNotFound
	}
	if _, ok := s.byLink[id.Link()]; ok {
		return storage.Conflict(storage.FieldLink)
	}
	if slices.ContainsFunc(s.idents[accountID], func(i storage.Identity) bool { return i.Type == id.Type }) {
		return storage.Conflict(storage.FieldIdentityType)
	}
	s.byLink[id.Link()] = accountID
	s.idents[accountID] = append(s.idents[accountID], id)
	return nil
}

// UnlinkIdentity implements storage.Identities.
func (s *Store) UnlinkIdentity(ctx context.Context, accountID, linkType string, promote *storage.Link, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountID]
	ids := s.idents[accountID]
	i := slices.IndexFunc(ids, func(i storage.Identity) bool { return i.Type == linkType })
	if !ok || i < 0 {
		return storage.ErrNotFound
	}
	gone := ids[i].Link()
	if a.LinkedType == linkType {
		if promote == nil || *promote == gone || !slices.ContainsFunc(ids, func(i storage.Identity) bool { return i.Link() == *promote }) {
			return storage.Conflict(storage.FieldState)
		}
		a.LinkedType, a.LinkedID, a.UpdatedAt = promote.Type, promote.ID, at
	}
	delete(s.byLink, gone)
	s.idents[accountID] = slices.Delete(ids, i, i+1)
	return nil
}
