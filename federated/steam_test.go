package federated_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const steamKey = "SECRET-steam-web-api-key-0123456789"

// steamFixture is a fake Steam Web API: the answer depends on the ticket.
func steamFixture(t *testing.T) (*federated.Set, *httptest.Server) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/ISteamUserAuth/AuthenticateUserTicket/v1/" || q.Get("key") != steamKey || q.Get("appid") != "480" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch q.Get("ticket") {
		case "aa01": // Family Sharing: the owner is someone else
			fmt.Fprint(w, `{"response":{"params":{"result":"OK","steamid":"76561197960287930","ownersteamid":"76561197960265728","vacbanned":false,"publisherbanned":false}}}`)
		case "aa02":
			fmt.Fprint(w, `{"response":{"params":{"result":"Denied","steamid":"76561197960287930"}}}`)
		case "aa03":
			fmt.Fprint(w, `{"response":{"error":{"errorcode":101,"errordesc":"Invalid ticket"}}}`)
		case "aa04":
			w.WriteHeader(http.StatusInternalServerError)
		case "aa05":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "aa06":
			http.Redirect(w, r, "https://elsewhere.example.com/steal", http.StatusFound)
		case "aa07":
			fmt.Fprint(w, `<html>maintenance</html>`)
		case "aa08":
			fmt.Fprint(w, `{"response":{"params":{"result":"OK","steamid":""}}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"response":{"error":{"errorcode":3,"errordesc":"Invalid parameter"}}}`)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	s := newSet(t, federated.Config{
		Steam:   &federated.SteamConfig{AppID: "480", WebAPIKey: steamKey, APIBase: srv.URL},
		Timeout: federated.Duration(200 * time.Millisecond),
	}, srv.Client(), newClock())
	return s, srv
}

func TestSteam(t *testing.T) {
	s, _ := steamFixture(t)
	ctx := context.Background()

	id, err := s.Verify(ctx, federated.Steam, federated.Credential{Ticket: "aa01"})
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.Steam, Subject: "76561197960287930"}, id, "steamid, not ownersteamid")

	for _, tc := range []struct {
		ticket string
		want   error
		why    string
	}{
		{"aa02", federated.ErrInvalidCredential, `result "Denied"`},
		{"aa03", federated.ErrInvalidCredential, "error 101"},
		{"bb", federated.ErrInvalidCredential, "error 3"},
		{"aa04", federated.ErrUnavailable, "answered 500"},
		{"aa05", federated.ErrUnavailable, "Web API"},
		{"aa06", federated.ErrUnavailable, "302"},
		{"aa07", federated.ErrUnavailable, "no JSON"},
		{"aa08", federated.ErrUnavailable, "without a steamid"},
		{"", federated.ErrInvalidRequest, `"ticket": missing`},
		{"xyz", federated.ErrInvalidRequest, "not hex"},
		{strings.Repeat("ab", 5000), federated.ErrInvalidRequest, "longer than"},
	} {
		t.Run(tc.ticket[:min(len(tc.ticket), 8)], func(t *testing.T) {
			start := time.Now()
			_, err := s.Verify(ctx, federated.Steam, federated.Credential{Ticket: tc.ticket})
			requireErr(t, err, tc.want, tc.why)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

// TestSteamKeyNeverShows: the Web API key is in no error text, whatever
// goes wrong, and in no printed or logged Config.
func TestSteamKeyNeverShows(t *testing.T) {
	s, srv := steamFixture(t)
	ctx := context.Background()
	var texts []string
	for _, ticket := range []string{"aa02", "aa03", "aa04", "aa05", "aa06", "aa07", "aa08", "bb", "zz"} {
		_, err := s.Verify(ctx, federated.Steam, federated.Credential{Ticket: ticket})
		require.Error(t, err)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}

	// The key refused (403), and the server gone (a transport error, which
	// net/http reports with the whole URL).
	bad := newSet(t, federated.Config{Steam: &federated.SteamConfig{AppID: "999", WebAPIKey: steamKey, APIBase: srv.URL}}, srv.Client(), newClock())
	_, err := bad.Verify(ctx, federated.Steam, federated.Credential{Ticket: "aa01"})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	texts = append(texts, err.Error())
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down := newSet(t, federated.Config{Steam: &federated.SteamConfig{AppID: "480", WebAPIKey: steamKey, APIBase: gone.URL}}, nil, newClock())
	_, err = down.Verify(ctx, federated.Steam, federated.Credential{Ticket: "aa01"})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	texts = append(texts, err.Error(), fmt.Sprintf("%#v", err))

	cfg := federated.Config{Steam: &federated.SteamConfig{AppID: "480", WebAPIKey: steamKey}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "steam", cfg.Steam, "key", cfg.Steam.WebAPIKey)
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s %x", *cfg.Steam, *cfg.Steam, cfg.Steam, cfg.Steam.WebAPIKey, cfg.Steam.WebAPIKey), logged.String())

	for _, text := range texts {
		assert.NotContains(t, text, steamKey)
		assert.NotContains(t, text, "SECRET")
	}
	assert.Contains(t, logged.String(), "[redacted]")
}
