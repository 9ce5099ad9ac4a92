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
// "chat", and, when -admin-token is set, the admin API behind that token
// and the operators' console at /admin/.
// Password-reset mails are written to the log.
package main

import (
	"context"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/admin"
	"github.com/gameauth/gameauth/federated"
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
	providers                     string
	errorCodes                    string
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
	fs.StringVar(&o.errorCodes, "error-codes", "contract", "error codes to answer with: contract (docs/API.md), or legacy (the older PlayNANOO plugin's numbers)")
	fs.StringVar(&o.providers, "providers", "", "JSON file configuring platform sign-in (apple, google, playgames, gamecenter, steam, oidc); see docs/API.md")
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
	switch o.errorCodes {
	case "contract":
	case "legacy":
		cfg.ErrorCodes = account.LegacyCodes
	default:
		return fmt.Errorf("-error-codes: %q is neither contract nor legacy", o.errorCodes)
	}
	if o.providers != "" {
		if cfg.Federated, err = federated.LoadConfig(o.providers); err != nil {
			return err
		}
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
	// Operations: liveness, readiness, and Prometheus metrics (in
	// production, serve /metrics on an internal listener instead).
	mux.Handle("GET /healthz", auth.Health())
	mux.Handle("GET /readyz", auth.Ready())
	mux.Handle("GET /metrics", promhttp.HandlerFor(metricsRegistry(auth), promhttp.HandlerOpts{}))
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("GET /me", auth.Middleware()(http.HandlerFunc(me)))
	mux.Handle("GET /chat/ping", auth.Middleware(middleware.Service("chat"))(http.HandlerFunc(chatPing)))
	if adminToken != "" {
		h := admin.NewHandler(auth.Service(), admin.Config{Authorize: admin.BearerToken(adminToken, "admin"), Console: admin.Console()})
		mux.Handle("/admin/", http.StripPrefix("/admin", h))
	}
	return auth.Metrics().Instrument("")(account.JSONRefusals(mux)) // timed by route pattern
}

// metricsRegistry is this server's own registry: gameauth's metrics and the
// Go runtime's and process's.
func metricsRegistry(auth *gameauth.GameAuth) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(auth.Metrics(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func me(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	writeJSON(w, http.StatusOK, p)
}

func chatPing(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"Status": "PONG", "Nickname": p.Nickname})
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
