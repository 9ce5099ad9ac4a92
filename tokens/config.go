package tokens

import (
	"context"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// DefaultIssuer is the iss and aud of access tokens when Config names none.
const DefaultIssuer = "gameauth"

// Config configures the access tokens of a deployment: the key ring, and the
// Issuer and Verifier over it, which Open makes together so that they agree
// on issuer, audience, lifetime and clock skew. Every field has a useful
// zero value; each default is defined here once.
type Config struct {
	// Issuer and Audience go into every access token and are checked on
	// verify. Default DefaultIssuer for both.
	Issuer, Audience string
	// AccessTTL is the access-token lifetime. Default DefaultTTL (1h).
	AccessTTL time.Duration
	// Skew is the clock skew allowed on exp and nbf. Default DefaultSkew
	// (30s); negative means none. Everything that must outlive the last acceptable token — a
	// retired key, a revocation the middleware remembers — is kept for
	// AccessTTL plus Skew (see Config.Lifetime).
	Skew time.Duration
	// Algorithm signs access tokens. Default EdDSA (Ed25519); HS256 only
	// when asked for.
	Algorithm Algorithm
	// KEK, when set (32 bytes), seals private keys at rest with AES-GCM.
	KEK []byte
	// KeyPropagation is how long a rotated key waits before it signs, so
	// that every process can verify it first. Default 0 for one process;
	// set it (for example 10s) when several share the store.
	KeyPropagation time.Duration
	// KeyRotation, when positive, is the interval at which the host (or
	// gameauth.New) rotates the signing key. Zero: never by itself.
	KeyRotation time.Duration
	// CacheSize bounds the verified-token cache in entries (see NewCache).
	// Zero means DefaultCacheEntries; negative disables the cache.
	CacheSize int
	// Clock tells the time; nil means the system clock: time.Now's time, its wall clock read once a second and advanced by the monotonic clock in between, at about half time.Now's cost.
	Clock func() time.Time
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultIssuer
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = DefaultTTL
	}
	if c.Skew == 0 {
		c.Skew = DefaultSkew
	}
	if c.Skew < 0 {
		c.Skew = 0
	}
	c.Clock = clockOrNow(c.Clock)
	return c
}

// Lifetime is how long after it was issued an access token may still be
// accepted: AccessTTL plus Skew, with the defaults applied. A retired key
// keeps verifying this long, and a revoked session must be remembered this
// long by whoever refuses its tokens (the revocation view).
func (c Config) Lifetime() time.Duration {
	c = c.withDefaults()
	return c.AccessTTL + c.Skew
}

// Suite is the access-token machinery of a deployment, made by Open from one
// Config: the key ring, and the Issuer and Verifier over it.
type Suite struct {
	Ring     *Ring
	Issuer   *Issuer
	Verifier *Verifier
	// Config is the configuration with its defaults applied.
	Config Config
}

// Open loads (or, on an empty store, creates) the key ring from store and
// returns it with an Issuer and a Verifier configured from cfg.
func Open(ctx context.Context, store storage.Keys, cfg Config) (*Suite, error) {
	cfg = cfg.withDefaults()
	ring, err := OpenRing(ctx, RingConfig{
		Store:       store,
		Algorithm:   cfg.Algorithm,
		KEK:         cfg.KEK,
		Clock:       cfg.Clock,
		VerifyFor:   cfg.Lifetime(),
		Propagation: cfg.KeyPropagation,
	})
	if err != nil {
		return nil, err
	}
	skew := cfg.Skew
	if skew == 0 {
		skew = -1 // VerifierConfig's "none"; its zero means the default
	}
	var cache Cache
	if cfg.CacheSize >= 0 {
		cache = NewCache(cfg.CacheSize, cfg.AccessTTL)
	}
	return &Suite{
		Ring:     ring,
		Issuer:   NewIssuer(ring, IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTTL, Clock: cfg.Clock}),
		Verifier: NewVerifier(ring, VerifierConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Skew: skew, Clock: cfg.Clock, Cache: cache}),
		Config:   cfg,
	}, nil
}
