package tokens

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
	"github.com/valyala/fastjson"

	"github.com/gameauth/gameauth/internal/wallclock"
)

// MaxTokenSize is the largest access token Verify looks at; anything longer
// is refused before any decoding.
const MaxTokenSize = 8 << 10

// maxHeaderSize bounds the encoded protected header taken apart on the slow
// path (ours are about 80 bytes).
const maxHeaderSize = 512

// DefaultSkew is the default clock skew the verifier allows on exp and nbf.
const DefaultSkew = 30 * time.Second

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer and Audience must match the Issuer's exactly: an empty one
	// means the token must not carry that claim.
	Issuer, Audience string
	// Skew is the clock skew allowed on exp and nbf; default DefaultSkew
	// (30s). A negative value means none.
	Skew time.Duration
	// Clock tells the time; nil means the ring's clock. On the system
	// clock (the default) with a skew, a cache hit is judged by a clock a
	// background goroutine reads ten times a second: an entry may stop
	// answering up to a tenth of a second early, and late only while the
	// process keeps that goroutine from running, well within the skew.
	Clock func() time.Time
	// Cache, if set, remembers verified tokens until they expire (see
	// NewCache; with a *BoundedCache, VerifyIdentity shares the cache's
	// Identities). Give each Verifier its own: entries are not keyed by
	// Issuer and Audience.
	Cache Cache
}

// Verifier checks access tokens: signature by a key of the ring (found by
// kid, algorithm pinned by the key), iss, aud, exp (required) and nbf. It
// never changes jwx's process-wide settings.
type Verifier struct {
	ring     *Ring
	issuer   string
	audience string
	skew     time.Duration
	clock    func() time.Time
	coarse   bool // clock is the system clock: cache hits are judged by wallclock.Seconds
	cache    Cache
	bounded  *BoundedCache // cache, when it is one: VerifyIdentity shares its Identities
	parsers  fastjson.ParserPool
}

// NewVerifier returns a Verifier over the keys of r.
func NewVerifier(r *Ring, cfg VerifierConfig) *Verifier {
	switch {
	case cfg.Skew == 0:
		cfg.Skew = DefaultSkew
	case cfg.Skew < 0:
		cfg.Skew = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = r.clock
	}
	bounded, ok := cfg.Cache.(*BoundedCache)
	if ok && bounded == nil {
		cfg.Cache = nil // a nil *BoundedCache is no cache
	}
	return &Verifier{ring: r, issuer: cfg.Issuer, audience: cfg.Audience, skew: cfg.Skew, clock: cfg.Clock,
		coarse: wallclock.IsSystem(cfg.Clock) && cfg.Skew > 0, cache: cfg.Cache, bounded: bounded}
}

// second is the Unix second a hit of the BoundedCache is judged at. With
// the system clock and a skew it is wallclock.Seconds, which reads no clock:
// on virtual machines a clock read is a third of a cached check's cost. A
// hit then ends up to a tenth of a second early, or late by as long as a
// starved process keeps Seconds' goroutine from running, which the skew a
// full verification allows past exp (30 s by default) covers. With no
// skew, every hit reads the clock.
func (v *Verifier) second() int64 {
	if v.coarse {
		return wallclock.Seconds()
	}
	return v.clock().Unix()
}

// CacheStats returns the statistics of the Verifier's cache when it is a
// *BoundedCache (as Open makes it), and false when it has none or another
// kind.
func (v *Verifier) CacheStats() (CacheStats, bool) {
	if v.bounded == nil {
		return CacheStats{}, false
	}
	return v.bounded.Stats(), true
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrTokenInvalid, reason) }

var strictB64 = base64.RawURLEncoding.Strict()

// Verify checks token and returns its claims. The error matches
// ErrTokenExpired when a correctly signed token is past exp (plus skew), and
// ErrTokenInvalid for everything else.
func (v *Verifier) Verify(token string) (Claims, error) {
	if len(token) == 0 || len(token) > MaxTokenSize {
		return Claims{}, invalid("size")
	}
	if b := v.bounded; b != nil {
		if e, ok := b.lookup(token, v.second()); ok {
			return e.claims(), nil // straight into the result: Get would copy it once more
		}
	}
	now := v.clock()
	if v.bounded == nil && v.cache != nil {
		if c, ok := v.cache.Get(token, now); ok {
			return c, nil
		}
	}
	c, err := v.verify(token, now)
	if err != nil {
		return Claims{}, err
	}
	if v.cache != nil {
		v.cache.Put(token, c, now)
	}
	return c, nil
}

