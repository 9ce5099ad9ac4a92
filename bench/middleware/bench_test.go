package middleware_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/jwtref"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// Issuer and audience of the benchmark's tokens, as gameauth.New sets them.
const (
	benchIss = "gameauth"
	benchAud = "gameauth"
)

// benchRevoked is how many revoked sessions the view holds during the
// benchmark, so its lookups are not into an empty map.
const benchRevoked = 10_000

// BenchmarkMiddleware measures what authentication adds to a trivial handler:
//
//   - none: the handler alone;
//   - cached: our middleware, wired as gameauth.New wires it (a verified-token
//     cache, a revocation view holding 10,000 revoked sessions), with a token
//     it has seen before;
//   - uncached: the same, with a token it has never seen: every iteration
//     presents one of b.N distinct tokens issued before the timer starts;
//   - golang-jwt: the same handler behind the middleware a user would write
//     with golang-jwt/v5 instead (parse with a key func by kid, validate
//     alg, iss, aud and exp, put the claims in the context);
//   - floor-context: the handler behind a middleware that only puts a
//     value in a copy of the request's context, as every authenticating
//     middleware must (the request copy and the context value net/http
//     imposes): the floor a cached request cannot go below;
//   - floor-ed25519: the handler after one crypto/ed25519 verification of
//     the token's signature over its signing input (decoded before the
//     timer starts): the floor an uncached request cannot go below. It
//     verifies the same b.N distinct tokens as uncached, in the same order:
//     Ed25519 verification takes variable time, and one token verified
//     again and again stays in the CPU's caches: a floor below what
//     verifying the tokens uncached is given costs.
//
// cmd/bench runs it and quotes it in BENCHMARKS.md under these sub-benchmark
// names.
func BenchmarkMiddleware(b *testing.B) {
	f := newBenchFixture(b)
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	serve := func(b *testing.B, h http.Handler, toks []string) {
		b.Helper()
		r := httptest.NewRequest(http.MethodGet, "/game", nil)
		w := &nopWriter{h: http.Header{}}
		vals := make([][]string, len(toks))
		for i, t := range toks {
			vals[i] = []string{"Bearer " + t}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			r.Header["Authorization"] = vals[i%len(vals)]
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	one := []string{f.issue(b)}

	b.Run("none", func(b *testing.B) { serve(b, handler, one) })
	b.Run("cached", func(b *testing.B) {
		h := f.auth.Require(handler)
		serve(b, h, one) // the first request fills the cache
	})
	b.Run("uncached", func(b *testing.B) {
		toks := make([]string, b.N)
		for i := range toks {
			toks[i] = f.issue(b)
		}
		serve(b, f.auth.Require(handler), toks)
	})
	b.Run("golang-jwt", func(b *testing.B) {
		serve(b, golangJWT(b, f.ring, handler), one)
	})
	b.Run("floor-context", func(b *testing.B) {
		serve(b, contextFloor(handler), one)
	})
	b.Run("floor-ed25519", func(b *testing.B) {
		toks := make([]string, b.N)
		for i := range toks {
			toks[i] = f.issue(b)
		}
		serve(b, ed25519Floor(b, f.ring, toks, handler), toks)
	})
}

// floorKey is the context key of floor-context's value.
type floorKey struct{}

// contextFloor is next behind a middleware that only hands a player on in
// a copy of the request's context: next is an http.Handler it knows nothing
// of, as for any middleware, so the copy goes to the heap.
func contextFloor(next http.Handler) http.Handler {
	p := &middleware.Player{UserUniqueID: "0b6d3c1e-8f0a-4c63-9d2e-5a7b1f4e2c90"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), floorKey{}, p)))
	})
}

// ed25519Floor is next after one ed25519.Verify of the signature of the
// request's token, one of toks: what checking a token costs at the least.
func ed25519Floor(b *testing.B, ring *tokens.Ring, toks []string, next http.Handler) http.Handler {
	raw, err := ring.JWKS()
	require.NoError(b, err)
	keys, err := jwtref.Ed25519Keys(raw)
	require.NoError(b, err)
	require.Len(b, keys, 1)
	var pub ed25519.PublicKey
	for _, k := range keys {
		pub = k
	}
	inputs := make([][]byte, len(toks))
	sigs := make([][]byte, len(toks))
	for i, tok := range toks {
		dot := strings.LastIndexByte(tok, '.')
		inputs[i] = []byte(tok[:dot])
		sigs[i], err = base64.RawURLEncoding.DecodeString(tok[dot+1:])
		require.NoError(b, err)
	}
	// serve presents toks in order, a request each: the n-th request
	// carries toks[n%len(toks)].
	n := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n % len(toks)
		n++
		if !ed25519.Verify(pub, inputs[i], sigs[i]) {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// benchFixture is our middleware as gameauth.New wires it.
type benchFixture struct {
	ring   *tokens.Ring
	issuer *tokens.Issuer
	auth   *middleware.Authenticator
}

func newBenchFixture(b *testing.B) *benchFixture {
	ctx := context.Background()
	store := memory.New() // the keys, and the feed the view would reconcile from
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: store})
	require.NoError(b, err)
	cache := tokens.NewCache(tokens.DefaultCacheEntries, time.Hour)
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: benchIss, Audience: benchAud, Cache: cache})
	view := revocation.New(store, revocation.Config{})
	now := time.Now()
	revs := make([]storage.Revocation, benchRevoked)
	for i := range revs {
		revs[i] = storage.Revocation{SessionID: fmt.Sprintf("revoked-%d", i), AccountID: "a", Reason: storage.ReasonSignedOut, At: now}
	}
	view.SessionsRevoked(ctx, revs)
	return &benchFixture{
		ring:   ring,
		issuer: tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: benchIss, Audience: benchAud}),
		auth:   middleware.New(verifier, view, middleware.Config{}),
	}
}

// issue signs a fresh token (a new jti every time) of a typical player.
func (f *benchFixture) issue(b *testing.B) string {
	tok, _, err := f.issuer.Issue(tokens.Claims{
		Subject: "0b6d3c1e-8f0a-4c63-9d2e-5a7b1f4e2c90", SessionID: "Zk3v9QxW2pL8mN4rT6yB1c",
		OpenID: "k7m2q9x4w8r3t6y1b5n0c2v4", Nickname: "Hero", LinkedType: "email",
		Country: "KR", DeviceID: "device-0001",
	})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// nopWriter is a ResponseWriter that keeps only the status.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

// gameClaimsKey is the context key of the claims golangJWT verified.
type gameClaimsKey struct{}

// golangJWT is the straightforward golang-jwt/v5 middleware: public keys by
// kid from the JWKS, EdDSA only, iss, aud and exp checked with 30s leeway,
// the claims put in the request context.
func golangJWT(b *testing.B, ring *tokens.Ring, next http.Handler) http.Handler {
	raw, err := ring.JWKS()
	require.NoError(b, err)
	keys, err := jwtref.Ed25519Keys(raw)
	require.NoError(b, err)
	parser := jwtref.NewParser(benchIss, benchAud, nil)
	keyFunc := jwtref.KeyFunc(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "missing token", http.StatusUnauthorized)
			return
		}
		var c jwtref.Claims
		if _, err := parser.ParseWithClaims(tok, &c, keyFunc); err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gameClaimsKey{}, &c)))
	})
}
