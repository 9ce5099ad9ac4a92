package tokens

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key uses in storage.Key.Use.
const (
	useSig    = "sig"
	useSecret = "secret"
)

// secretID is the fixed ID of the server secret, so that processes starting
// together race on one AddKey: the loser gets a conflict and reloads.
const secretID = "server-secret"

// secretAlgorithm names the server secret's algorithm in the store.
const secretAlgorithm = "HMAC-SHA256"

// maxKidLen bounds key IDs, in the store and in token headers.
const maxKidLen = 64

// Defaults of RingConfig.
const (
	DefaultVerifyFor = time.Hour + 5*time.Minute
)

// RingConfig configures OpenRing.
type RingConfig struct {
	// Store holds the keys every server process shares. Required.
	Store storage.Keys
	// Algorithm of the keys the ring creates. Default EdDSA. HS256 must be
	// asked for here; a ring not configured for HS256 ignores HS256 keys in
	// the store altogether, for signing and for verifying.
	Algorithm Algorithm
	// KEK, when set, is a 32-byte key-encryption key: private parts are
	// sealed with AES-256-GCM before they reach the store, and sealed parts
	// are opened with it. Without it private parts are stored raw.
	KEK []byte
	// Clock tells the time; nil means the system clock: time.Now's time, its wall clock read once a second and advanced by the monotonic clock in between, at about half time.Now's cost.
	Clock func() time.Time
	// VerifyFor is how long a key keeps verifying after a newer key started
	// signing: at least the access-token TTL plus the verifier's skew.
	// Default DefaultVerifyFor (1h5m).
	VerifyFor time.Duration
	// Propagation delays signing with a key made by Rotate, so that every
	// process has loaded it (Reload) before tokens signed by it arrive.
	// Default 0.
	Propagation time.Duration
}

// Ring is the signing key ring: one key signs, older keys keep verifying
// until the tokens they signed have expired, and a server secret backs MAC
// and the refresh tokens. It is safe for concurrent use; verification reads
// an immutable key set through an atomic pointer and takes no lock.
type Ring struct {
	store       storage.Keys
	alg         Algorithm
	kek         []byte
	clock       func() time.Time
	verifyFor   time.Duration
	propagation time.Duration

	mu  sync.Mutex // serializes Reload and Rotate
	set atomic.Pointer[keySet]
}

// ringKey is one loaded signing key.
type ringKey struct {
	id       string
	alg      Algorithm
	activeAt time.Time
	dropAt   time.Time // zero while it is the newest key
	header   string    // base64url of the protected header Issue writes

	edPriv ed25519.PrivateKey
	edPub  ed25519.PublicKey
	ecPriv *ecdsa.PrivateKey
	ecPub  *ecdsa.PublicKey
	hmac   []byte
}

// verifiesAt reports whether k still verifies at now.
func (k *ringKey) verifiesAt(now time.Time) bool {
	return k.dropAt.IsZero() || now.Before(k.dropAt)
}

// keySet is an immutable snapshot of the ring.
type keySet struct {
	keys     []*ringKey // usable keys, by (activeAt, id)
	byKid    map[string]*ringKey
	byHeader map[string]*ringKey
	secret   []byte
	jwks     []byte
}

// signer returns the newest key whose activeAt is at or before now. When
// every key is still pending (a fresh ring, seen by a process whose clock is
// a little behind the one that made it) the oldest signs: nothing else can.
func (s *keySet) signer(now time.Time) *ringKey {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if !s.keys[i].activeAt.After(now) {
			return s.keys[i]
		}
	}
	if len(s.keys) > 0 {
		return s.keys[0]
	}
	return nil
}

