package federated_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pgSecret = "SECRET-play-games-client-secret"

// playGamesFixture is a fake Google token endpoint (/token) and Players
// API (/games/v1/players/me) on one server.
func playGamesFixture(t *testing.T, secret string) *federated.Set {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		if r.PostForm.Get("client_id") != "web-client" || r.PostForm.Get("client_secret") != pgSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		if r.PostForm.Get("grant_type") != "authorization_code" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostForm.Get("code") {
		case "4/good":
			fmt.Fprint(w, `{"access_token":"at-good","token_type":"Bearer","expires_in":3599}`)
		case "4/no-games":
			fmt.Fprint(w, `{"access_token":"at-no-games","token_type":"Bearer","expires_in":3599}`)
		case "4/players-down":
			fmt.Fprint(w, `{"access_token":"at-down","token_type":"Bearer","expires_in":3599}`)
		case "4/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "4/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Bad Request"}`)
		}
	})
	mux.HandleFunc("GET /games/v1/players/me", func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer at-good":
			fmt.Fprint(w, `{"kind":"games#player","playerId":"g01234567890","displayName":"P"}`)
		case "Bearer at-down":
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { close(release); srv.Close() })
	return newSet(t, federated.Config{
		PlayGames: &federated.PlayGamesConfig{
			ClientID: "web-client", ClientSecret: federated.Secret(secret),
			TokenURL: srv.URL + "/token", APIBase: srv.URL,
		},
		Timeout: federated.Duration(200 * time.Millisecond),
	}, srv.Client(), newClock())
}

func TestPlayGames(t *testing.T) {
	s := playGamesFixture(t, pgSecret)
	ctx := context.Background()
	id, err := s.Verify(ctx, federated.PlayGames, federated.Credential{AuthCode: "4/good"})
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.PlayGames, Subject: "g01234567890"}, id)

	for _, tc := range []struct {
		code string
		want error
		why  string
	}{
		{"4/used-or-expired", federated.ErrInvalidCredential, "invalid_grant"},
		{"4/no-games", federated.ErrInvalidCredential, "Players API refused"},
		{"4/players-down", federated.ErrUnavailable, "Players API answered 502"},
		{"4/down", federated.ErrUnavailable, "token endpoint answered 503"},
		{"4/slow", federated.ErrUnavailable, "token endpoint"},
		{"", federated.ErrInvalidRequest, `"auth_code": missing`},
		{strings.Repeat("x", 5000), federated.ErrInvalidRequest, "longer than"},
	} {
		t.Run(tc.code[:min(len(tc.code), 20)], func(t *testing.T) {
			start := time.Now()
			_, err := s.Verify(ctx, federated.PlayGames, federated.Credential{AuthCode: tc.code})
			requireErr(t, err, tc.want, tc.why)
			assert.NotContains(t, err.Error(), pgSecret)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

// TestPlayGamesWrongSecret: a client secret Google refuses is our fault,
// not the player's.
func TestPlayGamesWrongSecret(t *testing.T) {
	s := playGamesFixture(t, "SECRET-wrong")
	_, err := s.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: "4/good"})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "refused the client")
	assert.NotContains(t, err.Error(), "SECRET")
}
