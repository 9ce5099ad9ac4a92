package federated_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcFixture is Game Center against a loopback https server that serves
// Apple-style DER certificates.
type gcFixture struct {
	set     *federated.Set
	clk     *fakeClock
	srv     *httptest.Server
	leaf    *rsa.PrivateKey // certified by the configured root, at /gc.cer
	other   *rsa.PrivateKey // certified by another root, at /other.cer
	viaMid  *rsa.PrivateKey // certified by an intermediate of the root file, at /via.cer
	fetches atomic.Int64
	status  atomic.Int64
}

const gcBundle = "com.example.game"

func newGCFixture(t *testing.T, cfg func(*federated.GameCenterConfig)) *gcFixture {
	f := &gcFixture{clk: newClock(), leaf: rsaKey(t), other: rsaKey(t), viaMid: rsaKey(t)}
	root, stranger := newCA(t, "Test Root"), newCA(t, "Another Root")
	leafDER := root.issue(t, certTemplate("gc-prod", false), &f.leaf.PublicKey)
	otherDER := stranger.issue(t, certTemplate("gc-prod", false), &f.other.PublicKey)
	mid := root.subCA(t, "Test Intermediate")
	viaDER := mid.issue(t, certTemplate("gc-prod", false), &f.viaMid.PublicKey)
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		if s := f.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		switch r.URL.Path {
		case "/gc.cer":
			_, _ = w.Write(leafDER)
		case "/other.cer":
			_, _ = w.Write(otherDER)
		case "/via.cer":
			_, _ = w.Write(viaDER)
		case "/garbage.cer":
			_, _ = w.Write([]byte("not a certificate"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)

	rootFile := filepath.Join(t.TempDir(), "root.pem")
	pemFile := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mid.der})...)
	require.NoError(t, os.WriteFile(rootFile, pemFile, 0o600))
	gc := &federated.GameCenterConfig{BundleIDs: []string{gcBundle}, RootCAFile: rootFile, CertHosts: []string{"127.0.0.1"}}
	if cfg != nil {
		cfg(gc)
	}
	f.set = newSet(t, federated.Config{GameCenter: gc, Timeout: federated.Duration(300 * time.Millisecond)}, f.srv.Client(), f.clk)
	return f
}

// sign makes the credential GameKit would hand the client.
func (f *gcFixture) sign(t *testing.T, key *rsa.PrivateKey, path, player, bundle string, at time.Time) federated.Credential {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	ts := uint64(at.UnixMilli())
	h := sha256.New()
	h.Write([]byte(player))
	h.Write([]byte(bundle))
	h.Write(binary.BigEndian.AppendUint64(nil, ts))
	h.Write(salt)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h.Sum(nil))
	require.NoError(t, err)
	return federated.Credential{
		PublicKeyURL: f.srv.URL + path,
		Signature:    base64.StdEncoding.EncodeToString(sig),
		Salt:         base64.StdEncoding.EncodeToString(salt),
		Timestamp:    ts,
		PlayerID:     player,
		BundleID:     bundle,
	}
}

func (f *gcFixture) good(t *testing.T) federated.Credential {
	return f.sign(t, f.leaf, "/gc.cer", "T:_abc123", gcBundle, f.clk.Now().Add(-time.Minute))
}

