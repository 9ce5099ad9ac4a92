package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/racetest"
	"github.com/gameauth/gameauth/storage/internal/sqltest"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// t0 is the tests' clock: fixed, on a microsecond boundary.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)

// dsn returns the test server's DSN, or skips the test.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("GAMEAUTH_TEST_POSTGRES")
	if d == "" {
		t.Skip("GAMEAUTH_TEST_POSTGRES not set: skipping PostgreSQL tests")
	}
	return d
}

// testPool connects to the test server; the pool closes when t ends.
func testPool(t testing.TB, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn(t))
	require.NoError(t, err)
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// freshSchema returns a new schema name, random so runs never collide, and
// with a dash and capitals so identifier quoting is exercised; the schema is
// dropped when t ends.
func freshSchema(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	name := "gameauth-Test-" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
		assert.NoError(t, err)
	})
	return name
}

// freshStore is an empty store in its own schema on pool.
func freshStore(t testing.TB, pool *pgxpool.Pool) *postgres.Store {
	t.Helper()
	s, err := postgres.New(context.Background(), pool, postgres.Schema(freshSchema(t, pool)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		pool := testPool(t, 8)
		storagetest.Run(t, func(t *testing.T) storage.Store { return freshStore(t, pool) })
	})
}

func account(id, link, nickname string) storage.Account {
	return storage.Account{
		ID: id, OpenID: "open-" + id, LinkedType: storage.LinkEmail, LinkedID: link,
		Nickname: nickname, CreatedAt: t0, UpdatedAt: t0,
	}
}

func session(id, accountID string) storage.Session {
	return storage.Session{
		ID: id, AccountID: accountID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshHash: []byte("h0-" + id), RotatedAt: t0,
	}
}

// TestOpenRace: processes starting together on a fresh schema all succeed,
// and the migrations run once (the advisory lock).
func TestOpenRace(t *testing.T) {
	d := dsn(t)
	pool := testPool(t, 2)
	schema := freshSchema(t, pool)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), d, postgres.Schema(schema))
			if err == nil {
				err = s.CreateAccount(context.Background(), account(fmt.Sprint("a", i), fmt.Sprint(i, "@x"), ""))
				err = errors.Join(err, s.Close())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	migrations, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	var versions, accounts int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT COUNT(*) FROM `+pgx.Identifier{schema, "gameauth_schema_version"}.Sanitize()).Scan(&versions))
	assert.Equal(t, len(migrations), versions, "each migration applied once")
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT COUNT(*) FROM `+pgx.Identifier{schema, "gameauth_accounts"}.Sanitize()).Scan(&accounts))
	assert.Equal(t, n, accounts)
}

