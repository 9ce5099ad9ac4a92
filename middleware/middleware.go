// Package middleware authenticates game requests: it takes the access token
// from the request, verifies it, checks the node's revocation view, and puts
// the Player in the request context.
//
//	auth := middleware.New(verifier, view, middleware.Config{})
//	mux.Handle("/game/", auth.Require(game))                             // every route needs a player
//	mux.Handle("/chat/", auth.Require(chat, middleware.Service("chat"))) // refused to players blocked for chat
//
//	func game(w http.ResponseWriter, r *http.Request) {
//		p, _ := middleware.PlayerFrom(r.Context())
//		...
//	}
//
// Refusals are *account.Error values, written in the contract's
// BaseResponse shape by account.WriteError, with WWW-Authenticate: Bearer
// error="invalid_token" (RFC 6750) where the token is at fault.
// Authenticate is the one validation function behind every entry point: a
// host's WebSocket upgrade calls it directly, and the account handler's
// Bearer endpoints verify their tokens through the same Authenticator.
package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/tokens"
)

// Player is the authenticated player of a request, as its access token
// describes it: the account service's Principal, so that a game handler can
// hand it to the service's flows as it is.
type Player = account.Principal

type playerKey struct{}

// PlayerFrom returns the request's player, if the middleware put one there.
// Its ExpiresAt is zero: the middleware hands on the claims the player's
// tokens share, from the verified-token cache, without copying them.
func PlayerFrom(ctx context.Context) (Player, bool) {
	switch v := ctx.Value(playerKey{}).(type) {
	case *tokens.Identity:
		return playerOf(v), true
	case *Player:
		return *v, true
	}
	return Player{}, false
}

// playerOf is the player an Identity names.
func playerOf(id *tokens.Identity) Player {
	return Player{UserUniqueID: id.Subject(), OpenID: id.OpenID(), Nickname: id.Nickname(),
		LinkedType: id.LinkedType(), Country: id.Country(), SessionID: id.SessionID(), DeviceID: id.DeviceID()}
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

// identityVerifier is a Verifier that can answer with the claims a token's
// session shares (*tokens.Verifier): from its cache, without an allocation.
type identityVerifier interface {
	VerifyIdentity(token string) (*tokens.Identity, error)
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

// Config configures an Authenticator. The zero value is ready to use.
type Config struct {
	// Fallbacks are tried, in order, when there is no Authorization header:
	// FromCookie, FromSubprotocol, or the host's own.
	Fallbacks []TokenSource
	// Codes are the error codes refusals are answered with: the contract's
	// (the default), or account.LegacyCodes for clients of the older
	// plugin; the account handler has the same setting.
	Codes account.ErrorCodes
	// ErrorWriter renders refusals; nil means WriteErrorIn(Codes). The
	// account handler takes the same kind of writer, so that a host gives
	// both one rendering.
	ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)
}

// Authenticator is the middleware. It is safe for concurrent use.
type Authenticator struct {
	verifier Verifier
	view     account.Revocations
	gen      generations // view, when it numbers its states (*revocation.View)
	cfg      Config
}

// generations is a revocation view that numbers its states
// (revocation.View.Generation): a session found in good standing is not
// looked up again until the view changes.
type generations interface {
	Generation() uint64
}

// New returns an Authenticator that verifies tokens with v and checks them
// against view, the node's revocation view (nil: tokens are trusted until
// they expire, which is not recommended).
func New(v Verifier, view account.Revocations, cfg Config) *Authenticator {
	if cfg.ErrorWriter == nil {
		cfg.ErrorWriter = func(w http.ResponseWriter, _ *http.Request, err error) { WriteErrorIn(w, err, cfg.Codes) }
	}
	gen, _ := view.(generations)
	return &Authenticator{verifier: v, view: view, gen: gen, cfg: cfg}
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
		who, err := a.authenticate(a.token(r), o.service)
		if err != nil {
			if o.optional && errors.Is(err, account.ErrTokenMissing) {
				next.ServeHTTP(w, r)
				return
			}
			a.cfg.ErrorWriter(w, r, err)
			return
		}
		// The request copy and the context value are all a request costs:
		// who is the cache's, or a Player made once.
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), playerKey{}, who)))
	})
}

// Wrap returns Require as a func(http.Handler) http.Handler, the shape chi and
// most routers take for middleware.
func (a *Authenticator) Wrap(opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return a.Require(next, opts...) }
}

