package gameauth_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/sqlite"
)

// dumpedStore is a shipped store and a way to read every value of every
// table its database lists, table by table, each row's values as text.
type dumpedStore struct {
	store storage.Store
	dump  func(t *testing.T) map[string][][]string
	// file, where the backend is one file, checkpoints it and returns its
	// bytes: deleted rows must not linger in its free space either.
	file func(t *testing.T) []byte
}

// dumpedBackends are backends (SQLite; PostgreSQL with
// GAMEAUTH_TEST_POSTGRES), with the dump.
func dumpedBackends(t *testing.T) map[string]func(t *testing.T) dumpedStore {
	m := map[string]func(t *testing.T) dumpedStore{
		"sqlite": func(t *testing.T) dumpedStore {
			path := filepath.Join(t.TempDir(), "gameauth.db")
			s, err := sqlite.Open(context.Background(), path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return dumpedStore{store: s, dump: func(t *testing.T) map[string][][]string {
				db, err := sql.Open("sqlite", path)
				require.NoError(t, err)
				defer db.Close()
				var tables []string
				rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
				require.NoError(t, err)
				for rows.Next() {
					var name string
					require.NoError(t, rows.Scan(&name))
					tables = append(tables, name)
				}
				require.NoError(t, rows.Err())
				out := map[string][][]string{}
				for _, table := range tables {
					out[table] = sqlRows(t, db, `SELECT * FROM "`+table+`"`)
				}
				return out
			}, file: func(t *testing.T) []byte {
				db, err := sql.Open("sqlite", path)
				require.NoError(t, err)
				defer db.Close()
				var busy, logged, moved int
				require.NoError(t, db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &moved))
				require.Zero(t, busy, "the checkpoint ran to the end")
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				return b
			}}
		},
	}
	if dsn := os.Getenv("GAMEAUTH_TEST_POSTGRES"); dsn != "" {
		m["postgres"] = func(t *testing.T) dumpedStore {
			schema := "t_" + strings.ToLower(rand.Text())
			s, err := postgres.Open(context.Background(), dsn, postgres.Schema(schema))
			require.NoError(t, err)
			pool, err := pgxpool.New(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() {
				_ = s.Close()
				_, _ = pool.Exec(context.Background(), `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
				pool.Close()
			})
			return dumpedStore{store: s, dump: func(t *testing.T) map[string][][]string {
				ctx := context.Background()
				rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
				require.NoError(t, err)
				tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
				require.NoError(t, err)
				require.NotEmpty(t, tables)
				out := map[string][][]string{}
				for _, table := range tables {
					rows, err := pool.Query(ctx, `SELECT * FROM `+pgx.Identifier{schema, table}.Sanitize())
					require.NoError(t, err)
					for rows.Next() {
						vals, err := rows.Values()
						require.NoError(t, err)
						out[table] = append(out[table], texts(vals))
					}
					require.NoError(t, rows.Err())
				}
				return out
			}}
		}
	} else {
		t.Log("GAMEAUTH_TEST_POSTGRES unset: PostgreSQL not tested")
	}
	return m
}

// sqlRows reads every row of query, each value as text.
func sqlRows(t *testing.T, db *sql.DB, query string) [][]string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, texts(vals))
	}
	require.NoError(t, rows.Err())
	return out
}

// texts is each value as text; bytes as they are (a string kept as bytes
// would show).
func texts(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case []byte:
			out[i] = string(v)
		case nil:
			out[i] = ""
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// where lists the tables whose values contain s (case-insensitively), with
// the matching rows.
func where(dump map[string][][]string, s string) map[string][]string {
	found := map[string][]string{}
	needle := strings.ToLower(s)
	for table, rows := range dump {
		for _, row := range rows {
			for _, v := range row {
				if strings.Contains(strings.ToLower(v), needle) {
					found[table] = append(found[table], strings.Join(row, " | "))
					break
				}
			}
		}
	}
	return found
}

// codeMailer keeps the reset codes it is asked to send.
type codeMailer struct {
	mu    sync.Mutex
	codes []string
}

func (m *codeMailer) SendResetCode(_ context.Context, _, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes = append(m.codes, code)
	return nil
}

func (m *codeMailer) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codes[len(m.codes)-1]
}

// TestPurgeLeavesNoTrace: once a withdrawn player is purged, the database
// holds neither the player's email nor any of its nicknames, anywhere (the
// audit log included), and its IDs only in the audit log and the withdrawal
// tombstone; before the purge, the same read finds them.
func TestPurgeLeavesNoTrace(t *testing.T) {
	for name, open := range dumpedBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ds := open(t)
			clock := testclock.Default()
			mailer := &codeMailer{}
			auth, err := gameauth.New(ctx, gameauth.Config{Store: ds.store, Clock: clock.Now,
				Account: account.Config{PasswordHashing: cheap, Mailer: mailer}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = auth.Close() })
			srv := server(t, auth)
			base := srv.URL + "/auth"

			const email, first, renamed = "Purge.Me@Example.com", "PurgeFirst", "PurgeRenamed"
			normalized := strings.ToLower(email)
			_, _, player := signUp(t, srv.URL, email, first, "dev-one")
			id := player["UserUniqueID"].(string)
			openID := player["OpenID"].(string)
			require.NotEmpty(t, id)
			require.NotEmpty(t, openID)
			signIn := func(password, device string) (access string, sessionID string) {
				r := call(t, "POST", base+"/email/signin", "", map[string]any{
					"linked_id": email, "linked_password": password, "platform": "pc", "device_id": device})
				require.Equal(t, http.StatusOK, r.status, r.body)
				access, _ = tokensOf(t, r)
				return access, sessionOf(t, auth, access)
			}
			access, _ := signIn("correct horse", "dev-two")

			r := call(t, "PUT", base+"/nickname", access, map[string]any{"nickname": renamed})
			require.Equal(t, http.StatusOK, r.status, r.body)

			// A password reset, used, and another requested and left.
			r = call(t, "POST", base+"/password/reset", "", map[string]any{"linked_id": email})
			require.Equal(t, http.StatusAccepted, r.status, r.body)
			r = call(t, "POST", base+"/password/reset/confirm", "", map[string]any{
				"linked_id": email, "code": mailer.last(), "new_password": "battery staple"})
			require.Equal(t, http.StatusOK, r.status, r.body)
			clock.Advance(time.Minute)
			r = call(t, "POST", base+"/password/reset", "", map[string]any{"linked_id": email})
			require.Equal(t, http.StatusAccepted, r.status, r.body)

			// A linked identity, written to the store directly.
			ids, ok := ds.store.(storage.Identities)
			require.True(t, ok)
			require.NoError(t, ids.LinkIdentity(ctx, id, storage.Identity{Type: "apple", Subject: "apple-" + id, LinkedAt: clock.Now()}))

			access, sessionID := signIn("battery staple", "dev-two")
			r = call(t, "POST", base+"/withdrawal", access, map[string]any{"period": 7, "memo": "bye from " + email + " aka " + renamed})
			require.Equal(t, http.StatusOK, r.status, r.body)

			playerBlock, err := auth.Service().BlockPlayer(ctx, id, account.BlockSpec{Reason: "cheating"})
			require.NoError(t, err)
			_, err = auth.Service().BlockDevice(ctx, "dev-one", account.BlockSpec{Reason: "shared cheat rig"})
			require.NoError(t, err)

			// Before the purge the read finds everything it then must not.
			require.NoError(t, auth.Service().FlushAudit(ctx))
			before := ds.dump(t)
			for _, s := range []string{normalized, renamed, storage.NicknameKey(renamed), id, openID, sessionID, playerBlock} {
				require.NotEmpty(t, where(before, s), "%q is in the database before the purge", s)
			}
			require.Contains(t, where(before, normalized), tableName(before, "reset_codes"))
			require.Contains(t, where(before, id), tableName(before, "identities"))
			require.Contains(t, where(before, id), tableName(before, "audit"))

			clock.Advance(8 * 24 * time.Hour)
			n, err := auth.Service().PurgeWithdrawn(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)

			require.NoError(t, auth.Service().FlushAudit(ctx))
			after := ds.dump(t)
			for _, s := range []string{email, normalized, first, storage.NicknameKey(first), renamed, storage.NicknameKey(renamed), "apple-" + id, playerBlock} {
				assert.Empty(t, where(after, s), "%q is gone from every table", s)
			}
			if ds.file != nil {
				raw := ds.file(t)
				for _, s := range []string{normalized, first, renamed, storage.NicknameKey(renamed)} {
					assert.NotContains(t, string(raw), s, "%q is gone from the database file's free space too", s)
				}
			}
			audit, withdrawals := tableName(after, "audit"), tableName(after, "withdrawals")
			for _, s := range []string{id, openID, sessionID} {
				for table, rows := range where(after, s) {
					assert.Contains(t, []string{audit, withdrawals}, table, "%q is in %s: %v", s, table, rows)
				}
			}
			require.NotEmpty(t, where(after, id)[audit], "the audit log keeps the player's ID")
			tombstones := after[withdrawals]
			require.Len(t, tombstones, 1, "the tombstone")
			// The device block stays: it is the device's, not the player's.
			_, err = auth.Service().LookupBlock(ctx, playerBlock)
			require.Error(t, err, "the player block is gone")
			devBlocks, err := ds.store.ActiveBlocks(ctx, storage.BlockDevice, "dev-one", clock.Now())
			require.NoError(t, err)
			require.Len(t, devBlocks, 1)
		})
	}
}

// sessionOf is the session an access token belongs to.
func sessionOf(t *testing.T, auth *gameauth.GameAuth, access string) string {
	t.Helper()
	p, err := auth.Authenticator().VerifyToken(access)
	require.NoError(t, err)
	require.NotEmpty(t, p.SessionID)
	return p.SessionID
}

// tableName is the name dump lists table by: "audit" in SQLite,
// "gameauth_audit" in PostgreSQL.
func tableName(dump map[string][][]string, table string) string {
	for _, name := range []string{table, "gameauth_" + table} {
		if _, ok := dump[name]; ok {
			return name
		}
	}
	names := slices.Collect(func(yield func(string) bool) {
		for n := range dump {
			if !yield(n) {
				return
			}
		}
	})
	panic(fmt.Sprintf("no table %q among %v", table, names))
}
