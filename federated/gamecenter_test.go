package federated_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcFixture is Game Center against a fake certificate host: its own
// certificate (issued by the intermediate of the root file) at
// GameCenterCertPath, and more of its test's making.
type gcFixture struct {
	*federatedtest.GameCenter
	set    *federated.Set
	clk    *testclock.Clock
	direct *rsa.PrivateKey // certified by the configured root itself, at /direct.cer
	other  *rsa.PrivateKey // certified by another root, at /other.cer
}

const gcBundle = "com.example.game"

func newGCFixture(t *testing.T, cfg func(*federated.GameCenterConfig)) *gcFixture {
	f := &gcFixture{clk: newClock(), direct: rsaKey(t), other: rsaKey(t)}
	f.GameCenter = federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{BundleIDs: []string{gcBundle}, Now: f.clk.Now})
	stranger := federatedtest.NewCA(t, "Another Root", testNow)
	f.Serve("/direct.cer", f.Root.Issue("gc-prod", &f.direct.PublicKey).Raw)
	f.Serve("/other.cer", stranger.Issue("gc-prod", &f.other.PublicKey).Raw)
	f.Serve("/garbage.cer", []byte("not a certificate"))
	c := federatedtest.Config(f)
	c.Timeout = federated.Duration(5 * time.Second) // the slow host's test has its own
	if cfg != nil {
		cfg(c.GameCenter)
	}
	f.set = newSet(t, c, f.Client(), f.clk)
	return f
}

// sign makes the credential GameKit would hand the client.
func (f *gcFixture) sign(key *rsa.PrivateKey, path, player, bundle string, at time.Time) federated.Credential {
	return f.Sign(federatedtest.GameCenterSignature{Key: key, URL: f.URL + path, PlayerID: player, BundleID: bundle, Timestamp: at})
}

func (f *gcFixture) good() federated.Credential {
	return f.sign(f.Key(), federatedtest.GameCenterCertPath, "T:_abc123", gcBundle, f.clk.Now().Add(-time.Minute))
}

