package federated

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
	"github.com/valyala/fastjson"
)

// Limits on what an ID token may be before anything is decoded.
const (
	// MaxIDTokenSize is the longest id_token looked at.
	MaxIDTokenSize = 16 << 10
	maxHeaderSize  = 1 << 10
)

// clockSkew is how far our clock and a vendor's may disagree: on exp, nbf
// and iat, and on Game Center's timestamp in the future.
const clockSkew = time.Minute

// appleIssuer is the iss of every Apple ID token.
const appleIssuer = "https://appleid.apple.com"

// googleIssuers are the two iss values Google uses.
var googleIssuers = []string{"accounts.google.com", "https://accounts.google.com"}

var b64 = base64.RawURLEncoding.Strict()

// nonceRule is how the request's raw nonce appears in the token.
type nonceRule int

const (
	// nonceRaw: the nonce claim is the raw nonce (OpenID Connect Core
	// 3.1.2.1, and Google's Credential Manager).
	nonceRaw nonceRule = iota
	// nonceSHA256: the nonce claim is the lower-case hex SHA-256 of the
	// raw nonce (Sign in with Apple).
	nonceSHA256
)

// idTokenProvider verifies OpenID Connect ID tokens: Apple, Google and the
// generic OIDC issuers differ only in the fields set here.
type idTokenProvider struct {
	name      string
	issuers   []string
	audiences []string
	nonce     nonceRule
	// headerAlg says whether a token's alg is acceptable at all, before a
	// key is looked up (so alg "none" never costs a key-set fetch).
	headerAlg func(alg string) bool
	// keyAlg says whether alg may be verified with k.
	keyAlg func(alg string, k *verifyKey) bool
	// keys returns the provider's key set (for OIDC, after discovery).
	keys func(ctx context.Context) (*keySet, error)
	env  *env
	// scratch holds *scratch: buffers and a JSON parser reused across
	// calls, so that a verification allocates little besides what it
	// returns.
	scratch sync.Pool
}

// scratch is one verification's working memory.
type scratch struct {
	tok    []byte // a copy of the token: the signing input is its prefix
	dec    []byte // the part being decoded (header, signature, payload)
	parser fastjson.Parser
}

// decode decodes the base64url part enc into s.dec.
func (s *scratch) decode(enc []byte) ([]byte, error) {
	s.dec = slices.Grow(s.dec[:0], b64.DecodedLen(len(enc)))
	n, err := b64.Decode(s.dec[:cap(s.dec)], enc)
	return s.dec[:n], err
}

// Name implements Provider.
func (p *idTokenProvider) Name() string { return p.name }

// Verify implements Provider: c.IDToken and, if sent, c.Nonce. The order
// is: shape, header, algorithm, key, signature, and only then the claims.
func (p *idTokenProvider) Verify(ctx context.Context, c Credential) (Identity, error) {
	if c.IDToken == "" {
		return Identity{}, missing("id_token")
	}
	if len(c.IDToken) > MaxIDTokenSize {
		return Identity{}, invalidf(p.name, "id_token longer than %d bytes", MaxIDTokenSize)
	}
	sc, _ := p.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer p.scratch.Put(sc)
	sc.tok = append(sc.tok[:0], c.IDToken...)
	tok := sc.tok
	dot1 := bytes.IndexByte(tok, '.')
	dot2 := bytes.LastIndexByte(tok, '.')
	if dot1 <= 0 || dot1 == dot2 || bytes.IndexByte(tok[dot1+1:dot2], '.') >= 0 {
		return Identity{}, invalidf(p.name, "id_token is not a compact JWS")
	}

	alg, kid, err := p.header(sc, tok[:dot1])
	if err != nil {
		return Identity{}, err
	}
	if !p.headerAlg(alg) {
		return Identity{}, invalidf(p.name, "algorithm %q not accepted", alg)
	}
	ks, err := p.keys(ctx)
	if err != nil {
		return Identity{}, err
	}
	k, err := ks.lookup(ctx, p.name, kid)
	if err != nil {
		return Identity{}, err
	}
	if !p.keyAlg(alg, k) {
		return Identity{}, invalidf(p.name, "algorithm %q does not fit the key", alg)
	}
	sig, err := sc.decode(tok[dot2+1:])
	if err != nil {
		return Identity{}, invalidf(p.name, "signature is not base64url")
	}
	if err := jwsbb.Verify(k.pub, alg, tok[:dot2], sig); err != nil {
		return Identity{}, invalidf(p.name, "bad signature")
	}
	// Only a correctly signed payload reaches the JSON decoder.
	payload, err := sc.decode(tok[dot1+1 : dot2])
	if err != nil {
		return Identity{}, invalidf(p.name, "payload is not base64url")
	}
	return p.claims(sc, payload, c.Nonce)
}

