package federated_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gameauth/gameauth/federated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetLookup(t *testing.T) {
	s := newSet(t, federated.Config{
		Steam: &federated.SteamConfig{AppID: "480", WebAPIKey: "k", APIBase: "http://127.0.0.1:1"},
		OIDC:  []federated.OIDCConfig{{Name: "sso", Issuer: "http://127.0.0.1:1", ClientIDs: []string{"g"}}},
	}, offlineClient(), newClock())
	assert.Equal(t, []string{"sso", "steam"}, s.Names())

	p, ok := s.Provider("sso")
	require.True(t, ok)
	assert.Equal(t, "sso", p.Name())
	p, ok = s.Provider(federated.Steam)
	require.True(t, ok)
	assert.Equal(t, federated.Steam, p.Name())

	for _, name := range []string{federated.Apple, "", "SSO", strings.Repeat("x", 500)} {
		_, ok := s.Provider(name)
		assert.False(t, ok)
		_, err := s.Verify(context.Background(), name, federated.Credential{IDToken: "x"})
		require.ErrorIs(t, err, federated.ErrNotConfigured)
		assert.Less(t, len(err.Error()), 120, "a long name is cut short")
	}
}

func TestNilSet(t *testing.T) {
	var s *federated.Set
	_, err := s.Verify(context.Background(), federated.Apple, federated.Credential{IDToken: "x"})
	require.ErrorIs(t, err, federated.ErrNotConfigured)
	_, ok := s.Provider(federated.Apple)
	assert.False(t, ok)
	assert.Empty(t, s.Names())
	require.NoError(t, s.Warm(context.Background()))
	require.NoError(t, s.Close())
}

// TestCredentialJSON: the JSON names are the wire names of issue 14.
func TestCredentialJSON(t *testing.T) {
	var c federated.Credential
	require.NoError(t, json.Unmarshal([]byte(`{
		"id_token": "t", "nonce": "n", "auth_code": "a", "public_key_url": "https://static.gc.apple.com/x.cer",
		"signature": "c2ln", "salt": "c2FsdA==", "timestamp": 1700000000123, "player_id": "T:_1",
		"bundle_id": "com.example.game", "ticket": "abcd"
	}`), &c))
	assert.Equal(t, federated.Credential{
		IDToken: "t", Nonce: "n", AuthCode: "a", PublicKeyURL: "https://static.gc.apple.com/x.cer",
		Signature: "c2ln", Salt: "c2FsdA==", Timestamp: 1700000000123, PlayerID: "T:_1",
		BundleID: "com.example.game", Ticket: "abcd",
	}, c)
}

// TestCredentialRedacted: printing or logging a Credential shows which
// secrets are set, never their values.
func TestCredentialRedacted(t *testing.T) {
	c := federated.Credential{
		IDToken: "SECRET-id-token", Nonce: "SECRET-nonce", AuthCode: "SECRET-code", Signature: "SECRET-sig",
		Salt: "SECRET-salt", Ticket: "SECRET-ticket", PlayerID: "T:_1", BundleID: "com.example.game",
		PublicKeyURL: "https://static.gc.apple.com/x.cer", Timestamp: 42,
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("signin", "cred", c)
	for _, text := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()} {
		assert.NotContains(t, text, "SECRET")
		assert.Contains(t, text, "T:_1")
		assert.Contains(t, text, "id_token")
	}
	assert.Equal(t, "federated.Credential{}", fmt.Sprint(federated.Credential{}))
}
