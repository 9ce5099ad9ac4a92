package federated

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Bounds of Game Center's credential, certificate cache and fetches.
const (
	maxCertSize    = 64 << 10
	certCacheSize  = 32
	certCacheTTL   = 24 * time.Hour
	certFailSize   = 64 // failed fetches remembered
	maxCertFetches = 4  // certificate fetches at once, across all URLs
	maxGCFieldSize = 1 << 10
)

// gameCenter verifies Game Center identity signatures.
type gameCenter struct {
	bundleIDs     []string
	maxAge        time.Duration
	hosts         []string // nil: apple.com and its subdomains
	roots         *x509.CertPool
	intermediates *x509.CertPool
	env           *env
	retry         time.Duration // how long a failed fetch is remembered
	certs         certCache     // verified keys
	fails         certCache     // failed fetches' answers
	slots         chan struct{} // one per fetch running, at most maxCertFetches
	flight        singleflight.Group
	hook          func(event string) // tests: "key" once a sign-in has joined or started a fetch, "slot" as a fetch waits for a slot
}

// errNoSlot: every fetch slot stayed busy for as long as the sign-in that
// started the fetch could wait.
var errNoSlot = errors.New("too many certificate fetches at once")

func newGameCenter(cfg *GameCenterConfig, e *env) (*gameCenter, error) {
	gc := &gameCenter{
		bundleIDs: slices.Clone(cfg.BundleIDs),
		maxAge:    time.Duration(cfg.MaxAge),
		env:       e,
		retry:     time.Duration(cfg.CertRetry),
		certs:     certCache{size: certCacheSize, m: map[string]certEntry{}},
		fails:     certCache{size: certFailSize, m: map[string]certEntry{}},
		slots:     make(chan struct{}, maxCertFetches),
	}
	if gc.maxAge == 0 {
		gc.maxAge = DefaultGameCenterMaxAge
	}
	if gc.retry == 0 {
		gc.retry = DefaultGameCenterCertRetry
	}
	for _, h := range cfg.CertHosts {
		gc.hosts = append(gc.hosts, strings.ToLower(h))
	}
	if cfg.RootCAFile == "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("gamecenter: system roots: %w", err)
		}
		gc.roots = roots
		return gc, nil
	}
	pemBytes, err := os.ReadFile(cfg.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("gamecenter.root_ca_file: %w", err)
	}
	gc.roots, gc.intermediates, err = parseRoots(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("gamecenter.root_ca_file %s: %w", cfg.RootCAFile, err)
	}
	return gc, nil
}

// parseRoots splits the certificates of a PEM file into self-signed roots
// and the intermediates that may lead to them.
func parseRoots(b []byte) (roots, intermediates *x509.CertPool, err error) {
	roots, intermediates = x509.NewCertPool(), x509.NewCertPool()
	var nRoots, nCerts int
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d: %w", nCerts+1, err)
		}
		nCerts++
		if c.CheckSignatureFrom(c) == nil && slices.Equal(c.RawIssuer, c.RawSubject) {
			roots.AddCert(c)
			nRoots++
		} else {
			intermediates.AddCert(c)
		}
	}
	switch {
	case nCerts == 0:
		return nil, nil, errors.New("no PEM certificate")
	case nRoots == 0:
		return nil, nil, errors.New("no self-signed root certificate")
	}
	return roots, intermediates, nil
}

// Name implements Provider.
func (*gameCenter) Name() string { return GameCenter }

