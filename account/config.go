package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/gameauth/gameauth/internal/wallclock"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// Defaults of Config.
const (
	DefaultRefreshTTL          = 365 * 24 * time.Hour
	DefaultRefreshGrace        = 10 * time.Second
	DefaultWithdrawalGrace     = 7 * 24 * time.Hour
	DefaultMaxWithdrawalPeriod = 30 * 24 * time.Hour
	DefaultTombstoneTTL        = 90 * 24 * time.Hour
	DefaultSessionRetention    = 7 * 24 * time.Hour
	DefaultResetCodeTTL        = 15 * time.Minute
	DefaultResetCodesPerDay    = 5
	DefaultResetCodeAttempts   = 5
	DefaultSignInLimit         = 10
	DefaultJanitorInterval     = time.Minute
	DefaultTimezone            = "UTC"
)

// Mailer sends password-reset codes; the host implements it. SendResetCode
// runs inside the request, so a host that wants reset requests for known and
// unknown emails to take the same time makes it enqueue and return.
type Mailer interface {
	SendResetCode(ctx context.Context, email, code string) error
}

// Limiter decides whether one more attempt under key is allowed at now. When
// it is not, retryAfter says when to come back. An error makes the service
// fail open (the attempt is allowed) with a log line.
type Limiter interface {
	Allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Events receives what other parts of a deployment must learn at once (the
// middleware's revocation view, a broadcast to other nodes). Calls are made
// synchronously after the store has committed the change; implementations
// should be quick.
type Events interface {
	// SessionsRevoked: sign-out, replacement, reuse, admin revocation,
	// password change or reset, withdrawal.
	SessionsRevoked(ctx context.Context, revs []storage.Revocation)
	// BlockChanged: a block was created, or lifted (LiftedAt set).
	BlockChanged(ctx context.Context, b storage.Block)
	// KeyRotated: a new signing key was added to the ring.
	KeyRotated(ctx context.Context, kid string)
}

// Fanout is Events that passes every event to each of events in turn.
func Fanout(events ...Events) Events { return fanout(events) }

type fanout []Events

func (f fanout) SessionsRevoked(ctx context.Context, revs []storage.Revocation) {
	for _, e := range f {
		e.SessionsRevoked(ctx, revs)
	}
}

func (f fanout) BlockChanged(ctx context.Context, b storage.Block) {
	for _, e := range f {
		e.BlockChanged(ctx, b)
	}
}

func (f fanout) KeyRotated(ctx context.Context, kid string) {
	for _, e := range f {
		e.KeyRotated(ctx, kid)
	}
}

// CountryResolver returns the ISO 3166-1 alpha-2 country of a new player
// from the client address (e.g. a GeoIP lookup) and its device, or "" when
// unknown. addr is the zero Addr when the address is unknown.
type CountryResolver func(ctx context.Context, addr netip.Addr, d DeviceInfo) string

// Argon2Params are the argon2id parameters new password hashes are made
// with. A zero field takes OWASP's recommended minimum (m=19 MiB, t=2, p=1),
// with a 32-byte key and a 16-byte salt. Hashes made with other parameters
// keep verifying and are rehashed at the player's next sign-in.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32 // bytes
	SaltLen uint32 // bytes
}

func (p Argon2Params) withDefaults() Argon2Params {
	if p.Memory == 0 {
		p.Memory = 19 * 1024
	}
	if p.Time == 0 {
		p.Time = 2
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	if p.KeyLen == 0 {
		p.KeyLen = 32
	}
	if p.SaltLen == 0 {
		p.SaltLen = 16
	}
	return p
}

// Config holds the service's settings. Zero values take the documented
// defaults (the Default... constants), each defined here once.
type Config struct {
	// Clock tells the time; nil means the system clock: time.Now's time, its wall clock read once a second and advanced by the monotonic clock in between, at about half time.Now's cost.
	Clock func() time.Time
	// Logger receives the service's log lines; nil means slog.Default().
	Logger *slog.Logger

	// RefreshTTL is the absolute lifetime of a session's refresh tokens from
	// its sign-in; rotation does not extend it. Default 365 days.
	RefreshTTL time.Duration
	// RefreshGrace is how long a rotated-away refresh token still gets the
	// same new pair. Default 10 s.
	RefreshGrace time.Duration
	// WithdrawalGrace is the default withdrawal grace period. Default 7 days.
	WithdrawalGrace time.Duration
	// MaxWithdrawalPeriod bounds the period a withdrawal request may ask
	// for. Default 30 days.
	MaxWithdrawalPeriod time.Duration
	// TombstoneTTL is how long after its deadline a purged account's
	// withdrawal key still answers WITHDRAWAL_PERIOD_EXPIRED. Default 90 days.
	TombstoneTTL time.Duration
	// SessionRetention is how long ended (revoked or expired) sessions are
	// kept, so that their tokens get a precise answer. Default 7 days.
	SessionRetention time.Duration
	// ResetCodeTTL is the lifetime of a password-reset code. Default 15 min.
	ResetCodeTTL time.Duration
	// ResetCodesPerDay bounds reset codes per email per 24 hours. Default 5.
	ResetCodesPerDay int
	// ResetCodeAttempts is how many wrong guesses spend a code. Default 5.
	ResetCodeAttempts int
	// MaxSessions is how many live sessions a player may have. 0 means 1:
	// the single-device policy, a new sign-in replaces the older session.
	// Negative means unlimited.
	MaxSessions int
	// PasswordHashing are the argon2id parameters of new hashes.
	PasswordHashing Argon2Params
	// HashConcurrency bounds concurrent password hashes, each of which
	// holds Memory KiB while it runs. Default runtime.GOMAXPROCS(0).
	HashConcurrency int

	// Mailer sends password-reset codes. Nil: reset requests are accepted
	// and answered as usual, no code is made, and a warning is logged.
	Mailer Mailer
	// Limiter rate-limits sign-in attempts under the keys
	// "acct:<normalized email or account ID>" and "addr:<client IP>" (an
	// IPv6 client by its /64, e.g. "addr:2001:db8:1:2::/64"). Nil
	// means NewLocalLimiter(SignInLimit), local to this process.
	Limiter Limiter
	// SignInLimit is the attempts per minute per account and per address of
	// the default limiter. Default 10; negative disables rate limiting.
	// A Limiter shared by several processes is sized with SignInRate.
	SignInLimit int

	// DefaultTimezone is the IANA time zone of players whose requests name
	// none (a request may send "timezone"). Default "UTC".
	DefaultTimezone string
	// CountryResolver gives a new player's country. Nil: the region implied
	// by the device language ("KO" → "KR"), or "" when there is none.
	CountryResolver CountryResolver

	// Providers verifies platform credentials for federated sign-in
	// (*federated.Set). Nil: federated sign-in answers
	// PROVIDER_NOT_CONFIGURED. It needs a store that implements
	// storage.Identities.
	Providers Providers

	// Observer, when set, learns of every Event: sign-ins and their
	// failures, revocations, blocks, withdrawals, ... (the audit log,
	// metrics).
	Observer Observer

	// Events, when set, learns of revocations, block changes and key
	// rotations as they happen.
	Events Events
	// AuditRetention is how long the janitor keeps audit events, in a store
	// that implements storage.Audit. Default DefaultAuditRetention (90
	// days).
	AuditRetention time.Duration
	// JanitorInterval is how often Run sweeps. Default 1 minute.
	JanitorInterval time.Duration
}

// SignInRate is the sign-in attempts per minute that SignInLimit asks
// for, with its default applied; 0 when limiting is off.
func (c Config) SignInRate() int {
	switch {
	case c.SignInLimit < 0:
		return 0
	case c.SignInLimit == 0:
		return DefaultSignInLimit
	}
	return c.SignInLimit
}

// Service holds every rule of the contract (docs/API.md) as a Go API that
// knows no transport: the HTTP handler (NewHandler) is one adapter over it,
// a game's WebSocket or TCP protocol can be another. It is safe for
// concurrent use.
type Service struct {
	store  storage.Store
	ring   *tokens.Ring
	issuer *tokens.Issuer
	view   Revocations
	clock  func() time.Time
	log    *slog.Logger
	cfg    Config
	keep   int
	hasher *hasher
	// dummy is a hash to verify against when the email is unknown.
	dummy   string
	limiter Limiter
	locs    sync.Map // time zone name → *time.Location
	// failures throttles the log lines of repeated failures.
	failures logThrottle
}

// New checks cfg, fills in its defaults and returns the service over store,
// the tokens of toks, and view, the node's revocation view (which the
// middleware consults too, and which the service keeps current through
// Config.Events). It hashes one throwaway password, to have a hash to verify
// unknown emails against.
func New(store storage.Store, toks *tokens.Suite, view Revocations, cfg Config) (*Service, error) {
	if store == nil || toks == nil || view == nil {
		return nil, errors.New("account: New needs a store, the tokens and the revocation view")
	}
	if cfg.Clock == nil {
		cfg.Clock = wallclock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.RefreshTTL, DefaultRefreshTTL)
	def(&cfg.RefreshGrace, DefaultRefreshGrace)
	def(&cfg.WithdrawalGrace, DefaultWithdrawalGrace)
	def(&cfg.MaxWithdrawalPeriod, DefaultMaxWithdrawalPeriod)
	def(&cfg.TombstoneTTL, DefaultTombstoneTTL)
	def(&cfg.SessionRetention, DefaultSessionRetention)
	def(&cfg.ResetCodeTTL, DefaultResetCodeTTL)
	def(&cfg.JanitorInterval, DefaultJanitorInterval)
	def(&cfg.AuditRetention, DefaultAuditRetention)
	for _, d := range []time.Duration{cfg.RefreshTTL, cfg.RefreshGrace, cfg.WithdrawalGrace, cfg.MaxWithdrawalPeriod,
		cfg.TombstoneTTL, cfg.SessionRetention, cfg.ResetCodeTTL, cfg.JanitorInterval, cfg.AuditRetention} {
		if d < 0 {
			return nil, errors.New("account: Config durations must not be negative")
		}
	}
	if cfg.WithdrawalGrace > cfg.MaxWithdrawalPeriod {
		return nil, fmt.Errorf("account: WithdrawalGrace %v exceeds MaxWithdrawalPeriod %v", cfg.WithdrawalGrace, cfg.MaxWithdrawalPeriod)
	}
	if cfg.ResetCodesPerDay <= 0 {
		cfg.ResetCodesPerDay = DefaultResetCodesPerDay
	}
	if cfg.ResetCodeAttempts <= 0 {
		cfg.ResetCodeAttempts = DefaultResetCodeAttempts
	}
	if cfg.DefaultTimezone == "" {
		cfg.DefaultTimezone = DefaultTimezone
	}
	if _, err := time.LoadLocation(cfg.DefaultTimezone); err != nil || cfg.DefaultTimezone == "Local" {
		return nil, fmt.Errorf("account: DefaultTimezone %q is not an IANA time zone this host knows (import time/tzdata on hosts without zoneinfo)", cfg.DefaultTimezone)
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if _, ok := store.(storage.Identities); cfg.Providers != nil && !ok {
		return nil, errors.New("account: Config.Providers needs a store that implements storage.Identities")
	}
	cfg.PasswordHashing = cfg.PasswordHashing.withDefaults()
	if err := cfg.PasswordHashing.check(); err != nil {
		return nil, err
	}
	s := &Service{
		store:  store,
		ring:   toks.Ring,
		issuer: toks.Issuer,
		view:   view,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		cfg:    cfg,
		hasher: newHasher(cfg.PasswordHashing, cfg.HashConcurrency),
	}
	switch {
	case cfg.MaxSessions == 0:
		s.keep = 1
	case cfg.MaxSessions < 0:
		s.keep = 0 // CreateSession: keep 0 revokes nothing
	default:
		s.keep = cfg.MaxSessions
	}
	switch {
	case cfg.Limiter != nil:
		s.limiter = cfg.Limiter
	case cfg.SignInRate() > 0:
		s.limiter = NewLocalLimiter(cfg.SignInRate())
	}
	dummy, err := s.hasher.hash(context.Background(), randomString(32))
	if err != nil {
		return nil, fmt.Errorf("account: hashing: %w", err)
	}
	s.dummy = dummy
	return s, nil
}
