package tokens

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// jwtClaims is what a golang-jwt user would decode the same token into.
type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID  string `json:"sid"`
	OpenID     string `json:"open_id"`
	Nickname   string `json:"nickname"`
	LinkedType string `json:"linked_type"`
	Country    string `json:"country"`
	DeviceID   string `json:"device_id"`
}

// BenchmarkVerify compares Verify with the physical floor (one Ed25519
// verification of the same signing input) and with golang-jwt/v5 doing the
// same job.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, RingConfig{})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(b, err)
	k := f.ring.set.Load().signer(f.clock.Now())
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig, err := b64.DecodeString(tok[dot+1:])
	require.NoError(b, err)

	b.Run("eddsa-uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.ver.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("eddsa-cached", func(b *testing.B) {
		v := NewVerifier(f.ring, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: NewCache(0, 0)})
		_, err := v.Verify(tok)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(k.edPub, input, sig) {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("golang-jwt-eddsa", func(b *testing.B) {
		p := jwt.NewParser(
			jwt.WithValidMethods([]string{"EdDSA"}),
			jwt.WithIssuer(testIss), jwt.WithAudience(testAud),
			jwt.WithExpirationRequired(), jwt.WithLeeway(DefaultSkew),
			jwt.WithTimeFunc(f.clock.Now),
		)
		keyFunc := func(t *jwt.Token) (any, error) { return k.edPub, nil }
		b.ReportAllocs()
		for b.Loop() {
			var c jwtClaims
			if _, err := p.ParseWithClaims(tok, &c, keyFunc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIssue compares Issue with one Ed25519 signature over a signing
// input of the same size.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b, RingConfig{})
	tok, _, err := f.iss.Issue(testClaims())
	require.NoError(b, err)
	k := f.ring.set.Load().signer(f.clock.Now())
	input := []byte(tok[:strings.LastIndexByte(tok, '.')])

	b.Run("eddsa", func(b *testing.B) {
		c := testClaims()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.iss.Issue(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ed25519.Sign(k.edPriv, input)
		}
	})
}