func TestGameCenter(t *testing.T) {
	f := newGCFixture(t, nil)
	ctx := context.Background()

	id, err := f.set.Verify(ctx, federated.GameCenter, f.good(t))
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.GameCenter, Subject: "T:_abc123"}, id)
	_, err = f.set.Verify(ctx, federated.GameCenter, f.good(t))
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.fetches.Load(), "the certificate is cached by URL")

	id, err = f.set.Verify(ctx, federated.GameCenter, f.sign(t, f.viaMid, "/via.cer", "T:_mid", gcBundle, f.clk.Now()))
	require.NoError(t, err, "a chain through an intermediate of the root file")
	assert.Equal(t, "T:_mid", id.Subject)

	cases := []struct {
		name   string
		cred   func() federated.Credential
		why    string
		fetch  bool // the case may reach the certificate host
		status int  // the certificate host's answer
	}{
		{name: "old timestamp", why: "older than 5m0s", cred: func() federated.Credential {
			return f.sign(t, f.leaf, "/gc.cer", "T:_abc123", gcBundle, f.clk.Now().Add(-6*time.Minute))
		}},
		{name: "timestamp in the future", why: "in the future", cred: func() federated.Credential {
			return f.sign(t, f.leaf, "/gc.cer", "T:_abc123", gcBundle, f.clk.Now().Add(2*time.Minute))
		}},
		{name: "wrong bundle ID", why: "bundle ID not accepted", cred: func() federated.Credential {
			return f.sign(t, f.leaf, "/gc.cer", "T:_abc123", "com.example.other", f.clk.Now())
		}},
		{name: "tampered salt", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good(t)
			c.Salt = base64.StdEncoding.EncodeToString([]byte("other salt"))
			return c
		}},
		{name: "another player ID", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good(t)
			c.PlayerID = "T:_someone-else"
			return c
		}},
		{name: "another timestamp", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good(t)
			c.Timestamp++
			return c
		}},
		{name: "certificate from a host not allowed", why: `host "evil.example.com" not allowed`, cred: func() federated.Credential {
			c := f.good(t)
			c.PublicKeyURL = "https://evil.example.com/gc.cer"
			return c
		}},
		{name: "plain http", why: "not https", cred: func() federated.Credential {
			c := f.good(t)
			c.PublicKeyURL = strings.Replace(c.PublicKeyURL, "https://", "http://", 1)
			return c
		}},
		{name: "userinfo in the URL", why: "not a plain https URL", cred: func() federated.Credential {
			c := f.good(t)
			c.PublicKeyURL = strings.Replace(c.PublicKeyURL, "https://", "https://user@", 1)
			return c
		}},
		{name: "chain to another root", why: "does not chain", fetch: true, cred: func() federated.Credential {
			return f.sign(t, f.other, "/other.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
		{name: "not a certificate", why: "DER certificate", fetch: true, cred: func() federated.Credential {
			return f.sign(t, f.leaf, "/garbage.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
		{name: "no certificate there", why: "answered 404", fetch: true, cred: func() federated.Credential {
			return f.sign(t, f.leaf, "/missing.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.fetches.Load()
			_, err := f.set.Verify(ctx, federated.GameCenter, tc.cred())
			requireErr(t, err, federated.ErrInvalidCredential, tc.why)
			if !tc.fetch {
				assert.Equal(t, before, f.fetches.Load(), "refused before any fetch")
			}
		})
	}
}

func TestGameCenterFields(t *testing.T) {
	f := newGCFixture(t, nil)
	for _, tc := range []struct {
		field   string
		mutate  func(*federated.Credential)
		problem string
	}{
		{"public_key_url", func(c *federated.Credential) { c.PublicKeyURL = "" }, "missing"},
		{"signature", func(c *federated.Credential) { c.Signature = "" }, "missing"},
		{"salt", func(c *federated.Credential) { c.Salt = "" }, "missing"},
		{"timestamp", func(c *federated.Credential) { c.Timestamp = 0 }, "missing"},
		{"player_id", func(c *federated.Credential) { c.PlayerID = "" }, "missing"},
		{"bundle_id", func(c *federated.Credential) { c.BundleID = "" }, "missing"},
		{"signature", func(c *federated.Credential) { c.Signature = "not base64!" }, "not standard base64"},
		{"salt", func(c *federated.Credential) { c.Salt = "%%%" }, "not standard base64"},
		{"player_id", func(c *federated.Credential) { c.PlayerID = strings.Repeat("x", 2000) }, "longer than"},
	} {
		t.Run(tc.field+" "+tc.problem, func(t *testing.T) {
			c := f.good(t)
			tc.mutate(&c)
			_, err := f.set.Verify(context.Background(), federated.GameCenter, c)
			require.ErrorIs(t, err, federated.ErrInvalidRequest)
			var fe *federated.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Equal(t, tc.problem, fe.Problem[:len(tc.problem)])
		})
	}
}

// TestGameCenterMaxAge: a configured window replaces the default.
func TestGameCenterMaxAge(t *testing.T) {
	f := newGCFixture(t, func(c *federated.GameCenterConfig) { c.MaxAge = federated.Duration(30 * time.Second) })
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good(t)) // signed a minute ago
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	c := f.sign(t, f.leaf, "/gc.cer", "T:_abc123", gcBundle, f.clk.Now().Add(-10*time.Second))
	_, err = f.set.Verify(context.Background(), federated.GameCenter, c)
	require.NoError(t, err)
}

// TestGameCenterDefaultHosts: without cert_hosts, only apple.com and its
// subdomains may serve the certificate; the loopback test server may not.
func TestGameCenterDefaultHosts(t *testing.T) {
	f := newGCFixture(t, func(c *federated.GameCenterConfig) { c.CertHosts = nil })
	for _, u := range []string{
		"https://evilapple.com/gc.cer",
		"https://apple.com.evil.example/gc.cer",
		"https://static.gc.apple.com.evil.example/gc.cer",
		"https://127.0.0.1/gc.cer",
	} {
		c := f.good(t)
		c.PublicKeyURL = u
		_, err := f.set.Verify(context.Background(), federated.GameCenter, c)
		require.ErrorIs(t, err, federated.ErrInvalidCredential, u)
		assert.Contains(t, err.Error(), "not allowed", u)
	}
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good(t))
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Zero(t, f.fetches.Load())
}

// TestGameCenterCertificateExpired: the chain is checked at the injected
// time, and a cached key is dropped when its certificate expires.
func TestGameCenterCertificateExpired(t *testing.T) {
	f := newGCFixture(t, nil)
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good(t))
	require.NoError(t, err)
	f.clk.Advance(400 * 24 * time.Hour) // past the leaf's NotAfter
	_, err = f.set.Verify(context.Background(), federated.GameCenter, f.good(t))
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "does not chain")
	assert.EqualValues(t, 2, f.fetches.Load())
}

func TestGameCenterUnavailable(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		f := newGCFixture(t, nil)
		f.status.Store(502)
		_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good(t))
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	})
	t.Run("slow", func(t *testing.T) {
		f := newGCFixture(t, nil)
		release := make(chan struct{})
		slow := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		slow.TLS = f.srv.TLS
		slow.StartTLS()
		t.Cleanup(func() { close(release); slow.Close() })
		c := f.good(t)
		c.PublicKeyURL = slow.URL + "/gc.cer"
		start := time.Now()
		_, err := f.set.Verify(context.Background(), federated.GameCenter, c)
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestGameCenterRootFile(t *testing.T) {
	dir := t.TempDir()
	leafCA := newCA(t, "Some CA")
	intermediate := leafCA.issue(t, certTemplate("Intermediate", true), &ecKey(t).PublicKey)
	for name, tc := range map[string]struct {
		content string
		why     string
	}{
		"missing file":         {content: "-", why: "no such file"},
		"no PEM":               {content: "hello", why: "no PEM certificate"},
		"only an intermediate": {content: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: intermediate})), why: "no self-signed root"},
		"a broken certificate": {content: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})), why: "certificate 1"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pem")
			if tc.content != "-" {
				require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			}
			_, err := federated.New(context.Background(), federated.Config{GameCenter: &federated.GameCenterConfig{
				BundleIDs: []string{gcBundle}, RootCAFile: path,
			}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.why)
			assert.Contains(t, err.Error(), "root_ca_file")
		})
	}
}
