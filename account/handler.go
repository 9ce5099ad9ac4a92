package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gameauth/gameauth/docs"
)

// MaxBodyBytes is the largest request body the handler reads (docs/API.md: 64
// KiB); larger bodies are answered 413.
const MaxBodyBytes = 64 << 10

// HandlerConfig configures the HTTP handler. The zero value is ready to use.
type HandlerConfig struct {
	// TrustedProxies are the proxies whose X-Forwarded-For and X-Real-IP
	// headers are believed for the client address (rate limits, the
	// country resolver). Without them the address is the connection's.
	TrustedProxies []netip.Prefix
	// Codes are the error codes answered: ContractCodes (the default), or
	// LegacyCodes for clients of the older plugin. The middleware has the
	// same setting; gameauth.Config.ErrorCodes sets both.
	Codes ErrorCodes
	// ErrorWriter renders every error the handler answers; nil means
	// Codes.Write. The middleware takes the same kind of writer, so that a
	// host gives both one rendering.
	ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)
}

// Authenticator verifies the access tokens of the handler's Bearer
// endpoints. *middleware.Authenticator is one, so that they go through the
// same bearer parsing, token sources and verification as game routes.
type Authenticator interface {
	// Verify verifies the request's access token (Authorization: Bearer,
	// else the configured fallbacks): TOKEN_MISSING, TOKEN_INVALID or
	// TOKEN_EXPIRED when it cannot.
	Verify(r *http.Request) (Principal, error)
	// VerifyToken verifies a token that came some other way (the seed's
	// access_token in a token-status body).
	VerifyToken(token string) (Principal, error)
}

