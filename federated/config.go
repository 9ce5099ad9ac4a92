package federated

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The vendors' endpoints, used when the configuration leaves a URL out.
const (
	DefaultAppleKeysURL      = "https://appleid.apple.com/auth/keys"
	DefaultGoogleKeysURL     = "https://www.googleapis.com/oauth2/v3/certs"
	DefaultPlayGamesTokenURL = "https://oauth2.googleapis.com/token"
	DefaultPlayGamesAPIBase  = "https://games.googleapis.com"
	DefaultSteamAPIBase      = "https://partner.steam-api.com"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds every call to a vendor.
	DefaultTimeout = 10 * time.Second
	// DefaultGameCenterMaxAge is how old a Game Center signature may be.
	DefaultGameCenterMaxAge = 5 * time.Minute
	// DefaultGameCenterCertRetry is how long a failed Game Center
	// certificate fetch is remembered.
	DefaultGameCenterCertRetry = time.Minute
)

// Config is the providers' configuration, in the shape of the JSON file the
// example server reads (see ParseConfig). A nil provider, or an empty OIDC
// list, is not configured. Every URL is optional and defaults to the
// vendor's; plain http is accepted only for loopback hosts.
type Config struct {
	// Apple configures Sign in with Apple ("apple").
	Apple *AppleConfig `json:"apple,omitempty"`
	// Google configures Google Sign-In ("google").
	Google *GoogleConfig `json:"google,omitempty"`
	// PlayGames configures Play Games Services v2 ("playgames").
	PlayGames *PlayGamesConfig `json:"playgames,omitempty"`
	// GameCenter configures Apple Game Center ("gamecenter").
	GameCenter *GameCenterConfig `json:"gamecenter,omitempty"`
	// Steam configures Steam session tickets ("steam").
	Steam *SteamConfig `json:"steam,omitempty"`
	// OIDC lists OpenID Connect issuers, each under its own name.
	OIDC []OIDCConfig `json:"oidc,omitempty"`
	// Timeout bounds each call to a vendor, e.g. "10s"; default
	// DefaultTimeout.
	Timeout Duration `json:"timeout,omitempty"`
}

// AppleConfig configures Sign in with Apple.
type AppleConfig struct {
	// ClientIDs are the accepted audiences: the app's bundle ID and, for
	// the web flow, the Services ID.
	ClientIDs []string `json:"client_ids"`
	// KeysURL is Apple's key set; default DefaultAppleKeysURL.
	KeysURL string `json:"keys_url,omitempty"`
}

// GoogleConfig configures Google Sign-In (Credential Manager).
type GoogleConfig struct {
	// ClientIDs are the accepted audiences (OAuth client IDs).
	ClientIDs []string `json:"client_ids"`
	// KeysURL is Google's key set; default DefaultGoogleKeysURL.
	KeysURL string `json:"keys_url,omitempty"`
}

// PlayGamesConfig configures Google Play Games Services v2.
type PlayGamesConfig struct {
	// ClientID and ClientSecret are the web OAuth client of the game's
	// Play Games project, which the server auth code was issued for.
	ClientID     string `json:"client_id"`
	ClientSecret Secret `json:"client_secret"`
	// TokenURL is Google's token endpoint; default DefaultPlayGamesTokenURL.
	TokenURL string `json:"token_url,omitempty"`
	// APIBase is the Games API's root; default DefaultPlayGamesAPIBase.
	APIBase string `json:"api_base,omitempty"`
}

// GameCenterConfig configures Apple Game Center.
type GameCenterConfig struct {
	// BundleIDs are the accepted bundle IDs.
	BundleIDs []string `json:"bundle_ids"`
	// RootCAFile is a PEM file: its self-signed certificates are the roots
	// the signing certificate must chain to, the others intermediates that
	// may be needed on the way. Empty: the system's roots.
	RootCAFile string `json:"root_ca_file,omitempty"`
	// MaxAge is how old a signature may be, e.g. "5m"; default
	// DefaultGameCenterMaxAge.
	MaxAge Duration `json:"max_age,omitempty"`
	// CertHosts are the hosts public_key_url may name (exact host names;
	// the URL names no port but 443, except on a loopback host). Empty:
	// apple.com and its subdomains.
	CertHosts []string `json:"cert_hosts,omitempty"`
	// CertRetry is how long a failed certificate fetch (an error answer,
	// no answer, not a certificate of the roots) is remembered: until then
	// a sign-in naming the same URL gets the same answer without a fetch,
	// e.g. "1m"; default DefaultGameCenterCertRetry.
	CertRetry Duration `json:"cert_retry,omitempty"`
}

// SteamConfig configures Steam session tickets.
type SteamConfig struct {
	// AppID is the game's Steam app ID.
	AppID string `json:"app_id"`
	// WebAPIKey is the publisher Web API key.
	WebAPIKey Secret `json:"web_api_key"`
	// APIBase is the Web API's host root; default DefaultSteamAPIBase.
	APIBase string `json:"api_base,omitempty"`
}

// OIDCConfig configures one OpenID Connect issuer.
type OIDCConfig struct {
	// Name is the provider's name (Identity.Provider): lower-case letters,
	// digits, '-' and '_', starting with a letter; not a built-in name.
	Name string `json:"name"`
	// Issuer is the issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration", and tokens must carry
	// it as iss, exactly.
	Issuer string `json:"issuer"`
	// ClientIDs are the accepted audiences.
	ClientIDs []string `json:"client_ids"`
}

// Secret is a configured secret (a client secret, an API key). It prints,
// logs and marshals to JSON as [redacted], so a logged Config leaks
// nothing; it unmarshals from a JSON string as usual.
type Secret string

