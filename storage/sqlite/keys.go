package sqlite

import (
	"context"

	"github.com/gameauth/gameauth/storage"
)

// ListKeys implements storage.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	ks, err := queryList(ctx, s.r, func(sc scanner) (storage.Key, error) {
		var k storage.Key
		err := sc.Scan(&k.ID, &k.Use, &k.Algorithm, blob{&k.Private}, blob{&k.Public}, tm{&k.CreatedAt}, tm{&k.ActiveAt})
		return k, err
	}, `SELECT id, key_use, algorithm, private, public, created_at, active_at FROM signing_keys
		ORDER BY created_at, rowid`)
	return ks, wrap("list keys", err)
}

// AddKey implements storage.Keys.
func (s *Store) AddKey(ctx context.Context, k storage.Key) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys
		(id, key_use, algorithm, private, public, created_at, active_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Use, k.Algorithm, bytesArg(k.Private), bytesArg(k.Public), micros(k.CreatedAt), micros(k.ActiveAt))
	if isUnique(err) {
		return storage.Conflict(storage.FieldID)
	}
	return wrap("add key", err)
}

// DeleteKey implements storage.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
	return wrap("delete key", rowsAffected(res, err))
}