// NewHandler returns the HTTP handler of every endpoint of docs/API.md,
// with paths relative to where the host mounts it (http.StripPrefix), and
// the seed's aliases: a thin adapter that decodes each request, calls the
// service, and writes its answer. Bearer endpoints verify their token with
// auth; the service's flows then check the player's state.
//
// Unknown paths answer 404 and other methods 405 with Allow, both in the
// BaseResponse shape with ErrorCode INVALID_REQUEST, so that clients only
// ever see the contract's codes.
func NewHandler(s *Service, auth Authenticator, cfg HandlerConfig) http.Handler {
	if cfg.ErrorWriter == nil {
		cfg.ErrorWriter = func(w http.ResponseWriter, _ *http.Request, err error) { cfg.Codes.Write(w, err) }
	}
	h := &handler{s: s, auth: auth, cfg: cfg, routes: map[string]*endpoint{}}
	get, put, post := http.MethodGet, http.MethodPut, http.MethodPost
	action := func(f handlerFunc) map[string]handlerFunc { return map[string]handlerFunc{put: f, post: f} }
	ok := func(body any, err error) (reply, error) { return reply{http.StatusOK, body}, err }
	status := func(st string) statusOnly { return statusOnly{st} }

	h.add(action(public(h, func(ctx context.Context, c Client, req *emailRequest) (reply, error) {
		return granted(s.SignUpEmail(ctx, c, req.LinkedID, req.LinkedPassword, req.Nickname))
	})), "/email/signup", "/api/v20240101/email/signup")
	h.add(action(public(h, func(ctx context.Context, c Client, req *emailRequest) (reply, error) {
		return granted(s.SignInEmail(ctx, c, req.LinkedID, req.LinkedPassword))
	})), "/email/signin", "/api/v20240101/email/signin")
	h.add(action(public(h, func(ctx context.Context, c Client, req *guestRequest) (reply, error) {
		return granted(s.SignInGuest(ctx, c, req.GuestKey))
	})), "/guest/signin")
	h.add(action(public(h, func(ctx context.Context, c Client, req *refreshRequest) (reply, error) {
		return granted(s.Refresh(ctx, c, req.RefreshToken))
	})), "/token/refresh", "/token/signin")
	tokenStatus := bearer(h, func(ctx context.Context, p Principal, req *statusRequest) (reply, error) {
		st, err := s.TokenStatus(ctx, p, req.Timezone)
		if err != nil {
			return reply{}, err
		}
		return ok(statusResponse{Status: "CONNECTED", ExpiresAt: rfc3339(st.ExpiresAt), Player: playerBody(st.Player)}, nil)
	})
	h.add(map[string]handlerFunc{get: tokenStatus, put: tokenStatus, post: tokenStatus},
		"/token/status", "/api/v20240401/token/status", "/api/v20240401/alive")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *signOutRequest) (reply, error) {
		if req.All {
			return ok(status("SIGNED_OUT"), s.SignOutAll(ctx, p))
		}
		return ok(status("SIGNED_OUT"), s.SignOut(ctx, p))
	})), "/signout", "/api/v20240401/token/signout")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *linkRequest) (reply, error) {
		return granted(s.LinkEmail(ctx, p, req.Timezone, req.LinkedID, req.LinkedPassword))
	})), "/email/link")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *passwordRequest) (reply, error) {
		return ok(status("PASSWORD_CHANGED"), s.ChangePassword(ctx, p, req.LinkedPassword, req.NewPassword))
	})), "/password")
	h.add(action(public(h, func(ctx context.Context, c Client, req *resetRequest) (reply, error) {
		return reply{http.StatusAccepted, status("RESET_SENT")}, s.RequestPasswordReset(ctx, c, req.LinkedID)
	})), "/password/reset")
	h.add(action(public(h, func(ctx context.Context, c Client, req *resetRequest) (reply, error) {
		return ok(status("PASSWORD_CHANGED"), s.ConfirmPasswordReset(ctx, c, req.LinkedID, req.Code, req.NewPassword))
	})), "/password/reset/confirm")
	nicknameGet := bearer(h, func(ctx context.Context, p Principal, _ *noBody) (reply, error) {
		nick, err := s.Nickname(ctx, p)
		return ok(nicknameResponse{nick}, err)
	})
	nicknameSet := bearer(h, func(ctx context.Context, p Principal, req *nicknameRequest) (reply, error) {
		nick, err := s.SetNickname(ctx, p, req.Nickname)
		return ok(nicknameResponse{nick}, err)
	})
	h.add(map[string]handlerFunc{get: nicknameGet, put: nicknameSet, post: nicknameSet}, "/nickname")
	h.add(map[string]handlerFunc{get: nicknameGet}, "/api/v20240401/nickname/get")
	h.add(action(nicknameSet), "/api/v20240401/nickname/put")
	h.add(action(public(h, func(ctx context.Context, _ Client, req *nicknameRequest) (reply, error) {
		exists, err := s.NicknameExists(ctx, req.Nickname)
		if exists {
			return ok(status("EXISTS"), err)
		}
		return ok(status("NOT_EXISTS"), err)
	})), "/nickname/exists", "/api/v20240101/nickname/exists")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *withdrawRequest) (reply, error) {
		wd, err := s.Withdraw(ctx, p, req.Period, req.Memo)
		if err != nil {
			return reply{}, err
		}
		return ok(withdrawResponse{Status: "WITHDRAWAL_PENDING", WithdrawalKey: wd.Key, WithdrawalDate: rfc3339(wd.Deadline)}, nil)
	})), "/withdrawal", "/api/v20240401/token/withdrawal")
	h.add(action(public(h, func(ctx context.Context, _ Client, req *keyRequest) (reply, error) {
		wd, err := s.SearchWithdrawal(ctx, req.WithdrawalKey)
		if err != nil {
			return reply{}, err
		}
		return ok(searchResponse{Status: "WITHDRAWAL_PENDING", Memo: wd.Memo, WithdrawalDate: rfc3339(wd.Deadline)}, nil)
	})), "/withdrawal/search", "/api/v20240101/withdrawal/search")
	h.add(action(public(h, func(ctx context.Context, c Client, req *keyRequest) (reply, error) {
		return ok(status("RESTORED"), s.RestoreWithdrawal(ctx, c, req.WithdrawalKey))
	})), "/withdrawal/restore", "/api/v20240401/withdrawal/restore")
	h.add(action(public(h, func(ctx context.Context, _ Client, req *keyRequest) (reply, error) {
		notices, err := s.BlockReason(ctx, req.BlockKey)
		return ok(blockItems(notices), err)
	})), "/block/reason", "/block/v20221201/reason")
	h.add(action(public(h, func(ctx context.Context, c Client, req *federatedRequest) (reply, error) {
		return granted(s.SignInFederated(ctx, c, req.Provider, req.Credential))
	})), "/federated/signin")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *federatedRequest) (reply, error) {
		return granted(s.LinkFederated(ctx, p, req.Timezone, req.Provider, req.Credential))
	})), "/federated/link")
	h.add(action(bearer(h, func(ctx context.Context, p Principal, req *federatedRequest) (reply, error) {
		return ok(status("UNLINKED"), s.UnlinkFederated(ctx, p, req.Provider))
	})), "/federated/unlink")
	h.add(map[string]handlerFunc{get: bearer(h, func(ctx context.Context, p Principal, _ *noBody) (reply, error) {
		ids, err := s.Identities(ctx, p)
		return ok(identitiesBody(ids), err)
	})}, "/identities")
	h.add(map[string]handlerFunc{get: h.jwks}, "/.well-known/jwks.json")
	h.add(map[string]handlerFunc{get: openAPI}, "/openapi.json")
	return h
}

