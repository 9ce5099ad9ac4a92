package federated_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jwtFixture is one ID-token provider against its fake vendor.
type jwtFixture struct {
	provider string
	set      *federated.Set
	iss      *federatedtest.Issuer
	clk      *testclock.Clock
	alg      string
	key      any // signs good tokens
	pub      any
	kid      string
	hashed   bool // the nonce claim is SHA-256 hex of the raw nonce
	// otherAlg and otherKey make a token in an algorithm the provider must
	// refuse for this key.
	otherAlg string
	otherKey any
	foreign  any // a key of the same type that is not in the key set
}

const rawNonce = "f0e1d2c3-raw-nonce"

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fetches counts the fake vendor's key-set fetches, answered or not.
func (f *jwtFixture) fetches() int64 { return f.iss.Calls(federatedtest.KeysPath) }

func (f *jwtFixture) claims() map[string]any {
	return f.iss.Claims(federatedtest.Token{Subject: "player-1", Nonce: rawNonce})
}

// startFixture starts f's fake vendor with start, signing with key, and
// builds and warms its Set.
func startFixture(t *testing.T, f *jwtFixture, key crypto.Signer, o federatedtest.IssuerOptions,
	start func(testing.TB, federatedtest.IssuerOptions) *federatedtest.Issuer) *jwtFixture {
	f.clk = newClock()
	o.Key, o.KeyID, o.Now = key, f.kid, f.clk.Now
	f.iss = start(t, o)
	f.key, f.pub = key, key.Public()
	f.set = newSet(t, federatedtest.Config(f.iss), f.iss.Client(), f.clk)
	warm(t, f.set)
	return f
}

func oidc(name string) func(testing.TB, federatedtest.IssuerOptions) *federatedtest.Issuer {
	return func(t testing.TB, o federatedtest.IssuerOptions) *federatedtest.Issuer {
		return federatedtest.NewOIDC(t, name, o)
	}
}

// appleFixture: an RSA key that declares RS256, two client IDs.
func appleFixture(t *testing.T) *jwtFixture {
	k := rsaKey(t)
	return startFixture(t, &jwtFixture{
		provider: federated.Apple, alg: "RS256", kid: "apple-1", hashed: true,
		otherAlg: "RS384", otherKey: k, foreign: rsaKey(t),
	}, k, federatedtest.IssuerOptions{ClientIDs: []string{"com.example.game", "com.example.web"}}, federatedtest.NewApple)
}

// googleFixture: an RSA key that declares no alg.
func googleFixture(t *testing.T) *jwtFixture {
	k := rsaKey(t)
	return startFixture(t, &jwtFixture{
		provider: federated.Google, alg: "RS256", kid: "g-1",
		otherAlg: "PS256", otherKey: k, foreign: rsaKey(t),
	}, k, federatedtest.IssuerOptions{ClientIDs: []string{"123-abc.apps.googleusercontent.com"}, OmitAlg: true}, federatedtest.NewGoogle)
}

// oidcRSAFixture: an RSA key that declares no alg, so RS256 only.
func oidcRSAFixture(t *testing.T) *jwtFixture {
	k := rsaKey(t)
	return startFixture(t, &jwtFixture{
		provider: "studio", alg: "RS256", kid: "studio-1",
		otherAlg: "RS512", otherKey: k, foreign: rsaKey(t),
	}, k, federatedtest.IssuerOptions{ClientIDs: []string{"game"}, OmitAlg: true}, oidc("studio"))
}

// oidcECFixture: a P-256 key that declares ES256.
func oidcECFixture(t *testing.T) *jwtFixture {
	k := ecKey(t)
	return startFixture(t, &jwtFixture{
		provider: "epic", alg: "ES256", kid: "epic-1",
		otherAlg: "RS256", otherKey: rsaKey(t), foreign: ecKey(t),
	}, k, federatedtest.IssuerOptions{ClientIDs: []string{"game-client"}}, oidc("epic"))
}

// tokenSpec is what a case changes before the token is minted.
type tokenSpec struct {
	alg    string
	key    any
	header map[string]any
	claims map[string]any
	nonce  string // the request's nonce
	token  string // if set, sent as is
}

type outcome int

const (
	accepted outcome = iota
	refused          // ErrInvalidCredential
	badField         // ErrInvalidRequest
)

