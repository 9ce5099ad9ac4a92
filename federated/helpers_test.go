package federated_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testNow is when every test happens, by the injected clock.
var testNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// pubJWK is one key of a served key set.
type pubJWK struct {
	kid string
	alg string // "" to declare none
	pub any
}

// jwksJSON renders keys as a JWK set.
func jwksJSON(t testing.TB, keys ...pubJWK) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		jk, err := jwk.Import(k.pub)
		require.NoError(t, err)
		require.NoError(t, jk.Set(jwk.KeyIDKey, k.kid))
		require.NoError(t, jk.Set(jwk.KeyUsageKey, "sig"))
		if k.alg != "" {
			alg, ok := jwa.LookupSignatureAlgorithm(k.alg)
			require.True(t, ok)
			require.NoError(t, jk.Set(jwk.AlgorithmKey, alg))
		}
		require.NoError(t, set.AddKey(jk))
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// vendor is a fake vendor server: a key set at /jwks, a discovery
// document at /.well-known/openid-configuration, and whatever else a test
// mounts. It counts the key-set fetches (answered or not) and can be made to fail or hang.
type vendor struct {
	*httptest.Server
	mux      *http.ServeMux
	jwks     atomic.Pointer[[]byte]
	fetches  atomic.Int64
	status   atomic.Int64           // non-zero: every answer is this status
	hang     atomic.Bool            // every request waits until the client gives up
	issuer   atomic.Pointer[string] // if set, the issuer discovery names
	released chan struct{}
}

func newVendor(t testing.TB) *vendor {
	v := &vendor{mux: http.NewServeMux(), released: make(chan struct{})}
	v.mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*v.jwks.Load())
	})
	v.mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := v.URL
		if p := v.issuer.Load(); p != nil {
			iss = *p
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": v.URL + "/jwks"})
	})
	empty := []byte(`{"keys":[]}`)
	v.jwks.Store(&empty)
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Decide the answer before counting, so that a test that sees the
		// count knows what that request was answered.
		hang, status := v.hang.Load(), v.status.Load()
		if r.URL.Path == "/jwks" {
			v.fetches.Add(1)
		}
		switch {
		case hang:
			select {
			case <-r.Context().Done():
			case <-v.released:
			}
		case status != 0:
			w.WriteHeader(int(status))
		default:
			v.mux.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() {
		close(v.released)
		v.Close()
	})
	return v
}

func (v *vendor) serveKeys(t testing.TB, keys ...pubJWK) {
	b := jwksJSON(t, keys...)
	v.jwks.Store(&b)
}

// newSet builds a Set for cfg against v with the clock, and waits for its
// key sets.
func newSet(t testing.TB, cfg federated.Config, client *http.Client, clk *fakeClock) *federated.Set {
	t.Helper()
	s, err := federated.New(context.Background(), cfg, federated.WithHTTPClient(client), federated.WithClock(clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func warm(t testing.TB, s *federated.Set) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Warm(ctx))
}

// mint signs claims as a compact JWS with alg and key; a nil key leaves
// the signature empty (alg "none").
func mint(t testing.TB, alg string, key any, header map[string]any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	for k, v := range header {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	require.NoError(t, err)
	pb, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	if key == nil {
		return input + "."
	}
	sig, err := jwsbb.Sign(key, alg, []byte(input), rand.Reader)
	require.NoError(t, err)
	return input + "." + enc.EncodeToString(sig)
}

// certTemplate is a certificate valid around testNow.
func certTemplate(cn string, ca bool) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	c := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testNow.Add(-24 * time.Hour),
		NotAfter:              testNow.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		c.KeyUsage |= x509.KeyUsageCertSign
	}
	return c
}

// testCA is a self-signed root that issues leaf certificates.
type testCA struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key := ecKey(t)
	tmpl := certTemplate(cn, true)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, der: der, key: key}
}

// issue returns the DER of a leaf for pub.
func (ca *testCA) issue(t testing.TB, tmpl *x509.Certificate, pub any) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	require.NoError(t, err)
	return der
}

// subCA returns an intermediate CA issued by ca.
func (ca *testCA) subCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key := ecKey(t)
	der := ca.issue(t, certTemplate(cn, true), &key.PublicKey)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, der: der, key: key}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// offlineClient fails every request before it leaves the process.
func offlineClient() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, errors.New("offline test: no request leaves the machine")
	})}
}

// requireErr checks that err matches want, and not the other of
// ErrInvalidCredential and ErrUnavailable (a 401 and a 503 must never be
// confused), and that its text says why.
func requireErr(t testing.TB, err, want error, why string) {
	t.Helper()
	require.ErrorIs(t, err, want)
	switch want {
	case federated.ErrUnavailable:
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	case federated.ErrInvalidCredential:
		assert.NotErrorIs(t, err, federated.ErrUnavailable)
	}
	assert.Contains(t, err.Error(), why)
}
