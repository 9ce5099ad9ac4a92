package federated

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// Bounds of a server auth code and of the Players API's answer.
const (
	maxAuthCodeSize  = 4 << 10
	maxPlayersAnswer = 1 << 20
	playersMePath    = "/games/v1/players/me"
)

// playGames exchanges a Play Games Services v2 server auth code for an
// access token, then asks the Players API whose it is.
type playGames struct {
	oauth   oauth2.Config
	players string
	env     *env
}

func newPlayGames(cfg *PlayGamesConfig, e *env) *playGames {
	tokenURL, base := cfg.TokenURL, cfg.APIBase
	if tokenURL == "" {
		tokenURL = DefaultPlayGamesTokenURL
	}
	if base == "" {
		base = DefaultPlayGamesAPIBase
	}
	return &playGames{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: string(cfg.ClientSecret),
			// Google takes the client in the form; naming the style
			// spares oauth2 a probing request with the wrong one.
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		players: strings.TrimSuffix(base, "/") + playersMePath,
		env:     e,
	}
}

// Name implements Provider.
func (*playGames) Name() string { return PlayGames }

// Verify implements Provider: auth_code.
func (p *playGames) Verify(ctx context.Context, c Credential) (Identity, error) {
	switch {
	case c.AuthCode == "":
		return Identity{}, missing("auth_code")
	case len(c.AuthCode) > maxAuthCodeSize:
		return Identity{}, &FieldError{Field: "auth_code", Problem: fmt.Sprintf("longer than %d bytes", maxAuthCodeSize)}
	}
	tok, err := p.exchange(ctx, c.AuthCode)
	if err != nil {
		return Identity{}, err
	}
	a, err := p.env.get(ctx, p.players, http.Header{"Authorization": {"Bearer " + tok}}, maxPlayersAnswer)
	switch {
	case err != nil:
		return Identity{}, unavailable(PlayGames, "Players API", err)
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden || a.status == http.StatusNotFound:
		// The code was good for a token, but not for a Games profile
		// (a code issued without the games scope, a player without one).
		return Identity{}, invalidf(PlayGames, "Players API refused the access token (%d)", a.status)
	case a.status != http.StatusOK:
		return Identity{}, unavailable(PlayGames, fmt.Sprintf("Players API answered %d", a.status), nil)
	}
	var me struct {
		PlayerID string `json:"playerId"`
	}
	if err := json.Unmarshal(a.body, &me); err != nil || me.PlayerID == "" {
		return Identity{}, unavailable(PlayGames, "Players API answered without a playerId", nil)
	}
	return Identity{Provider: PlayGames, Subject: me.PlayerID}, nil
}

// exchange trades the auth code for an access token at the token
// endpoint.
func (p *playGames) exchange(ctx context.Context, code string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.env.timeout)
	defer cancel()
	tok, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.env.client), code)
	if err == nil {
		return tok.AccessToken, nil
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// Transport failures and unreadable answers; oauth2's own texts
		// hold neither the code nor the secret.
		return "", unavailable(PlayGames, "token endpoint", transportError(err))
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch {
	case serverTrouble(status):
		return "", unavailable(PlayGames, fmt.Sprintf("token endpoint answered %d", status), nil)
	case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		// Our client ID or secret is refused: the player is not at fault.
		return "", unavailable(PlayGames, fmt.Sprintf("token endpoint refused the client (%d %q)", status, re.ErrorCode), nil)
	default:
		return "", invalidf(PlayGames, "auth code refused (%d %q)", status, re.ErrorCode)
	}
}
