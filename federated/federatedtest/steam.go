package federatedtest

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"

	"github.com/gameauth/gameauth/federated"
)

// SteamTicketPath is the Steam Web API's AuthenticateUserTicket.
const SteamTicketPath = "/ISteamUserAuth/AuthenticateUserTicket/v1/"

// SteamOptions shape a fake Steam Web API. The zero value is ready to use.
type SteamOptions struct {
	// AppID and WebAPIKey are the app ID and publisher key the fake
	// accepts; default 480 (Spacewar, Valve's test app) and
	// steam-web-api-key.
	AppID     string
	WebAPIKey string
}

// SteamTicket is what the Web API says of a session ticket.
type SteamTicket struct {
	// SteamID is the player the ticket is for.
	SteamID string
	// OwnerSteamID owns the game; default SteamID. It differs under
	// Family Sharing.
	OwnerSteamID string
	// Result is the result; default "OK".
	Result string
	// VACBanned and PublisherBanned are the bans the answer reports.
	VACBanned, PublisherBanned bool
}

// Steam is a fake Steam Web API: AuthenticateUserTicket answers the
// tickets Ticket and Issue made, the key and app ID checked as Steam
// does. An unknown ticket is "Invalid ticket" (error 101); a wrong key or
// app ID answers 403.
type Steam struct {
	*Server
	appID, key string

	mu      sync.Mutex
	tickets map[string]SteamTicket
}

// NewSteam starts a fake Steam Web API.
func NewSteam(tb testing.TB, o SteamOptions) *Steam {
	tb.Helper()
	s := &Steam{
		appID:   cmp.Or(o.AppID, "480"),
		key:     cmp.Or(o.WebAPIKey, "steam-web-api-key"),
		tickets: map[string]SteamTicket{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+SteamTicketPath, s.authenticate)
	s.Server = newServer(tb, mux, false)
	return s
}

// Ticket returns a new session ticket, hex, for steamID: what the game gets
// from GetAuthTicketForWebApi.
func (s *Steam) Ticket(steamID string) string { return s.Issue(SteamTicket{SteamID: steamID}) }

// Issue returns a new session ticket the Web API answers t for.
func (s *Steam) Issue(t SteamTicket) string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	ticket := hex.EncodeToString(b)
	t.OwnerSteamID = cmp.Or(t.OwnerSteamID, t.SteamID)
	t.Result = cmp.Or(t.Result, "OK")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickets[ticket] = t
	return ticket
}

// Configure sets cfg's steam entry to the fake, with its app ID and key.
func (s *Steam) Configure(cfg *federated.Config) {
	cfg.Steam = &federated.SteamConfig{AppID: s.appID, WebAPIKey: federated.Secret(s.key), APIBase: s.URL}
}

func (s *Steam) authenticate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("key")), []byte(s.key)) != 1 || q.Get("appid") != s.appID {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied.</body></html>"))
		return
	}
	ticket := q.Get("ticket")
	if _, err := hex.DecodeString(ticket); ticket == "" || err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"response": map[string]any{
			"error": map[string]any{"errorcode": 3, "errordesc": "Invalid parameter"}}})
		return
	}
	s.mu.Lock()
	t, ok := s.tickets[ticket]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"response": map[string]any{
			"error": map[string]any{"errorcode": 101, "errordesc": "Invalid ticket"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"response": map[string]any{"params": map[string]any{
		"result": t.Result, "steamid": t.SteamID, "ownersteamid": t.OwnerSteamID,
		"vacbanned": t.VACBanned, "publisherbanned": t.PublisherBanned,
	}}})
}
