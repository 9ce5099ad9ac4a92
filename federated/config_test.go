package federated_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueExample is the configuration of issue 14, filled in.
const issueExample = `{
  "apple":      {"client_ids": ["com.example.game"], "keys_url": "https://appleid.apple.com/auth/keys"},
  "google":     {"client_ids": ["123.apps.googleusercontent.com"]},
  "playgames":  {"client_id": "web-client", "client_secret": "s3cret", "token_url": "http://127.0.0.1:9999/token", "api_base": "http://localhost:9999"},
  "gamecenter": {"bundle_ids": ["com.example.game"], "max_age": "5m", "cert_hosts": ["static.gc.apple.com"]},
  "steam":      {"app_id": "480", "web_api_key": "k", "api_base": "http://[::1]:8080"},
  "oidc":       [{"name": "studio", "issuer": "https://login.example.com", "client_ids": ["game"]}],
  "timeout":    "3s"
}`

func TestParseConfig(t *testing.T) {
	cfg, err := federated.ParseConfig([]byte(issueExample))
	require.NoError(t, err)
	assert.Equal(t, []string{"com.example.game"}, cfg.Apple.ClientIDs)
	assert.Equal(t, federated.Secret("s3cret"), cfg.PlayGames.ClientSecret)
	assert.Equal(t, federated.Duration(5*time.Minute), cfg.GameCenter.MaxAge)
	assert.Equal(t, federated.Duration(3*time.Second), cfg.Timeout)
	assert.Equal(t, "studio", cfg.OIDC[0].Name)

	// The vendors' default URLs are in this configuration: nothing may
	// leave the machine, so every request fails at the transport.
	s, err := federated.New(context.Background(), cfg, federated.WithHTTPClient(offlineClient()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	assert.Equal(t, []string{"apple", "gamecenter", "google", "playgames", "steam", "studio"}, s.Names())

	empty, err := federated.ParseConfig([]byte(`{}`))
	require.NoError(t, err, "no provider at all is a valid configuration")
	assert.Equal(t, federated.Config{}, empty)
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"unknown provider", `{"facebook": {}}`, `unknown field "facebook"`},
		{"unknown field", `{"apple": {"client_ids": ["a"], "team_id": "x"}}`, `unknown field "team_id"`},
		{"trailing data", `{} {}`, "after the JSON object"},
		{"not JSON", `apple`, "invalid character"},
		{"no client IDs", `{"apple": {}}`, "apple.client_ids: required"},
		{"empty client ID", `{"google": {"client_ids": [""]}}`, "google.client_ids: entry 0 is empty"},
		{"plain http", `{"apple": {"client_ids": ["a"], "keys_url": "http://appleid.apple.com/auth/keys"}}`, "apple.keys_url: \"http://appleid.apple.com/auth/keys\": plain http only for loopback"},
		{"http on a private address", `{"google": {"client_ids": ["a"], "keys_url": "http://10.0.0.1/keys"}}`, "plain http only for loopback"},
		{"not a URL", `{"steam": {"app_id": "1", "web_api_key": "k", "api_base": "partner.steam-api.com"}}`, "steam.api_base"},
		{"ftp", `{"playgames": {"client_id": "c", "client_secret": "s", "token_url": "ftp://x/token"}}`, "want an http(s) URL"},
		{"credentials in a URL", `{"apple": {"client_ids": ["a"], "keys_url": "https://u:pw@example.com/keys"}}`, "credentials in a URL"},
		{"play games without a secret", `{"playgames": {"client_id": "c"}}`, "playgames.client_secret: required"},
		{"steam without a key", `{"steam": {"app_id": "480"}}`, "steam.web_api_key: required"},
		{"steam app ID not a number", `{"steam": {"app_id": "abc", "web_api_key": "k"}}`, "steam.app_id: must be decimal digits"},
		{"game center without bundle IDs", `{"gamecenter": {}}`, "gamecenter.bundle_ids: required"},
		{"a duration that is a number", `{"gamecenter": {"bundle_ids": ["b"], "max_age": 300}}`, `a duration is a string such as "5m"`},
		{"a bad duration", `{"gamecenter": {"bundle_ids": ["b"], "max_age": "5 minutes"}}`, `bad duration "5 minutes"`},
		{"negative max age", `{"gamecenter": {"bundle_ids": ["b"], "max_age": "-1m"}}`, "gamecenter.max_age: must not be negative"},
		{"negative cert retry", `{"gamecenter": {"bundle_ids": ["b"], "cert_retry": "-1s"}}`, "gamecenter.cert_retry: must not be negative"},
		{"a cert host with a scheme", `{"gamecenter": {"bundle_ids": ["b"], "cert_hosts": ["https://static.gc.apple.com"]}}`, "gamecenter.cert_hosts[0]"},
		{"negative timeout", `{"timeout": "-1s"}`, "timeout: must not be negative"},
		{"OIDC named like a built-in", `{"oidc": [{"name": "apple", "issuer": "https://a.example", "client_ids": ["g"]}]}`, `oidc[0].name: "apple" is a built-in name`},
		{"OIDC named like an account identity", `{"oidc": [{"name": "guest", "issuer": "https://a.example", "client_ids": ["g"]}]}`, `"guest" is a built-in name`},
		{"two OIDC entries, one name", `{"oidc": [{"name": "sso", "issuer": "https://a.example", "client_ids": ["g"]}, {"name": "sso", "issuer": "https://b.example", "client_ids": ["g"]}]}`, `oidc[1].name: "sso" is used by another entry`},
		{"OIDC name with capitals", `{"oidc": [{"name": "Studio", "issuer": "https://a.example", "client_ids": ["g"]}]}`, "oidc[0].name"},
		{"OIDC without issuer", `{"oidc": [{"name": "sso", "client_ids": ["g"]}]}`, "oidc[0].issuer: required"},
		{"OIDC without client IDs", `{"oidc": [{"name": "sso", "issuer": "https://a.example"}]}`, "oidc[0].client_ids: required"},
		{"OIDC issuer with a query", `{"oidc": [{"name": "sso", "issuer": "https://a.example/?x=1", "client_ids": ["g"]}]}`, "no query or fragment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := federated.ParseConfig([]byte(tc.json))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "federated: config"), err.Error())
		})
	}
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	_, err := federated.ParseConfig([]byte(`{"apple": {}, "steam": {"app_id": "480"}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apple.client_ids")
	assert.Contains(t, err.Error(), "steam.web_api_key")
}

func TestLoopbackURLs(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/keys", "http://127.9.9.9/keys", "http://localhost/keys", "http://[::1]:1/keys", "https://example.com/keys"} {
		_, err := federated.ParseConfig(fmt.Appendf(nil, `{"apple": {"client_ids": ["a"], "keys_url": %q}}`, u))
		assert.NoError(t, err, u)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "providers.json")
	require.NoError(t, os.WriteFile(good, []byte(issueExample), 0o600))
	cfg, err := federated.LoadConfig(good)
	require.NoError(t, err)
	assert.Equal(t, "480", cfg.Steam.AppID)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"apple": {}}`), 0o600))
	_, err = federated.LoadConfig(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apple.client_ids")
	assert.Contains(t, err.Error(), bad, "the error names the file")

	_, err = federated.LoadConfig(filepath.Join(dir, "absent.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestConfigSecretsStayHidden: a printed, logged or marshalled Config shows
// no secret.
func TestConfigSecretsStayHidden(t *testing.T) {
	cfg, err := federated.ParseConfig([]byte(issueExample))
	require.NoError(t, err)
	out, err := json.Marshal(cfg)
	require.NoError(t, err)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "playgames", cfg.PlayGames.ClientSecret, "steam", cfg.Steam.WebAPIKey)
	for _, text := range []string{
		string(out), logged.String(),
		fmt.Sprintf("%v %+v %#v", *cfg.PlayGames, *cfg.Steam, cfg.Steam),
	} {
		assert.NotContains(t, text, "s3cret")
		assert.NotContains(t, text, `"k"`)
		assert.Contains(t, text, "[redacted]")
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	_, err := federated.New(context.Background(), federated.Config{Apple: &federated.AppleConfig{}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apple.client_ids")
}