// MarshalJSON hides the secret from encoding/json (and slog's JSON
// handler).
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// String hides the secret.
func (Secret) String() string { return "[redacted]" }

// GoString hides the secret from %#v too.
func (Secret) GoString() string { return "[redacted]" }

// LogValue hides the secret from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Duration is a time.Duration written in JSON as a Go duration string,
// e.g. "5m".
type Duration time.Duration

// UnmarshalJSON reads a duration string such as "5m" or "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "5m" or "10s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string such as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// maxConfigSize bounds a configuration file.
const maxConfigSize = 1 << 20

// LoadConfig reads and checks the JSON configuration file at path.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("federated: config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("federated: config %s: %w", path, err)
	}
	if len(b) > maxConfigSize {
		return Config{}, fmt.Errorf("federated: config %s: larger than %d bytes", path, maxConfigSize)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return cfg, nil
}

// ParseConfig reads the JSON configuration strictly: unknown keys, a value
// after the object and every problem Validate finds are errors.
func ParseConfig(b []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("federated: config: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, errors.New("federated: config: unexpected data after the JSON object")
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// oidcName is what an OIDC entry may be called: it becomes an account's
// LinkedType.
var oidcName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// reservedNames are the built-in providers' names and the identity types
// the account layer has besides federated ones.
var reservedNames = []string{Apple, Google, PlayGames, GameCenter, Steam, "email", "guest"}

// Validate reports every problem of c, each naming its JSON path.
func (c *Config) Validate() error {
	var errs []error
	add := func(path string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	if c.Timeout < 0 {
		add("timeout", errors.New("must not be negative"))
	}
	if a := c.Apple; a != nil {
		add("apple.client_ids", checkList(a.ClientIDs))
		add("apple.keys_url", checkURL(a.KeysURL))
	}
	if g := c.Google; g != nil {
		add("google.client_ids", checkList(g.ClientIDs))
		add("google.keys_url", checkURL(g.KeysURL))
	}
	if p := c.PlayGames; p != nil {
		add("playgames.client_id", required(p.ClientID))
		add("playgames.client_secret", required(string(p.ClientSecret)))
		add("playgames.token_url", checkURL(p.TokenURL))
		add("playgames.api_base", checkURL(p.APIBase))
	}
	if gc := c.GameCenter; gc != nil {
		add("gamecenter.bundle_ids", checkList(gc.BundleIDs))
		if gc.MaxAge < 0 {
			add("gamecenter.max_age", errors.New("must not be negative"))
		}
		if gc.CertRetry < 0 {
			add("gamecenter.cert_retry", errors.New("must not be negative"))
		}
		for i, h := range gc.CertHosts {
			add(fmt.Sprintf("gamecenter.cert_hosts[%d]", i), checkHost(h))
		}
	}
	if s := c.Steam; s != nil {
		add("steam.app_id", required(s.AppID))
		if s.AppID != "" && strings.Trim(s.AppID, "0123456789") != "" {
			add("steam.app_id", errors.New("must be decimal digits"))
		}
		add("steam.web_api_key", required(string(s.WebAPIKey)))
		add("steam.api_base", checkURL(s.APIBase))
	}
	seen := map[string]bool{}
	for i, o := range c.OIDC {
		path := fmt.Sprintf("oidc[%d]", i)
		switch {
		case !oidcName.MatchString(o.Name):
			add(path+".name", fmt.Errorf("%q: want 1 to 32 of a-z, 0-9, '-', '_', starting with a letter", o.Name))
		case slices.Contains(reservedNames, o.Name):
			add(path+".name", fmt.Errorf("%q is a built-in name", o.Name))
		case seen[o.Name]:
			add(path+".name", fmt.Errorf("%q is used by another entry", o.Name))
		}
		seen[o.Name] = true
		if o.Issuer == "" {
			add(path+".issuer", errors.New("required"))
		} else {
			add(path+".issuer", checkURL(o.Issuer))
		}
		add(path+".client_ids", checkList(o.ClientIDs))
	}
	if len(errs) > 0 {
		return fmt.Errorf("federated: config: %w", errors.Join(errs...))
	}
	return nil
}

func required(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("required")
	}
	return nil
}

func checkList(list []string) error {
	if len(list) == 0 {
		return errors.New("required: at least one")
	}
	for i, v := range list {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("entry %d is empty", i)
		}
	}
	return nil
}

// checkURL accepts, for a configured URL, an empty string (the vendor's
// default), an https URL, or an http URL on a loopback host; none with a
// query or fragment.
func checkURL(s string) error { return checkURLQuery(s, false) }

// checkDiscoveredURL is checkURL for a URL read at run time from a
// vendor's document, which may carry a query: Azure AD B2C's jwks_uri
// names its policy, …/keys?p=<policy>. It has no fragment all the same.
func checkDiscoveredURL(s string) error { return checkURLQuery(s, true) }

func checkURLQuery(s string, query bool) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %q", s)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q: want an absolute http(s) URL", s)
	case u.User != nil:
		return fmt.Errorf("%q: credentials in a URL are not accepted", u.Redacted())
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q: no fragment", s)
	case !query && (u.RawQuery != "" || u.ForceQuery):
		return fmt.Errorf("%q: no query or fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q: plain http only for loopback hosts (127.0.0.0/8, ::1, localhost)", s)
	default:
		return fmt.Errorf("%q: want an http(s) URL", s)
	}
}

// checkHost accepts a bare host name or IP address.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(h, "/:@ ?#") && net.ParseIP(h) == nil {
		return fmt.Errorf("%q: want a bare host name, without scheme, port or path", h)
	}
	return nil
}

// isLoopback is true for localhost and addresses in 127.0.0.0/8 and ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
