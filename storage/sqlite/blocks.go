package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gameauth/gameauth/storage"
)

const blockCols = `block_key, kind, subject, reason, services, created_at, until_at, lifted_at`

// activeAt is the SQL form of storage.Block.ActiveAt, with ?1 the time.
const activeAt = `(lifted_at IS NULL OR lifted_at > ?1) AND (until_at IS NULL OR until_at > ?1)`

// services scans the JSON services column; an empty list reads as nil.
type services struct{ s *[]string }

// Scan implements sql.Scanner.
func (d services) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlite: services column holds %T", v)
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("sqlite: services column: %w", err)
	}
	if len(list) == 0 {
		list = nil
	}
	*d.s = list
	return nil
}

func scanBlock(sc scanner) (storage.Block, error) {
	var b storage.Block
	var kind string
	err := sc.Scan(&b.Key, &kind, &b.Subject, &b.Reason, services{&b.Services}, tm{&b.CreatedAt},
		tm{&b.Until}, tm{&b.LiftedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Block{}, storage.ErrNotFound
	}
	b.Kind = storage.BlockKind(kind)
	return b, err
}

// CreateBlock implements storage.Blocks.
func (s *Store) CreateBlock(ctx context.Context, b storage.Block) error {
	list := b.Services
	if list == nil {
		list = []string{}
	}
	svc, err := json.Marshal(list)
	if err != nil {
		return wrap("create block", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO blocks (`+blockCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		b.Key, string(b.Kind), b.Subject, b.Reason, string(svc), micros(b.CreatedAt), micros(b.Until),
		micros(b.LiftedAt))
	if isUnique(err) {
		return storage.Conflict(storage.FieldID)
	}
	return wrap("create block", err)
}

// LiftBlocks implements storage.Blocks.
func (s *Store) LiftBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE blocks SET lifted_at = ?1
		WHERE kind = ?2 AND subject = ?3 AND `+activeAt, now.UnixMicro(), string(kind), subject)
	if err != nil {
		return 0, wrap("lift blocks", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("lift blocks", err)
}

// ActiveBlocks implements storage.Blocks.
func (s *Store) ActiveBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) ([]storage.Block, error) {
	bs, err := queryList(ctx, s.r, scanBlock, `SELECT `+blockCols+` FROM blocks
		WHERE kind = ?2 AND subject = ?3 AND `+activeAt+` ORDER BY created_at, rowid`,
		now.UnixMicro(), string(kind), subject)
	return bs, wrap("active blocks", err)
}

// GetBlock implements storage.Blocks.
func (s *Store) GetBlock(ctx context.Context, key string) (storage.Block, error) {
	b, err := scanBlock(s.r.QueryRowContext(ctx, `SELECT `+blockCols+` FROM blocks WHERE block_key = ?`, key))
	return b, wrap("get block", err)
}

// ListActiveBlocks implements storage.Blocks.
func (s *Store) ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error) {
	bs, err := queryList(ctx, s.r, scanBlock, `SELECT `+blockCols+` FROM blocks
		WHERE `+activeAt+` ORDER BY created_at, rowid`, now.UnixMicro())
	return bs, wrap("list active blocks", err)
}
