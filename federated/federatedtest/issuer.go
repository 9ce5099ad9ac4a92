package federatedtest

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Paths an Issuer serves.
const (
	// KeysPath is the key set (JWKS).
	KeysPath = "/keys"
	// DiscoveryPath is the OpenID Connect discovery document.
	DiscoveryPath = "/.well-known/openid-configuration"
)

// The issuers Apple and Google put in iss.
const (
	AppleIssuer  = "https://appleid.apple.com"
	GoogleIssuer = "https://accounts.google.com"
)

// IssuerOptions shape a fake ID-token issuer. The zero value is ready to
// use.
type IssuerOptions struct {
	// ClientIDs are the audiences the provider's configuration accepts;
	// tokens are minted for the first. Default: com.example.game (Apple),
	// 1234-game.apps.googleusercontent.com (Google), game (OIDC).
	ClientIDs []string
	// Key signs the tokens: an *rsa.PrivateKey (RS256), an *ecdsa.PrivateKey
	// (ES256, ES384 or ES512 by its curve) or an ed25519.PrivateKey (EdDSA).
	// Apple and Google accept RS256 only. Default: a new 2048-bit RSA key.
	Key crypto.Signer
	// KeyID is the key's kid; default the provider's name and "-1".
	KeyID string
	// OmitAlg publishes the key without its alg, as some vendors do; the
	// verifier then infers it from the key's type.
	OmitAlg bool
	// Now is the clock that iat and the default exp are read from;
	// default time.Now.
	Now func() time.Time
}

// issuerKind is how a vendor differs: its iss, its nonce claim, its
// email_verified and where it sits in federated.Config.
type issuerKind int

const (
	kindApple issuerKind = iota
	kindGoogle
	kindOIDC
)

// Issuer is a fake ID-token issuer — Sign in with Apple, Google Sign-In or
// an OpenID Connect issuer — that serves its key set at KeysPath and its
// discovery document at DiscoveryPath, and mints ID tokens signed with
// its key.
type Issuer struct {
	*Server
	tb        testing.TB
	kind      issuerKind
	name      string
	iss       string
	clientIDs []string
	omitAlg   bool
	now       func() time.Time

	mu         sync.Mutex
	key        crypto.Signer
	kid        string
	alg        string
	keys       int // keys made so far, for the next kid
	jwks       []byte
	discovered string // the issuer the discovery document names, if not iss
	keysQuery  string // the query jwks_uri carries, which the key set needs
}

// NewApple starts a fake Sign in with Apple: tokens carry iss
// https://appleid.apple.com, and a nonce as the hex SHA-256 of the raw one.
func NewApple(tb testing.TB, o IssuerOptions) *Issuer {
	tb.Helper()
	return newIssuer(tb, kindApple, federated.Apple, AppleIssuer, "com.example.game", o)
}

// NewGoogle starts a fake Google Sign-In: tokens carry iss
// https://accounts.google.com, and a nonce as is.
func NewGoogle(tb testing.TB, o IssuerOptions) *Issuer {
	tb.Helper()
	return newIssuer(tb, kindGoogle, federated.Google, GoogleIssuer, "1234-game.apps.googleusercontent.com", o)
}

// NewOIDC starts a fake OpenID Connect issuer configured under name: its
// URL is the issuer, and its discovery document points at its key set.
func NewOIDC(tb testing.TB, name string, o IssuerOptions) *Issuer {
	tb.Helper()
	return newIssuer(tb, kindOIDC, name, "", "game", o)
}

func newIssuer(tb testing.TB, kind issuerKind, name, iss, clientID string, o IssuerOptions) *Issuer {
	tb.Helper()
	i := &Issuer{
		tb: tb, kind: kind, name: name, iss: iss, omitAlg: o.OmitAlg,
		clientIDs: slices.Clone(o.ClientIDs), now: o.Now,
	}
	if len(i.clientIDs) == 0 {
		i.clientIDs = []string{clientID}
	}
	if i.now == nil {
		i.now = time.Now
	}
	key := o.Key
	if key == nil {
		key = newRSAKey(tb)
	}
	alg, err := algOf(key.Public())
	if err != nil {
		tb.Fatalf("federatedtest: %s: %v", name, err)
	}
	i.key, i.alg, i.kid, i.keys = key, alg, o.KeyID, 1
	if i.kid == "" {
		i.kid = name + "-1"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+KeysPath, i.serveKeys)
	mux.HandleFunc("GET "+DiscoveryPath, i.serveDiscovery)
	i.Server = newServer(tb, mux, false)
	if i.iss == "" {
		i.iss = i.URL
	}
	i.Publish(i.PublicKey())
	return i
}