// TestUpgradeFrom0001: a schema made by a build that knew only the first
// migration, with players in it, opens, and its players have their
// identities.
func TestUpgradeFrom0001(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t, 2)
	schema := freshSchema(t, pool)
	first, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize(),
			`SET LOCAL search_path TO ` + pgx.Identifier{schema}.Sanitize(),
			string(first),
			`CREATE TABLE gameauth_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
			`INSERT INTO gameauth_schema_version (version) VALUES (1)`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		for _, a := range sqltest.OldAccounts() {
			if _, err := tx.Exec(ctx, `INSERT INTO gameauth_accounts (id, open_id, linked_type, linked_id, password_hash,
				nickname, nickname_key, country, timezone, purchase_count, purchase_currency, purchase_total,
				voided_count, voided_currency, voided_total, created_at, updated_at)
				VALUES ($1, $2, $3, $4, '', $5, $6, '', '', 0, '', 0, 0, '', 0, $7, $8)`,
				a.ID, a.OpenID, a.LinkedType, a.LinkedID, a.Nickname, storage.NicknameKey(a.Nickname),
				nullTime(a.CreatedAt), nullTime(a.UpdatedAt)); err != nil {
				return err
			}
		}
		old := sqltest.OldSession()
		_, err := tx.Exec(ctx, `INSERT INTO gameauth_sessions (id, account_id, device_id, platform, created_at, expires_at,
			refresh_hash, prev_refresh_hash, generation, rotated_at, revoked_at, revoke_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0, $8, NULL, '')`,
			old.ID, old.AccountID, old.DeviceID, old.Platform, old.CreatedAt, old.ExpiresAt, old.RefreshHash, old.RotatedAt)
		return err
	})
	require.NoError(t, err)

	s, err := postgres.New(ctx, pool, postgres.Schema(schema))
	require.NoError(t, err)
	sqltest.Admin(t, s)
	sqltest.Identities(t, s)
}

// nullTime is t as the first migration's columns hold it.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t, 2)
	schema := freshSchema(t, pool)
	_, err := postgres.New(ctx, pool, postgres.Schema(schema))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "gameauth_schema_version"}.Sanitize()+` (version) VALUES (999)`)
	require.NoError(t, err)
	_, err = postgres.New(ctx, pool, postgres.Schema(schema))
	require.ErrorContains(t, err, "newer")
}

func TestOpenBadDSNHidesIt(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:hunter2@[::1:5432/db")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestConflictFields(t *testing.T) {
	ctx := context.Background()
	s := freshStore(t, testPool(t, 2))
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
		{"session id", func() error { _, err := s.CreateSession(ctx, session("s1", "a1"), 0); return err }, storage.FieldID},
		{"pending withdrawal", func() error {
			_, err := s.Withdraw(ctx, storage.Withdrawal{AccountID: "a1", KeyHash: []byte("k2"), RequestedAt: t0, Deadline: t0.Add(time.Hour)})
			return err
		}, storage.FieldState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.field == storage.FieldID && strings.HasPrefix(tc.name, "session") {
				_, err := s.CreateSession(ctx, session("s1", "a1"), 0)
				require.NoError(t, err)
			}
			if tc.field == storage.FieldState {
				_, err := s.Withdraw(ctx, storage.Withdrawal{AccountID: "a1", KeyHash: []byte("k1"), RequestedAt: t0, Deadline: t0.Add(time.Hour)})
				require.NoError(t, err)
			}
			err := tc.do()
			require.ErrorIs(t, err, storage.ErrConflict)
			assert.Equal(t, tc.field, storage.ConflictField(err))
		})
	}
}

// TestCutMidTransaction breaks a multi-statement transaction after its first
// write, in the ways a connection can die, and checks nothing was written.
func TestCutMidTransaction(t *testing.T) {
	pool := testPool(t, 4)
	killer := testPool(t, 1)
	cuts := []struct {
		name string
		cut  func(t *testing.T, cancel context.CancelFunc, tx pgx.Tx)
	}{
		{"backend terminated", func(t *testing.T, _ context.CancelFunc, tx pgx.Tx) {
			var ok bool
			// Wait up to 5s for the backend to be gone.
			require.NoError(t, killer.QueryRow(context.Background(), `SELECT pg_terminate_backend($1, 5000)`,
				tx.Conn().PgConn().PID()).Scan(&ok))
			require.True(t, ok)
		}},
		{"socket closed", func(t *testing.T, _ context.CancelFunc, tx pgx.Tx) {
			require.NoError(t, tx.Conn().PgConn().Conn().Close())
		}},
		{"context cancelled", func(t *testing.T, cancel context.CancelFunc, _ pgx.Tx) {
			cancel()
		}},
	}
	for _, c := range cuts {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := freshStore(t, pool)
			_, err := s.CreateSession(ctx, session("old", "a1"), 0)
			require.NoError(t, err)
			require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "")))

			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			postgres.SetMidTx(s, func(_ context.Context, tx pgx.Tx) { c.cut(t, cancel, tx) })

			// CreateSession: the insert happened, the replacement did not.
			_, err = s.CreateSession(cctx, session("new", "a1"), 1)
			require.Error(t, err)
			require.NotErrorIs(t, err, storage.ErrConflict)

			// Withdraw: the withdrawal was inserted, the revocation did not run.
			_, err = s.Withdraw(cctx, storage.Withdrawal{AccountID: "a1", KeyHash: []byte("k"), RequestedAt: t0, Deadline: t0.Add(time.Hour)})
			require.Error(t, err)

			// UpdateAccount with a link: the old identity was deleted, the
			// new one not inserted.
			err = s.UpdateAccount(cctx, "a1", storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: "b@x"}, At: t0})
			require.Error(t, err)

			// DeleteAccount: the account went, its identities did not.
			require.Error(t, s.DeleteAccount(cctx, "a1"))

			postgres.SetMidTx(s, nil)
			ids, err := s.ListIdentities(ctx, "a1")
			require.NoError(t, err)
			require.Len(t, ids, 1)
			assert.Equal(t, storage.Link{Type: storage.LinkEmail, ID: "a@x"}, ids[0].Link())
			a, err := s.GetAccountByLink(ctx, storage.LinkEmail, "a@x")
			require.NoError(t, err)
			assert.Equal(t, "a1", a.ID)
			_, err = s.GetAccountByLink(ctx, storage.LinkEmail, "b@x")
			require.ErrorIs(t, err, storage.ErrNotFound)

			_, err = s.GetSession(ctx, "new")
			require.ErrorIs(t, err, storage.ErrNotFound)
			old, err := s.GetSession(ctx, "old")
			require.NoError(t, err)
			assert.False(t, old.Revoked())
			_, err = s.GetAccountWithdrawal(ctx, "a1")
			require.ErrorIs(t, err, storage.ErrNotFound)

			// The pool recovers: the same calls now go through.
			replaced, err := s.CreateSession(ctx, session("new", "a1"), 1)
			require.NoError(t, err)
			assert.Equal(t, []string{"old"}, replaced)
		})
	}
}

// twoNodes returns two stores on one fresh schema, each with its own pool,
// as two server processes would hold them.
func twoNodes(t *testing.T) (a, b *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	pool := testPool(t, 8)
	schema := freshSchema(t, pool)
	a, err := postgres.New(ctx, pool, postgres.Schema(schema))
	require.NoError(t, err)
	b, err = postgres.New(ctx, testPool(t, 8), postgres.Schema(schema))
	require.NoError(t, err)
	return a, b
}

// TestRotateRaceAcrossPools: two nodes racing on one refresh token rotate
// it exactly once.
func TestRotateRaceAcrossPools(t *testing.T) {
	a, b := twoNodes(t)
	racetest.RotateRace(t, a, b)
}

// TestRefreshRaceAcrossPools: two nodes racing Refresh on one token
// rotate it exactly once, and every retry gets the rotated session.
func TestRefreshRaceAcrossPools(t *testing.T) {
	a, b := twoNodes(t)
	racetest.RefreshRace(t, a, b)
}

// TestClaimRaceAcrossPools: first sign-ins and links of one identity
// racing from two nodes: one wins.
func TestClaimRaceAcrossPools(t *testing.T) {
	a, b := twoNodes(t)
	racetest.ClaimRace(t, a, b)
}

// quickDeadlockPool connects to the test server with connections that look
// for deadlocks after 50ms (the server's default is 1s): a transaction on
// one of them is the side PostgreSQL aborts.
func quickDeadlockPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["deadlock_timeout"] = "50ms"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// waitForLock waits until a statement on the schema waits for a lock.
func waitForLock(t *testing.T, pool *pgxpool.Pool, schema, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var waiting bool
		err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0)`, schema).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, time.Millisecond, msg)
}