func publicPEM(t testing.TB, pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestIDTokenAttacks runs every forgery and misuse against every ID-token
// provider.
func TestIDTokenAttacks(t *testing.T) {
	fixtures := map[string]func(*testing.T) *jwtFixture{
		"apple": appleFixture, "google": googleFixture, "oidc-rsa": oidcRSAFixture, "oidc-ec": oidcECFixture,
	}
	cases := []struct {
		name    string
		mutate  func(t *testing.T, f *jwtFixture, s *tokenSpec)
		want    outcome
		why     string // what the refusal must say
		noFetch bool   // the case must not cost a key-set fetch
	}{
		{name: "valid", want: accepted},
		{name: "valid without a request nonce", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.nonce = "" }, want: accepted},
		{name: "aud as a one-element array", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) { s.claims["aud"] = []string{f.iss.ClientID()} }, want: accepted},
		{name: "exp just past, inside the skew", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["exp"] = f.clk.Now().Add(-30 * time.Second).Unix()
		}, want: accepted},
		{name: "wrong aud", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.claims["aud"] = "someone-else" }, want: refused, why: "audience not accepted"},
		{name: "aud array with an untrusted extra", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["aud"] = []string{f.iss.ClientID(), "someone-else"}
		}, want: refused, why: "audience not accepted"},
		{name: "empty aud array", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.claims["aud"] = []string{} }, want: refused, why: "audience not accepted"},
		{name: "no aud", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { delete(s.claims, "aud") }, want: refused, why: "audience not accepted"},
		{name: "wrong iss", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.claims["iss"] = "https://evil.example.com" }, want: refused, why: "issuer not accepted"},
		{name: "no iss", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { delete(s.claims, "iss") }, want: refused, why: "issuer not accepted"},
		{name: "expired", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["exp"] = f.clk.Now().Add(-2 * time.Minute).Unix()
		}, want: refused, why: "token expired"},
		{name: "no exp", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { delete(s.claims, "exp") }, want: refused, why: "no valid exp"},
		{name: "exp as a string", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["exp"] = "4102444800"
		}, want: refused, why: "no valid exp"},
		{name: "nbf in the future", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["nbf"] = f.clk.Now().Add(5 * time.Minute).Unix()
		}, want: refused, why: "not valid yet"},
		{name: "iat in the future", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.claims["iat"] = f.clk.Now().Add(5 * time.Minute).Unix()
		}, want: refused, why: "issued in the future"},
		{name: "no sub", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { delete(s.claims, "sub") }, want: refused, why: "no sub"},
		{name: "alg none", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.alg, s.key = "none", nil }, want: refused, why: "algorithm \"none\" not accepted"},
		{name: "alg none with a made-up kid", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) {
			s.alg, s.key, s.header["kid"] = "none", nil, "made-up"
		}, want: refused, why: "algorithm \"none\" not accepted", noFetch: true},
		{name: "HS256 signed with the provider's public key", mutate: func(t *testing.T, f *jwtFixture, s *tokenSpec) {
			s.alg, s.key = "HS256", publicPEM(t, f.pub)
		}, want: refused, why: "algorithm \"HS256\" not accepted", noFetch: true},
		{name: "a foreign key under a known kid", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) { s.key = f.foreign }, want: refused, why: "bad signature", noFetch: true},
		{name: "an algorithm the key does not allow", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.alg, s.key = f.otherAlg, f.otherKey
		}, want: refused, why: "algorithm", noFetch: true},
		{name: "unknown kid", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.header["kid"] = "not-there" }, want: refused, why: "no key for the token's kid"},
		{name: "crit header", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.header["crit"] = []string{"exp"} }, want: refused, why: "crit"},
		{name: "nonce mismatch", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.nonce = "another-nonce" }, want: refused, why: "nonce does not match"},
		{name: "the hashed nonce sent instead of the raw one", mutate: func(_ *testing.T, f *jwtFixture, s *tokenSpec) {
			s.nonce = hashHex(rawNonce)
			if !f.hashed { // the claim is the raw nonce: a client that hashes it is just as wrong
				s.claims["nonce"] = rawNonce
			}
		}, want: refused, why: "nonce does not match"},
		{name: "nonce sent, none in the token", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { delete(s.claims, "nonce") }, want: refused, why: "the token has none"},
		{name: "payload swapped after signing", mutate: func(t *testing.T, f *jwtFixture, s *tokenSpec) {
			good := mint(t, s.alg, s.key, s.header, s.claims)
			other := f.claims()
			other["sub"] = "player-2"
			forged := mint(t, s.alg, s.key, s.header, other)
			p := strings.Split(good, ".")
			s.token = p[0] + "." + strings.Split(forged, ".")[1] + "." + p[2]
		}, want: refused, why: "bad signature", noFetch: true},
		{name: "not a JWS", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.token = "not.a-jws" }, want: refused, why: "not a compact JWS"},
		{name: "too long", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) {
			s.token = strings.Repeat("a", federated.MaxIDTokenSize) + ".b.c"
		}, want: refused, why: "longer than"},
		{name: "missing id_token", mutate: func(_ *testing.T, _ *jwtFixture, s *tokenSpec) { s.token = "" }, want: badField},
	}
	for fname, build := range fixtures {
		t.Run(fname, func(t *testing.T) {
			f := build(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s := &tokenSpec{alg: f.alg, key: f.key, header: map[string]any{"kid": f.kid}, claims: f.claims(), nonce: rawNonce}
					s.token = "-"
					if tc.mutate != nil {
						tc.mutate(t, f, s)
					}
					tok := s.token
					if tok == "-" {
						tok = mint(t, s.alg, s.key, s.header, s.claims)
					}
					before := f.fetches()
					id, err := f.set.Verify(context.Background(), f.provider, federated.Credential{IDToken: tok, Nonce: s.nonce})
					switch tc.want {
					case accepted:
						require.NoError(t, err)
						assert.Equal(t, federated.Identity{Provider: f.provider, Subject: "player-1"}, id)
					case refused:
						requireErr(t, err, federated.ErrInvalidCredential, tc.why)
						assert.Equal(t, federated.Identity{}, id)
						if len(tok) > 20 {
							assert.NotContains(t, err.Error(), tok[len(tok)-20:], "the error must not quote the token")
						}
					case badField:
						require.ErrorIs(t, err, federated.ErrInvalidRequest)
						var fe *federated.FieldError
						require.True(t, errors.As(err, &fe))
						assert.Equal(t, "id_token", fe.Field)
					}
					if tc.noFetch {
						assert.Equal(t, before, f.fetches(), "this case must not fetch the key set")
					}
					// Move past the refetch limit so that each case starts alike.
					f.clk.Advance(31 * time.Second)
				})
			}
		})
	}
}

