package federatedtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
)

// GameCenterCertPath is where a GameCenter fake serves its signing
// certificate, as Apple's https://static.gc.apple.com/public-key/… does.
const GameCenterCertPath = "/public-key/gc-prod.cer"

// GameCenterOptions shape a fake Game Center. The zero value is ready to
// use.
type GameCenterOptions struct {
	// BundleIDs are the bundle IDs the configuration accepts; signatures
	// are made for the first. Default: com.example.game.
	BundleIDs []string
	// Now is the clock that certificate validity and the default
	// timestamp are read from; default time.Now.
	Now func() time.Time
}

// GameCenter is a fake of Apple's Game Center certificate host: an https
// server (httptest's TLS) serving, at GameCenterCertPath, the DER signing
// certificate of a generated chain, Root → Intermediate → the signing key,
// as Apple's is. Credential and Sign make what GameKit's
// fetchItemsForIdentityVerificationSignature hands a game.
//
// The configuration Configure writes trusts Root (root_ca_file, which
// holds Root and Intermediate, in the test's temporary directory) and the
// fake's host (cert_hosts). The certificate is fetched over TLS, so the
// HTTP client must trust the fake's TLS certificate: in process, pass
// Client() with federated.WithHTTPClient; a child process can be given
// TLSCertificatePEM in a file named by SSL_CERT_FILE.
type GameCenter struct {
	*Server
	// Root is the root CA the configuration trusts, and Intermediate the
	// CA under it that issued the signing certificate. Tests issue other
	// certificates with them.
	Root, Intermediate *CA

	tb        testing.TB
	bundleIDs []string
	now       func() time.Time
	key       *rsa.PrivateKey
	rootFile  string

	mu    sync.Mutex
	files map[string][]byte
}

// NewGameCenter starts a fake Game Center certificate host.
func NewGameCenter(tb testing.TB, o GameCenterOptions) *GameCenter {
	tb.Helper()
	g := &GameCenter{
		tb: tb, bundleIDs: slices.Clone(o.BundleIDs), now: o.Now,
		key: newRSAKey(tb), files: map[string][]byte{},
	}
	if len(g.bundleIDs) == 0 {
		g.bundleIDs = []string{"com.example.game"}
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.Root = NewCA(tb, "Test Game Center Root", g.now())
	g.Intermediate = g.Root.NewIntermediate("Test Game Center Intermediate")
	g.files[GameCenterCertPath] = g.Intermediate.Issue("gc-prod", &g.key.PublicKey).Raw
	g.rootFile = filepath.Join(tb.TempDir(), "gamecenter-root.pem")
	if err := os.WriteFile(g.rootFile, g.RootCAPEM(), 0o600); err != nil {
		tb.Fatalf("federatedtest: gamecenter: %v", err)
	}
	g.Server = newServer(tb, http.HandlerFunc(g.serveFile), true)
	return g
}

// Key is the signing certificate's private key.
func (g *GameCenter) Key() *rsa.PrivateKey { return g.key }

// Host is the fake's host name, which cert_hosts must hold.
func (g *GameCenter) Host() string {
	u, err := url.Parse(g.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// RootCAPEM is the content of root_ca_file: Root, then Intermediate.
func (g *GameCenter) RootCAPEM() []byte { return append(g.Root.PEM(), g.Intermediate.PEM()...) }

// RootCAFile is the path of the file holding RootCAPEM, removed when the
// test ends.
func (g *GameCenter) RootCAFile() string { return g.rootFile }

// TLSCertificatePEM is the PEM of the certificate the fake's https server
// presents (httptest's, which is its own root): what a client must trust
// to fetch the signing certificate.
func (g *GameCenter) TLSCertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw})
}

// Serve makes the fake answer GET path with body: another certificate,
// or something that is not one.
func (g *GameCenter) Serve(path string, body []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[path] = slices.Clone(body)
}

// Configure sets cfg's gamecenter entry: the fake's bundle IDs, its root
// file and its host.
func (g *GameCenter) Configure(cfg *federated.Config) {
	cfg.GameCenter = &federated.GameCenterConfig{
		BundleIDs: slices.Clone(g.bundleIDs), RootCAFile: g.rootFile, CertHosts: []string{g.Host()},
	}
}

func (g *GameCenter) serveFile(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	body, ok := g.files[r.URL.Path]
	g.mu.Unlock()
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	_, _ = w.Write(body)
}