// TestIdentityWritesWaitForTheAccount: a write to an account's identities
// that waits for another transaction holding the account's row lock, as
// another node's write to them does, sees what that transaction committed,
// not the state when it started waiting.
func TestIdentityWritesWaitForTheAccount(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t, 4)
	other := testPool(t, 2)
	apple := storage.Link{Type: "apple", ID: "ap1"}
	cases := []struct {
		name  string
		held  []string // run, then committed, by the other transaction; %[1]s accounts, %[2]s identities
		call  func(s *postgres.Store) error
		check func(t *testing.T, s *postgres.Store, err error)
	}{
		{"DeleteAfterLink", []string{
			`INSERT INTO %[2]s (type, subject, account_id, linked_at) VALUES ('google', 'gg1', 'a1', now())`,
		}, func(s *postgres.Store) error { return s.DeleteAccount(ctx, "a1") },
			func(t *testing.T, s *postgres.Store, err error) {
				require.NoError(t, err)
				_, err = s.GetAccountByLink(ctx, "google", "gg1")
				require.ErrorIs(t, err, storage.ErrNotFound, "the identity linked meanwhile went with the account")
				ids, err := s.ListIdentities(ctx, "a1")
				require.NoError(t, err)
				assert.Empty(t, ids)
			}},
		{"UnlinkAfterUnlink", []string{
			`DELETE FROM %[2]s WHERE account_id = 'a1' AND type = 'apple'`,
		}, func(s *postgres.Store) error { return s.UnlinkIdentity(ctx, "a1", storage.LinkEmail, &apple, t0) },
			func(t *testing.T, s *postgres.Store, err error) {
				require.ErrorIs(t, err, storage.ErrConflict)
				assert.Equal(t, storage.FieldState, storage.ConflictField(err), "the promoted identity is gone")
				ids, err := s.ListIdentities(ctx, "a1")
				require.NoError(t, err)
				require.Len(t, ids, 1)
				a, err := s.GetAccount(ctx, "a1")
				require.NoError(t, err)
				assert.Equal(t, storage.LinkEmail, a.LinkedType)
			}},
		{"LinkAfterDelete", []string{
			`DELETE FROM %[2]s WHERE account_id = 'a1'`,
			`DELETE FROM %[1]s WHERE id = 'a1'`,
		}, func(s *postgres.Store) error {
			return s.LinkIdentity(ctx, "a1", storage.Identity{Type: "google", Subject: "gg1", LinkedAt: t0})
		}, func(t *testing.T, s *postgres.Store, err error) {
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = s.GetAccountByLink(ctx, "google", "gg1")
			require.ErrorIs(t, err, storage.ErrNotFound)
		}},
		{"UpdateLinkAfterUnlink", []string{
			`DELETE FROM %[2]s WHERE account_id = 'a1' AND type = 'apple'`,
		}, func(s *postgres.Store) error {
			return s.UpdateAccount(ctx, "a1", storage.AccountUpdate{Link: &storage.Link{Type: "apple", ID: "ap2"}, At: t0})
		}, func(t *testing.T, s *postgres.Store, err error) {
			require.NoError(t, err, "the apple identity the account had is gone: no FieldIdentityType")
			ids, err := s.ListIdentities(ctx, "a1")
			require.NoError(t, err)
			require.Len(t, ids, 1)
			assert.Equal(t, storage.Link{Type: "apple", ID: "ap2"}, ids[0].Link())
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			schema := freshSchema(t, pool)
			s, err := postgres.New(ctx, pool, postgres.Schema(schema))
			require.NoError(t, err)
			require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "")))
			require.NoError(t, s.LinkIdentity(ctx, "a1", storage.Identity{Type: apple.Type, Subject: apple.ID, LinkedAt: t0}))

			tx, err := other.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			accounts := pgx.Identifier{schema, "gameauth_accounts"}.Sanitize()
			identities := pgx.Identifier{schema, "gameauth_identities"}.Sanitize()
			_, err = tx.Exec(ctx, `SELECT 1 FROM `+accounts+` WHERE id = 'a1' FOR UPDATE`)
			require.NoError(t, err)
			for _, stmt := range c.held {
				_, err := tx.Exec(ctx, fmt.Sprintf(stmt, accounts, identities))
				require.NoError(t, err)
			}
			done := make(chan error, 1)
			go func() { done <- c.call(s) }()
			waitForLock(t, other, schema, "the call waits for the account's lock")
			require.NoError(t, tx.Commit(ctx))
			c.check(t, s, <-done)
		})
	}
}

