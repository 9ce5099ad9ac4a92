package tokens

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// Identity is who an access token speaks for: its player and session
// claims, without the jti, iat and exp that change with every token. Every
// token of one session carries the same Identity, so a BoundedCache keeps
// one per session and shares it among that session's entries and every
// caller of VerifyIdentity.
//
// An Identity's claims are immutable: they are read through methods, and a
// shared Identity stays valid (and unchanged) after the cache has forgotten
// it. It carries one word more, for the middleware: the revocation view's
// generation at which the session was last found in good standing
// (CheckedAt, MarkChecked).
type Identity struct {
	// The seven claims back to back, in the order of the constants below, in one
	// allocation: a session costs one string instead of seven.
	s       string
	ends    [identityFields - 1]uint16 // where each claim but the last ends in s
	checked atomic.Uint32              // MarkChecked's generation, 0 for none
}

// CheckedAt reports whether MarkChecked recorded gen, a revocation view's
// generation (revocation.View.Generation), on the Identity since the cache
// last handed it to a new token. Only the low 32 bits of gen are kept: two
// generations 2^32 apart look alike, which takes as many changes of the view
// between two requests of one session.
func (id *Identity) CheckedAt(gen uint64) bool {
	return gen != 0 && id.checked.Load() == uint32(gen)
}

// MarkChecked records that the session was found in good standing at
// generation gen of a revocation view, read before the check began: every
// token of the session shares the record until the view changes.
func (id *Identity) MarkChecked(gen uint64) { id.checked.Store(uint32(gen)) }

// The claims of an Identity, in the order they are packed.
const (
	idSubject = iota
	idSessionID
	idOpenID
	idNickname
	idLinkedType
	idCountry
	idDeviceID
	identityFields
)

// Subject is the sub claim: the player's internal ID.
func (id *Identity) Subject() string { return id.field(idSubject) }

// SessionID is the sid claim.
func (id *Identity) SessionID() string { return id.field(idSessionID) }

// OpenID is the open_id claim: the player's public ID.
func (id *Identity) OpenID() string { return id.field(idOpenID) }

// Nickname is the nickname claim.
func (id *Identity) Nickname() string { return id.field(idNickname) }

// LinkedType is the linked_type claim: email, guest or a provider.
func (id *Identity) LinkedType() string { return id.field(idLinkedType) }

// Country is the country claim.
func (id *Identity) Country() string { return id.field(idCountry) }

// DeviceID is the device_id claim.
func (id *Identity) DeviceID() string { return id.field(idDeviceID) }

// field returns claim i, a substring of s (no allocation); a nil Identity
// has only empty claims.
func (id *Identity) field(i int) string {
	if id == nil {
		return ""
	}
	start, end := 0, len(id.s)
	if i > 0 {
		start = int(id.ends[i-1])
	}
	if i < len(id.ends) {
		end = int(id.ends[i])
	}
	return id.s[start:end]
}

// fields returns all seven claims.
func (id *Identity) fields() [identityFields]string {
	var f [identityFields]string
	for i := range f {
		f[i] = id.field(i)
	}
	return f
}

// identityOf returns the Identity claims of c, in identityField order.
func identityOf(c *Claims) [identityFields]string {
	return [identityFields]string{
		idSubject: c.Subject, idSessionID: c.SessionID, idOpenID: c.OpenID, idNickname: c.Nickname,
		idLinkedType: c.LinkedType, idCountry: c.Country, idDeviceID: c.DeviceID,
	}
}

// claims returns the Identity's claims with the given jti and times, in
// one go: this is the cached path of Verify.
func (id *Identity) claims(jti string, iat, exp time.Time) Claims {
	s, e := id.s, &id.ends
	return Claims{
		Subject: s[:e[0]], SessionID: s[e[0]:e[1]], OpenID: s[e[1]:e[2]], Nickname: s[e[2]:e[3]],
		LinkedType: s[e[3]:e[4]], Country: s[e[4]:e[5]], DeviceID: s[e[5]:],
		ID: jti, IssuedAt: iat, ExpiresAt: exp,
	}
}

// errIdentitySize: the claims do not fit the packed form. No verified token
// gets there (a token is at most MaxTokenSize bytes, its claims fewer); it
// matches ErrTokenInvalid like every refusal of Verify.
var errIdentitySize = fmt.Errorf("%w: identity claims over 64 KiB", ErrTokenInvalid)

// newIdentity packs f into a new, unshared Identity.
func newIdentity(f [identityFields]string) (*Identity, error) {
	n := 0
	for _, s := range f {
		n += len(s)
	}
	if n > math.MaxUint16 {
		return nil, errIdentitySize
	}
	var b strings.Builder
	b.Grow(n)
	id := &Identity{}
	for i, s := range f {
		b.WriteString(s)
		if i < len(id.ends) {
			id.ends[i] = uint16(b.Len())
		}
	}
	id.s = b.String()
	return id, nil
}
