// Command customstore is a game server that keeps its players in the users
// table it already had, and gameauth's other records (sessions, blocks,
// withdrawals, reset codes, signing keys) in gameauth's shipped SQLite
// backend:
//
//	go run ./examples/customstore -game-db game.db -auth-db gameauth.db
//
// It mounts the account handler at /auth/ and a GET /me, for signed-in
// players, that answers the player's row of the game's table.
//
// # The game's table
//
// The game already has (game.go)
//
//	users(id TEXT PRIMARY KEY, email TEXT UNIQUE, display_name, password_hash,
//	      created_at TEXT DEFAULT CURRENT_TIMESTAMP, gold, level)
//
// gameauth's player, storage.Account, maps onto it where the meaning is the
// same: Account.ID is id (gameauth makes up random UUIDs, as the game did),
// Nickname is display_name, PasswordHash is password_hash (NULL for none),
// CreatedAt is created_at (in the game's text format, to the microsecond),
// and the email column mirrors the address of an email account, so the
// game's own code that finds a player by email keeps working. gold and level
// are the game's: gameauth never reads or writes them, and a new player gets
// the game's defaults.
//
// What has no home in the table is added as columns (users.go): open_id,
// linked_type and linked_id (the sign-in identity, unique), nickname_key
// (storage.NicknameKey of display_name, unique when not empty), country,
// timezone, purchases (JSON) and updated_at. Columns rather than a side
// table, because then one row is one player: every call is one statement
// on one table, with no join and no second row to keep in step, and the
// game's own queries see the new columns too. A side table is the choice
// when the game may not alter its table; the adapter would then join and
// write both rows in its transactions.
//
// The migration fills the new columns in for the players the game already
// has, in the same transaction: their email becomes their sign-in identity,
// their display name their nickname. Two of them whose emails or display
// names differ only in case would break the unique indexes, so the
// migration then fails and changes nothing, saying so. Their old (bcrypt)
// password hashes are kept; gameauth only verifies argon2id, so such a
// player signs in after a password reset (/auth/password/reset).
//
// What the game must keep doing: rename players through gameauth
// (PUT /auth/nickname or Service), or set nickname_key to
// storage.NicknameKey(name) in the same UPDATE, since SQL cannot case-fold
// Unicode; and expect gameauth to delete a player's row (game data
// included) when a withdrawal's grace period ends.
//
// # Concurrency
//
// SQLite has one writer at a time. The game's connection pool opens every
// transaction with BEGIN IMMEDIATE (_txlock=immediate) and waits for the
// write lock rather than failing (busy_timeout): each adapter write checks
// that the link and nickname are free and writes in one transaction that
// holds the lock throughout, so two sign-ups racing for one email or one
// nickname (in any case) get one winner and a storage.ConflictError naming
// the field. An update is one UPDATE of the fields that change, all or
// nothing; a cancelled context writes nothing. users_test.go runs
// storagetest.RunAccounts against the adapter, on a table that already
// holds players.
//
// # The rest in its own file
//
// Sessions and the other records live in a separate file, gameauth.db, on
// sqlite.Open. It keeps the game's database holding only the game's tables
// plus the new columns: the shipped backend creates its own tables
// (including an accounts table that storage.Combine leaves unused, and a
// schema_version table that could clash with the game's own), and runs its
// own single writer. Nothing ties the two files together: gameauth's
// records name players by ID only. Back up both.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "customstore:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", ":8080", "address to listen on")
	gamePath := flag.String("game-db", "game.db", "the game's SQLite file, with its users table")
	authPath := flag.String("auth-db", "gameauth.db", "SQLite file for sessions, blocks and keys")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	game, err := openGameDB(ctx, *gamePath)
	if err != nil {
		return err
	}
	defer game.Close()
	users, err := newUserStore(ctx, game)
	if err != nil {
		return err
	}
	rest, err := sqlite.Open(ctx, *authPath)
	if err != nil {
		return err
	}
	defer rest.Close()

	auth, err := gameauth.New(ctx, gameauth.Config{Store: storage.Combine(users, rest), Logger: log})
	if err != nil {
		return err
	}
	defer auth.Close()

	srv := &http.Server{Handler: routes(auth, game), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// routes is the server's whole surface.
func routes(auth *gameauth.GameAuth, game *sql.DB) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("GET /me", auth.Middleware()(me(game)))
	return mux
}
