package tokens

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jwksKeyFunc is what a second service does with golang-jwt and no jwx: read
// the served JWKS, and pick the key by kid.
func jwksKeyFunc(t *testing.T, raw []byte) jwt.Keyfunc {
	var set struct {
		Keys []struct {
			Kty, Crv, Kid, Alg, Use, X, Y string
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(raw, &set))
	keys := map[string]any{}
	for _, k := range set.Keys {
		x, err := b64.DecodeString(k.X)
		require.NoError(t, err)
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519":
			keys[k.Kid] = ed25519.PublicKey(x)
		case k.Kty == "EC" && k.Crv == "P-256":
			y, err := b64.DecodeString(k.Y)
			require.NoError(t, err)
			pub, err := ecdsa.ParseUncompressedPublicKey(ecdsaCurve(), append(append([]byte{4}, x...), y...))
			require.NoError(t, err)
			keys[k.Kid] = pub
		default:
			t.Fatalf("unexpected key type %s/%s", k.Kty, k.Crv)
		}
		assert.Equal(t, "sig", k.Use)
	}
	return func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
}

func TestJWKSInteropGolangJWT(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, RingConfig{Algorithm: alg})
			tok, issued, err := f.iss.Issue(testClaims())
			require.NoError(t, err)

			raw, err := f.ring.JWKS()
			require.NoError(t, err)
			p := jwt.NewParser(
				jwt.WithValidMethods([]string{string(alg)}),
				jwt.WithIssuer(testIss), jwt.WithAudience(testAud),
				jwt.WithExpirationRequired(), jwt.WithTimeFunc(f.clock.Now),
			)
			var c jwtClaims
			parsed, err := p.ParseWithClaims(tok, &c, jwksKeyFunc(t, raw))
			require.NoError(t, err)
			assert.True(t, parsed.Valid)
			assert.Equal(t, issued.Subject, c.Subject)
			assert.Equal(t, issued.SessionID, c.SessionID)
			assert.Equal(t, issued.Nickname, c.Nickname)
			assert.Equal(t, issued.ID, c.ID)
			assert.True(t, issued.ExpiresAt.Equal(c.ExpiresAt.Time))

			// A tampered token fails there too.
			_, err = p.ParseWithClaims(tamperSig(tok), &jwtClaims{}, jwksKeyFunc(t, raw))
			require.Error(t, err)
		})
	}
}

func ecdsaCurve() elliptic.Curve { return elliptic.P256() }
