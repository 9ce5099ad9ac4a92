package main

// This file is the game's own code, as it was before gameauth: its users
// table and how it opens its database. Only the DSN gained parameters (see
// openGameDB).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/gameauth/gameauth/middleware"
)

// gameSchema is the game's users table as it already exists: players keyed
// by a UUID the server makes up, an optional unique email, a display name, a
// bcrypt hash from the old login code, a creation time in SQLite's own text
// format, and the game's data (gold, level) that gameauth must never touch.
const gameSchema = `
CREATE TABLE IF NOT EXISTS users (
	id            TEXT PRIMARY KEY,
	email         TEXT UNIQUE,                        -- NULL: the player has none
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT,                               -- NULL: no password
	created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
	gold          INTEGER NOT NULL DEFAULT 100,
	level         INTEGER NOT NULL DEFAULT 1
)`

// openGameDB opens the game's SQLite file and creates its users table if it
// is missing.
//
// Two DSN parameters are there for gameauth's adapter, and are good for any
// SQLite writer with a connection pool: _txlock=immediate makes every
// transaction BEGIN IMMEDIATE, taking SQLite's single write lock at BEGIN
// rather than at the first write, so a transaction's reads and writes are
// one step; busy_timeout makes a connection that finds the lock taken wait
// for it instead of failing at once. WAL lets readers go on meanwhile.
func openGameDB(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errors.New("game db: path must be a plain file name")
	}
	dsn := path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + strconv.FormatInt((10*time.Second).Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("game db: %w", err)
	}
	if _, err := db.ExecContext(ctx, gameSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("game db: schema: %w", err)
	}
	return db, nil
}

// profile is what GET /me answers: the signed-in player and the game's data
// about them, read from the same row.
type profile struct {
	UserUniqueID string `json:"UserUniqueID"`
	OpenID       string `json:"OpenID"`
	Nickname     string `json:"Nickname"`
	Gold         int64  `json:"Gold"`
	Level        int64  `json:"Level"`
}

// me answers the signed-in player's profile. The access token's subject is
// the users table's id, so the game reads its own columns with it.
func me(db *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.PlayerFrom(r.Context())
		out := profile{UserUniqueID: p.UserUniqueID, OpenID: p.OpenID}
		err := db.QueryRowContext(r.Context(), `SELECT display_name, gold, level FROM users WHERE id = ?`,
			p.UserUniqueID).Scan(&out.Nickname, &out.Gold, &out.Level)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			writeJSON(w, http.StatusNotFound, map[string]string{"ErrorCode": "ACCOUNT_NOT_FOUND", "Message": "no such player"})
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"ErrorCode": "UNAVAILABLE", "Message": "try again later"})
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
