package jwtref_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/jwtref"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

func TestEd25519Keys(t *testing.T) {
	tests := []struct {
		name    string
		jwks    string
		wantKid string
		wantErr string
	}{
		{"one Ed25519 key", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`, "k1", ""},
		{"other key types are skipped", `{"keys":[{"kty":"EC","crv":"P-256","kid":"e1","x":"AA","y":"AA"},` +
			`{"kty":"OKP","crv":"Ed25519","kid":"k2","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`, "k2", ""},
		{"no Ed25519 key", `{"keys":[{"kty":"EC","crv":"P-256","kid":"e1","x":"AA","y":"AA"}]}`, "", "no Ed25519 key"},
		{"x of the wrong size", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"AAAA"}]}`, "", `key "k1": bad x`},
		{"x not base64url", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"*"}]}`, "", `key "k1": bad x`},
		{"not JSON", `{"keys":`, "", "jwks:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := jwtref.Ed25519Keys([]byte(tt.jwks))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, keys, 1)
			assert.Len(t, keys[tt.wantKid], ed25519.PublicKeySize)
		})
	}
}

// The reference accepts what the library issues, with the keys its JWKS
// serves, and refuses what the verifier would refuse: else the benchmarks
// would compare unlike work.
func TestReferenceVerifiesTheLibrarysTokens(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return t0 }
	ring, err := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: memory.New(), Clock: now})
	require.NoError(t, err)
	issue := func(iss, aud string) string {
		issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: iss, Audience: aud})
		tok, _, err := issuer.Issue(tokens.Claims{Subject: "p1", SessionID: "s1", Nickname: "Hero"})
		require.NoError(t, err)
		return tok
	}
	raw, err := ring.JWKS()
	require.NoError(t, err)
	keys, err := jwtref.Ed25519Keys(raw)
	require.NoError(t, err)
	p := jwtref.NewParser("iss", "aud", now)

	var c jwtref.Claims
	_, err = p.ParseWithClaims(issue("iss", "aud"), &c, jwtref.KeyFunc(keys))
	require.NoError(t, err)
	assert.Equal(t, "p1", c.Subject)
	assert.Equal(t, "s1", c.SessionID)
	assert.Equal(t, "Hero", c.Nickname)

	_, err = p.ParseWithClaims(issue("other", "aud"), &jwtref.Claims{}, jwtref.KeyFunc(keys))
	require.ErrorIs(t, err, jwt.ErrTokenInvalidIssuer)
	_, err = p.ParseWithClaims(issue("iss", "other"), &jwtref.Claims{}, jwtref.KeyFunc(keys))
	require.ErrorIs(t, err, jwt.ErrTokenInvalidAudience)
	_, err = p.ParseWithClaims(issue("iss", "aud"), &jwtref.Claims{}, jwtref.KeyFunc(map[string]ed25519.PublicKey{}))
	require.ErrorIs(t, err, jwt.ErrTokenUnverifiable, "a kid not in the set")

	late := jwtref.NewParser("iss", "aud", func() time.Time { return t0.Add(tokens.DefaultTTL + tokens.DefaultSkew + time.Second) })
	_, err = late.ParseWithClaims(issue("iss", "aud"), &jwtref.Claims{}, jwtref.KeyFunc(keys))
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
}