// TestFirstSignInRacingLinkChange: another node's first sign-in with an
// identity (its account row written, its identity not yet) and a link
// change to that identity here must not wait on each other in a cycle,
// which PostgreSQL would break by failing one of them: the sign-in, one
// statement, is not run again. Its transaction here detects deadlocks
// first, so that a cycle would abort it.
func TestFirstSignInRacingLinkChange(t *testing.T) {
	ctx := context.Background()
	other := quickDeadlockPool(t)
	pool := testPool(t, 4)
	schema := freshSchema(t, pool)
	s, err := postgres.New(ctx, pool, postgres.Schema(schema))
	require.NoError(t, err)
	require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "")))

	tx, err := other.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "gameauth_accounts"}.Sanitize()+` (id, open_id, linked_type,
		linked_id, password_hash, nickname, nickname_key, country, timezone, purchase_count, purchase_currency,
		purchase_total, voided_count, voided_currency, voided_total) VALUES ('b1', 'o', 'apple', 'ap1', '', '', '', '', '', 0, '', 0, 0, '', 0)`)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		done <- s.UpdateAccount(ctx, "a1", storage.AccountUpdate{Link: &storage.Link{Type: "apple", ID: "ap1"}, At: t0})
	}()
	waitForLock(t, other, schema, "the link change waits for the sign-in")
	_, err = tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "gameauth_identities"}.Sanitize()+` (type, subject, account_id)
		VALUES ('apple', 'ap1', 'b1')`)
	require.NoError(t, err, "the sign-in does not wait on the link change")
	require.NoError(t, tx.Commit(ctx))
	err = <-done
	require.ErrorIs(t, err, storage.ErrConflict)
	assert.Equal(t, storage.FieldLink, storage.ConflictField(err))
	got, err := s.GetAccountByLink(ctx, "apple", "ap1")
	require.NoError(t, err)
	assert.Equal(t, "b1", got.ID)
}