func TestIDTokenEmail(t *testing.T) {
	f := appleFixture(t)
	for _, tc := range []struct {
		name     string
		verified any
		want     string
	}{
		{"Apple's string true", "true", "p@example.com"},
		{"JSON true", true, "p@example.com"},
		{"string false", "false", ""},
		{"absent", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.claims()
			c["email"] = "p@example.com"
			if tc.verified != nil {
				c["email_verified"] = tc.verified
			}
			id, err := f.set.Verify(context.Background(), federated.Apple, federated.Credential{
				IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, c),
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.Email)
		})
	}
}

func TestGoogleAcceptsBothIssuers(t *testing.T) {
	f := googleFixture(t)
	for _, iss := range []string{"accounts.google.com", "https://accounts.google.com"} {
		c := f.claims()
		c["iss"] = iss
		_, err := f.set.Verify(context.Background(), federated.Google, federated.Credential{
			IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, c),
		})
		assert.NoError(t, err, iss)
	}
}

// TestAppleSecondAudience: the web Services ID is as good as the bundle ID.
func TestAppleSecondAudience(t *testing.T) {
	f := appleFixture(t)
	c := f.claims()
	c["aud"] = "com.example.web"
	_, err := f.set.Verify(context.Background(), federated.Apple, federated.Credential{
		IDToken: mint(t, f.alg, f.key, map[string]any{"kid": f.kid}, c), Nonce: rawNonce,
	})
	require.NoError(t, err)
}

