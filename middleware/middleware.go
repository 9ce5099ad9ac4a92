// Package middleware authenticates game requests: it takes the access token
// from the request, verifies it, checks the node's revocation view, and puts
// the Player in the request context.
//
//	auth := middleware.New(middleware.Config{Verifier: verifier, Revocations: view})
//	mux.Handle("/game/", auth.Require(game))                       // every route needs a player
//	mux.Handle("/chat/", auth.Require(chat, middleware.Service("chat"))) // refused to players blocked for chat
//
//	func game(w http.ResponseWriter, r *http.Request) {
//		p, _ := middleware.PlayerFrom(r.Context())
//		...
//	}
//
// Refusals are written in API.md's BaseResponse shape, with
// WWW-Authenticate: Bearer error="invalid_token" (RFC 6750) where the token is
// at fault. Authenticate is the one validation function behind every entry
// point; a host's WebSocket upgrade calls it directly.
package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gameauth/gameauth/internal/blockanswer"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// Player is the authenticated player of a request, as the access token
// describes it.
type Player struct {
	UserUniqueID string
	OpenID       string
	Nickname     string
	LinkedType   string
	Country      string
	SessionID    string
	DeviceID     string
}

type playerKey struct{}

// PlayerFrom returns the request's player, if the middleware put one there.
func PlayerFrom(ctx context.Context) (Player, bool) {
	p, ok := ctx.Value(playerKey{}).(*Player)
	if !ok {
		return Player{}, false
	}
	return *p, true
}

// WithPlayer returns ctx carrying p, as the middleware does; useful in a
// host's own tests of handlers that call PlayerFrom.
func WithPlayer(ctx context.Context, p Player) context.Context {
	return context.WithValue(ctx, playerKey{}, &p)
}

// Verifier verifies access tokens; *tokens.Verifier is one.
type Verifier interface {
	Verify(token string) (tokens.Claims, error)
}

// Revocations is the node's view of revoked sessions and blocks;
// *revocation.View is one.
type Revocations interface {
	// SessionRevoked reports whether the session was revoked, and why.
	SessionRevoked(sessionID string) (storage.RevokeReason, bool)
	// Blocked returns a block in force on the subject covering service
	// (account-wide blocks cover every service; "" asks for those only).
	Blocked(kind storage.BlockKind, subject, service string) (storage.Block, bool)
}

// TokenSource extracts an access token from a request where a client cannot
// send an Authorization header; it returns "" when the request has none.
type TokenSource func(r *http.Request) string

// FromCookie reads the token from the named cookie.
func FromCookie(name string) TokenSource {
	return func(r *http.Request) string {
		c, err := r.Cookie(name)
		if err != nil {
			return ""
		}
		return c.Value
	}
}

// FromSubprotocol reads the token from a WebSocket subprotocol offered as
// prefix+token (for example "access_token." followed by the token), for
// browser clients that cannot set headers on an upgrade.
func FromSubprotocol(prefix string) TokenSource {
	return func(r *http.Request) string {
		for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
			for _, p := range strings.Split(h, ",") {
				if p = strings.TrimSpace(p); strings.HasPrefix(p, prefix) {
					return p[len(prefix):]
				}
			}
		}
		return ""
	}
}

// Config configures an Authenticator. Verifier is required.
type Config struct {
	Verifier Verifier
	// Revocations is consulted on every request; nil means tokens are
	// trusted until they expire (not recommended).
	Revocations Revocations
	// Fallbacks are tried, in order, when there is no Authorization header.
	Fallbacks []TokenSource
	// ErrorWriter renders refusals; nil means WriteError.
	ErrorWriter func(w http.ResponseWriter, r *http.Request, err *Error)
}

// Authenticator is the middleware. It is safe for concurrent use.
type Authenticator struct {
	cfg Config
}

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	if cfg.ErrorWriter == nil {
		cfg.ErrorWriter = func(w http.ResponseWriter, _ *http.Request, err *Error) { WriteError(w, err) }
	}
	return &Authenticator{cfg: cfg}
}

// Option changes how one route is guarded.
type Option func(*routeOptions)

type routeOptions struct {
	service  string
	optional bool
}

// Service marks the route as part of a service (such as "chat"): players
// blocked for that service are refused here, and only on such routes.
func Service(name string) Option { return func(o *routeOptions) { o.service = name } }

// Optional lets requests without a token through with no player in the
// context. A request that carries a token is still refused if the token is.
func Optional() Option { return func(o *routeOptions) { o.optional = true } }

// Require guards next: requests without a valid, unrevoked token of an
// unblocked player are refused.
func (a *Authenticator) Require(next http.Handler, opts ...Option) http.Handler {
	var o routeOptions
	for _, f := range opts {
		f(&o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r, o.service)
		if err != nil {
			if o.optional && err.Code == CodeTokenMissing {
				next.ServeHTTP(w, r)
				return
			}
			a.cfg.ErrorWriter(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), playerKey{}, p)))
	})
}

