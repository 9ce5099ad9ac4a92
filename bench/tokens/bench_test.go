package tokens_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/jwtref"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// Issuer and audience of the benchmarks' tokens.
const (
	benchIss = "https://auth.example.test"
	benchAud = "game"
)

// fixture is a fresh Ed25519 ring with an issuer and a verifier, on a
// clock that stands still, and one token it issued.
type fixture struct {
	now    func() time.Time
	ring   *tokens.Ring
	issuer *tokens.Issuer
	ver    *tokens.Verifier
	token  string
	input  []byte // the token's signing input: header.payload
	sig    []byte // its signature
}

func newFixture(b *testing.B) *fixture {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &fixture{now: func() time.Time { return t0 }}
	ring, err := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: memory.New(), Clock: f.now})
	require.NoError(b, err)
	f.ring = ring
	f.issuer = tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: benchIss, Audience: benchAud})
	f.ver = tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: benchIss, Audience: benchAud})
	f.token, _, err = f.issuer.Issue(claims())
	require.NoError(b, err)
	dot := strings.LastIndexByte(f.token, '.')
	f.input = []byte(f.token[:dot])
	f.sig, err = base64.RawURLEncoding.DecodeString(f.token[dot+1:])
	require.NoError(b, err)
	return f
}

// publicKey is the ring's one Ed25519 key, read from its JWKS as another
// service would read it.
func (f *fixture) publicKey(b *testing.B) ed25519.PublicKey {
	raw, err := f.ring.JWKS()
	require.NoError(b, err)
	keys, err := jwtref.Ed25519Keys(raw)
	require.NoError(b, err)
	require.Len(b, keys, 1, "a fresh ring has one key")
	for _, k := range keys {
		return k
	}
	return nil
}

// claims are a typical player's.
func claims() tokens.Claims {
	return tokens.Claims{
		Subject: "player-1", SessionID: "c2Vzc2lvbi1pZC0wMDAwMQ", OpenID: "open-1",
		Nickname: "Hero", LinkedType: "email", Country: "KR", DeviceID: "device-1",
	}
}

// BenchmarkVerify compares Verify with the physical floor (one Ed25519
// verification of the same signing input) and with golang-jwt/v5 doing the
// same job. cmd/bench quotes it in BENCHMARKS.md under these names.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	pub := f.publicKey(b)

	b.Run("eddsa-uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.ver.Verify(f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("eddsa-cached", func(b *testing.B) {
		v := tokens.NewVerifier(f.ring, tokens.VerifierConfig{Issuer: benchIss, Audience: benchAud, Cache: tokens.NewCache(0, 0)})
		_, err := v.Verify(f.token)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(pub, f.input, f.sig) {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("golang-jwt-eddsa", func(b *testing.B) {
		p := jwtref.NewParser(benchIss, benchAud, f.now)
		keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
		b.ReportAllocs()
		for b.Loop() {
			var c jwtref.Claims
			if _, err := p.ParseWithClaims(f.token, &c, keyFunc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIssue compares Issue with one Ed25519 signature over a signing
// input of the same size.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	// The floor signs with a key of its own: the ring keeps its private key
	// to itself, and an Ed25519 signature costs the same whatever the key.
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(b, err)

	b.Run("eddsa", func(b *testing.B) {
		c := claims()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.issuer.Issue(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ed25519.Sign(priv, f.input)
		}
	})
}
