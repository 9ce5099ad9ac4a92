package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"github.com/gameauth/gameauth/storage"
)

// copyKey returns a copy of k sharing no slices with it.
func copyKey(k *storage.Key) storage.Key {
	c := *k
	c.Private = bytes.Clone(k.Private)
	c.Public = bytes.Clone(k.Public)
	return c
}

// ListKeys implements storage.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]storage.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, copyKey(k))
	}
	slices.SortFunc(out, func(a, b storage.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// AddKey implements storage.Keys.
func (s *Store) AddKey(ctx context.Context, k storage.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return storage.Conflict(storage.FieldID)
	}
	c := copyKey(&k)
	s.keys[k.ID] = &c
	return nil
}

// DeleteKey implements storage.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return storage.ErrNotFound
	}
	delete(s.keys, id)
	return nil
}
