package account

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// Error is an answer of the service that is not a success: docs/API.md's
// BaseResponse. It matches another *Error with errors.Is when their codes
// are equal, so callers test errors.Is(err, account.ErrEmailTaken).
//
// Its fields never hold a password, a token, a guest key or a reset code.
// WithdrawalKey is the one secret it may carry, by design: it is the answer
// docs/API.md gives a withdrawn player, and Error() leaves it out.
type Error struct {
	// Code is docs/API.md's ErrorCode, e.g. "ACCOUNT_BLOCKED".
	Code string
	// Status is the HTTP status the code is answered with.
	Status int
	// Message says what happened, in English, for developers.
	Message string
	// WithdrawalKey is set with ACCOUNT_WITHDRAWN only.
	WithdrawalKey string
	// BlockKey is set with ACCOUNT_BLOCKED only.
	BlockKey string
	// ErrorData is set with ACCOUNT_BLOCKED (uuid, nickname, blockReason,
	// blockDate) and DEVICE_BLOCKED (deviceUniqueId).
	ErrorData map[string]string
	// RetryAfter is set with RATE_LIMITED: when to try again.
	RetryAfter time.Duration
	// Field names the request field at fault, with INVALID_REQUEST.
	Field string
	// Err is the cause (a store failure, with UNAVAILABLE); never rendered.
	Err error
}

// Error implements error: the code and the message, never the extra fields.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// WithMessage returns a copy of e with another message, for an answer of
// the same code that says more.
func (e *Error) WithMessage(msg string) *Error { return e.with(msg) }

