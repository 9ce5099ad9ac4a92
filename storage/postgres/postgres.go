// Package postgres is the storage backend for several server processes
// sharing one PostgreSQL database, through a pgx connection pool.
//
// Its tables (all named gameauth_*) live in the schema given by the Schema
// option, or in the connection's search_path without one. Open and New create
// and migrate them under a transaction-scoped advisory lock, so processes
// starting together apply each migration once; the applied versions are kept
// in gameauth_schema_version.
//
// Every change that touches several rows runs in one transaction, run again
// if PostgreSQL aborts it to break a deadlock. A refresh rotation is one
// conditional UPDATE, so two nodes racing on one refresh token get exactly
// one winner; refreshes arriving together share one such UPDATE and one
// commit (RefreshBatch), which is what lets a node keep up with thousands
// of refreshes a second. Unique violations are told apart by SQLSTATE and
// constraint name.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// tables are the store's table names, as written in its SQL.
func tables() []string {
	return []string{
		"gameauth_accounts", "gameauth_identities", "gameauth_sessions", "gameauth_blocks", "gameauth_withdrawals",
		"gameauth_reset_codes", "gameauth_keys", "gameauth_audit", "gameauth_schema_version",
	}
}

// constraintField names the field a violation of one of the schema's unique
// constraints or indexes is reported as.
func constraintField(name string) string {
	switch name {
	case "gameauth_accounts_link_key", "gameauth_identities_pkey":
		return storage.FieldLink
	case "gameauth_identities_account_type_key":
		return storage.FieldIdentityType
	case "gameauth_accounts_nickname_key":
		return storage.FieldNickname
	case "gameauth_withdrawals_pending":
		return storage.FieldState
	case "gameauth_accounts_pkey", "gameauth_sessions_pkey", "gameauth_blocks_pkey",
		"gameauth_withdrawals_pkey", "gameauth_keys_pkey":
		return storage.FieldID
	}
	return ""
}

// Option configures Open and New.
type Option func(*options)

type options struct {
	schema string
	batch  int // RefreshBatch; 0 for the default
}

// Schema keeps the store's tables in the named schema, created if missing,
// instead of the connection's search_path: to share a database with a host
// app's tables, or to isolate test runs from each other.
func Schema(name string) Option {
	return func(o *options) { o.schema = name }
}

// Store is a storage.Store in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	owned  bool // Close closes pool: Open made it
	schema string
	names  *strings.Replacer // table name → schema-qualified name

	// midTx, when set (by tests), runs inside multi-statement transactions
	// after their first write.
	midTx func(ctx context.Context, tx pgx.Tx)
	// onBatch, when set (by tests), runs before each statement the batch
	// queue runs, of n refreshes; an error fails the statement.
	onBatch func(ctx context.Context, n int) error

	// Refresh's statements, qualified once: they are long, and a refresh
	// is the hottest write.
	rotateSQL, refreshSQL, rotateManySQL string
	batch                                *batcher // nil with RefreshBatch(1)
}

var _ storage.Store = (*Store)(nil)

// defaultConnsPerCPU sizes Open's pool when the DSN does not.
const defaultConnsPerCPU = 8

// Open connects to the database at dsn (a URL or key=value string that
// pgxpool.ParseConfig accepts, pool_max_conns and friends included) and
// brings the schema up to date. Without pool_max_conns the pool holds up to
// 8 connections per CPU (GOMAXPROCS). Close closes the pool.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, errors.New("postgres: invalid connection string")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// Most statements are one short round trip whose commit waits on
		// the WAL flush, so more connections than cores keep the server
		// busy and let commits share flushes.
		cfg.MaxConns = max(cfg.MaxConns, defaultConnsPerCPU*int32(runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New uses pool, which stays the caller's (Close leaves it open), and brings
// the schema up to date.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{pool: pool, schema: o.schema}
	var pairs []string
	for _, t := range tables() {
		q := t
		if o.schema != "" {
			q = pgx.Identifier{o.schema, t}.Sanitize()
		}
		pairs = append(pairs, t, q)
	}
	s.names = strings.NewReplacer(pairs...)
	s.rotateSQL, s.refreshSQL, s.rotateManySQL = s.q(rotateSQL), s.q(refreshSQL), s.q(rotateManySQL)
	if o.batch <= 0 {
		o.batch = DefaultRefreshBatch
	}
	if o.batch > 1 {
		s.batch = &batcher{max: o.batch}
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return s, nil
}

// Close closes the pool if Open made it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// q qualifies the table names in query with the store's schema.
func (s *Store) q(query string) string { return s.names.Replace(query) }

// migrate applies the embedded migrations the schema lacks, in one
// transaction holding an advisory lock keyed by the schema, so concurrent
// Opens wait for each other and each migration runs once.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	ms, err := sqlstore.Migrations(sub)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"gameauth migrate "+s.schema); err != nil {
			return err
		}
		if s.schema != "" {
			schema := pgx.Identifier{s.schema}.Sanitize()
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
				return err
			}
			// Migrations name tables unqualified.
			if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+schema); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS gameauth_schema_version (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM gameauth_schema_version`).Scan(&cur); err != nil {
			return err
		}
		pending, err := sqlstore.Pending(ms, cur)
		if err != nil {
			return err
		}
		for _, m := range pending {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO gameauth_schema_version (version) VALUES ($1)`, m.Version); err != nil {
				return err
			}
		}
		return nil
	})
}

// txAttempts is how many times tx runs a transaction that PostgreSQL
// aborted as one side of a deadlock.
const txAttempts = 3

// tx runs fn in a transaction and commits it if fn returns nil. Any error,
// a cancelled ctx or a lost connection included, leaves nothing written. A
// transaction aborted to break a deadlock (two writers locking an account's
// sessions in different orders, say a revoke-all and a batch of refreshes)
// runs again, so fn must assign its results rather than accumulate them.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range txAttempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "40P01" || ctx.Err() != nil { // deadlock_detected
			return err
		}
	}
	return err
}

// lock takes a transaction-scoped advisory lock on key within the store's
// schema: it serializes the read-then-write steps on one account or email
// that no row lock covers (an insert racing a count).
func (s *Store) lock(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "gameauth "+s.schema+" "+key)
	return err
}

// wrote runs the test hook, if any, after a transaction's first write.
func (s *Store) wrote(ctx context.Context, tx pgx.Tx) {
	if s.midTx != nil {
		s.midTx(ctx, tx)
	}
}

// wrap marks an unexpected database error as a store failure, and turns a
// unique violation into the storage.ConflictError naming its field.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if sqlstore.Verdict(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		if f := constraintField(pe.ConstraintName); f != "" {
			return storage.Conflict(f)
		}
		return storage.ErrConflict
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// tsArg is t as stored: NULL for the zero time.
func tsArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// bytesArg stores empty byte slices as NULL, so nil and empty read back alike.
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ts scans a timestamptz column into a UTC time.Time (zero for NULL).
type ts struct{ t *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (d ts) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*d.t = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("postgres: infinite timestamp")
	}
	*d.t = v.Time.UTC()
	return nil
}

// collect runs query and scans each row with scan.
func collect[T any](ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// scanID scans a single text column.
func scanID(r pgx.Row) (string, error) {
	var id string
	err := r.Scan(&id)
	return id, err
}

// rowsAffected returns ErrNotFound when tag says no row changed.
func rowsAffected(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return storage.ErrNotFound
	}
	return err
}
