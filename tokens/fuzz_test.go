package tokens

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz ring is deterministic, so that the seed corpus in
// testdata/fuzz/FuzzVerify holds tokens that verify (or fail) for the
// reasons their names say. Regenerate it with
//
//	GAMEAUTH_UPDATE_FUZZ_CORPUS=1 go test -run TestFuzzCorpus ./tokens
var fuzzT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const fuzzKid = "fuzz-key-1"

func fuzzSeed(label string) []byte {
	s := sha256.Sum256([]byte("gameauth fuzz " + label))
	return s[:]
}

func newFuzzRing(t testing.TB) *Ring {
	priv := ed25519.NewKeyFromSeed(fuzzSeed("ed25519"))
	store := &memKeys{keys: []storage.Key{
		{ID: secretID, Use: useSecret, Algorithm: secretAlgorithm, Private: append([]byte{privRaw}, fuzzSeed("secret")...), CreatedAt: fuzzT0, ActiveAt: fuzzT0},
		{ID: fuzzKid, Use: useSig, Algorithm: string(EdDSA), Private: append([]byte{privRaw}, priv.Seed()...), Public: priv.Public().(ed25519.PublicKey), CreatedAt: fuzzT0, ActiveAt: fuzzT0},
	}}
	r, err := OpenRing(t.Context(), RingConfig{Store: store, Clock: func() time.Time { return fuzzT0.Add(10 * time.Minute) }})
	require.NoError(t, err)
	require.Equal(t, 1, store.count(useSig), "the fuzz ring must not make keys of its own")
	return r
}

