package federatedtest

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gameauth/gameauth/federated"
)

// Paths a PlayGames fake serves.
const (
	// PlayGamesTokenPath is Google's OAuth 2.0 token endpoint.
	PlayGamesTokenPath = "/token"
	// PlayersMePath is the Players API's players/me.
	PlayersMePath = "/games/v1/players/me"
)

// PlayGamesOptions shape a fake Play Games Services. The zero value is
// ready to use.
type PlayGamesOptions struct {
	// ClientID and ClientSecret are the web OAuth client the token
	// endpoint accepts; default web-client.apps.googleusercontent.com and
	// play-games-client-secret.
	ClientID     string
	ClientSecret string
}

// PlayGames is a fake of Google's token endpoint and the Games Players
// API: a server auth code from Code is exchanged, once, for an access
// token, and players/me answers that token's player ID.
type PlayGames struct {
	*Server
	clientID, secret string

	mu     sync.Mutex
	codes  map[string]string // server auth code → player ID, until exchanged
	tokens map[string]string // access token → player ID
}

// NewPlayGames starts a fake Play Games Services.
func NewPlayGames(tb testing.TB, o PlayGamesOptions) *PlayGames {
	tb.Helper()
	p := &PlayGames{
		clientID: cmp.Or(o.ClientID, "web-client.apps.googleusercontent.com"),
		secret:   cmp.Or(o.ClientSecret, "play-games-client-secret"),
		codes:    map[string]string{}, tokens: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PlayGamesTokenPath, p.token)
	mux.HandleFunc("GET "+PlayersMePath, p.playersMe)
	p.Server = newServer(tb, mux, false)
	return p
}

// Code returns a new server auth code for playerID, good for one
// exchange, as the Play Games SDK hands one to the game.
func (p *PlayGames) Code(playerID string) string {
	code := "4/0A" + rand.Text()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codes[code] = playerID
	return code
}

// Configure sets cfg's playgames entry to the fake's endpoints and client.
func (p *PlayGames) Configure(cfg *federated.Config) {
	cfg.PlayGames = &federated.PlayGamesConfig{
		ClientID: p.clientID, ClientSecret: federated.Secret(p.secret),
		TokenURL: p.URL + PlayGamesTokenPath, APIBase: p.URL,
	}
}

// token is the authorization_code grant, with the client in the form or
// in HTTP Basic authentication, as Google takes it.
func (p *PlayGames) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	player, ok := p.codes[code]
	delete(p.codes, code)
	access := "ya29." + rand.Text()
	if ok {
		p.tokens[access] = player
	}
	p.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": 3599,
		"scope": "https://www.googleapis.com/auth/games_lite",
	})
}

func (p *PlayGames) playersMe(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	player, known := p.tokens[access]
	p.mu.Unlock()
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "games#player", "playerId": player, "displayName": "Player " + player})
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
