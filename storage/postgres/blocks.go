package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

const blockCols = `block_key, kind, subject, reason, services, created_at, until_at, lifted_at`

// activeAt is the SQL form of storage.Block.ActiveAt, with $1 the time.
const activeAt = `(lifted_at IS NULL OR lifted_at > $1) AND (until_at IS NULL OR until_at > $1)`

func scanBlock(r pgx.Row) (storage.Block, error) {
	var b storage.Block
	var kind string
	err := r.Scan(&b.Key, &kind, &b.Subject, &b.Reason, &b.Services, ts{&b.CreatedAt}, ts{&b.Until}, ts{&b.LiftedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Block{}, storage.ErrNotFound
	}
	if len(b.Services) == 0 {
		b.Services = nil
	}
	b.Kind = storage.BlockKind(kind)
	return b, err
}

// CreateBlock implements storage.Blocks.
func (s *Store) CreateBlock(ctx context.Context, b storage.Block) error {
	services := b.Services
	if services == nil {
		services = []string{} // NOT NULL: an empty array, not NULL
	}
	_, err := s.pool.Exec(ctx, s.q(`INSERT INTO gameauth_blocks (`+blockCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		b.Key, string(b.Kind), b.Subject, b.Reason, services, tsArg(b.CreatedAt), tsArg(b.Until), tsArg(b.LiftedAt))
	return wrap("create block", err)
}

// LiftBlocks implements storage.Blocks.
func (s *Store) LiftBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.q(`UPDATE gameauth_blocks SET lifted_at = $1
		WHERE kind = $2 AND subject = $3 AND `+activeAt), now, string(kind), subject)
	if err != nil {
		return 0, wrap("lift blocks", err)
	}
	return int(tag.RowsAffected()), nil
}

// ActiveBlocks implements storage.Blocks.
func (s *Store) ActiveBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) ([]storage.Block, error) {
	bs, err := collect(ctx, s.pool, scanBlock, s.q(`SELECT `+blockCols+` FROM gameauth_blocks
		WHERE kind = $2 AND subject = $3 AND `+activeAt+` ORDER BY created_at, seq`),
		now, string(kind), subject)
	return bs, wrap("active blocks", err)
}

// GetBlock implements storage.Blocks.
func (s *Store) GetBlock(ctx context.Context, key string) (storage.Block, error) {
	b, err := scanBlock(s.pool.QueryRow(ctx, s.q(`SELECT `+blockCols+` FROM gameauth_blocks WHERE block_key = $1`), key))
	return b, wrap("get block", err)
}

// ListActiveBlocks implements storage.Blocks.
func (s *Store) ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error) {
	bs, err := collect(ctx, s.pool, scanBlock, s.q(`SELECT `+blockCols+` FROM gameauth_blocks
		WHERE `+activeAt+` ORDER BY created_at, seq`), now)
	return bs, wrap("list active blocks", err)
}
