package storage

import (
	"context"
	"time"
)

// Directory is what operators look players up by (the admin API and its
// console). A store that implements it gets the admin search and player
// pages; every shipped backend does.
type Directory interface {
	// GetAccountByOpenID returns the account with that OpenID, or
	// ErrNotFound.
	GetAccountByOpenID(ctx context.Context, openID string) (Account, error)
	// SearchNicknames returns up to limit accounts whose NicknameKey starts
	// with NicknameKey(prefix), ordered by that key and then by ID, after
	// the account (afterKey, afterID) — a page's last — or from the first
	// when afterID is "". Keys compare bytewise (code point order). A prefix
	// whose key is not valid UTF-8 matches nothing. An index answers it: it
	// must stay fast with millions of accounts.
	SearchNicknames(ctx context.Context, prefix, afterKey, afterID string, limit int) ([]Account, error)
	// AccountsOnDevice returns the IDs of up to limit accounts that have a
	// session the store keeps (live, or ended but not yet deleted) on the
	// device, in ID order.
	AccountsOnDevice(ctx context.Context, deviceID string, limit int) ([]string, error)
	// ListSessions returns the account's sessions the store keeps, live
	// or ended, newest first.
	ListSessions(ctx context.Context, accountID string) ([]Session, error)
	// ListBlocks returns the subject's blocks, in force or not (lifted,
	// ended), newest first.
	ListBlocks(ctx context.Context, kind BlockKind, subject string) ([]Block, error)
}

// Eraser removes what a store keeps about a player besides the account
// itself, when the account is purged: its sessions, the blocks on it, the
// reset codes of its email, its identities. Only its withdrawal tombstone
// (which keeps no more than a key's hash) and audit events (which hold IDs,
// never an email or a nickname) stay. Erasing what is already gone is not an
// error.
type Eraser interface {
	ErasePlayer(ctx context.Context, accountID, email string) error
}

// AuditEvent is one entry of the audit log: something security-relevant
// that happened, with the IDs it concerns. It never holds a secret, an
// email or a nickname.
type AuditEvent struct {
	// Seq is the store's sequence number of the event, set by
	// AppendAudit: later events have greater ones.
	Seq        int64
	Kind       string
	Time       time.Time
	PlayerID   string
	SessionID  string
	DeviceID   string
	ClientAddr string
	Operator   string
	Reason     string
}

// AuditFilter selects audit events: by player, by kind, from a time on, and
// before a sequence number (a page's last; 0 for the newest). Empty fields
// select everything.
type AuditFilter struct {
	PlayerID  string
	Kind      string
	Since     time.Time
	BeforeSeq int64
}

// Audit stores the audit log.
type Audit interface {
	// AppendAudit stores the events, in order, giving each its Seq.
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit returns up to limit events that f selects, newest (greatest
	// Seq) first.
	ListAudit(ctx context.Context, f AuditFilter, limit int) ([]AuditEvent, error)
	// DeleteAuditBefore removes the events older than t, and returns how
	// many.
	DeleteAuditBefore(ctx context.Context, t time.Time) (int, error)
}