// openAPIJSON is docs/openapi.yaml as JSON, converted once.
var openAPIJSON = sync.OnceValues(docs.OpenAPIJSON)

// openAPI serves the OpenAPI document of the handler and the admin API.
func openAPI(w http.ResponseWriter, _ *http.Request) error {
	body, err := openAPIJSON()
	if err != nil {
		return ErrUnavailable.with("the API document could not be read")
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// handlerFunc serves one method of an endpoint; an error it returns is
// rendered by the ErrorWriter.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// reply is an endpoint's answer: its status and its body.
type reply struct {
	status int
	body   any
}

// granted is the answer of a flow that signs a player in: TokenResponse,
// 201 when the sign-in created the account.
func granted(g *Grant, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	if g.Created {
		return reply{http.StatusCreated, grantBody(g)}, nil
	}
	return reply{http.StatusOK, grantBody(g)}, nil
}

// public adapts a flow anyone may call: the body decoded into Req, the
// request's client (address, and device info when Req carries it).
func public[Req any](h *handler, f func(ctx context.Context, c Client, req *Req) (reply, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decode(w, r, &req); err != nil {
			return err
		}
		c := Client{Addr: h.clientAddr(r)}
		if d, ok := any(&req).(interface{ device() deviceFields }); ok {
			c.Device, c.Timezone = d.device().info()
		}
		rep, err := f(WithClientAddr(r.Context(), c.Addr), c, &req)
		return write(w, rep, err)
	}
}

// bearer adapts a flow of a signed-in player: the body decoded into Req,
// then the access token verified by the Authenticator.
func bearer[Req any](h *handler, f func(ctx context.Context, p Principal, req *Req) (reply, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decode(w, r, &req); err != nil {
			return err
		}
		p, err := h.auth.Verify(r)
		if bt, ok := any(&req).(interface{ bodyToken() string }); ok && errors.Is(err, ErrTokenMissing) && bt.bodyToken() != "" {
			p, err = h.auth.VerifyToken(bt.bodyToken())
		}
		if err != nil {
			return err
		}
		rep, err := f(WithClientAddr(r.Context(), h.clientAddr(r)), p, &req)
		return write(w, rep, err)
	}
}

func (d deviceFields) device() deviceFields { return d }

// info is the device info and time zone, trimmed where docs/API.md's rules
// compare them.
func (d deviceFields) info() (DeviceInfo, string) {
	return DeviceInfo{
		Platform:       strings.TrimSpace(d.Platform),
		DeviceID:       strings.TrimSpace(d.DeviceID),
		DeviceModel:    d.DeviceModel,
		DeviceOS:       d.DeviceOS,
		DeviceLanguage: d.DeviceLanguage,
	}, d.Timezone
}

// bodyToken is the seed's form of token status: the token in the body.
func (r *statusRequest) bodyToken() string { return r.AccessToken }

// write writes a flow's reply as JSON with its status, or returns its error.
func write(w http.ResponseWriter, rep reply, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, rep.status, rep.body)
	return nil
}

type endpoint struct {
	methods map[string]handlerFunc
	allow   string
}

type handler struct {
	s      *Service
	auth   Authenticator
	cfg    HandlerConfig
	routes map[string]*endpoint
}

func (h *handler) add(methods map[string]handlerFunc, paths ...string) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost} {
		if methods[m] != nil {
			allow = append(allow, m)
		}
	}
	e := &endpoint{methods: methods, allow: strings.Join(allow, ", ")}
	for _, p := range paths {
		h.routes[p] = e
	}
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, ok := h.routes[r.URL.Path]
	if !ok {
		h.cfg.ErrorWriter(w, r, &Error{Code: CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such endpoint"})
		return
	}
	f := e.methods[r.Method]
	if f == nil {
		w.Header().Set("Allow", e.allow)
		h.cfg.ErrorWriter(w, r, &Error{Code: CodeInvalidRequest, Status: http.StatusMethodNotAllowed, Message: "method not allowed; use " + e.allow})
		return
	}
	if err := f(w, r); err != nil {
		h.cfg.ErrorWriter(w, r, err)
	}
}

// DecodeRequest reads r's JSON body into dst as the handler does: at most
// MaxBodyBytes (413 beyond), an empty body as an empty object, unknown
// fields ignored, UTF-8 only; errors are INVALID_REQUEST naming the field.
func DecodeRequest(w http.ResponseWriter, r *http.Request, dst any) error { return decode(w, r, dst) }

// DecodeRequestStrict is DecodeRequest for an API whose callers are not
// game clients (the admin API): a field of the body that dst has no place
// for is refused, INVALID_REQUEST naming it, rather than ignored, so that
// a mistyped field ("untill") cannot silently leave its default in place.
// Fields match dst's JSON names as encoding/json matches them (any case).
// dst must point to a struct; a pointer to struct{} takes no field at all.
func DecodeRequestStrict(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeBody(w, r, dst, true)
}

// decode reads r's body, at most MaxBodyBytes, into dst. An empty body is
// an empty object; unknown fields are ignored. Errors name the field.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeBody(w, r, dst, false)
}