func TestGameCenter(t *testing.T) {
	f := newGCFixture(t, nil)
	ctx := context.Background()

	id, err := f.set.Verify(ctx, federated.GameCenter, f.good())
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.GameCenter, Subject: "T:_abc123"}, id)
	_, err = f.set.Verify(ctx, federated.GameCenter, f.good())
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.Calls(), "the certificate is cached by URL")

	id, err = f.set.Verify(ctx, federated.GameCenter, f.sign(f.direct, "/direct.cer", "T:_direct", gcBundle, f.clk.Now()))
	require.NoError(t, err, "a chain to the root without the intermediate")
	assert.Equal(t, "T:_direct", id.Subject)

	cases := []struct {
		name   string
		cred   func() federated.Credential
		why    string
		fetch  bool // the case may reach the certificate host
		status int  // the certificate host's answer
	}{
		{name: "old timestamp", why: "older than 5m0s", cred: func() federated.Credential {
			return f.sign(f.Key(), federatedtest.GameCenterCertPath, "T:_abc123", gcBundle, f.clk.Now().Add(-6*time.Minute))
		}},
		{name: "timestamp in the future", why: "in the future", cred: func() federated.Credential {
			return f.sign(f.Key(), federatedtest.GameCenterCertPath, "T:_abc123", gcBundle, f.clk.Now().Add(2*time.Minute))
		}},
		{name: "wrong bundle ID", why: "bundle ID not accepted", cred: func() federated.Credential {
			return f.sign(f.Key(), federatedtest.GameCenterCertPath, "T:_abc123", "com.example.other", f.clk.Now())
		}},
		{name: "tampered salt", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good()
			c.Salt = base64.StdEncoding.EncodeToString([]byte("other salt"))
			return c
		}},
		{name: "another player ID", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good()
			c.PlayerID = "T:_someone-else"
			return c
		}},
		{name: "another timestamp", why: "bad signature", fetch: true, cred: func() federated.Credential {
			c := f.good()
			c.Timestamp++
			return c
		}},
		{name: "certificate from a host not allowed", why: `host "evil.example.com" not allowed`, cred: func() federated.Credential {
			c := f.good()
			c.PublicKeyURL = "https://evil.example.com/gc.cer"
			return c
		}},
		{name: "plain http", why: "not https", cred: func() federated.Credential {
			c := f.good()
			c.PublicKeyURL = strings.Replace(c.PublicKeyURL, "https://", "http://", 1)
			return c
		}},
		{name: "userinfo in the URL", why: "not a plain https URL", cred: func() federated.Credential {
			c := f.good()
			c.PublicKeyURL = strings.Replace(c.PublicKeyURL, "https://", "https://user@", 1)
			return c
		}},
		{name: "a query", why: "query or fragment", cred: func() federated.Credential {
			c := f.good()
			c.PublicKeyURL += "?v=2"
			return c
		}},
		{name: "a fragment", why: "query or fragment", cred: func() federated.Credential {
			c := f.good()
			c.PublicKeyURL += "#x"
			return c
		}},
		{name: "chain to another root", why: "does not chain", fetch: true, cred: func() federated.Credential {
			return f.sign(f.other, "/other.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
		{name: "not a certificate", why: "DER certificate", fetch: true, cred: func() federated.Credential {
			return f.sign(f.Key(), "/garbage.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
		{name: "no certificate there", why: "answered 404", fetch: true, cred: func() federated.Credential {
			return f.sign(f.Key(), "/missing.cer", "T:_abc123", gcBundle, f.clk.Now())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Calls()
			_, err := f.set.Verify(ctx, federated.GameCenter, tc.cred())
			requireErr(t, err, federated.ErrInvalidCredential, tc.why)
			if !tc.fetch {
				assert.Equal(t, before, f.Calls(), "refused before any fetch")
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
			c := f.good()
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
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good()) // signed a minute ago
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	c := f.sign(f.Key(), federatedtest.GameCenterCertPath, "T:_abc123", gcBundle, f.clk.Now().Add(-10*time.Second))
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
		"https://static.gc.apple.com:1/public-key/gc-prod.cer", // would hold a fetch for the whole timeout
		"https://static.gc.apple.com:8443/public-key/gc-prod.cer",
	} {
		c := f.good()
		c.PublicKeyURL = u
		_, err := f.set.Verify(context.Background(), federated.GameCenter, c)
		require.ErrorIs(t, err, federated.ErrInvalidCredential, u)
		assert.Contains(t, err.Error(), "not allowed", u)
	}
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good())
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Zero(t, f.Calls())
}

// TestGameCenterCertificateExpired: the chain is checked at the injected
// time, and a cached key is dropped when its certificate expires.
func TestGameCenterCertificateExpired(t *testing.T) {
	f := newGCFixture(t, nil)
	_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good())
	require.NoError(t, err)
	f.clk.Advance(400 * 24 * time.Hour) // past the leaf's NotAfter
	_, err = f.set.Verify(context.Background(), federated.GameCenter, f.good())
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "does not chain")
	assert.EqualValues(t, 2, f.Calls())
}

func TestGameCenterUnavailable(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		f := newGCFixture(t, nil)
		f.Fail(http.StatusBadGateway)
		_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good())
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	})
	t.Run("slow", func(t *testing.T) {
		f := newGCFixture(t, nil)
		cfg := federatedtest.Config(f)
		cfg.Timeout = federated.Duration(300 * time.Millisecond)
		impatient := newSet(t, cfg, f.Client(), f.clk)
		f.Hang()
		start := time.Now()
		_, err := impatient.Verify(context.Background(), federated.GameCenter, f.good())
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
		assert.Less(t, time.Since(start), 3*time.Second)
		// The timeout is remembered: the next sign-in waits for nothing.
		calls := f.Calls()
		start = time.Now()
		_, err = impatient.Verify(context.Background(), federated.GameCenter, f.good())
		require.ErrorIs(t, err, federated.ErrUnavailable)
		assert.Equal(t, calls, f.Calls())
		assert.Less(t, time.Since(start), 100*time.Millisecond)
	})
}

