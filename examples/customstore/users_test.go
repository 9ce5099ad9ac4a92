package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// bcryptHash stands in for a hash made by the game's old login code.
const bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

// newGameDB returns the game's database in a fresh file, holding two
// players the game had before gameauth: one with an email, one without.
func newGameDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := openGameDB(t.Context(), filepath.Join(t.TempDir(), "game.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(t.Context(), `INSERT INTO users (id, email, display_name, password_hash, created_at, gold, level) VALUES
		('legacy-1', 'Old.Timer@Example.com', 'OldTimer', ?, '2019-05-04 10:00:00', 5000, 42),
		('legacy-2', NULL, 'Wanderer', NULL, '2020-01-01 00:00:00', 7, 3)`, bcryptHash)
	require.NoError(t, err)
	return db
}

func newUsers(t *testing.T, db *sql.DB) *userStore {
	t.Helper()
	u, err := newUserStore(t.Context(), db)
	require.NoError(t, err)
	return u
}

// TestConformance runs the accounts part of gameauth's storage suite against
// the adapter, on a table that already holds the game's players.
func TestConformance(t *testing.T) {
	storagetest.RunAccounts(t, func(t *testing.T) storage.Accounts {
		return newUsers(t, newGameDB(t))
	})
}

// gameColumns reads the game's own columns of a player.
func gameColumns(t *testing.T, db *sql.DB, id string) (email sql.NullString, displayName string, gold, level int64) {
	t.Helper()
	err := db.QueryRowContext(t.Context(), `SELECT email, display_name, gold, level FROM users WHERE id = ?`, id).
		Scan(&email, &displayName, &gold, &level)
	require.NoError(t, err, "player %q", id)
	return email, displayName, gold, level
}

func TestMigrate(t *testing.T) {
	t.Run("FillsInExistingPlayers", func(t *testing.T) {
		ctx := t.Context()
		db := newGameDB(t)
		u := newUsers(t, db)

		old, err := u.GetAccountByLink(ctx, storage.LinkEmail, "old.timer@example.com")
		require.NoError(t, err, "the email, normalized, is the sign-in identity")
		joined := time.Date(2019, time.May, 4, 10, 0, 0, 0, time.UTC)
		assert.Equal(t, "legacy-1", old.ID)
		assert.Equal(t, "OldTimer", old.Nickname)
		assert.Equal(t, bcryptHash, old.PasswordHash, "the old hash is kept")
		assert.True(t, joined.Equal(old.CreatedAt), "created_at %v", old.CreatedAt)
		assert.True(t, joined.Equal(old.UpdatedAt), "updated_at %v", old.UpdatedAt)
		assert.NotEmpty(t, old.OpenID)
		assert.NotEqual(t, old.ID, old.OpenID)

		byNick, err := u.GetAccountByNickname(ctx, "OLDTIMER")
		require.NoError(t, err)
		assert.Equal(t, "legacy-1", byNick.ID)

		wanderer, err := u.GetAccount(ctx, "legacy-2")
		require.NoError(t, err)
		assert.Equal(t, "Wanderer", wanderer.Nickname)
		assert.Empty(t, wanderer.LinkedType, "no email: no sign-in identity")
		assert.NotEqual(t, old.OpenID, wanderer.OpenID)
		_, err = u.GetAccountByLink(ctx, "", "")
		require.ErrorIs(t, err, storage.ErrNotFound)

		email, name, gold, level := gameColumns(t, db, "legacy-1")
		assert.Equal(t, "Old.Timer@Example.com", email.String, "the game's columns are as they were")
		assert.Equal(t, "OldTimer", name)
		assert.Equal(t, int64(5000), gold)
		assert.Equal(t, int64(42), level)
	})

	t.Run("RunsOnce", func(t *testing.T) {
		ctx := t.Context()
		db := newGameDB(t)
		first, err := newUsers(t, db).GetAccount(ctx, "legacy-1")
		require.NoError(t, err)
		again, err := newUsers(t, db).GetAccount(ctx, "legacy-1")
		require.NoError(t, err)
		assert.Equal(t, first, again)
	})

	cases := []struct{ name, id, email, displayName string }{
		{"DisplayNameClash", "legacy-3", "", "OLDTIMER"},
		{"EmailClash", "legacy-3", "old.timer@EXAMPLE.com", "Newcomer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			db := newGameDB(t)
			var email any
			if c.email != "" {
				email = c.email
			}
			_, err := db.ExecContext(ctx, `INSERT INTO users (id, email, display_name) VALUES (?, ?, ?)`, c.id, email, c.displayName)
			require.NoError(t, err)

			_, err = newUserStore(ctx, db)
			require.ErrorContains(t, err, "1 existing players share")
			var migrated bool
			require.NoError(t, db.QueryRowContext(ctx,
				`SELECT EXISTS (SELECT 1 FROM pragma_table_info('users') WHERE name = 'open_id')`).Scan(&migrated))
			assert.False(t, migrated, "a failed migration changes nothing")
		})
	}
}

// TestCancelled: a call whose context is already cancelled fails as a store
// failure and writes nothing (the storage suite checks this of whole stores;
// RunAccounts leaves it to the adapter's own tests).
func TestCancelled(t *testing.T) {
	a := storage.Account{
		ID: "acc-1", OpenID: "open-1", LinkedType: storage.LinkEmail, LinkedID: "a@example.com",
		PasswordHash: "$argon2id$x", Nickname: "Alpha", CreatedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(2, 0).UTC(),
	}
	calls := []struct {
		name string
		call func(ctx context.Context, u *userStore) error
	}{
		{"CreateAccount", func(ctx context.Context, u *userStore) error {
			b := a
			b.ID, b.LinkedID, b.Nickname = "acc-new", "new@example.com", "New"
			return u.CreateAccount(ctx, b)
		}},
		{"UpdateAccount", func(ctx context.Context, u *userStore) error {
			name := "New"
			return u.UpdateAccount(ctx, a.ID, storage.AccountUpdate{
				Nickname: &name, Link: &storage.Link{Type: storage.LinkEmail, ID: "new@example.com"}, At: time.Unix(3, 0),
			})
		}},
		{"DeleteAccount", func(ctx context.Context, u *userStore) error { return u.DeleteAccount(ctx, a.ID) }},
		{"GetAccount", func(ctx context.Context, u *userStore) error { _, err := u.GetAccount(ctx, a.ID); return err }},
		{"GetAccountByLink", func(ctx context.Context, u *userStore) error {
			_, err := u.GetAccountByLink(ctx, a.LinkedType, a.LinkedID)
			return err
		}},
		{"GetAccountByNickname", func(ctx context.Context, u *userStore) error {
			_, err := u.GetAccountByNickname(ctx, a.Nickname)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			u := newUsers(t, newGameDB(t))
			require.NoError(t, u.CreateAccount(t.Context(), a))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()

			err := c.call(ctx, u)
			require.Error(t, err)
			require.ErrorIs(t, err, context.Canceled)
			require.NotErrorIs(t, err, storage.ErrNotFound)
			require.NotErrorIs(t, err, storage.ErrConflict)

			got, err := u.GetAccount(t.Context(), a.ID)
			require.NoError(t, err)
			assert.Equal(t, "Alpha", got.Nickname)
			assert.Equal(t, "a@example.com", got.LinkedID)
			_, err = u.GetAccount(t.Context(), "acc-new")
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = u.GetAccountByLink(t.Context(), storage.LinkEmail, "new@example.com")
			require.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}