// Name is the provider's name: apple, google, or the OIDC entry's.
func (i *Issuer) Name() string { return i.name }

// Issuer is the iss of its tokens.
func (i *Issuer) Issuer() string { return i.iss }

// ClientID is the audience its tokens are minted for: the first client ID.
func (i *Issuer) ClientID() string { return i.clientIDs[0] }

// KeyID is the kid tokens are signed under now.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

// Key is the key tokens are signed with now, for a test that signs
// something of its own with it (SignJWS).
func (i *Issuer) Key() crypto.Signer {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.key
}

// Configure adds the provider's entry to cfg: Apple's or Google's with
// keys_url pointing at the fake, or an OIDC entry whose issuer is the
// fake.
func (i *Issuer) Configure(cfg *federated.Config) {
	keysURL := i.URL + KeysPath
	switch i.kind {
	case kindApple:
		cfg.Apple = &federated.AppleConfig{ClientIDs: slices.Clone(i.clientIDs), KeysURL: keysURL}
	case kindGoogle:
		cfg.Google = &federated.GoogleConfig{ClientIDs: slices.Clone(i.clientIDs), KeysURL: keysURL}
	case kindOIDC:
		cfg.OIDC = append(cfg.OIDC, federated.OIDCConfig{Name: i.name, Issuer: i.iss, ClientIDs: slices.Clone(i.clientIDs)})
	}
}

// PublicKey is a key as a key set publishes it.
type PublicKey struct {
	// KeyID is its kid.
	KeyID string
	// Alg is its declared algorithm; "" declares none.
	Alg string
	// Key is an *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
}

// PublicKey is the signing key as the key set publishes it.
func (i *Issuer) PublicKey() PublicKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	pk := PublicKey{KeyID: i.kid, Alg: i.alg, Key: i.key.Public()}
	if i.omitAlg {
		pk.Alg = ""
	}
	return pk
}

// Publish replaces the key set the fake serves with keys: for a key
// rotation, several keys, or none. A key set that cannot be rendered is
// reported to the test, and the old one stays.
func (i *Issuer) Publish(keys ...PublicKey) {
	b, err := JWKS(keys...)
	if err != nil {
		i.tb.Errorf("federatedtest: %s: publish: %v", i.name, err)
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwks = b
}

// Rotate makes a new key of the same type as the current one, under a new
// kid, and publishes it beside the current one: tokens are signed with
// the new key from now on, and those of the old key still verify.
func (i *Issuer) Rotate() {
	old := i.PublicKey()
	i.mu.Lock()
	var next crypto.Signer
	switch k := i.key.(type) {
	case *ecdsa.PrivateKey:
		next = newECKey(i.tb, k.Curve)
	case ed25519.PrivateKey:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			i.tb.Errorf("federatedtest: Ed25519 key: %v", err)
		}
		next = priv
	default:
		next = newRSAKey(i.tb)
	}
	i.keys++
	i.key, i.kid = next, fmt.Sprintf("%s-%d", i.name, i.keys)
	i.mu.Unlock()
	i.Publish(old, i.PublicKey())
}

// SetDiscoveredIssuer makes the discovery document name iss as the
// issuer, instead of the fake's own URL: a document that speaks for
// another issuer, which a verifier must not trust.
func (i *Issuer) SetDiscoveredIssuer(iss string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.discovered = iss
}

// SetKeysQuery makes the discovery document's jwks_uri carry the query q,
// as Azure AD B2C's names its policy (…/keys?p=<policy>), and the key set
// answer 404 to a request without exactly that query. Apple's and
// Google's configured key-set URL carry none: it is for OIDC issuers.
func (i *Issuer) SetKeysQuery(q string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keysQuery = q
}

func (i *Issuer) serveKeys(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	b, q := i.jwks, i.keysQuery
	i.mu.Unlock()
	if r.URL.RawQuery != q {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	iss := i.iss
	if i.discovered != "" {
		iss = i.discovered
	}
	alg := i.alg
	jwksURI := i.URL + KeysPath
	if i.keysQuery != "" {
		jwksURI += "?" + i.keysQuery
	}
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwksURI,
		"authorization_endpoint":                i.URL + "/authorize",
		"response_types_supported":              []string{"code", "id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{alg},
	})
}

