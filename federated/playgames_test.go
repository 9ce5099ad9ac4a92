package federated_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pgSecret = "SECRET-play-games-client-secret"

// playGamesFixture is a fake Google token endpoint and Players API, and a
// Set configured with secret as the client secret and timeout.
func playGamesFixture(t *testing.T, secret string, timeout time.Duration) (*federated.Set, *federatedtest.PlayGames) {
	pg := federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{ClientID: "web-client", ClientSecret: pgSecret})
	return playGamesSet(t, pg, secret, timeout), pg
}

func playGamesSet(t *testing.T, pg *federatedtest.PlayGames, secret string, timeout time.Duration) *federated.Set {
	cfg := federatedtest.Config(pg)
	cfg.PlayGames.ClientSecret = federated.Secret(secret)
	cfg.Timeout = federated.Duration(timeout)
	return newSet(t, cfg, pg.Client(), newClock())
}

func TestPlayGames(t *testing.T) {
	s, pg := playGamesFixture(t, pgSecret, 5*time.Second)
	impatient := playGamesSet(t, pg, pgSecret, 200*time.Millisecond) // for the slow vendor
	ctx := context.Background()
	id, err := s.Verify(ctx, federated.PlayGames, federated.Credential{AuthCode: pg.Code("g01234567890")})
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.PlayGames, Subject: "g01234567890"}, id)

	good := func() string { return pg.Code("g01234567890") }
	for _, tc := range []struct {
		name  string
		code  func() string
		fault func() // how the vendor misbehaves
		slow  bool   // the vendor answers after the timeout
		want  error
		why   string
	}{
		{"used or expired", func() string { return "4/used-or-expired" }, nil, false, federated.ErrInvalidCredential, "invalid_grant"},
		{"no Games profile", good, func() { pg.Fail(http.StatusForbidden, federatedtest.PlayersMePath) }, false, federated.ErrInvalidCredential, "Players API refused"},
		{"Players API down", good, func() { pg.Fail(http.StatusBadGateway, federatedtest.PlayersMePath) }, false, federated.ErrUnavailable, "Players API answered 502"},
		{"token endpoint down", good, func() { pg.Fail(http.StatusServiceUnavailable, federatedtest.PlayGamesTokenPath) }, false, federated.ErrUnavailable, "token endpoint answered 503"},
		{"token endpoint slow", good, func() { pg.Hang(federatedtest.PlayGamesTokenPath) }, true, federated.ErrUnavailable, "token endpoint"},
		{"no code", func() string { return "" }, nil, false, federated.ErrInvalidRequest, `"auth_code": missing`},
		{"code too long", func() string { return strings.Repeat("x", 5000) }, nil, false, federated.ErrInvalidRequest, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				tc.fault()
				defer pg.Heal()
			}
			set := s
			if tc.slow {
				set = impatient
			}
			start := time.Now()
			_, err := set.Verify(ctx, federated.PlayGames, federated.Credential{AuthCode: tc.code()})
			requireErr(t, err, tc.want, tc.why)
			assert.NotContains(t, err.Error(), pgSecret)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

// TestPlayGamesWrongSecret: a client secret Google refuses is our fault,
// not the player's.
func TestPlayGamesWrongSecret(t *testing.T) {
	s, pg := playGamesFixture(t, "SECRET-wrong", 5*time.Second)
	_, err := s.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: pg.Code("g01234567890")})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "refused the client")
	assert.NotContains(t, err.Error(), "SECRET")
}
