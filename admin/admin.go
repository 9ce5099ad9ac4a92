// Package admin is the operators' HTTP API over account.Service: find a
// player, see their identities, sessions and devices, blocks and
// withdrawal, block and unblock them or a device, revoke sessions, restore
// a withdrawal, rotate the signing key, read the audit log, export
// everything stored about a player. It holds no rules of its own: each
// endpoint is one call of the service, whose rules, events (the audit log
// records the operator) and errors apply as to players' requests.
//
// The host mounts it behind an authorizer it supplies, under a prefix it
// strips:
//
//	h := admin.NewHandler(auth.Service(), admin.Config{
//		Authorize: admin.BearerToken(token, "admin"),
//		Console:   admin.Console(), // the operators' web page at /admin/
//	})
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
//
// Answers are JSON in docs/API.md's style (PascalCase); errors are its
// BaseResponse. List endpoints page with an opaque Cursor.
package admin

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage"
)

// Authorizer decides whether a request comes from an operator, and names
// them: the name goes into the audit log of what they do.
type Authorizer func(r *http.Request) (operator string, ok bool)

// BearerToken authorizes requests bearing token ("Authorization: Bearer
// <token>"), compared in constant time, as operator. A player's access
// token is not an admin token.
func BearerToken(token, operator string) Authorizer {
	want := []byte(token)
	return func(r *http.Request) (string, bool) {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false
		}
		return operator, subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) == 1
	}
}

// Config configures NewHandler.
type Config struct {
	// Authorize decides who may use the API. Required: without it every
	// request is refused.
	Authorize Authorizer
	// Console, when set, serves GET (and HEAD) / and /console/… without the
	// operator's token: the operators' web page (Console()), which holds
	// no data and calls this API with the token. Every other path is the
	// API's, behind Authorize.
	Console http.Handler
	// CrossOrigin refuses the API's state-changing requests that a browser
	// sends from another origin (Sec-Fetch-Site, else Origin against Host),
	// before Authorize is asked: an authorizer that reads a cookie would
	// otherwise let any web page an operator visits block players in
	// their name. Requests without those headers (scripts, curl) and safe
	// methods pass. Nil: http.NewCrossOriginProtection(), which trusts no
	// other origin; give one with AddTrustedOrigin for a console served
	// elsewhere.
	CrossOrigin *http.CrossOriginProtection
}

// NewHandler returns the admin API over svc. Paths are relative to where
// the host mounts it (http.StripPrefix).
func NewHandler(svc *account.Service, cfg Config) http.Handler {
	if cfg.CrossOrigin == nil {
		cfg.CrossOrigin = http.NewCrossOriginProtection()
	}
	h := &handler{svc: svc, cfg: cfg}
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.HandleFunc(rt.pattern, rt.serve)
	}
	api := account.JSONRefusals(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.Console != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && consolePath(r.URL.Path) {
			// The page holds no data: it asks the API, with the token.
			cfg.Console.ServeHTTP(w, r)
			return
		}
		if err := cfg.CrossOrigin.Check(r); err != nil {
			account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusForbidden,
				Message: "cross-origin request refused: the admin API takes writes from its own origin only"})
			return
		}
		operator, ok := "", false
		if cfg.Authorize != nil {
			operator, ok = cfg.Authorize(r)
		}
		if !ok {
			if r.Header.Get("Authorization") == "" {
				account.WriteError(w, account.ErrTokenMissing.WithMessage("an operator's token is required"))
			} else {
				account.WriteError(w, account.ErrTokenInvalid.WithMessage("not an operator's token"))
			}
			return
		}
		api.ServeHTTP(w, r.WithContext(account.WithOperator(r.Context(), operator)))
	})
}

// route is one endpoint of the API: its ServeMux pattern and its handler.
type route struct {
	pattern string
	serve   http.HandlerFunc
}

// routes are the API's endpoints, the table NewHandler builds its mux from
// (docs/API.md "Admin API"; docs/openapi.yaml, checked against this list).
func (h *handler) routes() []route {
	svc := h.svc
	return []route{
		{"GET /players", h.search},
		{"GET /players/{id}", h.player},
		{"GET /players/{id}/export", h.export},
		{"POST /players/{id}/block", h.block(svc.BlockPlayer)},
		{"DELETE /players/{id}/block", h.done(svc.UnblockPlayer, "UNBLOCKED")},
		{"POST /devices/{id}/block", h.block(svc.BlockDevice)},
		{"DELETE /devices/{id}/block", h.done(svc.UnblockDevice, "UNBLOCKED")},
		{"POST /players/{id}/revoke", h.done(svc.RevokePlayerSessions, "REVOKED")},
		{"POST /sessions/{id}/revoke", h.done(svc.RevokeSession, "REVOKED")},
		{"POST /players/{id}/restore", h.done(svc.RestorePlayer, "RESTORED")},
		{"POST /keys/rotate", h.rotate},
		{"GET /audit", h.audit},
	}
}

// consolePath reports whether path is the console's: the root and its
// static files, which are public (they hold no data).
func consolePath(path string) bool {
	return path == "/" || path == "" || strings.HasPrefix(path, "/console/")
}

type handler struct {
	svc *account.Service
	cfg Config
}

// fail writes err as BaseResponse.
func fail(w http.ResponseWriter, err error) { account.WriteError(w, err) }

type playerJSON struct {
	UserUniqueID string `json:"UserUniqueID"`
	OpenID       string `json:"OpenID"`
	Nickname     string `json:"Nickname"`
	LinkedType   string `json:"LinkedType"`
	LinkedID     string `json:"LinkedID"`
	CreatedAt    string `json:"CreatedAt"`
}