// Wrap returns Require as a func(http.Handler) http.Handler, the shape chi and
// most routers take for middleware.
func (a *Authenticator) Wrap(opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return a.Require(next, opts...) }
}

// Authenticate validates the request's token for a route of service ("" for
// none) and returns its player, or an *Error saying why not. It is what
// Require does, for entry points that are not plain handlers (a WebSocket
// upgrade, a custom router).
func (a *Authenticator) Authenticate(r *http.Request, service string) (Player, error) {
	p, err := a.authenticate(r, service)
	if err != nil {
		return Player{}, err
	}
	return *p, nil
}

func (a *Authenticator) authenticate(r *http.Request, service string) (*Player, *Error) {
	tok := bearer(r)
	if tok == "" {
		for _, src := range a.cfg.Fallbacks {
			if tok = src(r); tok != "" {
				break
			}
		}
	}
	if tok == "" {
		return nil, errTokenMissing
	}
	c, err := a.cfg.Verifier.Verify(tok)
	if err != nil {
		if errors.Is(err, tokens.ErrTokenExpired) {
			return nil, errTokenExpired
		}
		return nil, errTokenInvalid
	}
	if rv := a.cfg.Revocations; rv != nil {
		if reason, revoked := rv.SessionRevoked(c.SessionID); revoked {
			if reason == storage.ReasonReplaced {
				return nil, errSessionReplaced
			}
			return nil, errSessionRevoked
		}
		if b, blocked := rv.Blocked(storage.BlockPlayer, c.Subject, service); blocked {
			return nil, blockRefusal(b, c.Nickname)
		}
		if c.DeviceID != "" {
			if b, blocked := rv.Blocked(storage.BlockDevice, c.DeviceID, service); blocked {
				return nil, blockRefusal(b, "")
			}
		}
	}
	return &Player{
		UserUniqueID: c.Subject,
		OpenID:       c.OpenID,
		Nickname:     c.Nickname,
		LinkedType:   c.LinkedType,
		Country:      c.Country,
		SessionID:    c.SessionID,
		DeviceID:     c.DeviceID,
	}, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}

// Error codes the middleware answers with (API.md).
const (
	CodeTokenMissing    = "TOKEN_MISSING"
	CodeTokenInvalid    = "TOKEN_INVALID"
	CodeTokenExpired    = "TOKEN_EXPIRED"
	CodeSessionRevoked  = "SESSION_REVOKED"
	CodeSessionReplaced = "SESSION_REPLACED"
	CodeAccountBlocked  = "ACCOUNT_BLOCKED"
	CodeDeviceBlocked   = "DEVICE_BLOCKED"
)

// Error is a refusal, rendered as API.md's BaseResponse.
type Error struct {
	Status    int               `json:"-"`
	Code      string            `json:"ErrorCode"`
	Message   string            `json:"Message"`
	BlockKey  string            `json:"BlockKey,omitempty"`
	ErrorData map[string]string `json:"ErrorData,omitempty"`
	// TokenFault is set when the token itself is at fault: the response
	// then carries WWW-Authenticate: Bearer error="invalid_token".
	TokenFault bool `json:"-"`
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

var (
	errTokenMissing    = &Error{Status: http.StatusUnauthorized, Code: CodeTokenMissing, Message: "no access token"}
	errTokenInvalid    = &Error{Status: http.StatusUnauthorized, Code: CodeTokenInvalid, Message: "access token is invalid", TokenFault: true}
	errTokenExpired    = &Error{Status: http.StatusUnauthorized, Code: CodeTokenExpired, Message: "access token has expired", TokenFault: true}
	errSessionRevoked  = &Error{Status: http.StatusUnauthorized, Code: CodeSessionRevoked, Message: "session was revoked", TokenFault: true}
	errSessionReplaced = &Error{Status: http.StatusUnauthorized, Code: CodeSessionReplaced, Message: "session was replaced by a newer sign-in", TokenFault: true}
)

// blockRefusal is the refusal of a player or device under block b.
func blockRefusal(b storage.Block, nickname string) *Error {
	e := &Error{
		Status:    http.StatusForbidden,
		Code:      CodeAccountBlocked,
		Message:   blockanswer.Message(b),
		BlockKey:  b.Key,
		ErrorData: blockanswer.Data(b, nickname),
	}
	if b.Kind == storage.BlockDevice {
		e.Code, e.BlockKey = CodeDeviceBlocked, ""
	}
	return e
}

// WriteError writes err as API.md's BaseResponse with its status, adding
// WWW-Authenticate where the token is at fault.
func WriteError(w http.ResponseWriter, err *Error) {
	h := w.Header()
	if err.TokenFault {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	} else if err.Code == CodeTokenMissing {
		h.Set("WWW-Authenticate", `Bearer`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(err.Status)
	_ = json.NewEncoder(w).Encode(err)
}
