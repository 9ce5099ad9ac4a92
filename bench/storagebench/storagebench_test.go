package storagebench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/pgscratch"
	"github.com/gameauth/gameauth/bench/storagebench"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/storage/sqlite"
)

// run runs bench on each of the library's stores, opened empty, as a
// sub-benchmark named after it; the in-memory one is the reference the
// others are read against.
func run(b *testing.B, bench func(*testing.B, storage.Store)) {
	backends := []struct {
		name string
		open func(b *testing.B) storage.Store
	}{
		{"memory", func(*testing.B) storage.Store { return memory.New() }},
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { bench(b, be.open(b)) })
	}
}

func BenchmarkRotate(b *testing.B)     { run(b, storagebench.Rotate) }
func BenchmarkGetAccount(b *testing.B) { run(b, storagebench.GetAccount) }
func BenchmarkRefresh(b *testing.B)    { run(b, storagebench.Refresh) }

// openSQLite is a fresh database file, as the embedded default keeps one.
func openSQLite(b *testing.B) storage.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "auth.db"))
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, s.Close()) })
	return s
}

// openPostgres opens a store as a host would, with postgres.Open's default
// pool, in a schema of its own that is dropped afterwards.
func openPostgres(b *testing.B) storage.Store {
	dsn := os.Getenv("GAMEAUTH_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("GAMEAUTH_TEST_POSTGRES not set: skipping PostgreSQL")
	}
	pg, err := pgscratch.Open(context.Background(), dsn, "gameauth_bench_storage")
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, pg.Close()) })
	return pg.Store
}
