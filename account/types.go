package account

import (
	"net/netip"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// DeviceInfo is the device a sign-in request comes from (docs/API.md "Device
// info"). Platform and DeviceID are required where a flow takes one.
type DeviceInfo struct {
	Platform       string
	DeviceID       string
	DeviceModel    string
	DeviceOS       string
	DeviceLanguage string
}

// Client is where a request comes from, whatever carried it (HTTP, a
// WebSocket message, a game's own protocol).
type Client struct {
	// Addr is the client's address, for rate limits and the country
	// resolver; the zero Addr when unknown (then only per-account limits
	// apply).
	Addr netip.Addr
	// Device is the device info the request sent.
	Device DeviceInfo
	// Timezone is an IANA time zone the request named, or "". An unknown
	// one is ignored.
	Timezone string
}

// Principal is a player authenticated by a verified access token: who the
// token names. Authenticated flows take it instead of a token; obtain it
// from the middleware (middleware.Authenticator's Verify or Authenticate,
// or middleware.PlayerFrom in a game handler) — the service trusts that the
// token behind it was verified, and checks the player's current state
// itself.
type Principal struct {
	UserUniqueID string // the access token's sub
	OpenID       string
	Nickname     string // as when the token was issued
	LinkedType   string // as when the token was issued
	Country      string
	SessionID    string
	DeviceID     string
	// ExpiresAt is when the token expires; zero in a game route's
	// middleware.PlayerFrom, which hands on what the session's tokens share.
	ExpiresAt time.Time `json:",omitzero"`
}

// PrincipalOf is the principal a verified token's claims name.
func PrincipalOf(c *tokens.Claims) Principal {
	return Principal{
		UserUniqueID: c.Subject,
		OpenID:       c.OpenID,
		Nickname:     c.Nickname,
		LinkedType:   c.LinkedType,
		Country:      c.Country,
		SessionID:    c.SessionID,
		DeviceID:     c.DeviceID,
		ExpiresAt:    c.ExpiresAt,
	}
}

// Player is a player as the contract shows them (docs/API.md's Player object).
type Player struct {
	UserUniqueID string
	OpenID       string
	Nickname     string
	// LinkedType is "email", "guest" or a federated provider's name;
	// LinkedID the email or the provider's subject, "" for a guest.
	LinkedType string
	LinkedID   string
	Purchases  storage.Purchases
	Country    string
	// Timezone is the IANA zone the player's times are shown in, and
	// Offset its offset now, in minutes east of UTC.
	Timezone string
	Offset   int
	// JoinPeriod is the whole days since the account was created.
	JoinPeriod int
}

// Grant is what a sign-in or a refresh gives a player: a new pair of tokens
// and the player.
type Grant struct {
	AccessToken  string
	RefreshToken string
	// ExpiresIn is the access token's lifetime.
	ExpiresIn time.Duration
	Player    Player
	// SessionID is the session the tokens belong to.
	SessionID string
	// Created is true when the sign-in created the account.
	Created bool
	// GuestKey is set when a guest sign-in created the account: the one
	// time the key is shown. The client keeps it to sign in again.
	GuestKey string
}

// TokenStatus is the answer of a token-status check: the token is good.
type TokenStatus struct {
	// ExpiresAt is when the access token expires.
	ExpiresAt time.Time
	Player    Player
}

// Withdrawal is a pending withdrawal as the player sees it.
type Withdrawal struct {
	// Key restores the account (RestoreWithdrawal); set only in the answer
	// to Withdraw, since only its hash is stored.
	Key string
	// Memo is what the player wrote when withdrawing.
	Memo string
	// Deadline ends the grace period: the account is purged then.
	Deadline time.Time
}

// BlockNotice is a block in force, as the player may read it by its key.
type BlockNotice struct {
	// PlayerID is the blocked player's (or device's) ID.
	PlayerID string
	Reason   string
	// Until is when the block ends; zero: permanent.
	Until time.Time
	// Remaining is the time left until Until (zero when permanent).
	Remaining time.Duration
	// Services are the services it covers; empty: the whole account.
	Services []string
}
