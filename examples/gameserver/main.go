// Command gameserver is a small game server with accounts: what a newcomer
// runs first. On the embedded default it keeps everything in a SQLite file
// beside it:
//
//	go run ./examples/gameserver
//
// Several processes share one PostgreSQL (-postgres) and Redis (-redis); see
// the README's scale-out section.
//
// It mounts the account handler at /auth/, a protected GET /me that answers
// the signed-in player, a protected GET /chat/ping marked with the service
// "chat", and, when -admin-token is set, admin routes behind that token.
// Password-reset mails are written to the log.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/tokens"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gameserver:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, db, postgres, redis     string
	adminToken                    string
	accessTTL, refreshTTL         time.Duration
	refreshGrace, withdrawalGrace time.Duration
	keyPropagation                time.Duration
	signinLimit                   int
	server                        gameauth.ServerConfig
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gameserver", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&o.db, "db", "gameauth.db", "SQLite file (the embedded default)")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL DSN; when set, PostgreSQL is used instead of SQLite")
	fs.DurationVar(&o.accessTTL, "access-ttl", time.Hour, "access-token lifetime")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", 365*24*time.Hour, "refresh-token absolute lifetime")
	fs.DurationVar(&o.refreshGrace, "refresh-grace", 10*time.Second, "grace window in which a retried refresh gets the same tokens again")
	fs.DurationVar(&o.withdrawalGrace, "withdrawal-grace", 7*24*time.Hour, "default withdrawal grace period")
	fs.StringVar(&o.redis, "redis", "", "Redis URL (redis://host:6379/0); with several processes on one PostgreSQL: broadcast revocations, share rate limits")
	fs.DurationVar(&o.keyPropagation, "key-propagation", 10*time.Second, "with -postgres: how long a rotated signing key waits before it signs, so every node verifies it first")
	fs.StringVar(&o.adminToken, "admin-token", "", "enables /admin/ routes, authenticated by 'Authorization: Bearer <admin token>'")
	fs.IntVar(&o.signinLimit, "signin-limit", 10, "sign-in attempts per minute per account and per address; 0 turns limiting off")
	fs.DurationVar(&o.server.ReadHeaderTimeout, "read-header-timeout", gameauth.DefaultReadHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&o.server.ReadTimeout, "read-timeout", gameauth.DefaultReadTimeout, "time a client has to send a whole request")
	fs.DurationVar(&o.server.IdleTimeout, "idle-timeout", gameauth.DefaultIdleTimeout, "time a keep-alive connection may wait for its next request")
	fs.IntVar(&o.server.MaxConns, "max-conns", gameauth.DefaultMaxConns, "connections served at once; more wait in the kernel's backlog")
	return o, fs.Parse(args)
}

func run() error {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg := gameauth.Config{
		DBPath: o.db,
		Tokens: tokens.Config{AccessTTL: o.accessTTL},
		Account: account.Config{
			RefreshTTL:      o.refreshTTL,
			RefreshGrace:    o.refreshGrace,
			WithdrawalGrace: o.withdrawalGrace,
			SignInLimit:     o.signinLimit,
			Mailer:          logMailer{log},
		},
		Logger:   log,
		RedisURL: o.redis,
	}
	if o.signinLimit == 0 {
		cfg.Account.SignInLimit = -1
	}
	var store storage.Store
	if o.postgres != "" {
		if store, err = postgres.Open(ctx, o.postgres); err != nil {
			return err
		}
		defer store.Close()
		cfg.Store = store
		cfg.Tokens.KeyPropagation = o.keyPropagation
	}
	auth, err := gameauth.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer auth.Close()

	// Timeouts and a connection bound: a bare http.Server lets clients that
	// trickle bytes or idle hold descriptors until none are left.
	srv := gameauth.NewServer(routes(auth, o.adminToken), o.server)
	ln, err := gameauth.Listen(ctx, o.addr, o.server)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// routes is the server's whole surface. Every answer, the mux's own 404
// and 405 included, is in the contract's BaseResponse shape.
func routes(auth *gameauth.GameAuth, adminToken string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("GET /me", auth.Middleware()(http.HandlerFunc(me)))
	mux.Handle("GET /chat/ping", auth.Middleware(middleware.Service("chat"))(http.HandlerFunc(chatPing)))
	if adminToken != "" {
		mux.Handle("/admin/", adminOnly(adminToken, adminRoutes(auth.Service())))
	}
	return jsonRefusals(mux)
}

// jsonRefusals serves mux, answering its own 404 and 405 (with Allow) as
// BaseResponse with ErrorCode INVALID_REQUEST, as the account handler does,
// instead of net/http's plain text.
func jsonRefusals(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&refusal{ResponseWriter: w}, r)
	})
}

