package federated_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testNow is when every test happens, by the injected clock.
var testNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func newClock() *testclock.Clock { return testclock.New(testNow) }

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

// newSet builds a Set for cfg with client and the clock, closed when the
// test ends.
func newSet(t testing.TB, cfg federated.Config, client *http.Client, clk *testclock.Clock) *federated.Set {
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
// the signature empty (alg "none"). It may run on any goroutine.
func mint(t testing.TB, alg string, key any, header map[string]any, claims map[string]any) string {
	tok, err := federatedtest.SignJWS(alg, key, header, claims)
	assert.NoError(t, err)
	return tok
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
