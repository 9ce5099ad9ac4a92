// Package tokens is everything about tokens and nothing about HTTP or SQL:
// the signing key ring, access tokens (JWTs), and rotating refresh tokens.
//
// # Key ring
//
// A [Ring] holds Ed25519 signing keys by default ([EdDSA]); [ES256] is an
// option, and [HS256] is used only when asked for, since other services
// cannot verify it without the secret. Every key has a kid. The newest key
// whose ActiveAt has come signs; older keys keep verifying for
// RingConfig.VerifyFor after they were superseded (the access-token TTL plus
// skew), and then drop out, and [Ring.Reload] deletes them from the store.
// [Ring.Rotate] adds a key; with RingConfig.Propagation it signs only once
// every process has had time to load it, and [Ring.JWKS] publishes it
// before it signs. Keys live in a storage.Keys, shared by every process and
// kept across restarts; private parts can be sealed with AES-256-GCM under a
// key-encryption key, and a wrong one fails with [ErrKeyUnsealable] rather
// than make a fresh ring. The ring also keeps a server secret for
// [Ring.MAC] and the refresh tokens.
//
// # Access tokens
//
// An [Issuer] signs JWTs with jwx (the jws building blocks, with the raw key
// and a header precomputed per key) carrying iss, aud, sub (the player ID),
// sid, iat, exp, jti and the player claims open_id, nickname, linked_type,
// country and device_id.
//
// A [Verifier] refuses tokens over [MaxTokenSize] before decoding anything,
// finds the key by kid, takes the algorithm from the key and never from the
// token, checks the signature before it decodes the claims, and then checks
// iss, aud, exp (required) and nbf with a small skew (DefaultSkew, 30s).
// Errors match [ErrTokenExpired] for a correctly signed token past exp and
// [ErrTokenInvalid] for everything else. It never touches jwx's process-wide
// settings. With a [Cache] (see [NewCache]: go-cache, bounded), a token seen
// again skips signature verification until its exp.
//
// # Refresh tokens
//
// Refresh tokens are opaque: "<session ID>.<base64url body>", 256 bits of
// secret plus a generation and a MAC tag under the server secret, so that the
// store finds the session by key and forgeries are refused without a lookup.
// Only [HashSecret] of a token is stored. The successor of a token is
// derived from it ([Ring.NextRefreshToken]), so a retried refresh inside the
// grace window gets the same successor again and a session never has more
// than one live refresh token.
//
// # Clocks
//
// Every type takes a clock (nil: time.Now); nothing reads the time behind
// the caller's back. (go-cache's own timers reclaim memory by the wall
// clock, but whether an entry answers is decided by the clock passed in.)
//
// # Performance
//
// Verify's floor is one crypto/ed25519.Verify over the same signing input;
// Issue's is one ed25519.Sign. golang-jwt-eddsa is golang-jwt/v5 parsing and
// validating the same token, with the same key, into a claims struct: what a
// user would pick instead. The uncached path owes its margin to a header
// matched byte for byte against the ring's own, and claims read with
// fastjson after the signature check; the cached path is one map lookup
// keyed by the token itself.
//
// Measured by go generate on AMD EPYC (GOMAXPROCS 2), fastest of 5 runs:
//
//	benchmark                        ns/op allocs/op   B/op  × floor
//	Verify/eddsa-uncached          63298.0        14    921    1.032
//	Verify/eddsa-cached              111.4         0      0    0.002
//	Verify/floor-ed25519           61329.0         0      0    1.000
//	Verify/golang-jwt-eddsa        70727.0        58   3376    1.153
//	Issue/eddsa                    29562.0         7   1600    1.069
//	Issue/floor-ed25519            27664.0         0      0    1.000
//
// Targets in the same run:
//
//   - uncached verify ≤ 1.15× the floor (1.032×): met
//   - cached verify ≤ 1 µs and ≤ 3 allocs (111 ns, 0 allocs): met
//   - uncached verify faster than golang-jwt (0.895× its time): met
//   - issue ≤ 1.3× the signing floor (1.069×): met
//
//go:generate sh -c "for i in 1 2 3 4 5; do go test -run '^$' -bench . -benchmem . || exit 1; done | go run ./internal/benchtable doc.go"
package tokens