// with returns a copy of e with another message.
func (e *Error) with(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

// Error codes of docs/API.md.
const (
	CodeInvalidRequest          = "INVALID_REQUEST"
	CodeTokenMissing            = "TOKEN_MISSING"
	CodeInvalidCredentials      = "INVALID_CREDENTIALS"
	CodeTokenInvalid            = "TOKEN_INVALID"
	CodeTokenExpired            = "TOKEN_EXPIRED"
	CodeSessionRevoked          = "SESSION_REVOKED"
	CodeSessionReplaced         = "SESSION_REPLACED"
	CodeRefreshReused           = "REFRESH_TOKEN_REUSED"
	CodeAccountWithdrawn        = "ACCOUNT_WITHDRAWN"
	CodeAccountBlocked          = "ACCOUNT_BLOCKED"
	CodeDeviceBlocked           = "DEVICE_BLOCKED"
	CodeAccountNotFound         = "ACCOUNT_NOT_FOUND"
	CodeWithdrawalKeyInvalid    = "WITHDRAWAL_KEY_INVALID"
	CodeBlockKeyInvalid         = "BLOCK_KEY_INVALID"
	CodeEmailTaken              = "EMAIL_TAKEN"
	CodeNicknameTaken           = "NICKNAME_TAKEN"
	CodeResetCodeInvalid        = "RESET_CODE_INVALID"
	CodeRefreshExpired          = "REFRESH_TOKEN_EXPIRED"
	CodeWithdrawalPeriodExpired = "WITHDRAWAL_PERIOD_EXPIRED"
	CodeRateLimited             = "RATE_LIMITED"
	CodeUnavailable             = "UNAVAILABLE"
	CodeProviderNotConfigured   = "PROVIDER_NOT_CONFIGURED"
	CodeProviderTokenInvalid    = "PROVIDER_TOKEN_INVALID"
	CodeIdentityTaken           = "IDENTITY_TAKEN"
	CodeProviderAlreadyLinked   = "PROVIDER_ALREADY_LINKED"
	CodeLastIdentity            = "LAST_IDENTITY"
	CodeProviderUnavailable     = "PROVIDER_UNAVAILABLE"
)

// Sentinels returns the sentinel of every error code of the contract, in
// docs/API.md's order: the one table of codes and their statuses.
func Sentinels() []*Error {
	return []*Error{ErrInvalidRequest, ErrTokenMissing, ErrInvalidCredentials, ErrTokenInvalid, ErrTokenExpired,
		ErrSessionRevoked, ErrSessionReplaced, ErrRefreshReused, ErrAccountWithdrawn, ErrAccountBlocked,
		ErrDeviceBlocked, ErrAccountNotFound, ErrWithdrawalKeyInvalid, ErrBlockKeyInvalid, ErrEmailTaken,
		ErrNicknameTaken, ErrResetCodeInvalid, ErrRefreshExpired, ErrWithdrawalExpired, ErrRateLimited,
		ErrUnavailable, ErrProviderNotConfigured, ErrProviderTokenInvalid, ErrIdentityTaken,
		ErrProviderAlreadyLinked, ErrLastIdentity, ErrProviderUnavailable}
}

// Codes are every error code of the contract, in docs/API.md's order.
func Codes() []string {
	var codes []string
	for _, e := range Sentinels() {
		codes = append(codes, e.Code)
	}
	return codes
}

// Sentinels, one per code, for errors.Is. The service returns copies with a
// more precise message and the extra fields set; never modify these.
var (
	ErrInvalidRequest       = &Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Message: "invalid request"}
	ErrTokenMissing         = &Error{Code: CodeTokenMissing, Status: http.StatusUnauthorized, Message: "no access token"}
	ErrInvalidCredentials   = &Error{Code: CodeInvalidCredentials, Status: http.StatusUnauthorized, Message: "wrong email or password"}
	ErrTokenInvalid         = &Error{Code: CodeTokenInvalid, Status: http.StatusUnauthorized, Message: "token is invalid"}
	ErrTokenExpired         = &Error{Code: CodeTokenExpired, Status: http.StatusUnauthorized, Message: "token has expired"}
	ErrSessionRevoked       = &Error{Code: CodeSessionRevoked, Status: http.StatusUnauthorized, Message: "session was revoked"}
	ErrSessionReplaced      = &Error{Code: CodeSessionReplaced, Status: http.StatusUnauthorized, Message: "session was replaced by a sign-in on another device"}
	ErrRefreshReused        = &Error{Code: CodeRefreshReused, Status: http.StatusUnauthorized, Message: "refresh token was already used; the session is revoked"}
	ErrAccountWithdrawn     = &Error{Code: CodeAccountWithdrawn, Status: http.StatusForbidden, Message: "account is withdrawn"}
	ErrAccountBlocked       = &Error{Code: CodeAccountBlocked, Status: http.StatusForbidden, Message: "account is blocked"}
	ErrDeviceBlocked        = &Error{Code: CodeDeviceBlocked, Status: http.StatusForbidden, Message: "device is blocked"}
	ErrAccountNotFound      = &Error{Code: CodeAccountNotFound, Status: http.StatusNotFound, Message: "account not found"}
	ErrWithdrawalKeyInvalid = &Error{Code: CodeWithdrawalKeyInvalid, Status: http.StatusNotFound, Message: "unknown withdrawal key"}
	ErrBlockKeyInvalid      = &Error{Code: CodeBlockKeyInvalid, Status: http.StatusNotFound, Message: "unknown block key"}
	ErrEmailTaken           = &Error{Code: CodeEmailTaken, Status: http.StatusConflict, Message: "email is already linked to an account"}
	ErrNicknameTaken        = &Error{Code: CodeNicknameTaken, Status: http.StatusConflict, Message: "nickname is taken"}
	ErrResetCodeInvalid     = &Error{Code: CodeResetCodeInvalid, Status: http.StatusBadRequest, Message: "reset code is wrong, used or expired"}
	ErrRefreshExpired       = &Error{Code: CodeRefreshExpired, Status: http.StatusGone, Message: "refresh token has expired; sign in again"}
	ErrWithdrawalExpired    = &Error{Code: CodeWithdrawalPeriodExpired, Status: http.StatusGone, Message: "withdrawal grace period is over"}
	ErrRateLimited          = &Error{Code: CodeRateLimited, Status: http.StatusTooManyRequests, Message: "too many attempts; try again later"}
	ErrUnavailable          = &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Message: "service temporarily unavailable"}

	ErrProviderNotConfigured = &Error{Code: CodeProviderNotConfigured, Status: http.StatusBadRequest, Message: "no such sign-in provider is configured"}
	ErrProviderTokenInvalid  = &Error{Code: CodeProviderTokenInvalid, Status: http.StatusUnauthorized, Message: "the provider's credential was refused"}
	ErrIdentityTaken         = &Error{Code: CodeIdentityTaken, Status: http.StatusConflict, Message: "that identity belongs to another account"}
	ErrProviderAlreadyLinked = &Error{Code: CodeProviderAlreadyLinked, Status: http.StatusConflict, Message: "the player already has an identity of that provider"}
	ErrLastIdentity          = &Error{Code: CodeLastIdentity, Status: http.StatusConflict, Message: "it is the player's only way to sign in"}
	ErrProviderUnavailable   = &Error{Code: CodeProviderUnavailable, Status: http.StatusServiceUnavailable, Message: "the sign-in provider could not be reached; try again later"}
)

// blockError is the answer to a player or device under block b:
// ACCOUNT_BLOCKED with the block's key and ErrorData {uuid, nickname,
// blockReason, blockDate}, or DEVICE_BLOCKED with {deviceUniqueId}. The
// handler and the middleware both answer with it, so clients meet one
// wording.
func blockError(b storage.Block, nickname string) *Error {
	end := "permanent"
	if !b.Until.IsZero() {
		end = b.Until.UTC().Format(time.RFC3339)
	}
	if b.Kind == storage.BlockDevice {
		e := ErrDeviceBlocked.with(blockMessage("device", end))
		e.ErrorData = map[string]string{"deviceUniqueId": b.Subject}
		return e
	}
	e := ErrAccountBlocked.with(blockMessage("account", end))
	e.BlockKey = b.Key
	e.ErrorData = map[string]string{"uuid": b.Subject, "nickname": nickname, "blockReason": b.Reason, "blockDate": end}
	return e
}

func blockMessage(what, end string) string {
	if end == "permanent" {
		return what + " is blocked permanently"
	}
	return what + " is blocked until " + end
}