// OpenRing loads the ring from cfg.Store. When the store has no server
// secret, or no signing key of the configured algorithm is current, it
// creates one; processes starting at once converge on the same keys. A
// sealed key that cannot be opened (wrong KEK) fails with ErrKeyUnsealable:
// the ring is never silently replaced.
func OpenRing(ctx context.Context, cfg RingConfig) (*Ring, error) {
	if cfg.Store == nil {
		return nil, errors.New("tokens: RingConfig.Store is required")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = EdDSA
	}
	if !cfg.Algorithm.valid() {
		return nil, fmt.Errorf("tokens: unsupported algorithm %q", cfg.Algorithm)
	}
	if cfg.KEK != nil && len(cfg.KEK) != 32 {
		return nil, errors.New("tokens: RingConfig.KEK must be 32 bytes")
	}
	if cfg.VerifyFor <= 0 {
		cfg.VerifyFor = DefaultVerifyFor
	}
	if cfg.Propagation < 0 {
		return nil, errors.New("tokens: RingConfig.Propagation must not be negative")
	}
	r := &Ring{
		store:       cfg.Store,
		alg:         cfg.Algorithm,
		kek:         bytes.Clone(cfg.KEK),
		clock:       clockOrNow(cfg.Clock),
		verifyFor:   cfg.VerifyFor,
		propagation: cfg.Propagation,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(ctx); err != nil {
		return nil, err
	}
	s := r.set.Load()
	if s.secret == nil {
		if err := r.addSecret(ctx); err != nil {
			return nil, err
		}
	}
	if len(s.keys) == 0 || s.keys[len(s.keys)-1].alg != r.alg {
		// No key at all: sign at once. A key of another algorithm is
		// signing: switch to the configured one after Propagation.
		active, kid := r.clock(), ""
		if len(s.keys) > 0 {
			active = active.Add(r.propagation)
		} else {
			// The first key of an empty store has a fixed ID, so processes
			// starting together add one key between them, not one each
			// that the others would not know until their next Reload.
			kid = firstKeyID(r.alg)
		}
		if _, err := r.addSigningKey(ctx, active, kid); err != nil && !(kid != "" && errors.Is(err, storage.ErrConflict)) {
			return nil, err
		}
	}
	if s.secret == nil || len(s.keys) == 0 || s.keys[len(s.keys)-1].alg != r.alg {
		if err := r.reloadLocked(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Rotate adds a new signing key of the configured algorithm. It starts
// signing after RingConfig.Propagation; the key it supersedes keeps
// verifying for VerifyFor after that. A schedule can call it; every other
// process picks the key up on its next Reload.
func (r *Ring) Rotate(ctx context.Context) (kid string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kid, err = r.addSigningKey(ctx, r.clock().Add(r.propagation), "")
	if err != nil {
		return "", err
	}
	if err := r.reloadLocked(ctx); err != nil {
		return "", err
	}
	return kid, nil
}

// Reload picks up keys other processes added and drops (and deletes from the
// store) keys that stopped verifying. Call it periodically, well within
// Propagation. On error the ring keeps its current keys.
func (r *Ring) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(ctx)
}

// JWKS returns the RFC 7517 JSON Web Key Set of the public verification keys,
// the ones not yet in use included (so other services learn a key before it
// signs). HMAC keys and private parts are never in it.
func (r *Ring) JWKS() ([]byte, error) {
	return bytes.Clone(r.set.Load().jwks), nil
}

// MAC returns HMAC-SHA256, under the shared server secret, over label and
// parts, each length-prefixed so that no two different inputs collide.
// Different uses must use different labels.
func (r *Ring) MAC(label string, parts ...[]byte) []byte {
	return macWith(r.set.Load().secret, label, parts...)
}

func macWith(secret []byte, label string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, secret)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(label)))
	m.Write(n[:])
	m.Write([]byte(label))
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

func (r *Ring) addSecret(ctx context.Context) error {
	secret := make([]byte, 32)
	rand.Read(secret)
	now := r.clock()
	k := storage.Key{ID: secretID, Use: useSecret, Algorithm: secretAlgorithm, CreatedAt: now, ActiveAt: now}
	k.Private = r.seal(k, secret)
	err := r.store.AddKey(ctx, k)
	if errors.Is(err, storage.ErrConflict) {
		return nil // another process won; the reload picks its secret up
	}
	if err != nil {
		return fmt.Errorf("tokens: store server secret: %w", err)
	}
	return nil
}

// firstKeyID is the ID of the first signing key of an empty store.
func firstKeyID(alg Algorithm) string { return "first-" + strings.ToLower(string(alg)) }

// addSigningKey adds a signing key active from activeAt, with ID kid (""
// for a random one).
func (r *Ring) addSigningKey(ctx context.Context, activeAt time.Time, kid string) (string, error) {
	if s := r.set.Load(); s != nil && len(s.keys) > 0 {
		// Sort strictly after the newest key, even in a store that keeps
		// timestamps to the second, so every process agrees which signs.
		if newest := s.keys[len(s.keys)-1].activeAt; !activeAt.After(newest.Add(time.Second - 1)) {
			activeAt = newest.Add(time.Second)
		}
	}
	if kid == "" {
		var id [12]byte
		rand.Read(id[:])
		kid = base64.RawURLEncoding.EncodeToString(id[:])
	}
	k := storage.Key{ID: kid, Use: useSig, Algorithm: string(r.alg), CreatedAt: r.clock(), ActiveAt: activeAt}
	var priv []byte
	switch r.alg {
	case EdDSA:
		pub, p, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", fmt.Errorf("tokens: generate key: %w", err)
		}
		priv, k.Public = p.Seed(), pub
	case ES256:
		p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", fmt.Errorf("tokens: generate key: %w", err)
		}
		if priv, err = p.Bytes(); err != nil {
			return "", fmt.Errorf("tokens: encode key: %w", err)
		}
		if k.Public, err = p.PublicKey.Bytes(); err != nil {
			return "", fmt.Errorf("tokens: encode key: %w", err)
		}
	case HS256:
		priv = make([]byte, 32)
		rand.Read(priv)
	}
	k.Private = r.seal(k, priv)
	if err := r.store.AddKey(ctx, k); err != nil {
		return "", fmt.Errorf("tokens: store signing key: %w", err)
	}
	return kid, nil
}