// TestOIDCKeyAlgorithms: a key's declared alg is the only one it verifies;
// without one, an RSA key verifies RS256 and a P-256 key ES256.
func TestOIDCKeyAlgorithms(t *testing.T) {
	clk := newClock()
	v := federatedtest.NewOIDC(t, "sso", federatedtest.IssuerOptions{ClientIDs: []string{"g"}, Now: clk.Now})
	rk, ek, psk := rsaKey(t), ecKey(t), rsaKey(t)
	v.Publish(
		federatedtest.PublicKey{KeyID: "rsa-bare", Key: &rk.PublicKey},
		federatedtest.PublicKey{KeyID: "ec-bare", Key: &ek.PublicKey},
		federatedtest.PublicKey{KeyID: "rsa-ps256", Alg: "PS256", Key: &psk.PublicKey},
	)
	s := newSet(t, federatedtest.Config(v), v.Client(), clk)
	warm(t, s)
	claims := v.Claims(federatedtest.Token{Subject: "s", Expiry: clk.Now().Add(time.Hour)})
	for _, tc := range []struct {
		kid, alg string
		key      any
		ok       bool
	}{
		{"rsa-bare", "RS256", rk, true},
		{"rsa-bare", "PS256", rk, false},
		{"rsa-bare", "RS512", rk, false},
		{"ec-bare", "ES256", ek, true},
		{"rsa-ps256", "PS256", psk, true},
		{"rsa-ps256", "RS256", psk, false},
	} {
		_, err := s.Verify(context.Background(), "sso", federated.Credential{IDToken: mint(t, tc.alg, tc.key, map[string]any{"kid": tc.kid}, claims)})
		if tc.ok {
			assert.NoError(t, err, "%s %s", tc.kid, tc.alg)
		} else {
			assert.ErrorIs(t, err, federated.ErrInvalidCredential, "%s %s", tc.kid, tc.alg)
		}
	}
}

// TestOIDCDiscoveryMismatch: a discovery document that speaks for another
// issuer is the vendor's problem, not the player's.
func TestOIDCDiscoveryMismatch(t *testing.T) {
	clk := newClock()
	v := federatedtest.NewOIDC(t, "sso", federatedtest.IssuerOptions{ClientIDs: []string{"g"}, OmitAlg: true, Now: clk.Now})
	v.SetDiscoveredIssuer("https://login.example.com")
	s := newSet(t, federatedtest.Config(v), v.Client(), clk)
	tok := v.Mint(federatedtest.Token{Subject: "s", Expiry: clk.Now().Add(time.Hour)})
	_, err := s.Verify(context.Background(), "sso", federated.Credential{IDToken: tok})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "names issuer")
	assert.Zero(t, v.Calls(federatedtest.KeysPath), "no key set is fetched for a discovery document that is refused")
}

// TestOIDCKeysURIWithQuery: a jwks_uri with a query, as Azure AD B2C
// publishes (…/keys?p=<policy>), is followed with its query; a fragment or
// credentials in it are still refused.
func TestOIDCKeysURIWithQuery(t *testing.T) {
	clk := newClock()
	v := federatedtest.NewOIDC(t, "b2c", federatedtest.IssuerOptions{ClientIDs: []string{"g"}, Now: clk.Now})
	v.SetKeysQuery("p=b2c_1_signin")
	s := newSet(t, federatedtest.Config(v), v.Client(), clk)
	warm(t, s)
	id, err := s.Verify(context.Background(), "b2c", federated.Credential{IDToken: v.Mint(federatedtest.Token{Subject: "s"})})
	require.NoError(t, err)
	assert.Equal(t, "s", id.Subject)
	assert.EqualValues(t, 1, v.Calls(federatedtest.KeysPath))

	for _, bad := range []struct{ uri, why string }{
		{"/keys?p=b2c_1_signin#frag", "no fragment"},
		{"/keys#", "no fragment"},
		{"//user:pw@HOST/keys?p=x", "credentials"},
	} {
		w := federatedtest.NewOIDC(t, "b2c", federatedtest.IssuerOptions{ClientIDs: []string{"g"}, Now: clk.Now})
		uri := w.URL + bad.uri
		if strings.HasPrefix(bad.uri, "//") {
			uri = "http:" + strings.Replace(bad.uri, "HOST", strings.TrimPrefix(w.URL, "http://"), 1)
		}
		w.Override(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(rw).Encode(map[string]string{"issuer": w.Issuer(), "jwks_uri": uri})
		}), federatedtest.DiscoveryPath)
		s := newSet(t, federatedtest.Config(w), w.Client(), clk)
		_, err := s.Verify(context.Background(), "b2c", federated.Credential{IDToken: w.Mint(federatedtest.Token{Subject: "s"})})
		requireErr(t, err, federated.ErrUnavailable, bad.why)
		assert.NotContains(t, err.Error(), "pw@", "no credentials in the error")
		assert.Zero(t, w.Calls(federatedtest.KeysPath), bad.uri)
	}
}