// Verify implements Provider: public_key_url, signature, salt, timestamp,
// player_id and bundle_id. Every local check runs before the certificate
// is fetched.
func (gc *gameCenter) Verify(ctx context.Context, c Credential) (Identity, error) {
	for _, f := range []struct{ name, v string }{
		{"public_key_url", c.PublicKeyURL}, {"signature", c.Signature}, {"salt", c.Salt},
		{"player_id", c.PlayerID}, {"bundle_id", c.BundleID},
	} {
		if f.v == "" {
			return Identity{}, missing(f.name)
		}
		if len(f.v) > maxGCFieldSize {
			return Identity{}, &FieldError{Field: f.name, Problem: fmt.Sprintf("longer than %d bytes", maxGCFieldSize)}
		}
	}
	if c.Timestamp == 0 {
		return Identity{}, missing("timestamp")
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return Identity{}, &FieldError{Field: "signature", Problem: "not standard base64"}
	}
	salt, err := base64.StdEncoding.DecodeString(c.Salt)
	if err != nil {
		return Identity{}, &FieldError{Field: "salt", Problem: "not standard base64"}
	}
	if !slices.Contains(gc.bundleIDs, c.BundleID) {
		return Identity{}, invalidf(GameCenter, "bundle ID not accepted")
	}
	if c.Timestamp > math.MaxInt64 {
		return Identity{}, invalidf(GameCenter, "timestamp in the future")
	}
	now := gc.env.now()
	signed := time.UnixMilli(int64(c.Timestamp))
	switch {
	case signed.Sub(now) > clockSkew:
		return Identity{}, invalidf(GameCenter, "timestamp in the future")
	case now.Sub(signed) > gc.maxAge:
		return Identity{}, invalidf(GameCenter, "signature older than %s", gc.maxAge)
	}
	u, err := gc.certURL(c.PublicKeyURL)
	if err != nil {
		return Identity{}, err
	}
	pub, err := gc.key(ctx, u)
	if err != nil {
		return Identity{}, err
	}
	h := sha256.New()
	h.Write([]byte(c.PlayerID))
	h.Write([]byte(c.BundleID))
	h.Write(binary.BigEndian.AppendUint64(nil, c.Timestamp))
	h.Write(salt)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h.Sum(nil), sig); err != nil {
		return Identity{}, invalidf(GameCenter, "bad signature")
	}
	return Identity{Provider: GameCenter, Subject: c.PlayerID}, nil
}

// certURL accepts only plain https URLs on the allowed hosts: no
// credentials, query or fragment, no port but 443 (any on a loopback host,
// where a test's fake listens) and a clean path. It returns the URL's one
// normal form (lower-case host, no default port, canonical escaping),
// which is fetched and by which keys, failures and fetches in flight are
// known, so that spelling one certificate's URL anew makes no new fetch.
func (gc *gameCenter) certURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", invalidf(GameCenter, "public_key_url is not a URL")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	switch {
	case u.Scheme != "https":
		return "", invalidf(GameCenter, "public_key_url is not https")
	case u.User != nil || u.Host == "":
		return "", invalidf(GameCenter, "public_key_url is not a plain https URL")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#"):
		return "", invalidf(GameCenter, "public_key_url has a query or fragment")
	case !gc.hostAllowed(host):
		return "", invalidf(GameCenter, "public_key_url host %q not allowed", u.Hostname())
	case port != "" && port != "443" && !isLoopback(host):
		return "", invalidf(GameCenter, "public_key_url port %s not allowed (only 443)", port)
	case u.Path == "" || path.Clean(u.Path) != u.Path:
		return "", invalidf(GameCenter, "public_key_url path is not clean")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && port != "443" {
		host += ":" + port
	}
	n := url.URL{Scheme: "https", Host: host, Path: u.Path}
	return n.String(), nil
}

// hostAllowed: the configured hosts, exactly, or else apple.com and its
// subdomains.
func (gc *gameCenter) hostAllowed(host string) bool {
	if gc.hosts == nil {
		return host == "apple.com" || strings.HasSuffix(host, ".apple.com")
	}
	return slices.Contains(gc.hosts, host)
}