func playerBody(p account.PlayerSummary) playerJSON {
	return playerJSON{UserUniqueID: p.UserUniqueID, OpenID: p.OpenID, Nickname: p.Nickname,
		LinkedType: p.LinkedType, LinkedID: p.LinkedID, CreatedAt: rfc3339(p.CreatedAt)}
}

// rfc3339 is a time on the wire: RFC 3339 in UTC, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	players, next, err := h.svc.SearchPlayers(r.Context(), strings.TrimSpace(q.Get("q")), q.Get("cursor"), cmpOr(limit, 50))
	if err != nil {
		fail(w, err)
		return
	}
	out := struct {
		Players []playerJSON `json:"Players"`
		Cursor  string       `json:"Cursor"`
	}{Players: []playerJSON{}, Cursor: next}
	for _, p := range players {
		out.Players = append(out.Players, playerBody(p))
	}
	account.WriteJSON(w, http.StatusOK, out)
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (h *handler) player(w http.ResponseWriter, r *http.Request) {
	rec, err := h.svc.Player(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	account.WriteJSON(w, http.StatusOK, recordBody(rec))
}

func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	exp, err := h.svc.ExportPlayer(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	body := struct {
		recordJSON
		AuditEvents []eventJSON `json:"AuditEvents"`
		ExportedAt  string      `json:"ExportedAt"`
	}{recordJSON: recordBody(&exp.PlayerRecord), AuditEvents: eventsBody(exp.AuditEvents), ExportedAt: rfc3339(time.Now())}
	w.Header().Set("Content-Disposition", `attachment; filename="player-`+safeName(r.PathValue("id"))+`.json"`)
	account.WriteJSON(w, http.StatusOK, body)
}

// safeName keeps what may stand in a file name of the ID.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, id)
}

// blockRequest is the body of a block: the reason shown to the player
// (required), its end (RFC 3339; absent: permanent), and the services it
// covers (absent: the whole account; present, at least one).
type blockRequest struct {
	Reason   string     `json:"reason"`
	Until    *time.Time `json:"until"`
	Services []string   `json:"services"`
}

// decode reads r's body into dst as the account handler does, except that
// a field dst lacks is refused (INVALID_REQUEST naming it), not ignored: an
// operator's typo must not turn into a broader action than they meant.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	return account.DecodeRequestStrict(w, r, dst)
}

func (h *handler) block(do func(ctx context.Context, id string, b account.BlockSpec) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req blockRequest
		if err := decode(w, r, &req); err != nil {
			fail(w, err)
			return
		}
		if req.Services != nil && len(req.Services) == 0 {
			// An empty list is no list of services: leaving the field
			// out is how a block covers the whole account.
			e := account.ErrInvalidRequest.WithMessage("services: lists no service; leave it out to block the whole account")
			e.Field = "services"
			fail(w, e)
			return
		}
		spec := account.BlockSpec{Reason: req.Reason, Services: req.Services}
		if req.Until != nil {
			spec.Until = *req.Until
		}
		key, err := do(r.Context(), r.PathValue("id"), spec)
		if err != nil {
			fail(w, err)
			return
		}
		account.WriteJSON(w, http.StatusOK, map[string]string{"BlockKey": key})
	}
}

// done serves an action that takes no fields: a body, if any, must be an
// empty object (or null), so that a field sent to the wrong action — a
// session to the player's revoke-all — is refused, not ignored.
func (h *handler) done(do func(ctx context.Context, id string) error, status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := decode(w, r, &struct{}{}); err != nil {
			fail(w, err)
			return
		}
		if err := do(r.Context(), r.PathValue("id")); err != nil {
			fail(w, err)
			return
		}
		account.WriteJSON(w, http.StatusOK, map[string]string{"Status": status})
	}
}

func (h *handler) rotate(w http.ResponseWriter, r *http.Request) {
	if err := decode(w, r, &struct{}{}); err != nil {
		fail(w, err)
		return
	}
	kid, err := h.svc.RotateSigningKey(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	account.WriteJSON(w, http.StatusOK, map[string]string{"Status": "ROTATED", "KeyID": kid})
}

func (h *handler) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := account.AuditQuery{PlayerID: q.Get("player"), Kind: q.Get("kind")}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fail(w, account.ErrInvalidRequest.WithMessage("since: must be an RFC 3339 time"))
			return
		}
		aq.Since = t
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	events, next, err := h.svc.AuditEvents(r.Context(), aq, q.Get("cursor"), cmpOr(limit, 100))
	if err != nil {
		fail(w, err)
		return
	}
	account.WriteJSON(w, http.StatusOK, struct {
		Events []eventJSON `json:"Events"`
		Cursor string      `json:"Cursor"`
	}{eventsBody(events), next})
}

type eventJSON struct {
	Kind       string `json:"Kind"`
	Time       string `json:"Time"`
	PlayerID   string `json:"PlayerID"`
	SessionID  string `json:"SessionID"`
	DeviceID   string `json:"DeviceID"`
	ClientAddr string `json:"ClientAddr"`
	Operator   string `json:"Operator"`
	Reason     string `json:"Reason"`
}

func eventsBody(events []storage.AuditEvent) []eventJSON {
	out := make([]eventJSON, 0, len(events))
	for _, e := range events {
		out = append(out, eventJSON{Kind: e.Kind, Time: rfc3339(e.Time), PlayerID: e.PlayerID, SessionID: e.SessionID,
			DeviceID: e.DeviceID, ClientAddr: e.ClientAddr, Operator: e.Operator, Reason: e.Reason})
	}
	return out
}
