// Package storage defines what gameauth needs from a store: small interfaces
// split by concern, the records they carry, and the errors they report.
//
// The interfaces are shaped by account.Service and tokens, not by a table, so
// a host app can adapt its own users table by implementing Accounts alone and
// keep the rest on a shipped backend (see Combine). Every backend, the host's
// included, proves itself with the conformance suite in storagetest.
//
// Backends hold no business rules: they store, look up and compare-and-swap.
// Every time a backend needs ("now") is passed in by the caller, so expiry is
// decided by the caller's clock.
package storage

import (
	"context"
	"errors"
	"slices"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Errors every backend reports, matched with errors.Is. Any other error means
// the store failed; the caller answers UNAVAILABLE and assumes nothing was
// written.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a unique field (linked identity, nickname, key ID) is taken,
	// or the record is not in the state the call requires. Backends return a
	// *ConflictError naming the field where they can.
	ErrConflict = errors.New("storage: conflict")
	// ErrSessionRevoked: the session was revoked; RotateRefresh returns the
	// session too, so the caller can read RevokeReason.
	ErrSessionRevoked = errors.New("storage: session revoked")
	// ErrRefreshExpired: the session is past its absolute lifetime.
	ErrRefreshExpired = errors.New("storage: refresh token expired")
	// ErrRefreshReused: the presented refresh token was already rotated away
	// (and is outside the grace window). The backend has revoked the session
	// with ReasonReused in the same step.
	ErrRefreshReused = errors.New("storage: refresh token reused")
	// ErrLimited: a per-subject quota kept by the store is used up (password
	// reset codes per email per day).
	ErrLimited = errors.New("storage: limit reached")
	// ErrWithdrawalExpired: the withdrawal's grace period is over (or the
	// account was purged and only a tombstone remains).
	ErrWithdrawalExpired = errors.New("storage: withdrawal period expired")
)

// Conflict fields named by ConflictError.
const (
	FieldLink     = "link"     // the (LinkedType, LinkedID) pair
	FieldNickname = "nickname" // the case-folded nickname
	FieldID       = "id"       // a record's primary key
	FieldState    = "state"    // the record is not in the state the call needs
	// FieldIdentityType: the account already has an identity of that type.
	FieldIdentityType = "identity_type"
)

// ConflictError is an ErrConflict that names the unique field at fault.
type ConflictError struct {
	Field string
}

// Error implements error.
func (e *ConflictError) Error() string { return "storage: conflict on " + e.Field }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Conflict returns a *ConflictError for field.
func Conflict(field string) error { return &ConflictError{Field: field} }

// ConflictField returns the field named by a *ConflictError in err's chain, or
// "" when err names none.
func ConflictField(err error) string {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Field
	}
	return ""
}

// NicknameKey is the form in which nicknames are compared for uniqueness:
// Unicode case folding, then normalization form C, so "Hero", "HERO" and
// "hero" are one nickname, and so are "Café" typed with a precomposed "é"
// and with "e" plus a combining accent. Every backend indexes this form.
// NicknameKey("") is "": no nickname, which is never unique.
func NicknameKey(nickname string) string {
	return norm.NFC.String(cases.Fold().String(nickname))
}

// Linked types the service uses. Federated providers use their own names
// (the federated package's "apple", "google", ..., or an OpenID Connect
// issuer's configured name).
const (
	LinkEmail = "email"
	LinkGuest = "guest"
)

// Purchases are the purchase totals the host keeps on a player.
type Purchases struct {
	Count              int64
	CurrencyCode       string
	TotalPrice         float64
	VoidedCount        int64
	VoidedCurrencyCode string
	VoidedTotalPrice   float64
}

