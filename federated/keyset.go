package federated

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/sync/singleflight"
)

// refetchInterval is how often a client's request can make us fetch one
// URL again (a key set for an unknown kid, a discovery document that failed):
// a flood of made-up kids costs the vendor one request per interval.
const refetchInterval = 30 * time.Second

// maxKeySetInterval caps how long jwk.Cache trusts a key set's
// Cache-Control before refreshing it in the background.
const maxKeySetInterval = 24 * time.Hour

// verifyKey is a key of a key set, ready for jwsbb.Verify.
type verifyKey struct {
	alg string           // the key's declared alg, "" if none
	pub crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keySnapshot is one version of a key set, indexed by kid.
type keySnapshot struct {
	set   jwk.Set
	byKid map[string]*verifyKey
	only  *verifyKey // the one usable key, when there is exactly one
}

// newSnapshot keeps the set's public signature keys: symmetric keys, keys
// for encryption and keys of unknown types are left out.
func newSnapshot(set jwk.Set) *keySnapshot {
	s := &keySnapshot{set: set, byKid: make(map[string]*verifyKey, set.Len())}
	var usable []*verifyKey
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		if use, ok := k.KeyUsage(); ok && use != "sig" {
			continue
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			continue
		}
		if priv, ok := raw.(crypto.Signer); ok {
			raw = priv.Public() // a published private key still verifies
		}
		switch raw.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue
		}
		vk := &verifyKey{pub: raw}
		if a, ok := k.Algorithm(); ok {
			vk.alg = a.String()
		}
		usable = append(usable, vk)
		if kid, ok := k.KeyID(); ok && kid != "" {
			if _, dup := s.byKid[kid]; dup {
				s.byKid[kid] = nil // ambiguous: refuse rather than guess
				continue
			}
			s.byKid[kid] = vk
		}
	}
	if len(usable) == 1 {
		s.only = usable[0]
	}
	return s
}

// find returns the key for kid; a token without kid is accepted only when
// the set has a single key (OpenID Connect Core 10.1).
func (s *keySnapshot) find(kid string) *verifyKey {
	if kid == "" {
		return s.only
	}
	return s.byKid[kid]
}

// fetchGate lets a request-triggered fetch of one URL start at most once
// per refetchInterval and remembers how the last one ended.
type fetchGate struct {
	mu      sync.Mutex
	last    time.Time
	tried   bool
	lastErr error
}

// take reports whether a fetch may start at now; when it may not, it
// returns the last fetch's error (nil if that one succeeded).
func (g *fetchGate) take(now time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tried && now.Sub(g.last) < refetchInterval && now.Sub(g.last) > -refetchInterval {
		return false, g.lastErr
	}
	g.tried, g.last, g.lastErr = true, now, nil
	return true, nil
}

// done records the outcome of the fetch take allowed.
func (g *fetchGate) done(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastErr = err
}

// reopen lets the next request start a fetch at once: the one that ran
// did not count.
func (g *fetchGate) reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tried = false
}

// gatedFetch runs fetch under g, once at a time: concurrent callers share
// the fetch in flight, and a caller within refetchInterval of the last
// start runs none. It returns the error of the fetch that ran or, when none
// could, of the last one (nil if that succeeded). The fetch runs detached
// from the caller's cancellation, bounded by timeout, so that one impatient
// caller does not fail the others.
func gatedFetch(ctx context.Context, g *fetchGate, sf *singleflight.Group, now func() time.Time, timeout time.Duration, fetch func(context.Context) error) error {
	ch := sf.DoChan("", func() (any, error) {
		if ok, last := g.take(now()); !ok {
			return nil, last
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		err := fetch(fctx)
		g.done(err)
		return nil, err
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keySet is one vendor key set, kept fresh by jwk.Cache (on its schedule,
// honouring Cache-Control) and refetched on an unknown kid, at most once
// per refetchInterval.
type keySet struct {
	url    string
	cache  *jwk.Cache
	res    *httprc.ResourceBase[jwk.Set]
	env    *env
	gate   fetchGate
	flight singleflight.Group
	snap   atomic.Pointer[keySnapshot]
}

// current returns the snapshot of the set jwk.Cache holds now, or nil
// before the first successful fetch.
func (ks *keySet) current() *keySnapshot {
	set := ks.res.Resource()
	if set == nil {
		return nil
	}
	if s := ks.snap.Load(); s != nil && s.set == set {
		return s
	}
	s := newSnapshot(set)
	ks.snap.Store(s)
	return s
}

// lookup finds the key for kid, refetching the set (rate-limited) when it
// does not know it.
func (ks *keySet) lookup(ctx context.Context, provider, kid string) (*verifyKey, error) {
	had := ks.current()
	if had != nil {
		if k := had.find(kid); k != nil {
			return k, nil
		}
	}
	err := gatedFetch(ctx, &ks.gate, &ks.flight, ks.env.now, ks.env.timeout, func(fctx context.Context) error {
		_, err := ks.cache.Refresh(fctx, ks.url)
		if err == nil && had == nil {
			// Loading a set we did not have (its first background fetch
			// failed or is still running, or an OIDC issuer's, found on
			// this sign-in) is not the refetch an unknown kid may make:
			// else a key the vendor publishes in the next 30 s would be
			// refused, and while the vendor is down a token under it
			// would be a 401, not a 503.
			ks.gate.reopen()
		}
		return err
	})
	s := ks.current()
	if s != nil {
		if k := s.find(kid); k != nil {
			return k, nil
		}
	}
	switch {
	case err != nil:
		// The set could not be fetched: the key may well exist.
		return nil, unavailable(provider, "key set", err)
	case s == nil:
		return nil, unavailable(provider, "key set not fetched yet", nil)
	case kid == "":
		return nil, invalidf(provider, "token has no kid and the key set has more than one key")
	default:
		return nil, invalidf(provider, "no key for the token's kid")
	}
}

// ready waits until the set has been fetched once.
func (ks *keySet) ready(ctx context.Context) error {
	if err := ks.res.Ready(ctx); err != nil {
		return fmt.Errorf("key set %s: %w", ks.url, err)
	}
	return nil
}