// Token is what an ID token says. Zero fields take the defaults a vendor
// would put there.
type Token struct {
	// Subject is sub, the player's ID at the vendor.
	Subject string
	// Audience is aud; default the first client ID.
	Audience string
	// Issuer is iss; default the vendor's.
	Issuer string
	// Expiry is exp; default ten minutes from the clock's now.
	Expiry time.Time
	// Nonce is the raw nonce the client sent in its sign-in request. It
	// goes into the nonce claim as the vendor puts it: Apple's is the
	// lower-case hex SHA-256 of it, the others' the nonce itself.
	Nonce string
	// Email goes into email, with email_verified true (Apple's as the
	// string "true", as Apple sends it).
	Email string
	// Claims are set last, over the ones above: to add a claim, or change
	// one to what no vendor sends. A nil value removes the claim.
	Claims map[string]any
}

// Claims returns the claims Mint would sign for t: iss, aud, sub, iat,
// exp, and nonce and email when t has them.
func (i *Issuer) Claims(t Token) map[string]any {
	now := i.now()
	c := map[string]any{
		"iss": cmp.Or(t.Issuer, i.iss),
		"aud": cmp.Or(t.Audience, i.clientIDs[0]),
		"sub": t.Subject,
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
	if !t.Expiry.IsZero() {
		c["exp"] = t.Expiry.Unix()
	}
	if t.Nonce != "" {
		c["nonce"] = i.NonceClaim(t.Nonce)
	}
	if t.Email != "" {
		c["email"] = t.Email
		c["email_verified"] = true
		if i.kind == kindApple {
			c["email_verified"] = "true"
		}
	}
	for k, v := range t.Claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// NonceClaim is the nonce claim the vendor puts in a token for the raw
// nonce: Apple hashes it (lower-case hex SHA-256), the others do not.
func (i *Issuer) NonceClaim(raw string) string {
	if i.kind != kindApple {
		return raw
	}
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Mint returns an ID token for t, signed with the current key under its
// kid.
func (i *Issuer) Mint(t Token) string { return i.Sign(i.Claims(t)) }

// Sign signs claims as they are with the current key under its kid. A
// claim that cannot be encoded as JSON is reported to the test (safe from
// any goroutine), and Sign returns "".
func (i *Issuer) Sign(claims map[string]any) string {
	i.mu.Lock()
	key, kid, alg := i.key, i.kid, i.alg
	i.mu.Unlock()
	tok, err := SignJWS(alg, key, map[string]any{"kid": kid}, claims)
	if err != nil {
		i.tb.Errorf("federatedtest: %s: %v", i.name, err)
	}
	return tok
}

// SignJWS makes a compact JWS of claims with header (alg and typ JWT are
// added, header may override them), signed with key by alg. With a nil
// key the signature is empty, as in an "alg":"none" token; an HMAC alg
// takes a []byte key. It forges what no vendor would send: a test's
// attacker.
func SignJWS(alg string, key any, header, claims map[string]any) (string, error) {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	maps.Copy(h, header)
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	if key == nil {
		return input + ".", nil
	}
	sig, err := jwsbb.Sign(key, alg, []byte(input), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", alg, err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// JWKS renders keys as a JWK set (RFC 7517), each for use "sig".
func JWKS(keys ...PublicKey) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		jk, err := jwk.Import(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.KeyID, err)
		}
		if err := jk.Set(jwk.KeyIDKey, k.KeyID); err != nil {
			return nil, err
		}
		if err := jk.Set(jwk.KeyUsageKey, "sig"); err != nil {
			return nil, err
		}
		if k.Alg != "" {
			alg, ok := jwa.LookupSignatureAlgorithm(k.Alg)
			if !ok {
				return nil, fmt.Errorf("key %q: unknown alg %q", k.KeyID, k.Alg)
			}
			if err := jk.Set(jwk.AlgorithmKey, alg); err != nil {
				return nil, err
			}
		}
		if err := set.AddKey(jk); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

// algOf is the JWS algorithm a vendor signs with a key of pub's type.
func algOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", errors.New("the key must be RSA, ECDSA on P-256, P-384 or P-521, or Ed25519")
}

// newRSAKey makes a 2048-bit RSA key, the size the vendors use.
func newRSAKey(tb testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Errorf("federatedtest: RSA key: %v", err)
	}
	return k
}

func newECKey(tb testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		tb.Errorf("federatedtest: EC key: %v", err)
	}
	return k
}
