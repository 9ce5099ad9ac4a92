package federated

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Names of the built-in providers: Identity.Provider, and the keys of the
// JSON configuration.
const (
	Apple      = "apple"
	Google     = "google"
	PlayGames  = "playgames"
	GameCenter = "gamecenter"
	Steam      = "steam"
)

// Identity is who a verified credential says the player is. The pair
// (Provider, Subject) is stable for a player and unique to them.
type Identity struct {
	// Provider is the provider's name: one of the built-in names above, or
	// the name of an OpenID Connect entry.
	Provider string
	// Subject is the player's ID at the provider: the token's sub, Play
	// Games' playerId, Game Center's teamPlayerID, Steam's steamid.
	Subject string
	// Email is set only when the vendor asserts that it verified it. It is
	// informational: an email is not an identity, and it can change.
	Email string
}

// Credential holds every field a game client may send to prove an
// identity. The JSON names are the wire names, so an HTTP handler can embed
// it in its request type. Each provider reads the fields of its own row in
// the package documentation and ignores the rest.
//
// String, GoString and LogValue show which secret fields are set but never
// their values, so a logged Credential leaks no token.
type Credential struct {
	// IDToken is an OpenID Connect ID token (Apple, Google, OIDC).
	IDToken string `json:"id_token,omitempty"`
	// Nonce is the raw nonce the client put into the sign-in request
	// (Apple, Google, OIDC); optional.
	Nonce string `json:"nonce,omitempty"`
	// AuthCode is Play Games Services' server auth code.
	AuthCode string `json:"auth_code,omitempty"`
	// PublicKeyURL is where Game Center's signing certificate is.
	PublicKeyURL string `json:"public_key_url,omitempty"`
	// Signature is Game Center's signature, standard base64.
	Signature string `json:"signature,omitempty"`
	// Salt is Game Center's salt, standard base64.
	Salt string `json:"salt,omitempty"`
	// Timestamp is Game Center's timestamp, milliseconds since the epoch.
	Timestamp uint64 `json:"timestamp,omitempty"`
	// PlayerID is Game Center's teamPlayerID.
	PlayerID string `json:"player_id,omitempty"`
	// BundleID is the app's bundle ID, as Game Center signed it.
	BundleID string `json:"bundle_id,omitempty"`
	// Ticket is a Steam session ticket, hex.
	Ticket string `json:"ticket,omitempty"`
}

// String lists the fields that are set; secrets show as [set], never
// their value.
func (c Credential) String() string {
	var b strings.Builder
	b.WriteString("federated.Credential{")
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Key)
		b.WriteByte(':')
		b.WriteString(f.Value.String())
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v does not print the secrets either.
func (c Credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the same redaction as String.
func (c Credential) LogValue() slog.Value { return slog.GroupValue(c.fields()...) }

func (c Credential) fields() []slog.Attr {
	var out []slog.Attr
	secret := func(name, v string) {
		if v != "" {
			out = append(out, slog.String(name, "[set]"))
		}
	}
	public := func(name, v string) {
		if v != "" {
			out = append(out, slog.String(name, v))
		}
	}
	secret("id_token", c.IDToken)
	secret("nonce", c.Nonce)
	secret("auth_code", c.AuthCode)
	public("public_key_url", c.PublicKeyURL)
	secret("signature", c.Signature)
	secret("salt", c.Salt)
	if c.Timestamp != 0 {
		out = append(out, slog.Uint64("timestamp", c.Timestamp))
	}
	public("player_id", c.PlayerID)
	public("bundle_id", c.BundleID)
	secret("ticket", c.Ticket)
	return out
}

// Provider verifies one platform's credentials.
type Provider interface {
	// Name is the provider's name, as in Identity.Provider.
	Name() string
	// Verify checks c and returns the identity it proves. Errors match
	// ErrInvalidRequest (a *FieldError), ErrInvalidCredential or
	// ErrUnavailable.
	Verify(ctx context.Context, c Credential) (Identity, error)
}

// The errors Verify answers with, to be matched with errors.Is. Their texts
// never contain a token, ticket, signature, API key or client secret.
var (
	// ErrInvalidRequest: a credential field is missing or not decodable
	// (always a *FieldError, which names the field). HTTP: 400.
	ErrInvalidRequest = errors.New("federated: invalid request")
	// ErrInvalidCredential: the vendor or the checks refused the
	// credential; the player must sign in at the platform again. HTTP: 401.
	ErrInvalidCredential = errors.New("federated: invalid credential")
	// ErrUnavailable: the vendor could not be reached, answered with an
	// error of its own, or did not answer within the timeout. Nothing is
	// known about the credential, so this must never sign a player out.
	// HTTP: 503.
	ErrUnavailable = errors.New("federated: provider unavailable")
	// ErrNotConfigured: no provider of that name. HTTP: 400.
	ErrNotConfigured = errors.New("federated: provider not configured")
)

// FieldError is a credential field that is missing or cannot be decoded.
// It matches ErrInvalidRequest.
type FieldError struct {
	// Field is the wire name, e.g. "id_token".
	Field string
	// Problem says what is wrong with it, e.g. "missing".
	Problem string
}

// Error names the field and the problem, never the field's value.
func (e *FieldError) Error() string {
	return fmt.Sprintf("federated: credential field %q: %s", e.Field, e.Problem)
}

// Is makes a *FieldError match ErrInvalidRequest.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidRequest }

func missing(field string) error { return &FieldError{Field: field, Problem: "missing"} }

// invalidf is a refusal by provider, for the reason given.
func invalidf(provider, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidCredential, provider, fmt.Sprintf(format, args...))
}

// unavailable wraps cause, whose text must hold no secret.
func unavailable(provider, what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, provider, what)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrUnavailable, provider, what, cause)
}