// refusal turns the status net/http's mux answers an unrouted request
// with into BaseResponse, and drops the mux's plain-text body.
type refusal struct {
	http.ResponseWriter
	written bool
}

func (f *refusal) WriteHeader(status int) {
	if f.written {
		return
	}
	f.written = true
	msg := "no such endpoint"
	if status == http.StatusMethodNotAllowed {
		msg = "method not allowed; use " + f.Header().Get("Allow")
	}
	f.Header().Del("Content-Type")
	account.WriteError(f.ResponseWriter, &account.Error{Code: account.CodeInvalidRequest, Status: status, Message: msg})
}

func (f *refusal) Write(b []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	return len(b), nil
}

func me(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	writeJSON(w, http.StatusOK, p)
}

func chatPing(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"Status": "PONG", "Nickname": p.Nickname})
}

// adminOnly lets through requests bearing the admin token, compared in
// constant time; a player's access token is not an admin token.
func adminOnly(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"ErrorCode": "TOKEN_INVALID", "Message": "admin token required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type blockRequest struct {
	Reason   string     `json:"reason"`
	Until    *time.Time `json:"until"`
	Services []string   `json:"services"`
}

func adminRoutes(svc *account.Service) http.Handler {
	mux := http.NewServeMux()
	block := func(do func(ctx context.Context, id string, b account.BlockSpec) (string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req blockRequest
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"ErrorCode": "INVALID_REQUEST", "Message": "body: " + err.Error()})
				return
			}
			spec := account.BlockSpec{Reason: req.Reason, Services: req.Services}
			if req.Until != nil {
				spec.Until = *req.Until
			}
			key, err := do(r.Context(), r.PathValue("id"), spec)
			if err != nil {
				account.WriteError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"BlockKey": key})
		}
	}
	done := func(do func(ctx context.Context, id string) error, status string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := do(r.Context(), r.PathValue("id")); err != nil {
				account.WriteError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"Status": status})
		}
	}
	mux.Handle("POST /admin/players/{id}/block", block(svc.BlockPlayer))
	mux.Handle("DELETE /admin/players/{id}/block", done(svc.UnblockPlayer, "UNBLOCKED"))
	mux.Handle("POST /admin/devices/{id}/block", block(svc.BlockDevice))
	mux.Handle("DELETE /admin/devices/{id}/block", done(svc.UnblockDevice, "UNBLOCKED"))
	mux.Handle("POST /admin/players/{id}/revoke", done(svc.RevokePlayerSessions, "REVOKED"))
	mux.HandleFunc("POST /admin/keys/rotate", func(w http.ResponseWriter, r *http.Request) {
		kid, err := svc.RotateSigningKey(r.Context())
		if err != nil {
			account.WriteError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"Status": "ROTATED", "KeyID": kid})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// logMailer "sends" password-reset codes by writing them to the log, one line
// per mail: a stand-in for the host's real mailer.
type logMailer struct{ log *slog.Logger }

func (m logMailer) SendResetCode(ctx context.Context, email, code string) error {
	m.log.InfoContext(ctx, "mail: password reset code", "to", email, "code", code)
	return nil
}
