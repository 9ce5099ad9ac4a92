package tokens

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var b64 = base64.RawURLEncoding

func decodeSegment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	raw, err := b64.DecodeString(strings.Split(tok, ".")[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func encodeJSON(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return b64.EncodeToString(raw)
}

// forger signs any header and claims with the ring's signing key, so that
// tests reach the checks behind the signature. A nil header is the one the
// Issuer writes.
func forger(t testing.TB, f *fixture) func(hdr, claims map[string]any) string {
	k := f.ring.set.Load().signer(f.clock.Now())
	return func(hdr, claims map[string]any) string {
		h := k.header
		if hdr != nil {
			h = encodeJSON(t, hdr)
		}
		input := h + "." + encodeJSON(t, claims)
		sig, err := k.sign([]byte(input))
		require.NoError(t, err)
		return input + "." + b64.EncodeToString(sig)
	}
}

// TestAttacks refuses the attacks of RFC 8725 (and a few more), each with
// ErrTokenInvalid or, for a well-signed expired token, ErrTokenExpired.
func TestAttacks(t *testing.T) {
	f := newFixture(t, RingConfig{})
	sign := forger(t, f)
	k := f.ring.set.Load().signer(f.clock.Now())
	now := f.clock.Now().Unix()
	good := map[string]any{"iss": testIss, "aud": testAud, "sub": "player-1", "sid": "s", "iat": now, "exp": now + 3600}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for n, v := range good {
			m[n] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	valid := sign(nil, good)
	_, err := f.ver.Verify(valid)
	require.NoError(t, err, "the baseline token must verify")
	parts := strings.Split(valid, ".")

	hs256 := func(secret []byte, hdr, claims map[string]any) string {
		input := encodeJSON(t, hdr) + "." + encodeJSON(t, claims)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		return input + "." + b64.EncodeToString(m.Sum(nil))
	}
	_, foreign, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	foreignSigned := func() string {
		input := k.header + "." + encodeJSON(t, good)
		return input + "." + b64.EncodeToString(ed25519.Sign(foreign, []byte(input)))
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	es256Foreign := func() string {
		input := encodeJSON(t, map[string]any{"alg": "ES256", "kid": k.id}) + "." + encodeJSON(t, good)
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, sum[:])
		require.NoError(t, err)
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return input + "." + b64.EncodeToString(sig)
	}
	tamper := func(seg int, mutate func(map[string]any)) string {
		m := decodeSegment(t, valid, seg)
		mutate(m)
		p := append([]string(nil), parts...)
		p[seg] = encodeJSON(t, m)
		return strings.Join(p, ".")
	}

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none, no signature", encodeJSON(t, map[string]any{"alg": "none", "kid": k.id}) + "." + encodeJSON(t, good) + ".", ErrTokenInvalid},
		{"alg none, original signature", encodeJSON(t, map[string]any{"alg": "none", "kid": k.id}) + "." + parts[1] + "." + parts[2], ErrTokenInvalid},
		{"alg None", encodeJSON(t, map[string]any{"alg": "None", "typ": "JWT"}) + "." + encodeJSON(t, good) + ".", ErrTokenInvalid},
		{"HS256 with the Ed25519 public key as secret", hs256(k.edPub, map[string]any{"alg": "HS256", "kid": k.id, "typ": "JWT"}, good), ErrTokenInvalid},
		{"HS256 with the JWKS text as secret", hs256(mustJWKS(t, f), map[string]any{"alg": "HS256", "kid": k.id}, good), ErrTokenInvalid},
		{"ES256 signature under the EdDSA kid", es256Foreign(), ErrTokenInvalid},
		{"kid names no key", sign(map[string]any{"alg": "EdDSA", "kid": "no-such-key"}, good), ErrTokenInvalid},
		{"kid is a path", sign(map[string]any{"alg": "EdDSA", "kid": "../../../../dev/null"}, good), ErrTokenInvalid},
		{"kid is SQL", sign(map[string]any{"alg": "EdDSA", "kid": "x' UNION SELECT 'key' --"}, good), ErrTokenInvalid},
		{"kid missing", sign(map[string]any{"alg": "EdDSA"}, good), ErrTokenInvalid},
		{"kid not a string", sign(map[string]any{"alg": "EdDSA", "kid": 1}, good), ErrTokenInvalid},
		{"crit header", sign(map[string]any{"alg": "EdDSA", "kid": k.id, "crit": []string{"exp"}, "exp": 1}, good), ErrTokenInvalid},
		{"b64 false", sign(map[string]any{"alg": "EdDSA", "kid": k.id, "b64": false}, good), ErrTokenInvalid},
		{"tampered payload: sub", tamper(1, func(m map[string]any) { m["sub"] = "admin" }), ErrTokenInvalid},
		{"tampered payload: exp", tamper(1, func(m map[string]any) { m["exp"] = now + 1e6 }), ErrTokenInvalid},
		{"tampered header: typ", tamper(0, func(m map[string]any) { m["typ"] = "at+jwt" }), ErrTokenInvalid},
		{"tampered header: alg", tamper(0, func(m map[string]any) { m["alg"] = "ES256" }), ErrTokenInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipFirst(parts[2]), ErrTokenInvalid},
		{"signature stripped", parts[0] + "." + parts[1] + ".", ErrTokenInvalid},
		{"signature padded", valid + "==", ErrTokenInvalid},
		{"foreign key under a known kid", foreignSigned(), ErrTokenInvalid},
		{"expired", sign(nil, with("exp", now-3600)), ErrTokenExpired},
		{"not yet valid", sign(nil, with("nbf", now+3600)), ErrTokenInvalid},
		{"wrong iss", sign(nil, with("iss", "https://evil.example")), ErrTokenInvalid},
		{"no iss", sign(nil, with("iss", nil)), ErrTokenInvalid},
		{"wrong aud", sign(nil, with("aud", "admin-api")), ErrTokenInvalid},
		{"no aud", sign(nil, with("aud", nil)), ErrTokenInvalid},
		{"missing exp", sign(nil, with("exp", nil)), ErrTokenInvalid},
		{"exp not a number", sign(nil, with("exp", "tomorrow")), ErrTokenInvalid},
		{"exp absurd", sign(nil, with("exp", 1e300)), ErrTokenInvalid},
		{"no sub", sign(nil, with("sub", nil)), ErrTokenInvalid},
		{"payload not JSON", parts[0] + "." + b64.EncodeToString([]byte("not json")) + "." + parts[2], ErrTokenInvalid},
		{"1 MiB token", parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2], ErrTokenInvalid},
		{"just over the size bound", parts[0] + "." + strings.Repeat("A", MaxTokenSize-len(parts[0])-len(parts[2])-1) + "." + parts[2], ErrTokenInvalid},
		{"empty", "", ErrTokenInvalid},
		{"two segments", parts[0] + "." + parts[1], ErrTokenInvalid},
		{"four segments", valid + "." + parts[2], ErrTokenInvalid},
		{"JWE shape", "a.b.c.d.e", ErrTokenInvalid},
		{"garbage", "not a token", ErrTokenInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ver.Verify(tc.token)
			require.ErrorIs(t, err, tc.want)
			if tc.want == ErrTokenInvalid {
				assert.NotErrorIs(t, err, ErrTokenExpired)
			}
			if len(tc.token) >= 8 {
				assert.NotContains(t, err.Error(), tc.token[:8], "no token in errors")
			}
		})
	}
}