// Authenticate validates the request's token for a route of service ("" for
// none) and returns its player, or an *account.Error saying why not: what
// Require does, for entry points that are not plain handlers (a WebSocket
// upgrade, a custom router).
func (a *Authenticator) Authenticate(r *http.Request, service string) (Player, error) {
	return a.AuthenticateToken(a.token(r), service)
}

// AuthenticateToken is Authenticate for a token that came without an HTTP
// request: a game's own TCP protocol or a WebSocket message.
func (a *Authenticator) AuthenticateToken(token, service string) (Player, error) {
	p, err := a.VerifyToken(token)
	if err != nil {
		return Player{}, err
	}
	if a.view != nil {
		if err := account.Refusal(a.view, p, service); err != nil {
			return Player{}, err
		}
	}
	return p, nil
}

// authenticate is Require's check of token: who it names — the cache's
// *tokens.Identity when the verifier has one, else a *Player — or why not.
func (a *Authenticator) authenticate(token, service string) (any, error) {
	iv, ok := a.verifier.(identityVerifier)
	if !ok {
		p, err := a.AuthenticateToken(token, service)
		if err != nil {
			return nil, err
		}
		p.ExpiresAt = time.Time{} // as PlayerFrom hands it on from an Identity
		return &p, nil
	}
	if token == "" {
		return nil, account.ErrTokenMissing
	}
	id, err := iv.VerifyIdentity(token)
	switch {
	case errors.Is(err, tokens.ErrTokenExpired):
		return nil, account.ErrTokenExpired
	case err != nil:
		return nil, account.ErrTokenInvalid
	}
	if a.view != nil {
		if err := a.refusal(id, service); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// refusal is account.Refusal for the session of id. On routes of no
// service, a session found in good standing at the view's generation is
// not looked up again until the view changes: the Identity, which the
// session's tokens share, records the generation.
func (a *Authenticator) refusal(id *tokens.Identity, service string) error {
	if a.gen == nil || service != "" {
		return account.Refusal(a.view, playerOf(id), service)
	}
	gen := a.gen.Generation() // before the check, so a change during it is not covered
	if id.CheckedAt(gen) {
		return nil
	}
	if err := account.Refusal(a.view, playerOf(id), ""); err != nil {
		return err
	}
	id.MarkChecked(gen)
	return nil
}

// Verify verifies the request's access token (Authorization: Bearer, else
// the Fallbacks) without consulting the revocation view: the player the
// token names, or TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED. The account
// handler's Bearer endpoints start here, and the service's flows then check
// the player's state.
func (a *Authenticator) Verify(r *http.Request) (Player, error) {
	return a.VerifyToken(a.token(r))
}

// VerifyToken is Verify for a token that came some other way.
func (a *Authenticator) VerifyToken(tok string) (Player, error) {
	if tok == "" {
		return Player{}, account.ErrTokenMissing
	}
	c, err := a.verifier.Verify(tok)
	switch {
	case errors.Is(err, tokens.ErrTokenExpired):
		return Player{}, account.ErrTokenExpired
	case err != nil:
		return Player{}, account.ErrTokenInvalid
	}
	return account.PrincipalOf(&c), nil
}

// token is the request's access token: the Authorization header's, else
// the first a fallback finds, else "".
func (a *Authenticator) token(r *http.Request) string {
	tok := bearer(r)
	for _, src := range a.cfg.Fallbacks {
		if tok != "" {
			break
		}
		tok = src(r)
	}
	return tok
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	// The key is in canonical form already, so the map is indexed directly
	// rather than through Header.Get's canonicalization.
	var h string
	if v := r.Header["Authorization"]; len(v) > 0 {
		h = v[0]
	}
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}

// WriteError writes err as account.WriteError does, adding the
// WWW-Authenticate header RFC 6750 asks of a resource server: Bearer
// error="invalid_token" where the token is at fault, plain Bearer where
// there is none.
func WriteError(w http.ResponseWriter, err error) { WriteErrorIn(w, err, account.ContractCodes) }

// WriteErrorIn is WriteError in codes.
func WriteErrorIn(w http.ResponseWriter, err error, codes account.ErrorCodes) {
	var e *account.Error
	if errors.As(err, &e) {
		switch e.Code {
		case account.CodeTokenMissing:
			w.Header().Set("WWW-Authenticate", "Bearer")
		case account.CodeTokenInvalid, account.CodeTokenExpired, account.CodeSessionRevoked, account.CodeSessionReplaced:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	}
	codes.Write(w, err)
}
