package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/gameauth/gameauth/storage"
)

// Limits on request fields that docs/API.md leaves open.
const (
	minPasswordRunes = 8    // docs/API.md
	maxPasswordBytes = 1024 // argon2 takes any length; this bounds the work
	maxEmailBytes    = 254  // RFC 5321 path limit
	maxNicknameRunes = 20   // docs/API.md
	maxMemoRunes     = 1000
	maxDeviceField   = 256 // device_id, device_model, device_os
	maxShortField    = 64  // platform, device_language, timezone
	maxSecretField   = 512 // guest keys, withdrawal keys, block keys, codes
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomString is n random bytes as unpadded base64url.
func randomString(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// newSessionID: 128 random bits, 22 characters.
func newSessionID() string { return randomString(16) }

// newAccountID: a random (version 4) UUID.
func newAccountID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var openIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newOpenID: 120 random bits as 24 lower-case base32 characters, a format
// distinct from the account ID's so the two are never confused.
func newOpenID() string { return openIDEncoding.EncodeToString(randomBytes(15)) }

// newGuestKey: 256 random bits.
func newGuestKey() string { return randomString(32) }

// newBlockKey: 128 random bits.
func newBlockKey() string { return randomString(16) }

// newResetCode: 8 random decimal digits, uniform, easy to type from a mail.
// Guessing is bounded by ResetCodeAttempts per code and ResetCodesPerDay.
func newResetCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic("account: crypto/rand failed") // never, per crypto/rand's contract
	}
	s := n.String()
	return strings.Repeat("0", 8-len(s)) + s
}

// guestLinkID is how a guest key is stored: the hex SHA-256.
func guestLinkID(key string) string { return hex.EncodeToString(hashSecret(key)) }

// checkText refuses text that no store keeps faithfully: bytes that are not
// UTF-8 (a JSON decoder would quietly replace them, making two inputs one),
// and NUL, which PostgreSQL's text cannot hold. Every text a flow stores,
// compares or looks up passes through it, so that every backend answers
// such input alike: INVALID_REQUEST naming the field.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalidField(field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return invalidField(field, "must not contain NUL characters")
	}
	return nil
}

// checkID checks the ID of a player or device an administrator names.
func checkID(what, id string) error {
	if id == "" {
		return ErrInvalidRequest.with(what + " is empty")
	}
	if err := checkText(what, id); err != nil {
		return err
	}
	return nil
}

// checkKey checks a key a flow looks up (a guest, withdrawal or block key,
// a reset code): text, within the bound of any key the service issues.
// Past the bound no key can match, which the flow answers as it answers an
// unknown one (tooLong).
func checkKey(field, key string, tooLong error) error {
	if key == "" {
		return invalidField(field, "is required")
	}
	if err := checkText(field, key); err != nil {
		return err
	}
	if len(key) > maxSecretField {
		return tooLong
	}
	return nil
}

// normalizeEmail is docs/API.md's normalized form: trimmed, lower-cased.
// (Lower-casing replaces bytes that are not UTF-8: check the text first.)
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// newEmail checks an email a player is to be known by, and returns it
// normalized.
func newEmail(field, raw string) (string, error) {
	if err := checkText(field, raw); err != nil {
		return "", err
	}
	e := normalizeEmail(raw)
	return e, checkEmail(field, e)
}

// presentedEmail checks an email presented to sign in with, and returns it
// normalized: required, text and bounded, but not parsed, so a rule change
// never locks anyone out.
func presentedEmail(field, raw string) (string, error) {
	if err := checkText(field, raw); err != nil {
		return "", err
	}
	e := normalizeEmail(raw)
	if e == "" {
		return "", invalidField(field, "is required")
	}
	if len(e) > maxEmailBytes {
		return "", invalidField(field, "is too long")
	}
	return e, nil
}

// checkEmail checks a normalized address: one plain addr-spec, no display
// name, no comments.
func checkEmail(field, e string) error {
	if e == "" {
		return invalidField(field, "is required")
	}
	if len(e) > maxEmailBytes {
		return invalidField(field, "is too long")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return invalidField(field, "is not an email address")
	}
	return nil
}

// checkNewPassword applies docs/API.md's rule (at least 8 characters) and a
// generous upper bound.
func checkNewPassword(field, p string) error {
	if p == "" {
		return invalidField(field, "is required")
	}
	if err := checkText(field, p); err != nil {
		return err
	}
	if utf8.RuneCountInString(p) < minPasswordRunes {
		return invalidField(field, "must be at least 8 characters")
	}
	if len(p) > maxPasswordBytes {
		return invalidField(field, "is too long")
	}
	return nil
}

