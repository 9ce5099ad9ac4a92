package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxBodyBytes is the largest request body the handler reads (API.md: 64
// KiB); larger bodies are answered 413.
const MaxBodyBytes = 64 << 10

// Handler returns the HTTP handler of every API.md endpoint, with paths
// relative to where the host mounts it (http.StripPrefix), and its seed
// aliases. Unknown paths answer 404 and other methods 405 with Allow, both
// in the BaseResponse shape with ErrorCode INVALID_REQUEST, so that clients
// only ever see API.md's codes.
func (s *Service) Handler() http.Handler {
	h := &handler{s: s, routes: map[string]*endpoint{}}
	put, post, get := http.MethodPut, http.MethodPost, http.MethodGet
	action := func(f handlerFunc) map[string]handlerFunc { return map[string]handlerFunc{put: f, post: f} }

	h.add(action(h.signUp), "/email/signup", "/api/v20240101/email/signup")
	h.add(action(h.signIn), "/email/signin", "/api/v20240101/email/signin")
	h.add(action(h.guest), "/guest/signin")
	h.add(action(h.refresh), "/token/refresh", "/token/signin")
	h.add(map[string]handlerFunc{get: h.status, put: h.status, post: h.status},
		"/token/status", "/api/v20240401/token/status", "/api/v20240401/alive")
	h.add(action(h.signOut), "/signout", "/api/v20240401/token/signout")
	h.add(action(h.link), "/email/link")
	h.add(action(h.password), "/password")
	h.add(action(h.reset), "/password/reset")
	h.add(action(h.resetConfirm), "/password/reset/confirm")
	h.add(map[string]handlerFunc{get: h.nicknameGet, put: h.nicknameSet, post: h.nicknameSet}, "/nickname")
	h.add(map[string]handlerFunc{get: h.nicknameGet}, "/api/v20240401/nickname/get")
	h.add(action(h.nicknameSet), "/api/v20240401/nickname/put")
	h.add(action(h.nicknameExists), "/nickname/exists", "/api/v20240101/nickname/exists")
	h.add(action(h.withdraw), "/withdrawal", "/api/v20240401/token/withdrawal")
	h.add(action(h.search), "/withdrawal/search", "/api/v20240101/withdrawal/search")
	h.add(action(h.restore), "/withdrawal/restore", "/api/v20240401/withdrawal/restore")
	h.add(action(h.blockReason), "/block/reason", "/block/v20221201/reason")
	h.add(map[string]handlerFunc{get: h.jwks}, "/.well-known/jwks.json")
	return h
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type endpoint struct {
	methods map[string]handlerFunc
	allow   string
}

type handler struct {
	s      *Service
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
		WriteError(w, &Error{Code: CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such endpoint"})
		return
	}
	f := e.methods[r.Method]
	if f == nil {
		w.Header().Set("Allow", e.allow)
		WriteError(w, &Error{Code: CodeInvalidRequest, Status: http.StatusMethodNotAllowed, Message: "method not allowed; use " + e.allow})
		return
	}
	if err := f(w, r); err != nil {
		WriteError(w, err)
	}
}

// decode reads r's body, at most MaxBodyBytes, into dst. An empty body is
// an empty object; unknown fields are ignored. Errors name the field.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
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
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrInvalidRequest.with("request body must be one JSON object")
	}
	return nil
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

// bearer is the access token of "Authorization: Bearer <token>".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// ---- requests ----

// deviceFields are API.md's device info, plus an optional IANA time zone.
type deviceFields struct {
	Platform       string `json:"platform"`
	DeviceID       string `json:"device_id"`
	DeviceModel    string `json:"device_model"`
	DeviceOS       string `json:"device_os"`
	DeviceLanguage string `json:"device_language"`
	Timezone       string `json:"timezone"`
}

func (h *handler) client(r *http.Request, d deviceFields) client {
	return client{
		addr: h.s.clientAddr(r),
		device: DeviceInfo{
			Platform:       strings.TrimSpace(d.Platform),
			DeviceID:       strings.TrimSpace(d.DeviceID),
			DeviceModel:    d.DeviceModel,
			DeviceOS:       d.DeviceOS,
			DeviceLanguage: d.DeviceLanguage,
		},
		timezone: d.Timezone,
	}
}

type emailRequest struct {
	LinkedID       string  `json:"linked_id"`
	LinkedPassword string  `json:"linked_password"`
	Nickname       *string `json:"nickname"`
	deviceFields
}

type guestRequest struct {
	GuestKey string `json:"guest_key"`
	deviceFields
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	deviceFields
}

type statusRequest struct {
	AccessToken string `json:"access_token"`
	Timezone    string `json:"timezone"`
}

type signOutRequest struct {
	All bool `json:"all"`
}

type linkRequest struct {
	LinkedID       string `json:"linked_id"`
	LinkedPassword string `json:"linked_password"`
	Timezone       string `json:"timezone"`
}

type passwordRequest struct {
	LinkedPassword string `json:"linked_password"`
	NewPassword    string `json:"new_password"`
}

type resetRequest struct {
	LinkedID    string `json:"linked_id"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

type nicknameRequest struct {
	Nickname string `json:"nickname"`
}

type withdrawRequest struct {
	Period int    `json:"period"`
	Memo   string `json:"memo"`
}

type keyRequest struct {
	WithdrawalKey string `json:"withdrawal_key"`
	BlockKey      string `json:"block_key"`
	deviceFields
}

type statusOnly struct {
	Status string `json:"Status"`
}

// ---- endpoints ----

func (h *handler) signUp(w http.ResponseWriter, r *http.Request) error {
	var req emailRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.s.signUpEmail(r.Context(), h.client(r, req.deviceFields), req.LinkedID, req.LinkedPassword, req.Nickname)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res.response())
	return nil
}

func (h *handler) signIn(w http.ResponseWriter, r *http.Request) error {
	var req emailRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.s.signInEmail(r.Context(), h.client(r, req.deviceFields), req.LinkedID, req.LinkedPassword)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.response())
	return nil
}

func (h *handler) guest(w http.ResponseWriter, r *http.Request) error {
	var req guestRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.s.signInGuest(r.Context(), h.client(r, req.deviceFields), req.GuestKey)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.guestKey != "" {
		status = http.StatusCreated
	}
	writeJSON(w, status, res.response())
	return nil
}

func (h *handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.s.refresh(r.Context(), h.client(r, req.deviceFields), req.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.response())
	return nil
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) error {
	var req statusRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	tok := bearer(r)
	if tok == "" {
		tok = req.AccessToken // the seed's form
	}
	res, err := h.s.tokenStatus(r.Context(), tok, req.Timezone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *handler) signOut(w http.ResponseWriter, r *http.Request) error {
	var req signOutRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := h.s.signOut(r.Context(), bearer(r), req.All); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusOnly{"SIGNED_OUT"})
	return nil
}

func (h *handler) link(w http.ResponseWriter, r *http.Request) error {
	var req linkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	tok := bearer(r)
	if tok == "" {
		return ErrTokenMissing
	}
	res, err := h.s.linkEmail(r.Context(), tok, req.Timezone, req.LinkedID, req.LinkedPassword)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.response())
	return nil
}

func (h *handler) password(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	tok := bearer(r)
	if tok == "" {
		return ErrTokenMissing
	}
	if err := h.s.changePassword(r.Context(), tok, req.LinkedPassword, req.NewPassword); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusOnly{"PASSWORD_CHANGED"})
	return nil
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := h.s.requestReset(r.Context(), h.client(r, deviceFields{}), req.LinkedID); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, statusOnly{"RESET_SENT"})
	return nil
}

func (h *handler) resetConfirm(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := h.s.confirmReset(r.Context(), h.client(r, deviceFields{}), req.LinkedID, req.Code, req.NewPassword); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusOnly{"PASSWORD_CHANGED"})
	return nil
}

type nicknameResponse struct {
	Nickname string `json:"Nickname"`
}

func (h *handler) nicknameGet(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	nick, err := h.s.nickname(r.Context(), bearer(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nicknameResponse{nick})
	return nil
}

func (h *handler) nicknameSet(w http.ResponseWriter, r *http.Request) error {
	var req nicknameRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	tok := bearer(r)
	if tok == "" {
		return ErrTokenMissing
	}
	nick, err := h.s.setNickname(r.Context(), tok, req.Nickname)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nicknameResponse{nick})
	return nil
}

func (h *handler) nicknameExists(w http.ResponseWriter, r *http.Request) error {
	var req nicknameRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	exists, err := h.s.nicknameExists(r.Context(), req.Nickname)
	if err != nil {
		return err
	}
	status := "NOT_EXISTS"
	if exists {
		status = "EXISTS"
	}
	writeJSON(w, http.StatusOK, statusOnly{status})
	return nil
}

func (h *handler) withdraw(w http.ResponseWriter, r *http.Request) error {
	var req withdrawRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	tok := bearer(r)
	if tok == "" {
		return ErrTokenMissing
	}
	res, err := h.s.withdraw(r.Context(), tok, req.Period, req.Memo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *handler) search(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := h.s.searchWithdrawal(r.Context(), req.WithdrawalKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *handler) restore(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := h.s.restore(r.Context(), h.client(r, req.deviceFields), req.WithdrawalKey); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusOnly{"RESTORED"})
	return nil
}

func (h *handler) blockReason(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	items, err := h.s.blockReason(r.Context(), req.BlockKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Items []blockItem `json:"Items"`
	}{items})
	return nil
}

// JWKSMaxAge is how long clients may cache the JWKS. The ring publishes a
// rotated key before it signs with it (RingConfig.Propagation), so a
// Propagation of at least this long means no verifier meets an unknown kid.
const JWKSMaxAge = 300

func (h *handler) jwks(w http.ResponseWriter, r *http.Request) error {
	body, err := h.s.ring.JWKS()
	if err != nil {
		return h.s.internal(r.Context(), "JWKS", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/jwk-set+json")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
