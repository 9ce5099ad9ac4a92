// Package jwtref is what a user would write with golang-jwt/v5 instead of
// gameauth's verifier: the reference the tokens and middleware benchmarks
// compare with. It lives in the bench module so that golang-jwt is no
// dependency of the library's.
package jwtref

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gameauth/gameauth/tokens"
)

// Claims is what a golang-jwt user would decode gameauth's access tokens
// into.
type Claims struct {
	jwt.RegisteredClaims
	SessionID  string `json:"sid"`
	OpenID     string `json:"open_id"`
	Nickname   string `json:"nickname"`
	LinkedType string `json:"linked_type"`
	Country    string `json:"country"`
	DeviceID   string `json:"device_id"`
}

// NewParser validates what tokens.Verifier validates: EdDSA only, iss and
// aud, exp required, with the verifier's default skew. A nil now means the
// wall clock.
func NewParser(issuer, audience string, now func() time.Time) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(tokens.DefaultSkew),
	}
	if now != nil {
		opts = append(opts, jwt.WithTimeFunc(now))
	}
	return jwt.NewParser(opts...)
}

// Ed25519Keys reads the Ed25519 public keys of a JWKS document by kid, as a
// user's service would from /.well-known/jwks.json.
func Ed25519Keys(jwks []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty, Crv, Kid, X string
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("jwks: key %q: bad x", k.Kid)
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no Ed25519 key")
	}
	return keys, nil
}

// KeyFunc picks the key by the token's kid.
func KeyFunc(keys map[string]ed25519.PublicKey) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	}
}