// GameCenterSignature is what a game's signature says. Zero fields take
// GameKit's values for the fake's player.
type GameCenterSignature struct {
	// PlayerID is the teamPlayerID.
	PlayerID string
	// BundleID is the app's; default the first of the fake's bundle IDs.
	BundleID string
	// Timestamp is when it was signed; default the clock's now.
	Timestamp time.Time
	// Salt is the random salt; default 32 new random bytes.
	Salt []byte
	// Key signs; default the fake's signing key.
	Key *rsa.PrivateKey
	// URL is public_key_url; default the fake's certificate.
	URL string
}

// Credential is a good Game Center credential for playerID, signed now.
func (g *GameCenter) Credential(playerID string) federated.Credential {
	return g.Sign(GameCenterSignature{PlayerID: playerID})
}

// Sign signs player_id ‖ bundle_id ‖ big-endian uint64 timestamp (ms) ‖
// salt with RSA PKCS #1 v1.5 SHA-256, as Game Center does, and returns the
// credential's fields.
func (g *GameCenter) Sign(s GameCenterSignature) federated.Credential {
	if s.BundleID == "" {
		s.BundleID = g.bundleIDs[0]
	}
	if s.Timestamp.IsZero() {
		s.Timestamp = g.now()
	}
	if s.Salt == nil {
		s.Salt = make([]byte, 32)
		_, _ = rand.Read(s.Salt)
	}
	if s.Key == nil {
		s.Key = g.key
	}
	if s.URL == "" {
		s.URL = g.URL + GameCenterCertPath
	}
	ts := uint64(s.Timestamp.UnixMilli())
	h := sha256.New()
	h.Write([]byte(s.PlayerID))
	h.Write([]byte(s.BundleID))
	h.Write(binary.BigEndian.AppendUint64(nil, ts))
	h.Write(s.Salt)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, h.Sum(nil))
	if err != nil {
		g.tb.Errorf("federatedtest: gamecenter: sign: %v", err)
	}
	return federated.Credential{
		PublicKeyURL: s.URL,
		Signature:    base64.StdEncoding.EncodeToString(sig),
		Salt:         base64.StdEncoding.EncodeToString(s.Salt),
		Timestamp:    ts,
		PlayerID:     s.PlayerID,
		BundleID:     s.BundleID,
	}
}

// CA is a certificate authority of a test: a root, or an intermediate
// under one. Its certificates are valid from a day before the time it was
// made for a year.
type CA struct {
	// Cert is its certificate (Cert.Raw the DER).
	Cert *x509.Certificate

	tb                  testing.TB
	key                 *ecdsa.PrivateKey
	notBefore, notAfter time.Time
}

// NewCA makes a self-signed root CA valid around now.
func NewCA(tb testing.TB, commonName string, now time.Time) *CA {
	tb.Helper()
	ca := &CA{tb: tb, key: newECKey(tb, elliptic.P256()), notBefore: now.Add(-24 * time.Hour), notAfter: now.Add(365 * 24 * time.Hour)}
	tmpl := ca.template(commonName, true)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		tb.Fatalf("federatedtest: CA %s: %v", commonName, err)
	}
	ca.Cert = ca.parse(der)
	return ca
}

// NewIntermediate makes a CA under ca.
func (ca *CA) NewIntermediate(commonName string) *CA {
	sub := &CA{tb: ca.tb, key: newECKey(ca.tb, elliptic.P256()), notBefore: ca.notBefore, notAfter: ca.notAfter}
	sub.Cert = ca.issue(ca.template(commonName, true), &sub.key.PublicKey)
	return sub
}

// Issue makes a leaf certificate for pub, for digital signatures.
func (ca *CA) Issue(commonName string, pub crypto.PublicKey) *x509.Certificate {
	return ca.issue(ca.template(commonName, false), pub)
}

// PEM is the CA's certificate in PEM.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		ca.tb.Errorf("federatedtest: certificate %s: %v", tmpl.Subject.CommonName, err)
		return &x509.Certificate{}
	}
	return ca.parse(der)
}

func (ca *CA) parse(der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		ca.tb.Errorf("federatedtest: certificate: %v", err)
		return &x509.Certificate{}
	}
	return c
}

func (ca *CA) template(commonName string, isCA bool) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	c := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"gameauth federatedtest"}},
		NotBefore:             ca.notBefore,
		NotAfter:              ca.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if isCA {
		c.KeyUsage |= x509.KeyUsageCertSign
	}
	return c
}
