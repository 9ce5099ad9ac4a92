package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/racetest"
	"github.com/gameauth/gameauth/storage/internal/sqltest"
	"github.com/gameauth/gameauth/storage/sqlite"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// t0 is the tests' clock: fixed, on a microsecond boundary.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)

func openFile(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func newStore(t testing.TB) *sqlite.Store {
	return openFile(t, filepath.Join(t.TempDir(), "auth.db"))
}

func account(id, link, nickname string) storage.Account {
	return storage.Account{
		ID: id, OpenID: "open-" + id, LinkedType: storage.LinkEmail, LinkedID: link,
		Nickname: nickname, CreatedAt: t0, UpdatedAt: t0,
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s := openFile(t, path)
	require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "Hero")))
	require.NoError(t, s.Close())

	// Reopening keeps the data and applies nothing twice.
	s = openFile(t, path)
	got, err := s.GetAccount(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, "Hero", got.Nickname)

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	migrations, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	var n, v int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&n, &v))
	assert.Equal(t, len(migrations), n, "each migration applied once")
	assert.Equal(t, len(migrations), v)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)

	// A file from a newer build is refused, not mangled.
	_, err = db.Exec(`INSERT INTO schema_version (version, applied_at) VALUES (999, 0)`)
	require.NoError(t, err)
	_, err = sqlite.Open(ctx, path)
	require.ErrorContains(t, err, "newer")
}

