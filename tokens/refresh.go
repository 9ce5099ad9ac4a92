package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// A refresh token is "<session ID>.<body>", body the unpadded base64url of
//
//	generation (8 bytes, big endian) | secret (32 bytes) | tag (16 bytes)
//
// The session ID lets the store find the session by key. The tag, a
// truncated MAC under the server secret over the session ID and the rest of
// the body, refuses forgeries before any store lookup: a made-up token
// naming someone's session must never get that session revoked as reuse.
// The first secret of a session is random (256 bits); each successor is a
// MAC over the session ID, its generation and the token it replaces, so a
// retried refresh with the same token yields the same successor.
const (
	refreshGenLen    = 8
	refreshSecretLen = 32
	refreshTagLen    = 16
	refreshBodyLen   = refreshGenLen + refreshSecretLen + refreshTagLen
	// MaxSessionIDLen bounds the session IDs a refresh token can carry.
	MaxSessionIDLen = 64
)

// Labels of the MACs used for refresh tokens.
const (
	labelRefreshTag  = "gameauth/tokens/refresh-tag/v1"
	labelRefreshNext = "gameauth/tokens/refresh-next/v1"
)

var refreshBodyB64Len = base64.RawURLEncoding.EncodedLen(refreshBodyLen)

// NewRefreshToken returns the first refresh token of a session, random, and
// the hash to store for it.
func (r *Ring) NewRefreshToken(sessionID string) (token string, hash []byte, err error) {
	if !validKid(sessionID) || len(sessionID) > MaxSessionIDLen {
		return "", nil, errors.New("tokens: NewRefreshToken: bad session ID")
	}
	var secret [refreshSecretLen]byte
	rand.Read(secret[:])
	token = r.mintRefresh(r.set.Load().secret, sessionID, 0, secret[:])
	return token, HashSecret(token), nil
}

// NextRefreshToken returns the successor of presented and its hash: the
// same successor every time for the same presented token. presented must
// parse (ParseRefreshToken); the successor carries the same session ID.
func (r *Ring) NextRefreshToken(presented string) (token string, hash []byte, err error) {
	s := r.set.Load()
	sid, gen, err := parseRefresh(s.secret, presented)
	if err != nil {
		return "", nil, err
	}
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], gen+1)
	next := macWith(s.secret, labelRefreshNext, []byte(sid), g[:], []byte(presented))
	token = r.mintRefresh(s.secret, sid, gen+1, next[:refreshSecretLen])
	return token, HashSecret(token), nil
}

// ParseRefreshToken returns the session ID that token names and the hash to
// look it up by. Anything malformed, or not minted under this ring's server
// secret, is ErrTokenInvalid, decided without touching the store.
func (r *Ring) ParseRefreshToken(token string) (sessionID string, hash []byte, err error) {
	sid, _, err := parseRefresh(r.set.Load().secret, token)
	if err != nil {
		return "", nil, err
	}
	return sid, HashSecret(token), nil
}

func (r *Ring) mintRefresh(secret []byte, sid string, gen uint64, rnd []byte) string {
	var body [refreshBodyLen]byte
	binary.BigEndian.PutUint64(body[:refreshGenLen], gen)
	copy(body[refreshGenLen:], rnd)
	tag := macWith(secret, labelRefreshTag, []byte(sid), body[:refreshGenLen+refreshSecretLen])
	copy(body[refreshGenLen+refreshSecretLen:], tag)
	var b strings.Builder
	b.Grow(len(sid) + 1 + refreshBodyB64Len)
	b.WriteString(sid)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(body[:]))
	return b.String()
}

func refreshInvalid(reason string) error {
	return fmt.Errorf("%w: refresh token: %s", ErrTokenInvalid, reason)
}

// parseRefresh checks token's shape and tag; the cheap checks come first.
func parseRefresh(secret []byte, token string) (sid string, gen uint64, err error) {
	n := len(token) - refreshBodyB64Len - 1
	if n < 1 || n > MaxSessionIDLen || token[n] != '.' {
		return "", 0, refreshInvalid("shape")
	}
	sid = token[:n]
	if !validKid(sid) {
		return "", 0, refreshInvalid("session ID")
	}
	var body [refreshBodyLen]byte
	if m, err := strictB64.Decode(body[:], []byte(token[n+1:])); err != nil || m != refreshBodyLen {
		return "", 0, refreshInvalid("encoding")
	}
	tag := macWith(secret, labelRefreshTag, []byte(sid), body[:refreshGenLen+refreshSecretLen])
	if !hmac.Equal(tag[:refreshTagLen], body[refreshGenLen+refreshSecretLen:]) {
		return "", 0, refreshInvalid("tag")
	}
	return sid, binary.BigEndian.Uint64(body[:refreshGenLen]), nil
}