// VerifyIdentity checks token as Verify does and returns who it speaks
// for: its player and session claims. With a BoundedCache, a token seen
// before costs no allocation: the Identity returned is the one the cache
// holds for the token's session, shared with every other caller; it is
// immutable, and stays valid after the cache forgets it. Otherwise the
// Identity is a new one.
func (v *Verifier) VerifyIdentity(token string) (*Identity, error) {
	b := v.bounded
	if b == nil {
		c, err := v.Verify(token)
		if err != nil {
			return nil, err
		}
		return newIdentity(identityOf(&c))
	}
	if len(token) == 0 || len(token) > MaxTokenSize {
		return nil, invalid("size")
	}
	if e, ok := b.lookup(token, v.second()); ok {
		return e.who, nil
	}
	now := v.clock()
	c, err := v.verify(token, now)
	if err != nil {
		return nil, err
	}
	if id := b.put(token, &c, now); id != nil {
		return id, nil
	}
	return newIdentity(identityOf(&c))
}

func (v *Verifier) verify(token string, now time.Time) (Claims, error) {
	dot1 := strings.IndexByte(token, '.')
	dot2 := strings.LastIndexByte(token, '.')
	if dot1 <= 0 || dot1 == dot2 || strings.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return Claims{}, invalid("not a compact JWS")
	}
	hdr, payB64, sigB64 := token[:dot1], token[dot1+1:dot2], token[dot2+1:]

	set := v.ring.set.Load()
	k := set.byHeader[hdr] // every token we issue has its key's exact header
	if k == nil {
		var err error
		if k, err = set.keyFromHeader(hdr); err != nil {
			return Claims{}, err
		}
	}
	if !k.verifiesAt(now) {
		return Claims{}, invalid("key retired")
	}

	var sig [64]byte
	n := k.sigLen()
	if strictB64.DecodedLen(len(sigB64)) != n {
		return Claims{}, invalid("signature length")
	}
	if m, err := strictB64.Decode(sig[:], []byte(sigB64)); err != nil || m != n {
		return Claims{}, invalid("signature encoding")
	}
	// The signing input is handed over without a copy: 500-odd bytes a
	// verification would otherwise allocate and copy. Every algorithm only
	// reads it (a hash or Ed25519 over it), and nothing keeps it.
	input := token[:dot2]
	if err := k.verify(unsafe.Slice(unsafe.StringData(input), len(input)), sig[:n]); err != nil {
		return Claims{}, invalid("signature")
	}

	// Only a correctly signed payload reaches the JSON decoder.
	payload, err := strictB64.DecodeString(payB64)
	if err != nil {
		return Claims{}, invalid("payload encoding")
	}
	var w claimsIn
	if err := v.decodeClaims(payload, &w); err != nil {
		return Claims{}, invalid("payload")
	}
	return v.check(&w, now)
}

// check validates the decoded claims at now.
func (v *Verifier) check(w *claimsIn, now time.Time) (Claims, error) {
	if !w.Exp.ok {
		return Claims{}, invalid("no exp")
	}
	if w.Sub == "" {
		return Claims{}, invalid("no sub")
	}
	if w.Iss != v.issuer {
		return Claims{}, invalid("iss")
	}
	if !w.Aud.matches(v.audience) {
		return Claims{}, invalid("aud")
	}
	if w.Nbf.ok && now.Add(v.skew).Before(w.Nbf.t) {
		return Claims{}, invalid("not yet valid")
	}
	if !now.Before(w.Exp.t.Add(v.skew)) {
		return Claims{}, ErrTokenExpired
	}
	return Claims{
		Subject: w.Sub, SessionID: w.Sid, OpenID: w.OpenID, Nickname: w.Nickname,
		LinkedType: w.LinkedType, Country: w.Country, DeviceID: w.DeviceID,
		ID: w.Jti, IssuedAt: w.Iat.t, ExpiresAt: w.Exp.t,
	}, nil
}