// TestUpgradeFrom0001: a file made by a build that knew only the first
// migration, with players in it, opens, and its players have their
// identities.
func TestUpgradeFrom0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	first, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	for _, stmt := range []string{
		string(first),
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_version (version, applied_at) VALUES (1, 0)`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	for _, a := range sqltest.OldAccounts() {
		_, err := db.ExecContext(ctx, `INSERT INTO accounts (id, open_id, linked_type, linked_id, password_hash,
			nickname, nickname_key, country, timezone, purchase_count, purchase_currency, purchase_total,
			voided_count, voided_currency, voided_total, created_at, updated_at)
			VALUES (?, ?, ?, ?, '', ?, ?, '', '', 0, '', 0, 0, '', 0, ?, ?)`,
			a.ID, a.OpenID, a.LinkedType, a.LinkedID, a.Nickname, storage.NicknameKey(a.Nickname),
			nullMicros(a.CreatedAt), nullMicros(a.UpdatedAt))
		require.NoError(t, err)
	}
	old := sqltest.OldSession()
	_, err = db.ExecContext(ctx, `INSERT INTO sessions (id, account_id, device_id, platform, created_at, expires_at,
		refresh_hash, prev_refresh_hash, generation, rotated_at, revoked_at, revoke_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, NULL, '')`,
		old.ID, old.AccountID, old.DeviceID, old.Platform, old.CreatedAt.UnixMicro(), old.ExpiresAt.UnixMicro(),
		old.RefreshHash, old.RotatedAt.UnixMicro())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s := openFile(t, path)
	sqltest.Admin(t, s)
	sqltest.Identities(t, s)
}

// nullMicros is t as the first migration's columns hold it.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func TestOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlite.Open(context.Background(), path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestOpenRejectsQuery(t *testing.T) {
	_, err := sqlite.Open(context.Background(), "auth.db?mode=ro")
	require.Error(t, err)
}

func TestConflictFields(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "Hero")))
	require.NoError(t, s.CreateAccount(ctx, account("a2", "b@x", "")))
	require.NoError(t, s.CreateAccount(ctx, account("a3", "c@x", ""))) // two empty nicknames are fine

	for _, tc := range []struct {
		name  string
		do    func() error
		field string
	}{
		{"create same link", func() error { return s.CreateAccount(ctx, account("b1", "a@x", "")) }, storage.FieldLink},
		{"create folded nickname", func() error { return s.CreateAccount(ctx, account("b1", "z@x", "HERO")) }, storage.FieldNickname},
		{"create same id", func() error { return s.CreateAccount(ctx, account("a1", "z@x", "")) }, storage.FieldID},
		{"update nickname", func() error {
			return s.UpdateAccount(ctx, "a2", storage.AccountUpdate{Nickname: new("hero"), At: t0})
		}, storage.FieldNickname},
		{"update link", func() error {
			return s.UpdateAccount(ctx, "a2", storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: "a@x"}, At: t0})
		}, storage.FieldLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			require.ErrorIs(t, err, storage.ErrConflict)
			assert.Equal(t, tc.field, storage.ConflictField(err))
		})
	}
	_, err := s.GetAccountByLink(ctx, storage.LinkEmail, "z@x")
	require.ErrorIs(t, err, storage.ErrNotFound, "a refused create writes nothing")

	// Renaming to one's own nickname in another case is not a conflict.
	require.NoError(t, s.UpdateAccount(ctx, "a1", storage.AccountUpdate{Nickname: new("hERO"), At: t0}))
}

func TestCancelledContextWritesNothing(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, s.CreateAccount(ctx, account("a1", "a@x", "")))
	_, err := s.CreateSession(ctx, storage.Session{ID: "s1", AccountID: "a1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, 1)
	require.Error(t, err)
	_, err = s.GetAccount(context.Background(), "a1")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.GetSession(context.Background(), "s1")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestMemory(t *testing.T) {
	s := openFile(t, ":memory:")
	createConcurrently(t, s, 8)
	_, err := s.GetAccountByLink(context.Background(), storage.LinkEmail, "a7@x")
	require.NoError(t, err)
}

// createConcurrently creates accounts a0 to an-1, each in a goroutine of
// its own that then reads it back.
func createConcurrently(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("a", i)
			assert.NoError(t, s.CreateAccount(ctx, account(id, id+"@x", "")))
			_, err := s.GetAccount(ctx, id)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
}

// TestRotateRaceAcrossStores: two Stores on one file, as two server
// processes would hold them, racing on one refresh token rotate it exactly
// once.
func TestRotateRaceAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	racetest.RotateRace(t, openFile(t, path), openFile(t, path))
}

// TestRefreshRaceAcrossStores: Refresh racing on one token from two Stores
// on one file rotates it exactly once.
func TestRefreshRaceAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	racetest.RefreshRace(t, openFile(t, path), openFile(t, path))
}

// TestClaimRaceAcrossStores: first sign-ins and links of one identity
// racing from two Stores on one file: one wins.
func TestClaimRaceAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	racetest.ClaimRace(t, openFile(t, path), openFile(t, path))
}

// TestRotateRetryRace: callers presenting the same token and the same
// successor (a client retrying) all succeed, with one rotation between them.
func TestRotateRetryRace(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	_, err := s.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "a1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshHash: []byte("h0"), RotatedAt: t0,
	}, 0)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			got, err := s.RotateRefresh(ctx, "s1", storage.Rotation{
				Presented: []byte("h0"), Next: []byte("h1"), Now: t0.Add(time.Second), Grace: time.Minute,
			})
			if assert.NoError(t, err) {
				assert.Equal(t, []byte("h1"), got.RefreshHash)
			}
		})
	}
	wg.Wait()
	got, err := s.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Generation)
	assert.False(t, got.Revoked())
}

func TestStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
	})
	t.Run("sqlite-memory", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return openFile(t, ":memory:") })
	})
}

// TestWritersAcrossStoresWait: sign-ins racing from two Stores on one file
// (two processes) wait for the write lock instead of failing with
// SQLITE_BUSY, and keep holds: exactly keep sessions stay live.
func TestWritersAcrossStoresWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	racetest.KeepRace(t, openFile(t, path), openFile(t, path))
}

// BenchmarkAccountLookup: GetAccountByLink, the sign-in's lookup through
// the identities, against GetAccount, in the same iterations.
func BenchmarkAccountLookup(b *testing.B) {
	sqltest.AccountLookup(b, newStore(b))
}

// TestSearchUsesIndex: SearchNicknames is one range scan of the nickname
// index, from the cursor, in index order (no sort), bounded or not.
func TestSearchUsesIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s := openFile(t, path)
	for i := range 300 {
		require.NoError(t, s.CreateAccount(ctx, account(fmt.Sprint("a", i), fmt.Sprint(i, "@x"), fmt.Sprintf("n%03d", i))))
	}
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	for _, bounded := range []bool{true, false} {
		rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+sqlite.SearchSQL(bounded), "n1", "n2", "n150", "a150", 20)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		want := "SEARCH accounts USING INDEX accounts_nickname (nickname_key>?)"
		if bounded {
			want = "SEARCH accounts USING INDEX accounts_nickname (nickname_key>? AND nickname_key<?)"
		}
		assert.Equal(t, []string{want}, plan, "bounded %v: one index range scan, no sort", bounded)
	}
}
