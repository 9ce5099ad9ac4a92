package tokens

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// DefaultTTL is the default lifetime of an access token.
const DefaultTTL = time.Hour

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	Issuer   string        // iss; the verifier must expect the same
	Audience string        // aud; the verifier must expect the same
	TTL      time.Duration // lifetime of a token; default DefaultTTL
	Clock    func() time.Time
}

// Issuer signs access tokens with the ring's current key.
type Issuer struct {
	ring     *Ring
	issuer   string
	audience string
	ttl      time.Duration
	clock    func() time.Time
}

// NewIssuer returns an Issuer signing with r. A nil Clock means the ring's.
func NewIssuer(r *Ring, cfg IssuerConfig) *Issuer {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = r.clock
	}
	return &Issuer{ring: r, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL, clock: cfg.Clock}
}

// TTL returns the lifetime of the tokens it issues.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// wireClaims is the JSON payload of an access token.
type wireClaims struct {
	Iss        string `json:"iss,omitempty"`
	Sub        string `json:"sub"`
	Aud        string `json:"aud,omitempty"`
	Exp        int64  `json:"exp"`
	Iat        int64  `json:"iat"`
	Jti        string `json:"jti"`
	Sid        string `json:"sid,omitempty"`
	OpenID     string `json:"open_id,omitempty"`
	Nickname   string `json:"nickname,omitempty"`
	LinkedType string `json:"linked_type,omitempty"`
	Country    string `json:"country,omitempty"`
	DeviceID   string `json:"device_id,omitempty"`
}

// Issue signs an access token for c. It sets c.ID (jti), c.IssuedAt and
// c.ExpiresAt (whole seconds, as in the token) and returns the claims as
// issued.
func (i *Issuer) Issue(c Claims) (token string, issued Claims, err error) {
	if c.Subject == "" {
		return "", Claims{}, errors.New("tokens: Issue: empty Subject")
	}
	t := i.clock()
	k := i.ring.set.Load().signer(t)
	now := time.Unix(t.Unix(), 0).UTC() // iat and exp are whole seconds
	if k == nil {
		return "", Claims{}, errors.New("tokens: Issue: no signing key is active")
	}
	var jti [16]byte
	rand.Read(jti[:])
	c.ID = base64.RawURLEncoding.EncodeToString(jti[:])
	c.IssuedAt = now
	c.ExpiresAt = now.Add(i.ttl)
	payload, err := json.Marshal(&wireClaims{
		Iss: i.issuer, Sub: c.Subject, Aud: i.audience,
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(), Jti: c.ID,
		Sid: c.SessionID, OpenID: c.OpenID, Nickname: c.Nickname,
		LinkedType: c.LinkedType, Country: c.Country, DeviceID: c.DeviceID,
	})
	if err != nil {
		return "", Claims{}, fmt.Errorf("tokens: Issue: %w", err)
	}
	enc := base64.RawURLEncoding
	// One buffer holds the signing input and then the whole token: the
	// header is precomputed per key, the signature appended in place.
	buf := make([]byte, 0, len(k.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(ed25519SigMax))
	buf = append(buf, k.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := k.sign(buf)
	if err != nil {
		return "", Claims{}, fmt.Errorf("tokens: Issue: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), c, nil
}

// ed25519SigMax is the largest signature any ring algorithm makes (Ed25519
// and ES256: 64 bytes).
const ed25519SigMax = 64

// sign signs input with the raw key (no jwk.Key: an OKP jwk.Key would
// re-derive the Ed25519 key from its seed on every call).
func (k *ringKey) sign(input []byte) ([]byte, error) {
	switch k.alg {
	case EdDSA:
		return jwsbb.SignEdDSA(k.edPriv, input)
	case ES256:
		return jwsbb.SignECDSA(k.ecPriv, input, crypto.SHA256, rand.Reader)
	case HS256:
		return jwsbb.SignHMAC(k.hmac, input, sha256.New)
	}
	return nil, fmt.Errorf("unsupported algorithm %q", k.alg)
}