// TestGameCenterURLNormalForm: every spelling of one certificate's URL is
// one cache entry and one fetch; URLs that could name another resource or
// port are refused before any fetch.
func TestGameCenterURLNormalForm(t *testing.T) {
	f := newGCFixture(t, nil)
	// gc.example.com, a name the fake's TLS certificate holds, is the fake
	// on port 443, as far as this client knows.
	tr := f.Client().Transport.(*http.Transport).Clone()
	fake := f.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, fake)
	}
	cfg := federatedtest.Config(f)
	cfg.GameCenter.CertHosts = []string{"gc.example.com"}
	s := newSet(t, cfg, &http.Client{Transport: tr}, f.clk)
	ctx := context.Background()
	c := f.good()
	at := func(u string) federated.Credential { c.PublicKeyURL = u; return c }

	_, err := s.Verify(ctx, federated.GameCenter, at("https://gc.example.com/public-key/gc-prod.cer"))
	require.NoError(t, err)
	require.EqualValues(t, 1, f.Calls())
	for _, u := range []string{
		"https://GC.Example.COM/public-key/gc-prod.cer",
		"https://gc.example.com:443/public-key/gc-prod.cer",
		"https://gc.example.com:/public-key/gc-prod.cer",
		"HTTPS://gc.example.com/public-key/gc-prod.cer",
		"https://gc.example.com/public-key/%67c-prod.cer",
	} {
		_, err := s.Verify(ctx, federated.GameCenter, at(u))
		require.NoError(t, err, u)
	}
	assert.EqualValues(t, 1, f.Calls(), "one fetch for every spelling")

	for u, why := range map[string]string{
		"https://gc.example.com/public-key/gc-prod.cer?v=1":            "query or fragment",
		"https://gc.example.com/public-key/gc-prod.cer?":               "query or fragment",
		"https://gc.example.com/public-key/gc-prod.cer#":               "query or fragment",
		"https://gc.example.com:8443/public-key/gc-prod.cer":           "port 8443 not allowed",
		"https://gc.example.com:0443/public-key/gc-prod.cer":           "port 0443 not allowed",
		"https://u:p@gc.example.com/public-key/gc-prod.cer":            "not a plain https URL",
		"https://gc.example.com/public-key/../public-key/gc-prod.cer":  "not clean",
		"https://gc.example.com/public-key//gc-prod.cer":               "not clean",
		"https://gc.example.com/public-key/%2E%2E/public-key/x.cer":    "not clean",
		"https://gc.example.com":                                       "not clean",
		"https://gc.example.com.:443/public-key/gc-prod.cer":           "not allowed",
		"https://[::1]:1/public-key/gc-prod.cer":                       "not allowed",
		"https://gc.example.com/public-key/gc-prod.cer/":               "not clean",
		"https://gc.example.com/public-key/./gc-prod.cer":              "not clean",
		"https://other.example.com/public-key/gc-prod.cer":             "not allowed",
		"https://gc.example.com:99999999999/public-key/gc-prod.cer":    "not allowed",
		"https://gc.example.com/public-key/gc-prod.cer#/../../x.cer":   "query or fragment",
		"https://gc.example.com/public-key/gc-prod.cer?../../evil.cer": "query or fragment",
	} {
		_, err := s.Verify(ctx, federated.GameCenter, at(u))
		requireErr(t, err, federated.ErrInvalidCredential, why)
	}
	assert.EqualValues(t, 1, f.Calls(), "refused before any fetch")
}

// TestGameCenterFailureRemembered: a failed fetch is remembered for
// cert_retry (a minute by default) by the injected clock: sign-ins naming
// the same URL in any spelling get its answer without a fetch.
func TestGameCenterFailureRemembered(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		f := newGCFixture(t, nil)
		bad := f.sign(f.Key(), "/public-key/gc-prod-2.cer", "T:_abc123", gcBundle, f.clk.Now())
		for range 3 {
			_, err := f.set.Verify(context.Background(), federated.GameCenter, bad)
			requireErr(t, err, federated.ErrInvalidCredential, "answered 404")
		}
		assert.EqualValues(t, 1, f.Calls())
		f.Serve("/public-key/gc-prod-2.cer", f.Intermediate.Issue("gc-prod", &f.Key().PublicKey).Raw)
		f.clk.Advance(time.Minute - time.Millisecond)
		_, err := f.set.Verify(context.Background(), federated.GameCenter, bad)
		requireErr(t, err, federated.ErrInvalidCredential, "answered 404")
		assert.EqualValues(t, 1, f.Calls())
		f.clk.Advance(time.Millisecond)
		_, err = f.set.Verify(context.Background(), federated.GameCenter, bad)
		require.NoError(t, err, "a minute on, the URL is fetched again")
		assert.EqualValues(t, 2, f.Calls())
	})
	t.Run("unavailable", func(t *testing.T) {
		f := newGCFixture(t, func(c *federated.GameCenterConfig) { c.CertRetry = federated.Duration(10 * time.Second) })
		f.Fail(http.StatusBadGateway)
		_, err := f.set.Verify(context.Background(), federated.GameCenter, f.good())
		requireErr(t, err, federated.ErrUnavailable, "answered 502")
		f.Heal()
		_, err = f.set.Verify(context.Background(), federated.GameCenter, f.good())
		requireErr(t, err, federated.ErrUnavailable, "answered 502")
		assert.EqualValues(t, 1, f.Calls())
		f.clk.Advance(10 * time.Second)
		_, err = f.set.Verify(context.Background(), federated.GameCenter, f.good())
		require.NoError(t, err, "the configured cert_retry on, the URL is fetched again")
		assert.EqualValues(t, 2, f.Calls())
	})
	t.Run("host down", func(t *testing.T) {
		f := newGCFixture(t, nil)
		var tries atomic.Int32
		client := f.Client()
		counting := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			tries.Add(1)
			return client.Transport.RoundTrip(r)
		})}
		s := newSet(t, federatedtest.Config(f), counting, f.clk)
		f.Close()
		for range 3 {
			_, err := s.Verify(context.Background(), federated.GameCenter, f.good())
			requireErr(t, err, federated.ErrUnavailable, "certificate")
		}
		assert.EqualValues(t, 1, tries.Load(), "one attempt to reach the host")
	})
}