// Account is a player.
type Account struct {
	ID     string // internal ID, the access token's sub
	OpenID string // public ID, safe to show to other players
	// LinkedType and LinkedID are the identity the player signs in with; the
	// pair is unique. Email: the normalized address. Guest: the hex SHA-256 of
	// the guest key (never shown to anyone).
	LinkedType   string
	LinkedID     string
	PasswordHash string // PHC-format argon2id hash; "" for guests
	Nickname     string // "" for none; unique by NicknameKey when set
	Country      string
	Timezone     string
	Purchases    Purchases
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Link is a linked identity.
type Link struct {
	Type string
	ID   string
}

// AccountUpdate changes the fields that are set (non-nil) and nothing else,
// in one step.
type AccountUpdate struct {
	Nickname *string // "" clears it; ConflictError{FieldNickname} when taken
	Link     *Link   // replaces the linked identity; ConflictError{FieldLink} when taken
	// IfLink, with Link, makes the update conditional: it is written only
	// if the account's linked identity is still IfLink when the store
	// writes it, else ConflictError{FieldState} and nothing is written. A
	// guest's link to an email or a platform names the guest key it read,
	// so that two links racing on one guest cannot both replace it.
	IfLink       *Link
	PasswordHash *string
	Purchases    *Purchases
	Country      *string
	Timezone     *string
	At           time.Time // becomes UpdatedAt
}

// Identity is one way an account signs in: its email, its guest key (the
// key's hash), or a federated provider's subject. Type and Subject are an
// Account's LinkedType and LinkedID when the identity is the account's
// primary one.
type Identity struct {
	Type     string
	Subject  string
	LinkedAt time.Time
}

// Link is the identity's (Type, Subject).
func (i Identity) Link() Link { return Link{Type: i.Type, ID: i.Subject} }

// Identities stores every identity of an account: its primary one (the
// Account's LinkedType and LinkedID) and those linked since (a guest that
// added an Apple ID, an email account that added Google). A store that
// implements it lets players sign in with platform accounts; one that does
// not (a host's own users table, storage.Combine) still serves email and
// guest accounts, which have only their primary identity.
//
// In a store that implements it, the Accounts methods keep the identities in
// step with the account in the same step: CreateAccount records the
// account's primary identity, UpdateAccount with a Link replaces it (the
// old one goes), DeleteAccount removes them all, and GetAccountByLink finds
// an account by any of its identities. An identity (Type, Subject) belongs
// to one account at most — ConflictError{FieldLink} otherwise — and an
// account has at most one identity of each Type —
// ConflictError{FieldIdentityType}.
type Identities interface {
	// ListIdentities returns the account's identities, the primary one
	// included, oldest first. No account, or none: an empty list.
	ListIdentities(ctx context.Context, accountID string) ([]Identity, error)
	// LinkIdentity adds id to the account. ErrNotFound if there is no
	// such account; ConflictError{FieldLink} if another account has the
	// identity (or this one has it already); ConflictError
	// {FieldIdentityType} if this account has another identity of
	// id.Type. Nothing is written then.
	LinkIdentity(ctx context.Context, accountID string, id Identity) error
	// UnlinkIdentity removes the account's identity of linkType. When it is
	// the primary one, promote, another identity of the account, becomes
	// primary in the same step (updating the account's LinkedType,
	// LinkedID and UpdatedAt to at). ErrNotFound if the account has no
	// identity of linkType; ConflictError{FieldState} if it is the primary
	// one and promote is nil or not another identity of the account (it
	// may just have been removed): nothing is written then, so an account
	// never loses its last identity to two removals racing.
	UnlinkIdentity(ctx context.Context, accountID, linkType string, promote *Link, at time.Time) error
}

// Registrar creates an account and its first session in one step — one
// commit, for a database — as a sign-in that creates the account needs.
// Stores need not implement it; the service creates the two one after the
// other, and takes the account back if the session fails, when they do not.
type Registrar interface {
	// Register does CreateAccount(a) and CreateSession(s, 0) as one: both
	// or neither, with CreateAccount's conflicts (and, in a store that
	// implements Identities, its recording of the primary identity).
	Register(ctx context.Context, a Account, s Session) error
}

// Accounts stores players. It is the part a host implements to keep players
// in its own users table.
type Accounts interface {
	// CreateAccount inserts a. A taken link or nickname is a ConflictError
	// naming it, and nothing is written.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account with that ID, or ErrNotFound.
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByLink returns the account linked to (linkType, linkID):
	// whose primary identity it is or, in a store that implements
	// Identities, that has it among its identities.
	GetAccountByLink(ctx context.Context, linkType, linkID string) (Account, error)
	// GetAccountByNickname returns the account whose nickname has the same
	// NicknameKey.
	GetAccountByNickname(ctx context.Context, nickname string) (Account, error)
	// UpdateAccount applies u to the account, all or nothing. ErrNotFound if
	// there is no such account.
	UpdateAccount(ctx context.Context, id string, u AccountUpdate) error
	// DeleteAccount removes the account (it frees its link and nickname).
	// ErrNotFound if there is none.
	DeleteAccount(ctx context.Context, id string) error
}

// RevokeReason says why a session ended.
type RevokeReason string

// Revocation reasons.
const (
	ReasonSignedOut       RevokeReason = "signed_out"
	ReasonReplaced        RevokeReason = "replaced"
	ReasonReused          RevokeReason = "reused"
	ReasonAdmin           RevokeReason = "admin"
	ReasonPasswordChanged RevokeReason = "password_changed"
	ReasonWithdrawn       RevokeReason = "withdrawn"
)

// Session is one sign-in of a player on a device, and its refresh state.
// At most one refresh token is live per session: RefreshHash. PrevRefreshHash
// is the one it replaced, accepted again only inside the grace window.
type Session struct {
	ID              string
	AccountID       string
	DeviceID        string
	Platform        string
	CreatedAt       time.Time
	ExpiresAt       time.Time // absolute end of the refresh token's life
	RefreshHash     []byte
	PrevRefreshHash []byte
	Generation      int64     // rotations so far
	RotatedAt       time.Time // when RefreshHash was set
	RevokedAt       time.Time // zero while live
	RevokeReason    RevokeReason
	// ClientAddr is the address the session signed in from, and
	// DeviceModel the model its sign-in named: for operators (the admin
	// API), "" when unknown.
	ClientAddr  string
	DeviceModel string
}

// Revoked reports whether the session was revoked.
func (s Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Rotation is one refresh: the hash of the presented token and of its
// successor. Successors are derived deterministically from the presented
// token, so a retry inside the grace window presents the same Next.
type Rotation struct {
	Presented []byte
	Next      []byte
	Now       time.Time
	Grace     time.Duration
}

// Revocation is one entry of the change feed.
type Revocation struct {
	SessionID string
	AccountID string
	Reason    RevokeReason
	At        time.Time
}

// Sessions stores sessions and their refresh state.
type Sessions interface {
	// CreateSession inserts s and, when keep > 0, revokes (ReasonReplaced, at
	// s.CreatedAt) the account's oldest live sessions so that at most keep
	// stay live, s included, in the same step. It returns the IDs it revoked.
	CreateSession(ctx context.Context, s Session, keep int) (replaced []string, err error)
	// GetSession returns the session, revoked or not, or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// RotateRefresh is the compare-and-swap of a refresh, checked in order:
	//   - no session: ErrNotFound;
	//   - revoked: the session and ErrSessionRevoked;
	//   - r.Now at or past ExpiresAt: ErrRefreshExpired;
	//   - r.Presented == RefreshHash: RefreshHash becomes r.Next,
	//     PrevRefreshHash the presented one, Generation+1, RotatedAt r.Now;
	//     the updated session is returned;
	//   - r.Presented == PrevRefreshHash, r.Now < RotatedAt+r.Grace and
	//     r.Next == RefreshHash: a retry; the session is returned unchanged;
	//   - anything else: the session is revoked with ReasonReused at r.Now,
	//     and the revoked session and ErrRefreshReused are returned.
	// Concurrent calls with the same presented token rotate exactly once.
	RotateRefresh(ctx context.Context, id string, r Rotation) (Session, error)
	// RevokeSession revokes one session with reason at now. Revoking a
	// revoked session keeps its first reason and is not an error. ErrNotFound
	// if there is no such session.
	RevokeSession(ctx context.Context, id string, reason RevokeReason, now time.Time) error
	// RevokeSessions revokes every live session of the account except the
	// one with ID except ("" for none), and returns the IDs it revoked.
	RevokeSessions(ctx context.Context, accountID, except string, reason RevokeReason, now time.Time) ([]string, error)
	// RevokedSince is the change feed: sessions revoked at or after since,
	// oldest first.
	RevokedSince(ctx context.Context, since time.Time) ([]Revocation, error)
	// DeleteSessionsBefore removes sessions that expired, or were revoked,
	// before t, and returns how many.
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error)
}

// RefreshState is what a Refresher read and did in its one step.
type RefreshState struct {
	// Session is the session after the step (rotated, or as it was).
	Session Session
	// Account is the session's account.
	Account Account
	// Held is true when the account is under a hold at the rotation's Now:
	// it has a pending withdrawal, or an account-wide block (see
	// Block.AccountWide) is in force on the player or on the session's
	// device. Then nothing was compared or written. What a hold means for
	// the player is the service's to decide (its answer names the
	// withdrawal or the block); the store only reports the fact, and never
	// rotates a held session, so that a refused refresh leaves the token
	// working once the hold ends.
	Held bool
}

// Refresher is an optional fast path for a store that keeps accounts,
// sessions, withdrawals and blocks together: one refresh in one step (one
// round trip for a database), instead of the reads and the RotateRefresh a
// refresh otherwise takes. Stores need not implement it; the service uses
// it when they do.
type Refresher interface {
	// Refresh reads the session and its account and, unless Held (see
	// RefreshState), does exactly what RotateRefresh(ctx, id, r) does, with
	// the same errors: ErrNotFound (no session, or no account: Account is
	// then zero), ErrSessionRevoked, ErrRefreshExpired, ErrRefreshReused.
	// With Held the error is nil and nothing was written.
	Refresh(ctx context.Context, id string, r Rotation) (RefreshState, error)
}

// BlockKind says what a block stops.
type BlockKind string

// Block kinds.
const (
	BlockPlayer BlockKind = "player"
	BlockDevice BlockKind = "device"
)

// Block stops a player or a device, everywhere or for named services, until
// Until (zero: permanently) or until lifted.
type Block struct {
	Key       string // unique handle the player can look the block up by
	Kind      BlockKind
	Subject   string // account ID or device ID
	Reason    string
	Services  []string // empty: every service and sign-in
	CreatedAt time.Time
	Until     time.Time // zero: permanent
	LiftedAt  time.Time // zero: not lifted
}

// ActiveAt reports whether the block is in force at t.
func (b Block) ActiveAt(t time.Time) bool {
	if !b.LiftedAt.IsZero() && !t.Before(b.LiftedAt) {
		return false
	}
	return b.Until.IsZero() || t.Before(b.Until)
}

// AccountWide reports whether b covers the whole account (or device):
// every service, and sign-in. A block that names Services covers those only.
func (b Block) AccountWide() bool { return len(b.Services) == 0 }

// Covers reports whether b applies to a route of service: an account-wide
// block covers every service, a service block the services it names.
// Service "" asks for account-wide blocks only (sign-in, and routes that
// name no service).
func (b Block) Covers(service string) bool {
	return b.AccountWide() || (service != "" && slices.Contains(b.Services, service))
}

// Widest returns, among blocks in force at now that cover service, the one
// that ends last (a permanent one first): the block a refusal names, so
// that every part of gameauth names the same one.
func Widest(blocks []Block, service string, now time.Time) (Block, bool) {
	var best Block
	found := false
	for _, b := range blocks {
		if !b.ActiveAt(now) || !b.Covers(service) {
			continue
		}
		switch {
		case !found:
			best, found = b, true
		case best.Until.IsZero():
		case b.Until.IsZero() || b.Until.After(best.Until):
			best = b
		}
	}
	return best, found
}

// Blocks stores player and device blocks.
type Blocks interface {
	// CreateBlock inserts b. ConflictError{FieldID} if its key is taken.
	CreateBlock(ctx context.Context, b Block) error
	// LiftBlocks lifts every active block of the subject at now and returns
	// how many it lifted.
	LiftBlocks(ctx context.Context, kind BlockKind, subject string, now time.Time) (int, error)
	// ActiveBlocks returns the subject's blocks in force at now, oldest first.
	ActiveBlocks(ctx context.Context, kind BlockKind, subject string, now time.Time) ([]Block, error)
	// GetBlock returns the block with that key, in force or not.
	GetBlock(ctx context.Context, key string) (Block, error)
	// ListActiveBlocks returns every block in force at now, of every kind:
	// what the middleware's revocation view loads and reconciles from.
	ListActiveBlocks(ctx context.Context, now time.Time) ([]Block, error)
}

// Withdrawal is an account's pending withdrawal or, once purged, its
// tombstone (which keeps only KeyHash, Deadline and PurgedAt).
type Withdrawal struct {
	AccountID   string
	KeyHash     []byte // hash of the withdrawal (restore) key
	Memo        string
	RequestedAt time.Time
	Deadline    time.Time // end of the grace period
	PurgedAt    time.Time // zero while pending
}

// Withdrawals stores withdrawals and their tombstones.
type Withdrawals interface {
	// Withdraw records w as pending and revokes every live session of the
	// account (ReasonWithdrawn, at w.RequestedAt) in the same step, returning
	// the revoked IDs. ConflictError{FieldState} if one is already pending.
	Withdraw(ctx context.Context, w Withdrawal) (revoked []string, err error)
	// GetWithdrawal looks a withdrawal or tombstone up by key hash.
	GetWithdrawal(ctx context.Context, keyHash []byte) (Withdrawal, error)
	// GetAccountWithdrawal returns the account's pending withdrawal, or
	// ErrNotFound when it has none.
	GetAccountWithdrawal(ctx context.Context, accountID string) (Withdrawal, error)
	// Restore ends a pending withdrawal whose deadline is after now and
	// returns it. ErrNotFound for an unknown key; ErrWithdrawalExpired for a
	// tombstone or a deadline at or before now.
	Restore(ctx context.Context, keyHash []byte, now time.Time) (Withdrawal, error)
	// DueWithdrawals returns up to limit pending withdrawals whose deadline
	// is at or before now.
	DueWithdrawals(ctx context.Context, now time.Time, limit int) ([]Withdrawal, error)
	// MarkPurged turns the account's pending withdrawal into a tombstone.
	// ErrNotFound if it has none pending.
	MarkPurged(ctx context.Context, accountID string, now time.Time) error
	// DeleteTombstones removes tombstones whose deadline is before t, and
	// returns how many.
	DeleteTombstones(ctx context.Context, before time.Time) (int, error)
}

// ResetCode is a one-time password-reset code (stored as a hash).
type ResetCode struct {
	Email     string // normalized
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ResetCodes stores password-reset codes.
type ResetCodes interface {
	// CreateResetCode stores c, superseding the email's earlier codes, unless
	// maxPerDay codes were already created for the email in the 24 hours
	// before c.CreatedAt: then ErrLimited and nothing is written.
	CreateResetCode(ctx context.Context, c ResetCode, maxPerDay int) error
	// ConsumeResetCode uses the email's current code if codeHash matches it
	// and it has not expired at now: exactly once, even under concurrent
	// calls. A mismatch counts an attempt; after maxAttempts the code is
	// spent. Wrong, spent, superseded or expired: ErrNotFound.
	ConsumeResetCode(ctx context.Context, email string, codeHash []byte, now time.Time, maxAttempts int) error
}

// Key is one key of the signing key ring, or a server secret, as the tokens
// package stores it. Private may be sealed; the store treats it as opaque.
type Key struct {
	ID        string // kid, unique
	Use       string // "sig" for signing keys, "secret" for server secrets
	Algorithm string
	Private   []byte
	Public    []byte
	CreatedAt time.Time
	ActiveAt  time.Time // when it may start signing
}

// Keys stores the key ring, shared by every server process.
type Keys interface {
	// ListKeys returns every key, oldest CreatedAt first.
	ListKeys(ctx context.Context) ([]Key, error)
	// AddKey inserts k. ConflictError{FieldID} if its ID is taken.
	AddKey(ctx context.Context, k Key) error
	// DeleteKey removes the key. ErrNotFound if there is none.
	DeleteKey(ctx context.Context, id string) error
}

// Store is everything the service needs: what a backend implements.
type Store interface {
	Accounts
	Sessions
	Blocks
	Withdrawals
	ResetCodes
	Keys
	// Close releases the store's resources.
	Close() error
}

// Combine returns a Store that keeps accounts in accounts and everything else
// in rest: how a host keeps players in its own users table. Close closes rest
// only; the host owns accounts.
func Combine(accounts Accounts, rest Store) Store {
	return combined{Store: rest, accounts: accounts}
}

type combined struct {
	Store
	accounts Accounts
}

func (c combined) CreateAccount(ctx context.Context, a Account) error {
	return c.accounts.CreateAccount(ctx, a)
}
func (c combined) GetAccount(ctx context.Context, id string) (Account, error) {
	return c.accounts.GetAccount(ctx, id)
}
func (c combined) GetAccountByLink(ctx context.Context, linkType, linkID string) (Account, error) {
	return c.accounts.GetAccountByLink(ctx, linkType, linkID)
}
func (c combined) GetAccountByNickname(ctx context.Context, nickname string) (Account, error) {
	return c.accounts.GetAccountByNickname(ctx, nickname)
}
func (c combined) UpdateAccount(ctx context.Context, id string, u AccountUpdate) error {
	return c.accounts.UpdateAccount(ctx, id, u)
}
func (c combined) DeleteAccount(ctx context.Context, id string) error {
	return c.accounts.DeleteAccount(ctx, id)
}
