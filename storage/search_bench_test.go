package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/sqlite"
)

// searchAccounts is how many accounts BenchmarkSearchNicknames fills.
const searchAccounts = 1_000_000

// searchNicknames returns n distinct nicknames (distinct keys), seeded:
// letters and digits of varied case and length, a tenth of them Hangul.
func searchNicknames(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		if r.IntN(10) == 0 {
			for range 2 + r.IntN(4) {
				b.WriteRune(rune(0xAC00 + r.IntN(11172)))
			}
		} else {
			for range 4 + r.IntN(9) {
				b.WriteByte(letters[r.IntN(len(letters))])
			}
		}
		nick := b.String()
		if key := storage.NicknameKey(nick); !seen[key] {
			seen[key] = true
			out = append(out, nick)
		}
	}
	return out
}

// BenchmarkSearchNicknames times SearchNicknames pages (of 50) over a
// million accounts, on SQLite and (with GAMEAUTH_TEST_POSTGRES) PostgreSQL:
// a one-letter prefix, a three-letter one, a deep page (a cursor 20,000
// keys into the one-letter prefix's range) and a prefix that matches
// nothing; and, as the reference measured in the same iterations, a
// GetAccount by ID. It reports ms per page and each page's time over the
// reference's. Filling takes a while, so it runs only with
// GAMEAUTH_BENCH_SEARCH=1:
//
//	GAMEAUTH_BENCH_SEARCH=1 go test ./storage -run '^$' -bench SearchNicknames -benchtime 200x
func BenchmarkSearchNicknames(b *testing.B) {
	if os.Getenv("GAMEAUTH_BENCH_SEARCH") != "1" {
		b.Skip("GAMEAUTH_BENCH_SEARCH=1 runs it (it fills a million accounts)")
	}
	nicks := searchNicknames(searchAccounts)
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.db")
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fillSQLite(b, path, nicks)
		benchSearch(b, s, nicks)
	})
	dsn := os.Getenv("GAMEAUTH_TEST_POSTGRES")
	if dsn == "" {
		b.Log("GAMEAUTH_TEST_POSTGRES unset: PostgreSQL not measured")
		return
	}
	b.Run("postgres", func(b *testing.B) {
		ctx := context.Background()
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		schema := fmt.Sprintf("bench_search_%d", time.Now().UnixNano())
		defer pool.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) //nolint:errcheck
		s, err := postgres.New(ctx, pool, postgres.Schema(schema))
		if err != nil {
			b.Fatal(err)
		}
		fillPostgres(b, pool, schema, nicks)
		benchSearch(b, s, nicks)
	})
}

// accountRow is a benchmark account's columns, as both backends' INSERTs
// take them (password hash, country, timezone and purchases empty).
func accountRow(i int, nick string) (id, openID, linkID string) {
	return fmt.Sprintf("acc-%07d", i), fmt.Sprintf("open-%07d", i), fmt.Sprintf("guest-%07d", i)
}

// fillSQLite writes the accounts in one transaction, straight to the file
// (CreateAccount's one transaction each would take far longer).
func fillSQLite(b *testing.B, path string, nicks []string) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare(`INSERT INTO accounts (id, open_id, linked_type, linked_id, password_hash, nickname,
		nickname_key, country, timezone, purchase_count, purchase_currency, purchase_total, voided_count,
		voided_currency, voided_total, created_at, updated_at)
		VALUES (?, ?, 'guest', ?, '', ?, ?, '', '', 0, '', 0, 0, '', 0, 0, 0)`)
	if err != nil {
		b.Fatal(err)
	}
	for i, n := range nicks {
		id, openID, link := accountRow(i, n)
		if _, err := st.Exec(id, openID, link, n, storage.NicknameKey(n)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// fillPostgres copies the accounts in.
func fillPostgres(b *testing.B, pool *pgxpool.Pool, schema string, nicks []string) {
	ctx := context.Background()
	i := 0
	next := func() ([]any, error) {
		if i == len(nicks) {
			return nil, nil
		}
		n := nicks[i]
		id, openID, link := accountRow(i, n)
		i++
		return []any{id, openID, "guest", link, "", n, storage.NicknameKey(n), "", "", int64(0), "", 0.0, int64(0), "", 0.0}, nil
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "gameauth_accounts"},
		[]string{"id", "open_id", "linked_type", "linked_id", "password_hash", "nickname", "nickname_key", "country",
			"timezone", "purchase_count", "purchase_currency", "purchase_total", "voided_count", "voided_currency", "voided_total"},
		pgx.CopyFromFunc(next))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+pgx.Identifier{schema, "gameauth_accounts"}.Sanitize()); err != nil {
		b.Fatal(err)
	}
}

// benchSearch times the pages and the reference in the same iterations.
func benchSearch(b *testing.B, st storage.Store, nicks []string) {
	ctx := context.Background()
	d := st.(storage.Directory)
	keys := make([]string, len(nicks))
	for i, n := range nicks {
		keys[i] = storage.NicknameKey(n)
	}
	sort.Strings(keys)
	// The deep page's cursor: 20,000 keys into those starting with "k".
	start := sort.SearchStrings(keys, "k")
	deepKey := keys[start+20000]
	deep, err := st.GetAccountByNickname(ctx, deepKey)
	if err != nil {
		b.Fatal(err)
	}
	const limit = 50
	cases := []struct {
		name                string
		prefix, after, afID string
		want                int // at least
	}{
		{"one-letter", "K", "", "", limit},
		{"three-letter", "kQx", "", "", 1},
		{"deep", "k", deepKey, deep.ID, limit},
		{"no-match", "kqxzzq", "", "", 0},
	}
	for _, c := range cases {
		page, err := d.SearchNicknames(ctx, c.prefix, c.after, c.afID, limit)
		if err != nil || len(page) < c.want {
			b.Fatalf("%s: %d accounts, %v", c.name, len(page), err)
		}
	}
	times := make([]time.Duration, len(cases))
	var ref time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := st.GetAccount(ctx, fmt.Sprintf("acc-%07d", i%len(nicks))); err != nil {
			b.Fatal(err)
		}
		ref += time.Since(t0)
		for j, c := range cases {
			t0 := time.Now()
			if _, err := d.SearchNicknames(ctx, c.prefix, c.after, c.afID, limit); err != nil {
				b.Fatal(err)
			}
			times[j] += time.Since(t0)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(ref.Microseconds())/1000/n, "ms/get")
	for j, c := range cases {
		b.ReportMetric(float64(times[j].Microseconds())/1000/n, "ms/"+c.name)
		b.ReportMetric(float64(times[j])/float64(ref), c.name+"/get")
	}
}
