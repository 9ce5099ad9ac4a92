// Package gameauth gives a game server accounts, sign-in and sessions in a
// few lines. New wires a store, the signing key ring, the account service, its
// HTTP handler and the middleware with good defaults:
//
//	auth, err := gameauth.New(ctx, gameauth.Config{})  // SQLite in ./gameauth.db
//	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
//	mux.Handle("/game/", auth.Middleware()(gameRoutes))
//	// inside a game handler:
//	p, ok := middleware.PlayerFrom(r.Context())
//
// The pieces live in their own packages (account, tokens, middleware,
// revocation, storage and its backends) for hosts that wire them differently;
// this package holds no logic of its own.
package gameauth

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/internal/wallclock"
	"github.com/gameauth/gameauth/metrics"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
	"github.com/gameauth/gameauth/tokens"
)

// Config configures New. Every field has a useful zero value. The settings
// of each package are nested as that package defines them, with their
// defaults defined there once; New only fills in what one part must learn
// from another (the revocation view's retention from the tokens' lifetime,
// the shared rate limit from the sign-in limit, Logger and Clock where a
// part names none).
type Config struct {
	// Store keeps accounts, sessions, blocks and keys. Nil: the embedded
	// default, a SQLite file at DBPath, which Close closes.
	Store storage.Store
	// DBPath is the SQLite file used when Store is nil. Default "gameauth.db".
	DBPath string

	// Tokens configures the access tokens: issuer and audience, lifetime,
	// clock skew, signing algorithm, sealed keys, key rotation and
	// propagation, the verified-token cache.
	Tokens tokens.Config
	// Account configures the flows: refresh lifetime and grace window,
	// withdrawal periods, sessions per player, password hashing, reset
	// codes, rate limits, the mailer, time zones and countries, the
	// janitor.
	Account account.Config
	// Federated configures platform sign-in (Apple, Google, Play Games,
	// Game Center, Steam, OpenID Connect issuers): usually read from a
	// JSON file with federated.LoadConfig. None configured: federated
	// sign-in answers PROVIDER_NOT_CONFIGURED. A host with a verifier of
	// its own sets Account.Providers instead.
	Federated federated.Config
	// ErrorCodes are the error codes the handler and the middleware answer
	// with: account.ContractCodes (docs/API.md's, the default), or
	// account.LegacyCodes for game clients built on the older PlayNANOO
	// plugin, which branch on its numbers. It sets Handler.Codes and
	// Middleware.Codes, so that a client meets one set everywhere.
	ErrorCodes account.ErrorCodes
	// Handler configures the HTTP handler: trusted proxies, error writer.
	Handler account.HandlerConfig
	// Middleware configures the middleware: token fallbacks (cookies,
	// WebSocket subprotocols), error writer.
	Middleware middleware.Config
	// Revocation configures the revocation view: how often it reconciles
	// with the store. Its retention is derived from Tokens unless set.
	Revocation revocation.Config

	// Redis, when set, joins this process to the others sharing the store:
	// revocations, blocks and key rotations are broadcast to every node at
	// once, and the sign-in rate limit is counted across nodes (each node
	// falls back to its own while Redis is unreachable, and skips it at once
	// until it is back). Any redis.UniversalClient works: one server,
	// Sentinel, or Redis Cluster. RedisURL is the same for a client New
	// makes (cluster.NewClient: "redis://host:6379/0"; with master_name=…
	// for Sentinel; with addr=… for several Cluster seeds) and Close closes.
	Redis    redis.UniversalClient
	RedisURL string
	// NodeID names this process in the broadcast; default a random ID.
	NodeID string

	// Logger receives the library's logs; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the time source; nil means the system clock: time.Now's time, its wall clock read once a second and advanced by the monotonic clock in between, at about half time.Now's cost.
	Clock func() time.Time
}

