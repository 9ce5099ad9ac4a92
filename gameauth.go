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
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/cluster"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
	"github.com/gameauth/gameauth/tokens"
)

// Config configures New. Every field has a useful zero value.
type Config struct {
	// Store keeps accounts, sessions, blocks and keys. Nil: the embedded
	// default, a SQLite file at DBPath, which Close closes.
	Store storage.Store
	// DBPath is the SQLite file used when Store is nil. Default "gameauth.db".
	DBPath string

	// Issuer and Audience go into every access token and are checked on
	// verify. Default "gameauth" for both.
	Issuer, Audience string
	// AccessTTL is the access-token lifetime. Default 1h.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token's absolute lifetime. Default 365 days.
	RefreshTTL time.Duration
	// RefreshGrace is how long a just-rotated refresh token still gets the
	// same successor. Default 10s.
	RefreshGrace time.Duration
	// WithdrawalGrace is the default withdrawal grace period. Default 7 days.
	WithdrawalGrace time.Duration
	// MaxSessions is the number of live sessions a player may have; 0
	// means 1 (single-device policy), negative means unlimited.
	MaxSessions int
	// SignInLimit is sign-in attempts per minute per account and per client
	// address; 0 means the default (10), negative turns limiting off.
	SignInLimit int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// Algorithm signs access tokens. Default EdDSA (Ed25519).
	Algorithm tokens.Algorithm
	// KEK, when set (32 bytes), seals private keys at rest with AES-GCM.
	KEK []byte
	// KeyRotation, when positive, rotates the signing key at that interval.
	KeyRotation time.Duration
	// KeyPropagation is how long a rotated key waits before it signs, so
	// that every process can verify it first. Default 0 for one process;
	// set it (for example 10s) when several share the store.
	KeyPropagation time.Duration

	// Redis, when set, joins this process to the others sharing the store:
	// revocations, blocks and key rotations are broadcast to every node at
	// once, and the sign-in rate limit is counted across nodes (each node
	// falls back to its own while Redis is unreachable). RedisURL
	// ("redis://host:6379/0") is the same for a client New makes and Close
	// closes.
	Redis    redis.UniversalClient
	RedisURL string
	// NodeID names this process in the broadcast; default a random ID.
	NodeID string

	// MaxWithdrawalPeriod bounds the grace period a withdrawal request may
	// ask for. Default 30 days.
	MaxWithdrawalPeriod time.Duration
	// DefaultTimezone is the time zone of players whose requests name none.
	// Default "UTC".
	DefaultTimezone string
	// CountryResolver gives a new player's country; nil: from the device
	// language.
	CountryResolver account.CountryResolver

	// Mailer sends password-reset codes; nil: reset requests are accepted
	// and nothing is sent.
	Mailer account.Mailer
	// PasswordHashing sets argon2id's cost; zero: OWASP's parameters.
	PasswordHashing account.Argon2Params
	// SyncInterval is how often the revocation view and the key ring are
	// reconciled with the store. Default 5s.
	SyncInterval time.Duration
	// TokenCacheSize bounds the verified-token cache; 0 means 100,000
	// entries, negative disables the cache.
	TokenCacheSize int

	// Logger receives the library's logs; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
}