// fuzzCorpus returns the seed tokens, by name, and whether each verifies.
func fuzzCorpus(t testing.TB, r *Ring) map[string]string {
	k := r.set.Load().byKid[fuzzKid]
	now := fuzzT0.Unix()
	claims := func(extra string) string {
		return `{"iss":"` + testIss + `","aud":"` + testAud + `","sub":"player-1","sid":"` + testSID + `","iat":` +
			strconv.FormatInt(now, 10) + `,"jti":"j1","nickname":"Hero","country":"KR"` + extra + `}`
	}
	exp := `,"exp":` + strconv.FormatInt(now+3600, 10)
	signed := func(hdr, payload string) string {
		input := hdr + "." + b64.EncodeToString([]byte(payload))
		sig, err := k.sign([]byte(input))
		require.NoError(t, err)
		return input + "." + b64.EncodeToString(sig)
	}
	hdr := func(json string) string { return b64.EncodeToString([]byte(json)) }
	valid := signed(k.header, claims(exp))
	parts := strings.Split(valid, ".")
	mac := hmac.New(sha256.New, k.edPub)
	hsInput := hdr(`{"alg":"HS256","kid":"`+fuzzKid+`"}`) + "." + parts[1]
	mac.Write([]byte(hsInput))
	foreign := ed25519.NewKeyFromSeed(fuzzSeed("foreign"))
	return map[string]string{
		"valid":              valid,
		"valid-slow-header":  signed(hdr(`{"kid":"`+fuzzKid+`","alg":"EdDSA"}`), claims(exp+`,"aud2":[1,{"a":null}]`)),
		"valid-aud-array":    signed(k.header, `{"iss":"`+testIss+`","aud":["x","`+testAud+`"],"sub":"p","exp":`+strconv.FormatInt(now+3600, 10)+`}`),
		"expired":            signed(k.header, claims(`,"exp":`+strconv.FormatInt(now-3600, 10))),
		"not-yet-valid":      signed(k.header, claims(exp+`,"nbf":`+strconv.FormatInt(now+3600, 10))),
		"no-exp":             signed(k.header, claims("")),
		"duplicate-exp":      signed(k.header, claims(exp+exp)),
		"valid-escaped":      signed(k.header, claims(exp+`,"open_id":"\u00e9\n\"x\""`)),
		"wrong-iss":          signed(k.header, strings.Replace(claims(exp), testIss, "https://evil", 1)),
		"alg-none":           hdr(`{"alg":"none"}`) + "." + parts[1] + ".",
		"hs256-pubkey":       hsInput + "." + b64.EncodeToString(mac.Sum(nil)),
		"kid-path":           signed(hdr(`{"alg":"EdDSA","kid":"../../dev/null"}`), claims(exp)),
		"kid-sql":            signed(hdr(`{"alg":"EdDSA","kid":"' OR 1=1 --"}`), claims(exp)),
		"crit":               signed(hdr(`{"alg":"EdDSA","kid":"`+fuzzKid+`","crit":["x"]}`), claims(exp)),
		"tampered-payload":   parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(claims(exp), "player-1", "player-2", 1))) + "." + parts[2],
		"tampered-header":    hdr(`{"alg":"EdDSA","kid":"`+fuzzKid+`","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		"foreign-key":        parts[0] + "." + parts[1] + "." + b64.EncodeToString(ed25519.Sign(foreign, []byte(parts[0]+"."+parts[1]))),
		"oversized":          parts[0] + "." + strings.Repeat("A", MaxTokenSize) + "." + parts[2],
		"empty":              "",
		"dots":               "..",
		"four-segments":      valid + ".x",
		"payload-not-object": signed(k.header, `[1,2,3]`),
	}
}

func corpusFile(tok string) string { return "go test fuzz v1\nstring(" + strconv.Quote(tok) + ")\n" }

// TestFuzzCorpus keeps testdata/fuzz/FuzzVerify in step with fuzzCorpus and
// checks that every seed gets the verdict its name says.
func TestFuzzCorpus(t *testing.T) {
	r := newFuzzRing(t)
	v := NewVerifier(r, VerifierConfig{Issuer: testIss, Audience: testAud})
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	corpus := fuzzCorpus(t, r)
	if os.Getenv("GAMEAUTH_UPDATE_FUZZ_CORPUS") != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, tok := range corpus {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(corpusFile(tok)), 0o644))
		}
	}
	for name, tok := range corpus {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, "regenerate the corpus (see fuzzT0)")
		assert.Equal(t, corpusFile(tok), string(raw), name)

		_, err = v.Verify(tok)
		switch {
		case strings.HasPrefix(name, "valid"):
			assert.NoError(t, err, name)
		case name == "expired":
			assert.ErrorIs(t, err, ErrTokenExpired, name)
		default:
			assert.ErrorIs(t, err, ErrTokenInvalid, name)
		}
	}
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, f := range files {
		_, ok := corpus[f.Name()]
		assert.True(t, ok, "stray corpus file %s", f.Name())
	}
}

// FuzzVerify feeds arbitrary input to the verifier. It must not panic, must
// answer only with ErrTokenInvalid or ErrTokenExpired, must accept only
// inputs whose signing input the key really signed, and the cached verifier
// must agree with the uncached one.
func FuzzVerify(f *testing.F) {
	r := newFuzzRing(f)
	pub := r.set.Load().byKid[fuzzKid].edPub
	plain := NewVerifier(r, VerifierConfig{Issuer: testIss, Audience: testAud})
	cached := NewVerifier(r, VerifierConfig{Issuer: testIss, Audience: testAud, Cache: NewCache(1000, time.Hour)})
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := plain.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrTokenInvalid) && !errors.Is(err, ErrTokenExpired) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		} else {
			dot := strings.LastIndexByte(tok, '.')
			sig, derr := strictB64.DecodeString(tok[dot+1:])
			if derr != nil || !ed25519.Verify(pub, []byte(tok[:dot]), sig) {
				t.Fatalf("accepted a token the key did not sign")
			}
			if c.Subject == "" || c.ExpiresAt.IsZero() {
				t.Fatalf("accepted claims without sub or exp: %+v", c)
			}
		}
		for range 2 {
			c2, err2 := cached.Verify(tok)
			if (err == nil) != (err2 == nil) || c != c2 {
				t.Fatalf("cached verifier disagrees: %v / %v", err, err2)
			}
		}
	})
}

// FuzzParseRefreshToken: no panics, only ErrTokenInvalid, and whatever
// parses names a safe session ID and round-trips through NextRefreshToken.
func FuzzParseRefreshToken(f *testing.F) {
	r := newFuzzRing(f)
	tok, _, err := r.NewRefreshToken(testSID)
	require.NoError(f, err)
	for _, s := range []string{tok, "", ".", testSID + ".", strings.Repeat("A", 98), tok + "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		sid, hash, err := r.ParseRefreshToken(tok)
		if err != nil {
			if !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !validKid(sid) || !strings.HasPrefix(tok, sid+".") || !slices.Equal(hash, HashSecret(tok)) {
			t.Fatalf("bad parse of %q: %q", tok, sid)
		}
		next, _, err := r.NextRefreshToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		if s2, _, err := r.ParseRefreshToken(next); err != nil || s2 != sid {
			t.Fatal(fmt.Sprint("successor does not parse: ", err))
		}
	})
}
