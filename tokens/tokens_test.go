package tokens

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, RingConfig{Algorithm: alg})
			tok, issued, err := f.iss.Issue(testClaims())
			require.NoError(t, err)
			assert.NotEmpty(t, issued.ID)
			assert.Equal(t, f.clock.Now(), issued.IssuedAt)
			assert.Equal(t, f.clock.Now().Add(time.Hour), issued.ExpiresAt)
			assert.Equal(t, time.Hour, f.iss.TTL())

			got, err := f.ver.Verify(tok)
			require.NoError(t, err)
			assert.Equal(t, issued.Subject, got.Subject)
			assert.Equal(t, issued.SessionID, got.SessionID)
			assert.Equal(t, issued.OpenID, got.OpenID)
			assert.Equal(t, issued.Nickname, got.Nickname)
			assert.Equal(t, issued.LinkedType, got.LinkedType)
			assert.Equal(t, issued.Country, got.Country)
			assert.Equal(t, issued.DeviceID, got.DeviceID)
			assert.Equal(t, issued.ID, got.ID)
			assert.True(t, issued.IssuedAt.Equal(got.IssuedAt))
			assert.True(t, issued.ExpiresAt.Equal(got.ExpiresAt))

			hdr := decodeSegment(t, tok, 0)
			assert.Equal(t, string(alg), hdr["alg"])
			assert.Equal(t, f.ring.set.Load().signer(f.clock.Now()).id, hdr["kid"])
			body := decodeSegment(t, tok, 1)
			for _, name := range []string{"iss", "aud", "sub", "sid", "iat", "exp", "jti", "open_id", "nickname", "linked_type", "country", "device_id"} {
				assert.Contains(t, body, name)
			}
		})
	}
}

func TestIssueUniqueJTI(t *testing.T) {
	f := newFixture(t, RingConfig{})
	_, a, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	_, b, err := f.iss.Issue(testClaims())
	require.NoError(t, err)
	assert.NotEqual(t, a.ID, b.ID)
}

func TestIssueNeedsSubject(t *testing.T) {
	f := newFixture(t, RingConfig{})
	_, _, err := f.iss.Issue(Claims{})
	require.Error(t, err)
}

func TestVerifyExpiryAndSkew(t *testing.T) {
	f := newFixture(t, RingConfig{})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(t, err)

	f.clock.Advance(time.Hour) // at exp, inside the 30s skew
	_, err = f.ver.Verify(tok)
	require.NoError(t, err)

	f.clock.Advance(DefaultSkew)
	_, err = f.ver.Verify(tok)
	require.ErrorIs(t, err, ErrTokenExpired)
	require.NotErrorIs(t, err, ErrTokenInvalid)

	strict := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Skew: -1})
	f.clock.Advance(-DefaultSkew - time.Second)
	_, err = strict.Verify(tok)
	require.NoError(t, err)
	f.clock.Advance(time.Second)
	_, err = strict.Verify(tok)
	require.ErrorIs(t, err, ErrTokenExpired)
}

func TestVerifyAudienceArray(t *testing.T) {
	f := newFixture(t, RingConfig{})
	sign := forger(t, f)
	now := f.clock.Now().Unix()
	for _, tc := range []struct {
		aud any
		ok  bool
	}{
		{[]string{"other", testAud}, true},
		{[]string{"other"}, false},
		{[]string{}, false},
		{testAud, true},
		{nil, false},
	} {
		claims := map[string]any{"iss": testIss, "sub": "p", "exp": now + 60}
		if tc.aud != nil {
			claims["aud"] = tc.aud
		}
		_, err := f.ver.Verify(sign(nil, claims))
		if tc.ok {
			assert.NoError(t, err, "%v", tc.aud)
		} else {
			assert.ErrorIs(t, err, ErrTokenInvalid, "%v", tc.aud)
		}
	}
}

func TestVerifyFractionalDates(t *testing.T) {
	f := newFixture(t, RingConfig{})
	sign := forger(t, f)
	now := float64(f.clock.Now().Unix())
	got, err := f.ver.Verify(sign(nil, map[string]any{"iss": testIss, "aud": testAud, "sub": "p", "exp": now + 10.5, "iat": now}))
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now().Add(10500*time.Millisecond), got.ExpiresAt)
}

func TestJWKSHasOnlyPublicKeys(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256} {
		f := newFixture(t, RingConfig{Algorithm: alg})
		_, err := f.ring.Rotate(context.Background())
		require.NoError(t, err)
		raw, err := f.ring.JWKS()
		require.NoError(t, err)
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		require.NoError(t, json.Unmarshal(raw, &set))
		require.Len(t, set.Keys, 2)
		for _, k := range set.Keys {
			assert.NotContains(t, k, "d", "private part")
			assert.NotContains(t, k, "k", "symmetric key")
			assert.Equal(t, string(alg), k["alg"])
			assert.Equal(t, "sig", k["use"])
			assert.NotEmpty(t, k["kid"])
		}
	}
	f := newFixture(t, RingConfig{Algorithm: HS256})
	raw, err := f.ring.JWKS()
	require.NoError(t, err)
	assert.JSONEq(t, `{"keys":[]}`, string(raw))
}

func TestMAC(t *testing.T) {
	f := newFixture(t, RingConfig{})
	a := f.ring.MAC("withdrawal", []byte("ab"), []byte("c"))
	assert.Len(t, a, 32)
	assert.Equal(t, a, f.ring.MAC("withdrawal", []byte("ab"), []byte("c")))
	assert.NotEqual(t, a, f.ring.MAC("withdrawal", []byte("a"), []byte("bc")), "parts are length-prefixed")
	assert.NotEqual(t, a, f.ring.MAC("other", []byte("ab"), []byte("c")), "label counts")

	// A second process on the same store shares the secret.
	r2, err := OpenRing(context.Background(), RingConfig{Store: f.store, Clock: f.clock.Now})
	require.NoError(t, err)
	assert.Equal(t, a, r2.MAC("withdrawal", []byte("ab"), []byte("c")))
	assert.Equal(t, 1, f.store.count(useSecret))
}

func TestHashSecret(t *testing.T) {
	assert.Len(t, HashSecret("x"), 32)
	assert.Equal(t, HashSecret("x"), HashSecret("x"))
	assert.NotEqual(t, HashSecret("x"), HashSecret("y"))
}