// TestGameCenterFetchCap: at most 4 certificate fetches run at once,
// whatever their URLs; a sign-in that needs a fetch and cannot start one
// within its context answers ErrUnavailable, and its URL is not held
// against it afterwards. Cached keys need no fetch.
func TestGameCenterFetchCap(t *testing.T) {
	f := newGCFixture(t, nil)
	ctx := context.Background()
	_, err := f.set.Verify(ctx, federated.GameCenter, f.good())
	require.NoError(t, err)

	arrived, release := make(chan string, 16), make(chan struct{})
	f.Override(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.Path
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			c := f.sign(f.Key(), fmt.Sprintf("/slow-%d.cer", i), "T:_abc123", gcBundle, f.clk.Now())
			_, err := f.set.Verify(ctx, federated.GameCenter, c)
			assert.ErrorIs(t, err, federated.ErrUnavailable)
		})
	}
	for range 4 {
		<-arrived
	}

	_, err = f.set.Verify(ctx, federated.GameCenter, f.good())
	require.NoError(t, err, "a cached key needs no slot")
	direct := f.sign(f.direct, "/direct.cer", "T:_direct", gcBundle, f.clk.Now())
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = f.set.Verify(short, federated.GameCenter, direct)
	requireErr(t, err, federated.ErrUnavailable, "certificate")

	close(release)
	wg.Wait()
	f.Heal()
	assert.Empty(t, arrived, "the fifth fetch never started")
	assert.Zero(t, f.Calls("/direct.cer"))
	_, err = f.set.Verify(ctx, federated.GameCenter, direct)
	require.NoError(t, err, "a slot free, the certificate is fetched")
	assert.EqualValues(t, 1, f.Calls("/direct.cer"))
}

// A sign-in sharing a fetch whose starter gives up waiting for a slot is
// not answered with the starter's time-out: it fetches once a slot frees.
func TestGameCenterSharedFetchOutlivesItsStarter(t *testing.T) {
	f := newGCFixture(t, nil)
	ctx := context.Background()
	keys, slots := make(chan struct{}, 16), make(chan struct{}, 16)
	federated.HookGameCenter(f.set, func(event string) {
		map[string]chan struct{}{"key": keys, "slot": slots}[event] <- struct{}{}
	})

	arrived, release := make(chan struct{}, 16), make(chan struct{})
	free := sync.OnceFunc(func() { close(release) })
	t.Cleanup(free) // before the fake closes, which waits for its handlers
	slow := []string{"/slow-0.cer", "/slow-1.cer", "/slow-2.cer", "/slow-3.cer"}
	f.Override(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	}), slow...)
	var wg sync.WaitGroup
	for _, p := range slow {
		wg.Go(func() {
			_, err := f.set.Verify(ctx, federated.GameCenter, f.sign(f.Key(), p, "T:_abc123", gcBundle, f.clk.Now()))
			assert.ErrorIs(t, err, federated.ErrUnavailable)
		})
	}
	for range slow {
		<-keys
		<-slots
		<-arrived // its fetch holds a slot
	}

	direct := f.sign(f.direct, "/direct.cer", "T:_direct", gcBundle, f.clk.Now())
	starter, giveUp := context.WithCancel(ctx)
	starterDone, sharerDone := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := f.set.Verify(starter, federated.GameCenter, direct)
		starterDone <- err
	}()
	<-keys
	<-slots // the starter's fetch waits for a slot
	go func() {
		_, err := f.set.Verify(ctx, federated.GameCenter, direct)
		sharerDone <- err
	}()
	<-keys // the sharer joins the starter's fetch
	giveUp()
	requireErr(t, <-starterDone, federated.ErrUnavailable, "certificate")
	select {
	case <-slots: // the sharer's own fetch waits now
	case err := <-sharerDone:
		t.Fatalf("the sharer was answered before a slot freed: %v", err)
	}
	<-keys
	free()
	wg.Wait()
	require.NoError(t, <-sharerDone, "the sharer waits on its own context")
	assert.EqualValues(t, 1, f.Calls("/direct.cer"))
}

func TestGameCenterRootFile(t *testing.T) {
	dir := t.TempDir()
	intermediate := federatedtest.NewCA(t, "Some CA", testNow).NewIntermediate("Intermediate").Cert.Raw
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