// keyFromHeader is the slow path for a header that is not byte for byte one
// we write: take it apart, find the key by kid, and accept the header's alg
// only if it is the key's own.
func (s *keySet) keyFromHeader(hdr string) (*ringKey, error) {
	if len(hdr) > maxHeaderSize {
		return nil, invalid("header size")
	}
	raw, err := strictB64.DecodeString(hdr)
	if err != nil {
		return nil, invalid("header encoding")
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
		B64  json.RawMessage `json:"b64"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, invalid("header")
	}
	if h.Crit != nil || h.B64 != nil {
		return nil, invalid("unsupported header parameter")
	}
	if !validKid(h.Kid) {
		return nil, invalid("kid")
	}
	k := s.byKid[h.Kid]
	if k == nil {
		return nil, invalid("unknown kid")
	}
	if h.Alg != string(k.alg) {
		return nil, invalid("alg does not match the key")
	}
	return k, nil
}

func (k *ringKey) sigLen() int {
	if k.alg == HS256 {
		return sha256.Size
	}
	return 64
}

// verify checks sig over input with the key's own algorithm.
func (k *ringKey) verify(input, sig []byte) error {
	switch k.alg {
	case EdDSA:
		return jwsbb.VerifyEdDSA(k.edPub, input, sig)
	case ES256:
		return jwsbb.VerifyECDSA(k.ecPub, input, sig, crypto.SHA256)
	case HS256:
		return jwsbb.VerifyHMAC(k.hmac, input, sig, sha256.New)
	}
	return errors.New("unsupported algorithm")
}

// claimsIn is the JSON payload as the verifier reads it.
type claimsIn struct {
	Iss, Sub, Jti, Sid                              string
	OpenID, Nickname, LinkedType, Country, DeviceID string
	Aud                                             audience
	Exp, Nbf, Iat                                   numericDate
}

// decodeClaims reads a payload into w with fastjson (the parser jwx uses
// for headers): about ten times faster than encoding/json here, which
// matters on the path every game request takes. Known claims must have the
// right type and appear once; unknown ones are ignored.
func (v *Verifier) decodeClaims(payload []byte, w *claimsIn) error {
	p := v.parsers.Get()
	defer v.parsers.Put(p)
	val, err := p.ParseBytes(payload)
	if err != nil {
		return err
	}
	obj, err := val.Object()
	if err != nil {
		return err
	}
	var seen uint32
	obj.Visit(func(key []byte, val *fastjson.Value) {
		if err != nil {
			return
		}
		var bit uint32
		var str *string
		var date *numericDate
		switch string(key) {
		case "iss":
			bit, str = 1<<0, &w.Iss
		case "sub":
			bit, str = 1<<1, &w.Sub
		case "jti":
			bit, str = 1<<2, &w.Jti
		case "sid":
			bit, str = 1<<3, &w.Sid
		case "open_id":
			bit, str = 1<<4, &w.OpenID
		case "nickname":
			bit, str = 1<<5, &w.Nickname
		case "linked_type":
			bit, str = 1<<6, &w.LinkedType
		case "country":
			bit, str = 1<<7, &w.Country
		case "device_id":
			bit, str = 1<<8, &w.DeviceID
		case "exp":
			bit, date = 1<<9, &w.Exp
		case "nbf":
			bit, date = 1<<10, &w.Nbf
		case "iat":
			bit, date = 1<<11, &w.Iat
		case "aud":
			bit = 1 << 12
		default:
			return
		}
		if seen&bit != 0 {
			err = errors.New("duplicate claim")
			return
		}
		seen |= bit
		switch {
		case str != nil:
			*str, err = stringValue(val)
		case date != nil:
			err = date.set(val)
		default:
			err = w.Aud.set(val)
		}
	})
	return err
}

func stringValue(v *fastjson.Value) (string, error) {
	b, err := v.StringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// numericDate is an RFC 7519 NumericDate that remembers whether it was set.
type numericDate struct {
	t  time.Time
	ok bool
}

// maxNumericDate keeps dates within what time.Time and int64 nanosecond
// arithmetic handle (about year 33658).
const maxNumericDate = 1e12

func (d *numericDate) set(v *fastjson.Value) error {
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxNumericDate {
		return errors.New("bad date")
	}
	sec := math.Floor(f)
	d.t = time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
	d.ok = true
	return nil
}

// audience is aud: one string or an array of strings.
type audience struct {
	one  string
	many []string
	ok   bool
}

func (a *audience) set(v *fastjson.Value) error {
	a.ok = true
	if v.Type() != fastjson.TypeArray {
		var err error
		a.one, err = stringValue(v)
		return err
	}
	vals, _ := v.Array()
	for _, e := range vals {
		s, err := stringValue(e)
		if err != nil {
			return err
		}
		a.many = append(a.many, s)
	}
	return nil
}

// matches reports whether aud names want; an empty want needs no aud.
func (a *audience) matches(want string) bool {
	if want == "" {
		return !a.ok
	}
	return a.one == want || slices.Contains(a.many, want)
}