func flipFirst(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func mustJWKS(t testing.TB, f *fixture) []byte {
	raw, err := f.ring.JWKS()
	require.NoError(t, err)
	return raw
}

// An HS256 ring ignores asymmetric keys and an EdDSA ring ignores HMAC keys:
// a token can never pick the other kind.
func TestAlgorithmPinnedByRing(t *testing.T) {
	ed := newFixture(t, RingConfig{})
	hs, err := OpenRing(t.Context(), RingConfig{Store: ed.store, Clock: ed.clock.Now, Algorithm: HS256})
	require.NoError(t, err)
	hsIss := NewIssuer(hs, IssuerConfig{Issuer: testIss, Audience: testAud})
	tok, _, err := hsIss.Issue(testClaims())
	require.NoError(t, err)
	_, err = ed.ver.Verify(tok)
	require.ErrorIs(t, err, ErrTokenInvalid, "an EdDSA ring must not trust an HS256 key in its store")

	edTok, _, err := ed.iss.Issue(testClaims())
	require.NoError(t, err)
	_, err = NewVerifier(hs, VerifierConfig{Issuer: testIss, Audience: testAud}).Verify(edTok)
	require.ErrorIs(t, err, ErrTokenInvalid)
}

// tamperSig changes the first character of tok's signature.
func tamperSig(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	return tok[:i] + flipFirst(tok[i:])
}