// header returns the protected header's alg and kid. A header with crit is
// refused: we understand no extension.
func (p *idTokenProvider) header(sc *scratch, enc []byte) (alg, kid string, err error) {
	if len(enc) > maxHeaderSize {
		return "", "", invalidf(p.name, "header too long")
	}
	dec, err := sc.decode(enc)
	if err != nil {
		return "", "", invalidf(p.name, "header is not base64url")
	}
	h, err := sc.parser.ParseBytes(dec)
	if err != nil || h.Type() != fastjson.TypeObject {
		return "", "", invalidf(p.name, "header is not a JSON object")
	}
	if h.Exists("crit") {
		return "", "", invalidf(p.name, "header has crit")
	}
	a := h.Get("alg")
	if a == nil || a.Type() != fastjson.TypeString {
		return "", "", invalidf(p.name, "header has no alg")
	}
	alg = string(a.GetStringBytes())
	if v := h.Get("kid"); v != nil {
		if v.Type() != fastjson.TypeString {
			return "", "", invalidf(p.name, "kid is not a string")
		}
		kid = string(v.GetStringBytes())
	}
	return alg, kid, nil
}

// claims checks the signed payload: iss, aud, exp (required), nbf, iat,
// sub, and the nonce when rawNonce is set.
func (p *idTokenProvider) claims(sc *scratch, payload []byte, rawNonce string) (Identity, error) {
	v, err := sc.parser.ParseBytes(payload)
	if err != nil || v.Type() != fastjson.TypeObject {
		return Identity{}, invalidf(p.name, "payload is not a JSON object")
	}
	if !containsBytes(p.issuers, v.GetStringBytes("iss")) {
		return Identity{}, invalidf(p.name, "issuer not accepted")
	}
	if !p.audienceOK(v.Get("aud")) {
		return Identity{}, invalidf(p.name, "audience not accepted")
	}
	now := p.env.now()
	exp, ok := timeClaim(v, "exp")
	switch {
	case !ok:
		return Identity{}, invalidf(p.name, "no valid exp")
	case !now.Before(exp.Add(clockSkew)):
		return Identity{}, invalidf(p.name, "token expired")
	}
	if v.Exists("nbf") {
		nbf, ok := timeClaim(v, "nbf")
		if !ok || now.Add(clockSkew).Before(nbf) {
			return Identity{}, invalidf(p.name, "token not valid yet")
		}
	}
	if v.Exists("iat") {
		iat, ok := timeClaim(v, "iat")
		if !ok || now.Add(clockSkew).Before(iat) {
			return Identity{}, invalidf(p.name, "token issued in the future")
		}
	}
	sub := v.GetStringBytes("sub")
	if len(sub) == 0 {
		return Identity{}, invalidf(p.name, "no sub")
	}
	if rawNonce != "" && !p.nonceOK(v.GetStringBytes("nonce"), rawNonce) {
		if !v.Exists("nonce") {
			return Identity{}, invalidf(p.name, "nonce sent but the token has none")
		}
		return Identity{}, invalidf(p.name, "nonce does not match")
	}
	id := Identity{Provider: p.name, Subject: string(sub)}
	if emailVerified(v.Get("email_verified")) {
		id.Email = string(v.GetStringBytes("email"))
	}
	return id, nil
}

