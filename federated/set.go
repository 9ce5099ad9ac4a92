package federated

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Option changes how New builds a Set.
type Option func(*options)

type options struct {
	client *http.Client
	now    func() time.Time
}

// WithHTTPClient makes every vendor call go through c (its transport and
// TLS settings; the Set adds its own timeout and refuses redirects without
// changing c). Default: http.DefaultClient's transport.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the clock that token expiry, Game Center's timestamp
// window, certificate validity and the refetch rate limit read. Default:
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Set is the configured providers, by name. Its methods are safe for
// concurrent use. A nil *Set has no provider: Verify answers
// ErrNotConfigured, so a server without federated sign-in can hold one.
type Set struct {
	providers map[string]Provider
	idTokens  []*idTokenProvider
	cache     *jwk.Cache
	cancel    context.CancelFunc
}

// New builds the providers cfg configures. It does not wait for the
// network: jwk.Cache starts fetching Apple's and Google's key sets in the
// background, and OIDC discovery happens on first use (or in Warm). The
// background refreshers run until ctx is done or Close is called.
func New(ctx context.Context, cfg Config, opts ...Option) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	timeout := time.Duration(cfg.Timeout)
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	e := newEnv(o.client, o.now, timeout)
	s := &Set{providers: map[string]Provider{}}

	if cfg.Apple != nil || cfg.Google != nil || len(cfg.OIDC) > 0 {
		cctx, cancel := context.WithCancel(ctx)
		cache, err := jwk.NewCache(cctx, httprc.NewClient(httprc.WithWorkers(2)))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("federated: key-set cache: %w", err)
		}
		s.cache, s.cancel = cache, cancel
		sets := &keySets{cache: cache, env: e, byURL: map[string]*keySet{}}
		if err := s.addIDTokenProviders(ctx, cfg, sets, e); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.PlayGames != nil {
		s.providers[PlayGames] = newPlayGames(cfg.PlayGames, e)
	}
	if cfg.GameCenter != nil {
		gc, err := newGameCenter(cfg.GameCenter, e)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("federated: config: %w", err)
		}
		s.providers[GameCenter] = gc
	}
	if cfg.Steam != nil {
		s.providers[Steam] = newSteam(cfg.Steam, e)
	}
	return s, nil
}

// addIDTokenProviders builds Apple, Google and the OIDC issuers.
func (s *Set) addIDTokenProviders(ctx context.Context, cfg Config, sets *keySets, e *env) error {
	fixed := func(name, keysURL, def string) (func(context.Context) (*keySet, error), error) {
		if keysURL == "" {
			keysURL = def
		}
		ks, err := sets.get(ctx, keysURL)
		if err != nil {
			return nil, fmt.Errorf("federated: %s: %w", name, err)
		}
		return func(context.Context) (*keySet, error) { return ks, nil }, nil
	}
	if a := cfg.Apple; a != nil {
		keys, err := fixed(Apple, a.KeysURL, DefaultAppleKeysURL)
		if err != nil {
			return err
		}
		s.addIDToken(&idTokenProvider{
			name: Apple, issuers: []string{appleIssuer}, audiences: slices.Clone(a.ClientIDs),
			nonce: nonceSHA256, headerAlg: onlyRS256, keyAlg: rs256Key, keys: keys, env: e,
		})
	}
	if g := cfg.Google; g != nil {
		keys, err := fixed(Google, g.KeysURL, DefaultGoogleKeysURL)
		if err != nil {
			return err
		}
		s.addIDToken(&idTokenProvider{
			name: Google, issuers: googleIssuers, audiences: slices.Clone(g.ClientIDs),
			nonce: nonceRaw, headerAlg: onlyRS256, keyAlg: rs256Key, keys: keys, env: e,
		})
	}
	for _, o := range cfg.OIDC {
		d := &discovery{provider: o.Name, issuer: o.Issuer, sets: sets, env: e}
		s.addIDToken(&idTokenProvider{
			name: o.Name, issuers: []string{o.Issuer}, audiences: slices.Clone(o.ClientIDs),
			nonce: nonceRaw, headerAlg: asymmetric, keyAlg: oidcKey, keys: d.keys, env: e,
		})
	}
	return nil
}

func (s *Set) addIDToken(p *idTokenProvider) {
	s.providers[p.name] = p
	s.idTokens = append(s.idTokens, p)
}

// Provider returns the provider called name.
func (s *Set) Provider(name string) (Provider, bool) {
	if s == nil {
		return nil, false
	}
	p, ok := s.providers[name]
	return p, ok
}

// Names lists the configured providers' names, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.providers))
	for n := range s.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Verify verifies c with the provider called name. An unknown name matches
// ErrNotConfigured; see Provider.Verify for the rest.
func (s *Set) Verify(ctx context.Context, name string, c Credential) (Identity, error) {
	p, ok := s.Provider(name)
	if !ok {
		if len(name) > 64 {
			name = name[:64] + "…"
		}
		return Identity{}, fmt.Errorf("%w: %q", ErrNotConfigured, name)
	}
	return p.Verify(ctx, c)
}

// Warm fetches what the ID-token providers need before their first
// sign-in (discovery documents, key sets) and waits until each key set has
// been fetched once, or ctx is done. A server may call it at start-up;
// nothing requires it.
func (s *Set) Warm(ctx context.Context) error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, p := range s.idTokens {
		ks, err := p.keys(ctx)
		if err == nil {
			err = ks.ready(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the key sets' background refreshers and waits for them.
func (s *Set) Close() error {
	if s == nil || s.cache == nil {
		return nil
	}
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cache.Shutdown(ctx); err != nil {
		return fmt.Errorf("federated: close: %w", err)
	}
	return nil
}
