package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// copyBlock returns a copy of b sharing no slices with it.
func copyBlock(b *storage.Block) storage.Block {
	c := *b
	c.Services = slices.Clone(b.Services)
	return c
}

// sortBlocks orders blocks oldest first.
func sortBlocks(bs []storage.Block) {
	slices.SortFunc(bs, func(a, b storage.Block) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Key, b.Key))
	})
}

// CreateBlock implements storage.Blocks.
func (s *Store) CreateBlock(ctx context.Context, b storage.Block) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blocks[b.Key]; ok {
		return storage.Conflict(storage.FieldID)
	}
	c := copyBlock(&b)
	s.blocks[b.Key] = &c
	return nil
}

// LiftBlocks implements storage.Blocks.
func (s *Store) LiftBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.blocks {
		if b.Kind == kind && b.Subject == subject && b.ActiveAt(now) {
			b.LiftedAt = now
			n++
		}
	}
	return n, nil
}

// ActiveBlocks implements storage.Blocks.
func (s *Store) ActiveBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) ([]storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Block
	for _, b := range s.blocks {
		if b.Kind == kind && b.Subject == subject && b.ActiveAt(now) {
			out = append(out, copyBlock(b))
		}
	}
	sortBlocks(out)
	return out, nil
}

// GetBlock implements storage.Blocks.
func (s *Store) GetBlock(ctx context.Context, key string) (storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return storage.Block{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.blocks, key, copyBlock)
}

// ListActiveBlocks implements storage.Blocks. It returns the blocks oldest
// first.
func (s *Store) ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Block
	for _, b := range s.blocks {
		if b.ActiveAt(now) {
			out = append(out, copyBlock(b))
		}
	}
	sortBlocks(out)
	return out, nil
}
