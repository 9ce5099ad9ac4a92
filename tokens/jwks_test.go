package tokens

import (
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJWKSInterop is what a second service does with a JOSE library and
// only the served JWKS: it parses the key set, verifies a token with the key
// its kid names, and validates iss, aud and exp. jwx's jwt.Parse does all of
// it here, none of it through the Verifier.
func TestJWKSInterop(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, RingConfig{Algorithm: alg})
			tok, issued, err := f.iss.Issue(testClaims())
			require.NoError(t, err)

			raw, err := f.ring.JWKS()
			require.NoError(t, err)
			set, err := jwk.Parse(raw)
			require.NoError(t, err)
			require.Positive(t, set.Len())
			for i := range set.Len() {
				k, _ := set.Key(i)
				use, _ := k.KeyUsage()
				assert.Equal(t, "sig", use)
				// The key's alg is what pins the algorithm for jwx, as
				// a list of valid methods would for another library.
				ka, ok := k.Algorithm()
				require.True(t, ok, "every key names its alg")
				assert.Equal(t, string(alg), ka.String())
			}
			parse := func(tok string) (jwt.Token, error) {
				return jwt.Parse([]byte(tok), jwt.WithKeySet(set),
					jwt.WithValidate(true), jwt.WithIssuer(testIss), jwt.WithAudience(testAud),
					jwt.WithRequiredClaim(jwt.ExpirationKey), jwt.WithClock(jwt.ClockFunc(f.clock.Now)))
			}

			parsed, err := parse(tok)
			require.NoError(t, err)
			sub, _ := parsed.Subject()
			assert.Equal(t, issued.Subject, sub)
			var sid, nickname string
			require.NoError(t, parsed.Get("sid", &sid))
			require.NoError(t, parsed.Get("nickname", &nickname))
			assert.Equal(t, issued.SessionID, sid)
			assert.Equal(t, issued.Nickname, nickname)
			jti, _ := parsed.JwtID()
			assert.Equal(t, issued.ID, jti)
			exp, ok := parsed.Expiration()
			require.True(t, ok)
			assert.True(t, issued.ExpiresAt.Equal(exp))

			// A tampered token fails there too.
			_, err = parse(tamperSig(tok))
			require.Error(t, err)
		})
	}
}