// GameAuth is the wired library: one per process.
type GameAuth struct {
	store     storage.Store
	ownsStore bool
	redis     redis.UniversalClient
	ownsRedis bool
	ring      *tokens.Ring
	service   *account.Service
	view      *revocation.View
	auth      *middleware.Authenticator
	handler   http.Handler
	log       *slog.Logger

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
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fail(fmt.Errorf("gameauth: RedisURL: %w", err))
		}
		g.redis, g.ownsRedis = redis.NewClient(opt), true
	}
	const skew = 30 * time.Second
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{
		Store:       g.store,
		Algorithm:   cfg.Algorithm,
		KEK:         cfg.KEK,
		Clock:       cfg.Clock,
		VerifyFor:   cfg.AccessTTL + skew,
		Propagation: cfg.KeyPropagation,
	})
	if err != nil {
		return fail(err)
	}
	g.ring = ring
	var cache tokens.Cache
	if cfg.TokenCacheSize > 0 {
		cache = tokens.NewCache(cfg.TokenCacheSize, cfg.AccessTTL)
	}
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTTL, Clock: cfg.Clock})
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Skew: skew, Clock: cfg.Clock, Cache: cache})
	g.view = revocation.New(revocation.Config{
		Feed:     g.store,
		Retain:   cfg.AccessTTL + skew,
		Interval: cfg.SyncInterval,
		Clock:    cfg.Clock,
		Logger:   cfg.Logger,
	})
	var events account.Events = g.view
	var limiter account.Limiter
	var broadcast *cluster.Broadcaster
	if g.redis != nil {
		broadcast = cluster.New(cluster.Config{Redis: g.redis, Local: g.view, Keys: ring, NodeID: cfg.NodeID, Logger: cfg.Logger})
		events = broadcast
		if cfg.SignInLimit >= 0 {
			perMinute := cfg.SignInLimit
			if perMinute == 0 {
				perMinute = defaultSignInLimit
			}
			limiter = cluster.NewLimiter(cluster.LimiterConfig{
				Redis: g.redis, PerMinute: perMinute, Logger: cfg.Logger,
				Fallback: account.NewLocalLimiter(perMinute),
			})
		}
	}
	svc, err := account.New(account.Config{
		Store:           g.store,
		Ring:            ring,
		Issuer:          issuer,
		Verifier:        verifier,
		Clock:           cfg.Clock,
		Logger:          cfg.Logger,
		RefreshTTL:      cfg.RefreshTTL,
		RefreshGrace:    cfg.RefreshGrace,
		WithdrawalGrace: cfg.WithdrawalGrace,
		MaxSessions:     cfg.MaxSessions,
		SignInLimit:     cfg.SignInLimit,
		TrustedProxies:  cfg.TrustedProxies,
		Mailer:          cfg.Mailer,
		PasswordHashing: cfg.PasswordHashing,
		Limiter:         limiter,
		Events:          events,

		MaxWithdrawalPeriod: cfg.MaxWithdrawalPeriod,
		DefaultTimezone:     cfg.DefaultTimezone,
		CountryResolver:     cfg.CountryResolver,
	})
	if err != nil {
		return fail(err)
	}
	g.service = svc
	g.handler = svc.Handler()
	g.auth = middleware.New(middleware.Config{Verifier: verifier, Revocations: g.view})

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
	g.start(bg, func(ctx context.Context) { g.every(ctx, cfg.SyncInterval, "key ring reload", ring.Reload) })
	if cfg.KeyRotation > 0 {
		g.start(bg, func(ctx context.Context) {
			g.every(ctx, cfg.KeyRotation, "key rotation", func(ctx context.Context) error {
				_, err := svc.RotateSigningKey(ctx)
				return err
			})
		})
	}
	return g, nil
}

// defaultSignInLimit is account's default, needed here to size the shared
// limiter the same way.
const defaultSignInLimit = 10

func withDefaults(cfg Config) Config {
	if cfg.DBPath == "" {
		cfg.DBPath = "gameauth.db"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "gameauth"
	}
	if cfg.Audience == "" {
		cfg.Audience = "gameauth"
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 5 * time.Second
	}
	if cfg.TokenCacheSize == 0 {
		cfg.TokenCacheSize = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = rand.Text()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
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

// Handler is the account handler of API.md, to mount under a prefix:
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

// Close stops the background work and closes the store if New opened it.
// It is safe to call more than once.
func (g *GameAuth) Close() error {
	var err error
	g.once.Do(func() {
		g.cancel()
		g.wg.Wait()
		err = g.closeResources()
	})
	return err
}

// closeResources closes what New opened itself.
func (g *GameAuth) closeResources() error {
	var errs []error
	if g.ownsRedis {
		errs = append(errs, g.redis.Close())
	}
	if g.ownsStore {
		errs = append(errs, g.store.Close())
	}
	return errors.Join(errs...)
}
