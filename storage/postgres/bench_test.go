package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// benchStore opens a store as a host would, with Open's default pool, in a
// fresh schema.
func benchStore(b *testing.B) *postgres.Store {
	s, err := postgres.Open(context.Background(), dsn(b), postgres.Schema(freshSchema(b, testPool(b, 1))))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkRotate(b *testing.B) {
	b.Run("postgres", func(b *testing.B) { storagetest.BenchRotate(b, benchStore(b)) })
}

func BenchmarkGetAccount(b *testing.B) {
	b.Run("postgres", func(b *testing.B) { storagetest.BenchGetAccount(b, benchStore(b)) })
}

func BenchmarkRefresh(b *testing.B) {
	b.Run("postgres", func(b *testing.B) { storagetest.BenchRefresh(b, benchStore(b)) })
}