// checkPresented is the check of a password presented for verification: it
// is only required, text and bounded, so a rule change never locks anyone
// out (no password could ever be set that is not text).
func checkPresented(field, p string) error {
	if p == "" {
		return invalidField(field, "is required")
	}
	if err := checkText(field, p); err != nil {
		return err
	}
	if len(p) > maxPasswordBytes {
		return invalidField(field, "is too long")
	}
	return nil
}

// checkNickname applies docs/API.md's rules to n and returns it in Unicode NFC,
// the form it is stored, compared and answered in: 1 to 20 characters, no
// leading or trailing blanks, no control characters. NFC makes the same
// text one nickname whichever normal form the client sent ("é" as one code
// point or as "e" and a combining accent), and counts its characters as
// composed. Blanks include the invisible format characters (zero-width
// space and the like), so two nicknames never differ by something no one
// can see at their ends.
func checkNickname(n string) (string, error) {
	const f = "nickname"
	if n == "" {
		return "", invalidField(f, "is required")
	}
	if !utf8.ValidString(n) {
		return "", invalidField(f, "is not valid UTF-8")
	}
	n = norm.NFC.String(n)
	if c := utf8.RuneCountInString(n); c > maxNicknameRunes {
		return "", invalidField(f, "must be 1 to 20 characters")
	}
	first, _ := utf8.DecodeRuneInString(n)
	last, _ := utf8.DecodeLastRuneInString(n)
	if blank(first) || blank(last) {
		return "", invalidField(f, "must not begin or end with a blank")
	}
	for _, r := range n {
		switch {
		case r == utf8.RuneError:
			// Where a decoder met bytes that were not UTF-8.
			return "", invalidField(f, "is not valid UTF-8")
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return "", invalidField(f, "must not contain control characters")
		}
	}
	return n, nil
}

func blank(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }

// checkDevice checks docs/API.md's device info: platform and device_id
// required, every field text and bounded.
func checkDevice(d DeviceInfo) error {
	for _, f := range []struct {
		name, value string
		max         int
		required    bool
	}{
		{"platform", d.Platform, maxShortField, true},
		{"device_id", d.DeviceID, maxDeviceField, true},
		{"device_model", d.DeviceModel, maxDeviceField, false},
		{"device_os", d.DeviceOS, maxDeviceField, false},
		{"device_language", d.DeviceLanguage, maxShortField, false},
	} {
		switch {
		case f.value == "" && f.required:
			return invalidField(f.name, "is required")
		case len(f.value) > f.max:
			return invalidField(f.name, "is too long")
		}
		if err := checkText(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// location returns the zone named name, or nil when name is not an IANA
// zone this host knows. Loaded zones are cached.
func (s *Service) location(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > maxShortField {
		return nil
	}
	if l, ok := s.locs.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	s.locs.Store(name, l)
	return l
}

// zone picks the player's zone: the request's, else the stored one, else
// the configured default; and its offset at now in minutes east of UTC.
func (s *Service) zone(requested, stored string, now time.Time) (string, int) {
	for _, name := range []string{requested, stored, s.cfg.DefaultTimezone} {
		if l := s.location(name); l != nil {
			_, off := now.In(l).Zone()
			return name, off / 60
		}
	}
	return "UTC", 0
}

// country is a new player's country: the host's resolver, else the region
// the device language implies ("KO" → "KR", "en-GB" → "GB"), else "".
func (s *Service) country(ctx context.Context, c Client) string {
	if s.cfg.CountryResolver != nil {
		return strings.ToUpper(strings.TrimSpace(s.cfg.CountryResolver(ctx, c.Addr, c.Device)))
	}
	return regionOf(c.Device.DeviceLanguage)
}

func regionOf(lang string) string {
	lang = strings.ReplaceAll(strings.TrimSpace(lang), "_", "-")
	if lang == "" {
		return ""
	}
	tag, err := language.Parse(lang)
	if err != nil {
		return ""
	}
	r, conf := tag.Region()
	if conf == language.No || !r.IsCountry() {
		return ""
	}
	return r.String()
}

// player is a as the contract shows it at now, in the zone requestedTZ
// names (else the player's own).
func (s *Service) player(a storage.Account, requestedTZ string, now time.Time) Player {
	linkedID := a.LinkedID
	if a.LinkedType == storage.LinkGuest {
		linkedID = "" // the hash of the guest key is nobody's business
	}
	tz, off := s.zone(requestedTZ, a.Timezone, now)
	join := 0
	if d := now.Sub(a.CreatedAt); d > 0 {
		join = int(d / (24 * time.Hour))
	}
	return Player{
		UserUniqueID: a.ID,
		OpenID:       a.OpenID,
		Nickname:     a.Nickname,
		LinkedID:     linkedID,
		LinkedType:   a.LinkedType,
		Purchases:    a.Purchases,
		Country:      a.Country,
		Timezone:     tz,
		Offset:       off,
		JoinPeriod:   join,
	}
}