// key returns the verified signing key at u (a normal form of certURL),
// from the cache or fetched: one fetch per URL at a time, at most
// maxCertFetches across all URLs, and none while a failed fetch of u is
// remembered, whose answer it returns instead.
//
// A sign-in that finds a fetch of u under way shares it. When that fetch
// ends because the sign-in that started it gave up waiting for a slot,
// the others have not: they try again, in a fetch of their own if none is
// under way, rather than answer with someone else's time-out.
func (gc *gameCenter) key(ctx context.Context, u string) (*rsa.PublicKey, error) {
	for {
		if e, ok := gc.cached(u); ok {
			return e.pub, e.err
		}
		mine := false // read only after the flight's answer arrives
		ch := gc.flight.DoChan(u, func() (any, error) {
			mine = true
			if e, ok := gc.cached(u); ok { // a fetch of u ended since we looked
				return e.pub, e.err
			}
			release, err := gc.slot(ctx)
			if err != nil {
				return nil, err
			}
			defer release()
			pub, err := gc.fetch(context.WithoutCancel(ctx), u)
			if err != nil {
				now := gc.env.now()
				gc.fails.put(u, certEntry{err: err, until: now.Add(gc.retry)}, now)
			}
			return pub, err
		})
		if gc.hook != nil {
			gc.hook("key")
		}
		select {
		case r := <-ch:
			switch {
			case r.Err == nil:
				return r.Val.(*rsa.PublicKey), nil
			case !mine && errors.Is(r.Err, errNoSlot):
				continue
			}
			return nil, r.Err
		case <-ctx.Done():
			return nil, unavailable(GameCenter, "certificate", ctx.Err())
		}
	}
}

// cached is u's verified key or, when its fetch failed lately, that
// fetch's error.
func (gc *gameCenter) cached(u string) (certEntry, bool) {
	now := gc.env.now()
	if e, ok := gc.certs.get(u, now); ok {
		return e, true
	}
	return gc.fails.get(u, now)
}

// slot waits for one of the maxCertFetches fetch slots as long as ctx, the
// sign-in's that starts the fetch, lets it, and no longer than the timeout;
// release gives it back. Sign-ins sharing the fetch wait on their own
// contexts as well.
func (gc *gameCenter) slot(ctx context.Context) (release func(), err error) {
	if gc.hook != nil {
		gc.hook("slot")
	}
	ctx, cancel := context.WithTimeout(ctx, gc.env.timeout)
	defer cancel()
	select {
	case gc.slots <- struct{}{}:
		if ctx.Err() == nil { // select picks at random when both are ready
			return func() { <-gc.slots }, nil
		}
		<-gc.slots
	case <-ctx.Done():
	}
	return nil, unavailable(GameCenter, "certificate", errNoSlot)
}

// fetch downloads the certificate at u, verifies its chain to the
// configured roots at the injected time and caches its key.
func (gc *gameCenter) fetch(ctx context.Context, u string) (*rsa.PublicKey, error) {
	a, err := gc.env.get(ctx, u, nil, maxCertSize)
	switch {
	case err != nil:
		return nil, unavailable(GameCenter, "certificate", err)
	case serverTrouble(a.status):
		return nil, unavailable(GameCenter, fmt.Sprintf("certificate host answered %d", a.status), nil)
	case a.status != 200:
		return nil, invalidf(GameCenter, "certificate host answered %d", a.status)
	}
	cert, err := x509.ParseCertificate(a.body)
	if err != nil {
		return nil, invalidf(GameCenter, "public_key_url does not hold a DER certificate")
	}
	now := gc.env.now()
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         gc.roots,
		Intermediates: gc.intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, invalidf(GameCenter, "certificate does not chain to the configured root")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return nil, invalidf(GameCenter, "certificate key is not RSA of at least 2048 bits")
	}
	until := now.Add(certCacheTTL)
	for _, c := range chains[0] {
		if c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	gc.certs.put(u, certEntry{pub: pub, until: until}, now)
	return pub, nil
}

// certCache holds at most size entries by URL, each until its time: the
// verified keys until their chain or certCacheTTL expires, whichever comes
// first; the failed fetches' answers for the retry time.
type certCache struct {
	size int
	mu   sync.Mutex
	m    map[string]certEntry
}

// certEntry is a verified key, or a failed fetch's error.
type certEntry struct {
	pub   *rsa.PublicKey
	err   error
	until time.Time
}

func (c *certCache) get(u string, now time.Time) (certEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[u]
	if !ok || !now.Before(e.until) {
		return certEntry{}, false
	}
	return e, true
}

// put stores e; when full, it drops expired entries and then the one that
// expires first.
func (c *certCache) put(u string, e certEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[u]; !ok && len(c.m) >= c.size {
		var first string
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
				continue
			}
			if first == "" || v.until.Before(c.m[first].until) {
				first = k
			}
		}
		if len(c.m) >= c.size {
			delete(c.m, first)
		}
	}
	c.m[u] = e
}