// reloadLocked builds a new key set from the store and publishes it.
func (r *Ring) reloadLocked(ctx context.Context) error {
	stored, err := r.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("tokens: list keys: %w", err)
	}
	now := r.clock()
	s := &keySet{byKid: map[string]*ringKey{}, byHeader: map[string]*ringKey{}}
	var all []*ringKey
	for _, sk := range stored {
		switch sk.Use {
		case useSecret:
			if sk.ID != secretID {
				continue
			}
			secret, err := r.open(sk)
			if err != nil {
				return err
			}
			if len(secret) != 32 {
				return fmt.Errorf("%w: server secret has the wrong length", ErrKeyUnsealable)
			}
			s.secret = secret
		case useSig:
			alg := Algorithm(sk.Algorithm)
			if !alg.valid() || (alg == HS256) != (r.alg == HS256) {
				// Unknown algorithms are left to a newer version; HMAC
				// keys only count in an HS256 ring, and an HS256 ring
				// trusts nothing else.
				continue
			}
			k, err := r.loadKey(sk)
			if err != nil {
				return err
			}
			all = append(all, k)
		}
	}
	slices.SortFunc(all, func(a, b *ringKey) int {
		if c := a.activeAt.Compare(b.activeAt); c != 0 {
			return c
		}
		return compareStrings(a.id, b.id)
	})
	for i, k := range all {
		if i+1 < len(all) {
			k.dropAt = all[i+1].activeAt.Add(r.verifyFor)
		}
		if !k.verifiesAt(now) {
			// Every token it signed has expired. Another process may have
			// deleted it already; a failure is retried by the next Reload.
			_ = r.store.DeleteKey(ctx, k.id)
			continue
		}
		s.keys = append(s.keys, k)
		s.byKid[k.id] = k
		s.byHeader[k.header] = k
	}
	if s.jwks, err = buildJWKS(s.keys); err != nil {
		return err
	}
	r.set.Store(s)
	return nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadKey opens and parses a stored signing key.
func (r *Ring) loadKey(sk storage.Key) (*ringKey, error) {
	if !validKid(sk.ID) {
		return nil, fmt.Errorf("tokens: stored key has an unsafe ID")
	}
	priv, err := r.open(sk)
	if err != nil {
		return nil, err
	}
	k := &ringKey{id: sk.ID, alg: Algorithm(sk.Algorithm), activeAt: sk.ActiveAt}
	bad := func(what string) error {
		return fmt.Errorf("%w: key %s: %s", ErrKeyUnsealable, sk.ID, what)
	}
	switch k.alg {
	case EdDSA:
		if len(priv) != ed25519.SeedSize {
			return nil, bad("bad Ed25519 seed")
		}
		k.edPriv = ed25519.NewKeyFromSeed(priv)
		k.edPub = k.edPriv.Public().(ed25519.PublicKey)
		if len(sk.Public) > 0 && !bytes.Equal(sk.Public, k.edPub) {
			return nil, bad("public part does not match")
		}
	case ES256:
		p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
		if err != nil {
			return nil, bad("bad P-256 key")
		}
		k.ecPriv, k.ecPub = p, &p.PublicKey
		if len(sk.Public) > 0 {
			pub, err := p.PublicKey.Bytes()
			if err != nil || !bytes.Equal(sk.Public, pub) {
				return nil, bad("public part does not match")
			}
		}
	case HS256:
		if len(priv) < 32 {
			return nil, bad("HMAC key too short")
		}
		k.hmac = priv
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(k.alg), k.id, "JWT"})
	if err != nil {
		return nil, err
	}
	k.header = base64.RawURLEncoding.EncodeToString(hdr)
	return k, nil
}

// validKid reports whether id is a safe key ID: 1 to 64 characters of the
// base64url alphabet, so it is harmless in a path, a query or a log.
func validKid(id string) bool {
	if len(id) == 0 || len(id) > maxKidLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isB64URL(id[i]) {
			return false
		}
	}
	return true
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// buildJWKS renders the public keys as a JWK set.
func buildJWKS(keys []*ringKey) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		var raw any
		var alg jwa.SignatureAlgorithm
		switch k.alg {
		case EdDSA:
			raw, alg = k.edPub, jwa.EdDSA()
		case ES256:
			raw, alg = k.ecPub, jwa.ES256()
		default:
			continue // never an HMAC key
		}
		jk, err := jwk.Import(raw)
		if err != nil {
			return nil, fmt.Errorf("tokens: JWKS: %w", err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.id, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
			if err := jk.Set(name, v); err != nil {
				return nil, fmt.Errorf("tokens: JWKS: %w", err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			return nil, fmt.Errorf("tokens: JWKS: %w", err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("tokens: JWKS: %w", err)
	}
	return b, nil
}