// nonceOK compares the token's nonce claim with the request's raw nonce,
// as the provider's rule says it appears.
func (p *idTokenProvider) nonceOK(claim []byte, rawNonce string) bool {
	if claim == nil {
		return false
	}
	if p.nonce == nonceSHA256 {
		sum := sha256.Sum256([]byte(rawNonce))
		var want [2 * sha256.Size]byte
		hex.Encode(want[:], sum[:])
		return subtle.ConstantTimeCompare(claim, want[:]) == 1
	}
	return subtle.ConstantTimeCompare(claim, []byte(rawNonce)) == 1
}

// containsBytes is slices.Contains for a []byte, without converting it.
func containsBytes(list []string, b []byte) bool {
	for _, s := range list {
		if string(b) == s {
			return true
		}
	}
	return false
}

// audienceOK: aud is one accepted client ID, or an array of them. An array
// with any audience we do not know is refused (OpenID Connect Core 3.1.3.7:
// untrusted additional audiences).
func (p *idTokenProvider) audienceOK(aud *fastjson.Value) bool {
	if aud == nil {
		return false
	}
	switch aud.Type() {
	case fastjson.TypeString:
		return containsBytes(p.audiences, aud.GetStringBytes())
	case fastjson.TypeArray:
		arr, _ := aud.Array()
		if len(arr) == 0 {
			return false
		}
		for _, a := range arr {
			if a.Type() != fastjson.TypeString || !containsBytes(p.audiences, a.GetStringBytes()) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// timeClaim reads a NumericDate claim.
func timeClaim(v *fastjson.Value, name string) (time.Time, bool) {
	c := v.Get(name)
	if c == nil || c.Type() != fastjson.TypeNumber {
		return time.Time{}, false
	}
	f, err := c.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// emailVerified reads email_verified, which Apple sends as a string.
func emailVerified(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeString:
		return string(v.GetStringBytes()) == "true"
	default:
		return false
	}
}

// onlyRS256 is Apple's and Google's policy: they sign with RS256 only.
func onlyRS256(alg string) bool { return alg == "RS256" }

// rs256Key: an RSA key that declares RS256 or nothing.
func rs256Key(alg string, k *verifyKey) bool {
	_, ok := k.pub.(*rsa.PublicKey)
	return ok && alg == "RS256" && (k.alg == "" || k.alg == "RS256")
}

// asymmetric is every signature algorithm an OIDC issuer may use: never
// "none", never an HMAC (whose secret would be the public key).
func asymmetric(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519":
		return true
	}
	return false
}

// oidcKey: the key's declared alg, or, when it declares none, RS256 for an
// RSA key and ES256 for a P-256 key; always of the key's type and curve.
func oidcKey(alg string, k *verifyKey) bool {
	if k.alg != "" {
		return alg == k.alg && fits(alg, k.pub)
	}
	switch k.pub.(type) {
	case *rsa.PublicKey:
		return alg == "RS256"
	case *ecdsa.PublicKey:
		return alg == "ES256" && fits(alg, k.pub)
	}
	return false
}

// fits reports whether alg is an asymmetric algorithm for pub's type and
// curve.
func fits(alg string, pub any) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, ok := pub.(*rsa.PublicKey)
		return ok
	case "ES256":
		return onCurve(pub, elliptic.P256())
	case "ES384":
		return onCurve(pub, elliptic.P384())
	case "ES512":
		return onCurve(pub, elliptic.P521())
	case "EdDSA", "Ed25519":
		_, ok := pub.(ed25519.PublicKey)
		return ok
	}
	return false
}

func onCurve(pub any, c elliptic.Curve) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == c
}