// GameAuth is the wired library: one per process.
type GameAuth struct {
	store     storage.Store
	ownsStore bool
	redis     redis.UniversalClient
	ownsRedis bool
	providers *federated.Set
	service   *account.Service
	view      *revocation.View
	auth      *middleware.Authenticator
	handler   http.Handler
	log       *slog.Logger
	metrics   *metrics.Collector
	ready     http.Handler

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New opens the store (unless one is given), loads or creates the signing key
// ring, and starts the background work: revocation-view and key-ring
// reconciliation, the withdrawal janitor and, if configured, key rotation.
// Close stops it.
func New(ctx context.Context, cfg Config) (*GameAuth, error) {
	cfg = withDefaults(cfg)
	g := &GameAuth{store: cfg.Store, log: cfg.Logger}
	if g.store == nil {
		s, err := sqlite.Open(ctx, cfg.DBPath)
		if err != nil {
			return nil, err
		}
		g.store, g.ownsStore = s, true
	}
	fail := func(err error) (*GameAuth, error) {
		g.closeResources()
		return nil, err
	}
	g.redis = cfg.Redis
	if g.redis == nil && cfg.RedisURL != "" {
		rdb, err := cluster.NewClient(cfg.RedisURL)
		if err != nil {
			return fail(fmt.Errorf("gameauth: RedisURL: %w", err))
		}
		g.redis, g.ownsRedis = rdb, true
	}
	toks, err := tokens.Open(ctx, g.store, cfg.Tokens)
	if err != nil {
		return fail(err)
	}
	if cfg.Revocation.Retain <= 0 {
		cfg.Revocation.Retain = toks.Config.Lifetime()
	}
	g.view = revocation.New(g.store, cfg.Revocation)
	events := []account.Events{g.view}
	var broadcast *cluster.Broadcaster
	if g.redis != nil {
		broadcast = cluster.New(cluster.Config{Redis: g.redis, Local: g.view, Keys: toks.Ring, NodeID: cfg.NodeID, Logger: cfg.Logger})
		events[0] = broadcast
		if perMinute := cfg.Account.SignInRate(); perMinute > 0 && cfg.Account.Limiter == nil {
			cfg.Account.Limiter = cluster.NewLimiter(cluster.LimiterConfig{
				Redis: g.redis, PerMinute: perMinute, Logger: cfg.Logger, Health: broadcast.Health(),
				Fallback: account.NewLocalLimiter(perMinute),
			})
		}
	}
	if cfg.Account.Events != nil {
		events = append(events, cfg.Account.Events)
	}
	if cfg.Account.Providers == nil {
		// Its key-set refreshers live as long as this GameAuth, not ctx.
		set, err := federated.New(context.WithoutCancel(ctx), cfg.Federated, federated.WithClock(cfg.Clock))
		if err != nil {
			return fail(err)
		}
		g.providers = set
		if len(set.Names()) > 0 {
			cfg.Account.Providers = set
		}
	}
	// Metrics count every Event and revocation; see operations.go.
	g.metrics, g.ready = g.operations(cfg, toks, broadcast)
	events = append(events, g.metrics)
	cfg.Account.Events = account.Fanout(events...)
	observers := []account.Observer{g.metrics, cfg.Account.Observer}
	if a, ok := g.store.(storage.Audit); ok {
		observers = append(observers, account.NewAuditLog(a, cfg.Logger))
	}
	cfg.Account.Observer = account.Observers(observers...)
	svc, err := account.New(g.store, toks, g.view, cfg.Account)
	if err != nil {
		return fail(err)
	}
	g.service = svc
	if cfg.ErrorCodes != account.ContractCodes {
		cfg.Middleware.Codes, cfg.Handler.Codes = cfg.ErrorCodes, cfg.ErrorCodes
	}
	g.auth = middleware.New(toks.Verifier, g.view, cfg.Middleware)
	g.handler = account.NewHandler(svc, g.auth, cfg.Handler)

	// Load the view before serving, so a restart does not forget revocations.
	if err := g.view.Sync(ctx); err != nil {
		return fail(err)
	}
	g.log.InfoContext(ctx, "gameauth: revocation view caught up from the store's change feed", "node", cfg.NodeID)
	bg, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.start(bg, func(ctx context.Context) { _ = g.view.Run(ctx) })
	if broadcast != nil {
		g.start(bg, func(ctx context.Context) { _ = broadcast.Run(ctx) })
	}
	g.start(bg, func(ctx context.Context) { _ = svc.Run(ctx) })
	g.start(bg, func(ctx context.Context) {
		g.every(ctx, cmp.Or(cfg.Revocation.Interval, revocation.DefaultInterval), "key ring reload", toks.Ring.Reload)
	})
	if cfg.Tokens.KeyRotation > 0 {
		g.start(bg, func(ctx context.Context) {
			g.every(ctx, cfg.Tokens.KeyRotation, "key rotation", func(ctx context.Context) error {
				_, err := svc.RotateSigningKey(ctx)
				return err
			})
		})
	}
	return g, nil
}

func withDefaults(cfg Config) Config {
	if cfg.DBPath == "" {
		cfg.DBPath = "gameauth.db"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = rand.Text()
	}
	if cfg.Clock == nil {
		cfg.Clock = wallclock.Now
	}
	// Logger and Clock reach every part that names none of its own.
	if cfg.Tokens.Clock == nil {
		cfg.Tokens.Clock = cfg.Clock
	}
	if cfg.Account.Clock == nil {
		cfg.Account.Clock = cfg.Clock
	}
	if cfg.Account.Logger == nil {
		cfg.Account.Logger = cfg.Logger
	}
	if cfg.Revocation.Clock == nil {
		cfg.Revocation.Clock = cfg.Clock
	}
	if cfg.Revocation.Logger == nil {
		cfg.Revocation.Logger = cfg.Logger
	}
	return cfg
}

func (g *GameAuth) start(ctx context.Context, f func(context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f(ctx)
	}()
}

// every runs f at each interval until ctx is done, logging failures.
func (g *GameAuth) every(ctx context.Context, interval time.Duration, what string, f func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil && ctx.Err() == nil {
				g.log.WarnContext(ctx, "gameauth: "+what+" failed", "err", err)
			}
		}
	}
}