// TestDefaultSchema: without Schema the tables go to the connection's
// search_path.
func TestDefaultSchema(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t, 2)
	schema := freshSchema(t, pool)
	_, err := pool.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	sp, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer sp.Close()
	s, err := postgres.New(ctx, sp)
	require.NoError(t, err)
	require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "")))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{schema, "gameauth_accounts"}.Sanitize()).Scan(&n))
	assert.Equal(t, 1, n)
}

// TestSignInRaceKeepsKeep: sign-ins of one account racing from two pools
// (two nodes) leave exactly keep sessions live: the account's advisory lock
// serializes the insert-then-trim.
func TestSignInRaceKeepsKeep(t *testing.T) {
	a, b := twoNodes(t)
	racetest.KeepRace(t, a, b)
}

// TestDeadlockRetried: a transaction PostgreSQL aborts to break a deadlock
// runs again, and the call succeeds. Another connection holds the session
// row a withdrawal's revocation needs while it waits on the withdrawal's
// own insert: a deadlock that aborts the withdrawal, whose backend checks
// first (a shorter deadlock_timeout).
func TestDeadlockRetried(t *testing.T) {
	ctx := context.Background()
	pool := quickDeadlockPool(t)
	other := testPool(t, 2)
	schema := freshSchema(t, other)
	s, err := postgres.New(ctx, pool, postgres.Schema(schema))
	require.NoError(t, err)
	_, err = s.CreateSession(ctx, session("s1", "a1"), 0)
	require.NoError(t, err)
	sessions := pgx.Identifier{schema, "gameauth_sessions"}.Sanitize()
	withdrawals := pgx.Identifier{schema, "gameauth_withdrawals"}.Sanitize()

	attempts := 0
	inserted := make(chan error, 1)
	postgres.SetMidTx(s, func(_ context.Context, tx pgx.Tx) {
		attempts++
		if attempts > 1 {
			return
		}
		t2, err := other.Begin(ctx)
		require.NoError(t, err)
		// PostgreSQL aborts the transaction whose deadlock check finds the
		// cycle: the withdrawal's, after 50 ms, never this one. At the
		// default 1 s, a machine slow enough to close the cycle a second
		// after this transaction began waiting made this one the victim.
		_, err = t2.Exec(ctx, `SET LOCAL deadlock_timeout = '1h'`)
		require.NoError(t, err)
		_, err = t2.Exec(ctx, `UPDATE `+sessions+` SET platform = platform WHERE id = 's1'`)
		require.NoError(t, err)
		go func() {
			// Waits on the withdrawal's insert until the deadlock aborts it.
			_, err := t2.Exec(ctx, `INSERT INTO `+withdrawals+` (account_id, key_hash, memo) VALUES ('a1', 'other', '')`)
			inserted <- errors.Join(err, t2.Rollback(ctx))
		}()
		pid := t2.Conn().PgConn().PID()
		require.Eventually(t, func() bool {
			var waiting bool
			err := other.QueryRow(ctx, `SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting)
			return err == nil && waiting
		}, 10*time.Second, time.Millisecond)
	})
	revoked, err := s.Withdraw(ctx, storage.Withdrawal{AccountID: "a1", KeyHash: []byte("k"), RequestedAt: t0, Deadline: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, <-inserted, "the other transaction went on once the withdrawal was aborted")
	// Ran again: at least once more. Twice more on a busy machine, when the
	// retry inserts its withdrawal before the other transaction, woken by
	// the abort, inserts its own: the two then deadlock once more.
	assert.GreaterOrEqual(t, attempts, 2, "the withdrawal ran again")
	assert.Equal(t, []string{"s1"}, revoked)
	w, err := s.GetAccountWithdrawal(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, []byte("k"), w.KeyHash)
}

// BenchmarkAccountLookup: GetAccountByLink, the sign-in's lookup through
// the identities, against GetAccount, in the same iterations.
func BenchmarkAccountLookup(b *testing.B) {
	sqltest.AccountLookup(b, freshStore(b, testPool(b, 4)))
}

// TestSearchUsesIndex: SearchNicknames is one range scan of the nickname
// index, starting at the cursor, in index order (no sort), bounded or not.
// The key range is exact only in bytewise order: the index must be "C".
func TestSearchUsesIndex(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t, 2)
	s := freshStore(t, pool)
	accounts := postgres.Table(s, "gameauth_accounts")
	_, err := pool.Exec(ctx, `INSERT INTO `+accounts+` (id, open_id, linked_type, linked_id, password_hash,
		nickname, nickname_key, country, timezone, purchase_count, purchase_currency, purchase_total,
		voided_count, voided_currency, voided_total)
		SELECT 'a' || i, 'o' || i, 'guest', 'g' || i, '', 'n' || i, 'n' || i, '', '', 0, '', 0, 0, '', 0
		FROM generate_series(1, 20000) i`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE `+accounts)
	require.NoError(t, err)
	for _, bounded := range []bool{true, false} {
		args := []any{"n150", "n150", "a150", 20}
		if bounded {
			args = append(args, "n2")
		}
		rows, err := pool.Query(ctx, `EXPLAIN `+postgres.SearchSQL(s, bounded), args...)
		require.NoError(t, err)
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		text := strings.Join(plan, "\n")
		assert.Contains(t, text, "Index Scan using gameauth_accounts_nickname_key", "bounded %v", bounded)
		assert.Regexp(t, `Index Cond: \(+nickname_key >= 'n150'::text\)`, text, "the scan starts at the cursor")
		if bounded {
			assert.Contains(t, text, "(nickname_key < 'n2'::text)")
		}
		assert.NotContains(t, text, "Sort", "index order")
		assert.NotContains(t, text, "Seq Scan")
	}
	var collation string
	require.NoError(t, pool.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'gameauth_accounts' AND column_name = 'nickname_key'`,
		postgres.SchemaName(s)).Scan(&collation))
	assert.Equal(t, "C", collation)
}
