package federatedtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gameauth/gameauth/federated"
)

// Fake is any of the fakes: it knows its provider's configuration entry.
type Fake interface {
	// Configure sets the fake's entry in cfg (for an OIDC issuer, adds
	// it), pointing every URL at the fake.
	Configure(cfg *federated.Config)
}

// Config is the configuration of fakes' providers.
func Config(fakes ...Fake) federated.Config {
	var cfg federated.Config
	for _, f := range fakes {
		f.Configure(&cfg)
	}
	return cfg
}

// ConfigJSON renders cfg as the providers file a server reads with
// federated.LoadConfig, secrets in the clear (federated.Secret marshals
// redacted, which a server could not read back). It checks that the file
// reads back as cfg.
func ConfigJSON(cfg federated.Config) ([]byte, error) {
	redacted, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(redacted, &doc); err != nil {
		return nil, err
	}
	if p := cfg.PlayGames; p != nil {
		doc[federated.PlayGames].(map[string]any)["client_secret"] = string(p.ClientSecret)
	}
	if s := cfg.Steam; s != nil {
		doc[federated.Steam].(map[string]any)["web_api_key"] = string(s.WebAPIKey)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	back, err := federated.ParseConfig(out)
	if err != nil {
		return nil, err
	}
	again, err := json.Marshal(back)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, redacted) || !sameSecrets(back, cfg) {
		return nil, errors.New("federatedtest: the configuration does not read back as itself (a secret field this function does not know?)")
	}
	return out, nil
}

func sameSecrets(a, b federated.Config) bool {
	secret := func(c federated.Config) [2]federated.Secret {
		var s [2]federated.Secret
		if c.PlayGames != nil {
			s[0] = c.PlayGames.ClientSecret
		}
		if c.Steam != nil {
			s[1] = c.Steam.WebAPIKey
		}
		return s
	}
	return secret(a) == secret(b)
}

// WriteConfig writes cfg (usually Config of the fakes, perhaps with a
// timeout) as a providers file into the test's temporary directory, and
// returns its path: what a server takes with -providers.
func WriteConfig(tb testing.TB, cfg federated.Config) string {
	tb.Helper()
	b, err := ConfigJSON(cfg)
	if err != nil {
		tb.Fatalf("federatedtest: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "providers.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatalf("federatedtest: %v", fmt.Errorf("providers file: %w", err))
	}
	return path
}
