package federated

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Bounds of a Steam ticket and of the Web API's answer.
const (
	maxTicketSize   = 8 << 10
	maxSteamAnswer  = 64 << 10
	steamTicketPath = "/ISteamUserAuth/AuthenticateUserTicket/v1/"
)

// steam verifies session tickets with the Steam Web API. The key travels in
// the query string, as the API wants it; no error of this type holds the
// URL, and env's client follows no redirect that could carry it elsewhere.
type steam struct {
	appID    string
	key      string
	endpoint string
	env      *env
}

func newSteam(cfg *SteamConfig, e *env) *steam {
	base := cfg.APIBase
	if base == "" {
		base = DefaultSteamAPIBase
	}
	return &steam{
		appID:    cfg.AppID,
		key:      string(cfg.WebAPIKey),
		endpoint: strings.TrimSuffix(base, "/") + steamTicketPath,
		env:      e,
	}
}

// Name implements Provider.
func (*steam) Name() string { return Steam }

// Verify implements Provider: ticket.
func (s *steam) Verify(ctx context.Context, c Credential) (Identity, error) {
	switch {
	case c.Ticket == "":
		return Identity{}, missing("ticket")
	case len(c.Ticket) > maxTicketSize:
		return Identity{}, &FieldError{Field: "ticket", Problem: fmt.Sprintf("longer than %d bytes", maxTicketSize)}
	}
	if _, err := hex.DecodeString(c.Ticket); err != nil {
		return Identity{}, &FieldError{Field: "ticket", Problem: "not hex"}
	}
	q := url.Values{"key": {s.key}, "appid": {s.appID}, "ticket": {c.Ticket}}
	a, err := s.env.get(ctx, s.endpoint+"?"+q.Encode(), nil, maxSteamAnswer)
	switch {
	case err != nil:
		return Identity{}, unavailable(Steam, "Web API", err)
	case serverTrouble(a.status):
		return Identity{}, unavailable(Steam, fmt.Sprintf("Web API answered %d", a.status), nil)
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		// Our key or app ID is refused: the player is not at fault.
		return Identity{}, unavailable(Steam, fmt.Sprintf("Web API refused the key or app ID (%d)", a.status), nil)
	}
	var body struct {
		Response struct {
			Params *struct {
				Result  string `json:"result"`
				SteamID string `json:"steamid"`
			} `json:"params"`
			Error *struct {
				Code int `json:"errorcode"`
			} `json:"error"`
		} `json:"response"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		return Identity{}, unavailable(Steam, fmt.Sprintf("Web API answered %d with no JSON", a.status), nil)
	}
	r := body.Response
	switch {
	case r.Error != nil:
		return Identity{}, invalidf(Steam, "ticket refused (error %d)", r.Error.Code)
	case a.status != http.StatusOK || r.Params == nil:
		return Identity{}, unavailable(Steam, fmt.Sprintf("Web API answered %d without a result", a.status), nil)
	case r.Params.Result != "OK":
		return Identity{}, invalidf(Steam, "ticket refused (result %q)", r.Params.Result)
	case r.Params.SteamID == "" || strings.Trim(r.Params.SteamID, "0123456789") != "":
		return Identity{}, unavailable(Steam, "Web API answered OK without a steamid", nil)
	}
	// steamid, not ownersteamid: under Family Sharing the owner is another
	// player, and the one signing in is steamid.
	return Identity{Provider: Steam, Subject: r.Params.SteamID}, nil
}
