// Package sqlite is the embedded storage backend: one SQLite file, pure Go
// (modernc.org/sqlite, no cgo), for a single server process.
//
// The file runs in WAL mode with foreign keys on and a busy timeout, and its
// schema is created and migrated when it is opened (the applied versions are
// kept in the schema_version table). SQLite has one writer at a time: every
// write goes through one connection and every read-modify-write runs in a
// BEGIN IMMEDIATE transaction, so compare-and-swaps are real and writers from
// other processes wait for the lock instead of failing. Reads use a separate
// pool and, thanks to WAL, never wait for writers. Each query is parsed once
// per pool: its statement is prepared on first use and kept until Close.
//
// Durability: synchronous=NORMAL, the usual setting for WAL. A committed
// write survives a crash of the process; a power loss may lose the last
// transactions, never corrupt the file.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

// busyTimeout is how long a statement waits for another process's write
// lock before it gives up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a storage.Store in one SQLite file. It is safe for concurrent use.
type Store struct {
	w *pool // the one writer connection; transactions BEGIN IMMEDIATE
	r *pool // readers; the same pool as w for an in-memory database
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path and brings
// its schema up to date. path is a file name; it must not carry a query
// string of its own.
//
// path ":memory:" opens a private in-memory database, for tests and tools: it
// lives as long as the Store, and reads and writes then share one connection,
// so they queue behind each other.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errors.New("sqlite: path must be a plain file name")
	}
	// secure_delete(FAST) overwrites what a delete or update frees on the
	// pages it writes anyway, so that a purged player's email and
	// nicknames do not linger in the file's free space (the WAL holds the
	// old pages until the next checkpoint).
	params := "_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(FAST)"
	s := &Store{}
	if path == ":memory:" {
		// Every connection to ":memory:" is its own database, so keep
		// exactly one, forever.
		db, err := sql.Open("sqlite", ":memory:?"+params+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		oneConn(db)
		s.w = newPool(db)
		s.r = s.w
	} else {
		params += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		w, err := sql.Open("sqlite", path+"?"+params+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		oneConn(w)
		r, err := sql.Open("sqlite", path+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		s.w, s.r = newPool(w), newPool(r)
	}
	if err := s.migrateRetrying(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// migrateRetrying migrates, retrying while the database is busy. Processes
// opening a fresh file together contend while it is switched to WAL and its
// shared-memory index is built; SQLite reports that as SQLITE_BUSY without
// waiting out the busy timeout, so Open waits here instead.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// oneConn limits db to exactly one connection, kept open as long as db is.
func oneConn(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
}

// Close closes the database, its prepared statements first.
func (s *Store) Close() error {
	err := s.w.close()
	if s.r != s.w {
		err = errors.Join(err, s.r.close())
	}
	err = errors.Join(err, s.w.db.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.db.Close())
	}
	return err
}

// migrate applies the migrations the database lacks, all in one IMMEDIATE
// transaction, so processes opening the file together apply each once.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	ms, err := sqlstore.Migrations(sub)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	// Run once per Open, and the migrations are scripts: all unprepared.
	err = s.tx(ctx, func(t wtx) error {
		tx := t.raw
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return err
		}
		pending, err := sqlstore.Pending(ms, cur)
		if err != nil {
			return err
		}
		for _, m := range pending {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
				m.Version, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE: it holds the write
// lock from the start) and commits it if fn returns nil. Any error, a
// cancelled ctx included, rolls everything back. Once the transaction is
// over, the writer prepares the queries it ran unprepared (see pool.want).
func (s *Store) tx(ctx context.Context, fn func(wtx) error) error {
	tx, err := s.w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err = fn(wtx{raw: tx, w: s.w}); err != nil {
		_ = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	// Not deferred: after a panic in fn the transaction would still hold
	// the connection that preparing waits for.
	s.w.prepareWanted(ctx)
	return err
}

// wrap marks an unexpected database error as a store failure.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if sqlstore.Verdict(err) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// rowsAffected returns ErrNotFound when the statement that returned res
// changed no row, and err otherwise.
func rowsAffected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return storage.ErrNotFound
	}
	return err
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint, by SQLite's extended result code. modernc's error carries no
// constraint name, so callers find the field with a follow-up query in the
// same transaction.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// exists reports whether query returns a row.
func exists(ctx context.Context, tx wtx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// micros is t as stored: integer microseconds since the epoch, NULL for the
// zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// tm scans a micros column into a UTC time.Time (zero for NULL).
type tm struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d tm) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlite: time column holds %T", v)
	}
	return nil
}

// blob scans a BLOB column, reading NULL and empty as nil.
type blob struct{ b *[]byte }

// Scan implements sql.Scanner.
func (d blob) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.b = nil
	case []byte:
		if len(v) == 0 {
			*d.b = nil
		} else {
			*d.b = append([]byte(nil), v...)
		}
	default:
		return fmt.Errorf("sqlite: blob column holds %T", v)
	}
	return nil
}

// bytesArg stores empty byte slices as NULL, so nil and empty read back alike.
func bytesArg(b []byte) driver.Value {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryList runs query on db and scans every row with scan.
func queryList[T any](ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ids collects the single text column of rows (an UPDATE ... RETURNING id).
func ids(ctx context.Context, tx wtx, query string, args ...any) ([]string, error) {
	return queryList(ctx, tx, func(sc scanner) (string, error) {
		var id string
		err := sc.Scan(&id)
		return id, err
	}, query, args...)
}