// invalidField is INVALID_REQUEST naming field. msg must not quote the value.
func invalidField(field, msg string) *Error {
	e := ErrInvalidRequest.with(field + ": " + msg)
	e.Field = field
	return e
}

// errorBody is docs/API.md's BaseResponse.
type errorBody struct {
	ErrorCode     string            `json:"ErrorCode"`
	Message       string            `json:"Message"`
	WithdrawalKey string            `json:"WithdrawalKey,omitempty"`
	BlockKey      string            `json:"BlockKey,omitempty"`
	ErrorData     map[string]string `json:"ErrorData,omitempty"`
}

// WriteError renders err as docs/API.md's BaseResponse with its HTTP status,
// and Retry-After for RATE_LIMITED: ContractCodes.Write. An error that is
// not an *Error is answered 503 UNAVAILABLE and logged once through
// slog.Default() (the service logs its own store failures where they
// happen, so they arrive here already as *Error and are not logged twice).
// The message of a non-*Error never reaches the client.
func WriteError(w http.ResponseWriter, err error) { ContractCodes.Write(w, err) }

// ErrorCodes are the codes errors are written with.
type ErrorCodes int

const (
	// ContractCodes are docs/API.md's codes: the default.
	ContractCodes ErrorCodes = iota
	// LegacyCodes are the older PlayNANOO Unity plugin's numeric codes,
	// for clients built on it (docs/API.md "Numeric error codes"): the
	// conditions it knows answer its numbers and exception names, with the
	// same statuses and extra fields; every other code is unchanged.
	LegacyCodes
)

// Code is the code c writes for a contract code, and the Message that goes
// with it ("" to keep the error's own).
func (c ErrorCodes) Code(contract string) (code, message string) {
	if c != LegacyCodes {
		return contract, ""
	}
	switch contract {
	case CodeAccountNotFound:
		return "30000", "NotFoundAccountException"
	case CodeInvalidCredentials, CodeTokenInvalid:
		return "30001", "NotMatchAccountException"
	case CodeTokenExpired, CodeRefreshExpired:
		return "30002", "ExpiredTokenException"
	case CodeTokenMissing:
		return "30005", "NullTokenException"
	case CodeAccountWithdrawn:
		return "30007", "WithDrawalException"
	case CodeAccountBlocked:
		return "70002", "BlockedAccountException"
	}
	return contract, ""
}

// Write renders err as BaseResponse with its HTTP status in these codes,
// and Retry-After for RATE_LIMITED.
func (c ErrorCodes) Write(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.Default().Error("gameauth: request failed", "err", err)
		e = ErrUnavailable
	}
	h := w.Header()
	if e.Code == CodeRateLimited {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(e.RetryAfter), 10))
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := errorBody{ErrorCode: e.Code, Message: e.Message}
	switch e.Code {
	case CodeAccountWithdrawn:
		body.WithdrawalKey = e.WithdrawalKey
	case CodeAccountBlocked:
		body.BlockKey = e.BlockKey
		body.ErrorData = e.ErrorData
	case CodeDeviceBlocked:
		body.ErrorData = e.ErrorData
	}
	code, msg := c.Code(e.Code)
	body.ErrorCode = code
	if msg != "" {
		body.Message = msg
	}
	writeJSON(w, status, body)
}

// retryAfterSeconds rounds d up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// writeJSON writes v with status. Every answer of the handler is private to
// the player and must not be cached (RFC 6749 §5.1 for token responses).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// JSONRefusals serves mux, answering its own 404 and 405 (with Allow) as
// BaseResponse with ErrorCode INVALID_REQUEST, as the account handler does,
// instead of net/http's plain text: a client parses one shape whatever
// route it called. A path the mux would redirect (one that is not clean,
// "/a/../b", or a subtree's root without its slash) is no endpoint either:
// 404, not a redirect with an HTML body a client cannot follow with its
// POST.
func JSONRefusals(mux *http.ServeMux) http.Handler {
	redirect := reflect.TypeOf(http.RedirectHandler("/", http.StatusMovedPermanently))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		switch {
		case reflect.TypeOf(h) == redirect:
			WriteError(w, &Error{Code: CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such endpoint"})
		case pattern != "":
			mux.ServeHTTP(w, r)
		default:
			mux.ServeHTTP(&routeRefusal{ResponseWriter: w}, r)
		}
	})
}

// routeRefusal turns the status net/http's mux answers an unrouted request
// with into BaseResponse, and drops the mux's plain-text body.
type routeRefusal struct {
	http.ResponseWriter
	written bool
}

func (f *routeRefusal) WriteHeader(status int) {
	if f.written {
		return
	}
	f.written = true
	msg := "no such endpoint"
	if status == http.StatusMethodNotAllowed {
		msg = "method not allowed; use " + f.Header().Get("Allow")
	}
	f.Header().Del("Content-Type")
	WriteError(f.ResponseWriter, &Error{Code: CodeInvalidRequest, Status: status, Message: msg})
}

func (f *routeRefusal) Write(b []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	return len(b), nil
}

// WriteJSON writes v as a success answer with status, as the handler does:
// JSON, never cached, never sniffed.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }
