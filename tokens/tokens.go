package tokens

import (
	"crypto/sha256"
	"errors"
	"time"

	"github.com/gameauth/gameauth/internal/wallclock"
)

// Errors reported by Verify and the refresh-token functions, matched with
// errors.Is. Returned errors may wrap them with a short reason; they never
// carry the token itself.
var (
	// ErrTokenInvalid: the token is malformed, badly signed, signed by an
	// unknown key, meant for another issuer or audience, not yet valid, or
	// (refresh tokens) not minted by this ring's server secret.
	ErrTokenInvalid = errors.New("tokens: token invalid")
	// ErrTokenExpired: the token is well formed and correctly signed, but
	// past its exp (plus the verifier's skew).
	ErrTokenExpired = errors.New("tokens: token expired")
	// ErrKeyUnsealable: a stored private key could not be opened: wrong or
	// missing key-encryption key, or a corrupt record. OpenRing fails with
	// it rather than make a new ring, which would sign every player out.
	ErrKeyUnsealable = errors.New("tokens: stored key cannot be unsealed")
)

// Algorithm is a JWS signature algorithm (RFC 7518 name).
type Algorithm string

// Algorithms a ring can sign with.
const (
	// EdDSA is Ed25519: the default, small and fast.
	EdDSA Algorithm = "EdDSA"
	// ES256 is ECDSA on P-256 with SHA-256, for verifiers without Ed25519.
	ES256 Algorithm = "ES256"
	// HS256 is HMAC-SHA256. Only other holders of the secret can verify it,
	// so it is never published in the JWKS and never chosen by default.
	HS256 Algorithm = "HS256"
)

func (a Algorithm) valid() bool { return a == EdDSA || a == ES256 || a == HS256 }

// Claims are the claims of an access token.
type Claims struct {
	Subject    string // sub: the player's internal ID
	SessionID  string // sid
	OpenID     string // open_id: the player's public ID
	Nickname   string // nickname
	LinkedType string // linked_type: email, guest or a provider
	Country    string // country
	DeviceID   string // device_id
	ID         string // jti
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// HashSecret returns the SHA-256 of s: the form in which refresh tokens,
// guest keys, withdrawal keys and reset codes are stored and looked up. The
// secrets hashed are high-entropy (or short-lived and attempt-limited), so a
// fast hash is enough.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func clockOrNow(c func() time.Time) func() time.Time {
	if c != nil {
		return c
	}
	return wallclock.Now
}