// Handler is the account handler of docs/API.md, to mount under a prefix:
// mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler())).
func (g *GameAuth) Handler() http.Handler { return g.handler }

// Middleware returns middleware that requires a signed-in player, for
// routers that take func(http.Handler) http.Handler (chi's Use, or
// auth.Middleware()(h) by hand). Options mark a service or allow anonymous
// requests; see the middleware package.
func (g *GameAuth) Middleware(opts ...middleware.Option) func(http.Handler) http.Handler {
	return g.auth.Wrap(opts...)
}

// Authenticator is the middleware itself, for entry points that are not
// plain handlers (a WebSocket upgrade calls its Authenticate).
func (g *GameAuth) Authenticator() *middleware.Authenticator { return g.auth }

// Service is the account service: every flow, and administration from Go
// (blocks, session revocation, key rotation).
func (g *GameAuth) Service() *account.Service { return g.service }

// Close stops the background work, waits (up to 10 s) for the audit log to
// write the events it holds, and closes the store if New opened it.
// It is safe to call more than once.
func (g *GameAuth) Close() error {
	var err error
	g.once.Do(func() {
		g.cancel()
		g.wg.Wait()
		// The audit log's last events, before the store closes.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		flushErr := g.service.FlushAudit(ctx)
		cancel()
		err = errors.Join(flushErr, g.closeResources())
	})
	return err
}

// closeResources closes what New opened itself.
func (g *GameAuth) closeResources() error {
	var errs []error
	if g.providers != nil {
		errs = append(errs, g.providers.Close())
	}
	if g.ownsRedis {
		errs = append(errs, g.redis.Close())
	}
	if g.ownsStore {
		errs = append(errs, g.store.Close())
	}
	return errors.Join(errs...)
}
