package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

// ListKeys implements storage.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	ks, err := collect(ctx, s.pool, func(r pgx.Row) (storage.Key, error) {
		var k storage.Key
		err := r.Scan(&k.ID, &k.Use, &k.Algorithm, &k.Private, &k.Public, ts{&k.CreatedAt}, ts{&k.ActiveAt})
		return k, err
	}, s.q(`SELECT id, key_use, algorithm, private, public, created_at, active_at FROM gameauth_keys
		ORDER BY created_at, seq`))
	return ks, wrap("list keys", err)
}

// AddKey implements storage.Keys.
func (s *Store) AddKey(ctx context.Context, k storage.Key) error {
	_, err := s.pool.Exec(ctx, s.q(`INSERT INTO gameauth_keys
		(id, key_use, algorithm, private, public, created_at, active_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		k.ID, k.Use, k.Algorithm, bytesArg(k.Private), bytesArg(k.Public), tsArg(k.CreatedAt), tsArg(k.ActiveAt))
	return wrap("add key", err)
}

// DeleteKey implements storage.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, s.q(`DELETE FROM gameauth_keys WHERE id = $1`), id)
	return wrap("delete key", rowsAffected(tag, err))
}
