package federated

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/sync/singleflight"
)

// maxDocumentSize bounds a discovery document.
const maxDocumentSize = 1 << 20

// keySets registers each key-set URL with the jwk.Cache once, however many
// providers use it.
type keySets struct {
	cache *jwk.Cache
	env   *env
	mu    sync.Mutex
	byURL map[string]*keySet
}

// get returns the key set at u, registering it on first use. It does not
// wait for the first fetch, which jwk.Cache starts in the background.
func (r *keySets) get(ctx context.Context, u string) (*keySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ks, ok := r.byURL[u]; ok {
		return ks, nil
	}
	err := r.cache.Register(ctx, u,
		jwk.WithWaitReady(false),
		jwk.WithHTTPClient(r.env.client),
		jwk.WithMaxInterval(maxKeySetInterval))
	if err != nil {
		return nil, fmt.Errorf("register key set %s: %w", u, err)
	}
	res, err := r.cache.LookupResource(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("key set %s: %w", u, err)
	}
	ks := &keySet{url: u, cache: r.cache, res: res, env: r.env}
	r.byURL[u] = ks
	return ks, nil
}

// discovery finds an OpenID Connect issuer's key set through its discovery
// document, once; a failed attempt is retried at most once per
// refetchInterval.
type discovery struct {
	provider string
	issuer   string
	sets     *keySets
	env      *env
	gate     fetchGate
	flight   singleflight.Group
	found    atomic.Pointer[keySet]
}

// keys returns the issuer's key set, fetching the discovery document if it
// has not been yet.
func (d *discovery) keys(ctx context.Context) (*keySet, error) {
	if ks := d.found.Load(); ks != nil {
		return ks, nil
	}
	err := gatedFetch(ctx, &d.gate, &d.flight, d.env.now, d.env.timeout, func(fctx context.Context) error {
		jwksURI, err := d.fetch(fctx)
		if err != nil {
			return err
		}
		ks, err := d.sets.get(fctx, jwksURI)
		if err != nil {
			return err
		}
		d.found.Store(ks)
		return nil
	})
	if ks := d.found.Load(); ks != nil {
		return ks, nil
	}
	if err == nil {
		err = errors.New("not fetched yet")
	}
	return nil, unavailable(d.provider, "discovery", err)
}

// fetch reads the discovery document and returns its jwks_uri, after
// checking that it speaks for our issuer (OpenID Connect Discovery 4.3).
func (d *discovery) fetch(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(d.issuer, "/") + "/.well-known/openid-configuration"
	a, err := d.env.get(ctx, u, nil, maxDocumentSize)
	if err != nil {
		return "", err
	}
	if a.status != 200 {
		return "", fmt.Errorf("%s answered %d", u, a.status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(a.body, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", u, err)
	}
	if doc.Issuer != d.issuer {
		return "", fmt.Errorf("%s names issuer %q, not %q", u, doc.Issuer, d.issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("%s has no jwks_uri", u)
	}
	if err := checkDiscoveredURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("%s: jwks_uri: %w", u, err)
	}
	return doc.JWKSURI, nil
}