// decodeBody is decode; strict refuses the fields dst does not have.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, strict bool) error {
	tooLarge := &Error{Code: CodeInvalidRequest, Status: http.StatusRequestEntityTooLarge, Message: "request body is larger than 64 KiB"}
	if r.ContentLength > MaxBodyBytes {
		return tooLarge
	}
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge
		}
		return ErrInvalidRequest.with("could not read the request body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if !utf8.Valid(data) {
		// encoding/json would replace the bytes with U+FFFD, and two
		// different inputs (an email with \xff and one with \xfe) would
		// become one.
		if f := fieldAt(data, invalidUTF8At(data)); f != "" {
			return invalidField(f, "is not valid UTF-8")
		}
		return ErrInvalidRequest.with("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		if f, ok := unknownField(data, dst); ok {
			return invalidField(fieldName(f), "is not a field of this request")
		}
		dec.DisallowUnknownFields() // nested objects' fields too
	}
	if err := dec.Decode(dst); err != nil {
		if strict && strings.HasPrefix(err.Error(), "json: unknown field") {
			return ErrInvalidRequest.with("request body has a field this request does not take")
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrInvalidRequest.with("request body must be one JSON object")
	}
	return nil
}

// unknownField returns the first key of the JSON object data that names
// no field of the struct dst points to, as encoding/json matches names
// (case-insensitively). ok is false when every key is known, or when data
// is not a JSON object (decoding it says what is wrong).
func unknownField(data []byte, dst any) (key string, ok bool) {
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return "", false
	}
	names := jsonNames(t, nil)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, key) }) {
			return key, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// jsonNames appends the JSON names of struct type t's fields to names, the
// fields of embedded structs without a name of their own included.
func jsonNames(t reflect.Type, names []string) []string {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			names = jsonNames(ft, names)
		case !f.IsExported():
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	return names
}

// fieldName is a field name the client sent, as an error may name it: at
// most 64 bytes of it.
func fieldName(key string) string {
	const most = 64
	if len(key) <= most {
		return key
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "…"
}

// invalidUTF8At is the offset of the first byte of data that is not UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// fieldAt names the top-level field of the JSON object data whose key or
// value holds the byte at offset at, or "" when data is not such an object.
func fieldAt(data []byte, at int) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for depth, key := 1, ""; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		switch {
		case t == json.Delim('{') || t == json.Delim('['):
			depth++
		case t == json.Delim('}') || t == json.Delim(']'):
			depth--
		case depth == 1 && key == "":
			key, _ = t.(string) // a key of the top-level object
			if dec.InputOffset() > int64(at) {
				return key
			}
			continue
		}
		if dec.InputOffset() > int64(at) {
			return key
		}
		if depth == 1 {
			key = "" // the value ended; a key comes next
		}
	}
	return ""
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:] // embedded structs' names come first
		}
		if field == "" {
			return ErrInvalidRequest.with("request body must be a JSON object")
		}
		return invalidField(field, "must be a JSON "+jsonKind(te.Type.Kind().String()))
	}
	return ErrInvalidRequest.with("request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string", goKind == "ptr":
		return "string"
	case goKind == "bool":
		return "boolean"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "whole number" // 1.5 is a JSON number, yet wrong here
	case strings.HasPrefix(goKind, "float"):
		return "number"
	}
	return "value of another type"
}

// clientAddr is the address of the client: the connection's peer, unless
// that peer is a trusted proxy; then the right-most address of
// X-Forwarded-For that is not a trusted proxy, else X-Real-IP.
func (h *handler) clientAddr(r *http.Request) netip.Addr {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = ap.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a.Unmap()
	}
	if !addr.IsValid() || !h.trusted(addr) {
		return addr
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return addr // garbage: stop at the last hop we could trust
			}
			a = a.Unmap()
			if !h.trusted(a) {
				return a
			}
			addr = a
		}
		return addr
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap()
	}
	return addr
}

func (h *handler) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// JWKSMaxAge is how long clients may cache the JWKS. The ring publishes a
// rotated key before it signs with it (RingConfig.Propagation), so a
// Propagation of at least this long means no verifier meets an unknown kid.
const JWKSMaxAge = 300

func (h *handler) jwks(w http.ResponseWriter, r *http.Request) error {
	body, err := h.s.JWKS(r.Context())
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/jwk-set+json")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
