package account

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Kinds of Event. The audit log keeps the security-relevant ones
// (AuditKinds); the others are outcomes for metrics.
const (
	EventSignUp              = "signup"
	EventSignIn              = "signin"
	EventSignInFailed        = "signin.failed"
	EventRefreshReused       = "refresh.reused"
	EventSignOut             = "signout"
	EventPasswordChanged     = "password.changed"
	EventPasswordReset       = "password.reset"
	EventNicknameChanged     = "nickname.changed"
	EventIdentityLinked      = "identity.linked"
	EventIdentityUnlinked    = "identity.unlinked"
	EventWithdrawalRequested = "withdrawal.requested"
	EventWithdrawalRestored  = "withdrawal.restored"
	EventAccountPurged       = "account.purged"
	EventBlockAdded          = "block.added"
	EventBlockRemoved        = "block.removed"
	EventSessionRevoked      = "session.revoked"
	EventKeyRotated          = "key.rotated"

	// EventRefresh is a refresh's outcome: Reason "ok" or the error code.
	EventRefresh = "refresh"
	// EventStoreError is a store failure: Reason is the operation.
	EventStoreError = "store.error"
)

// AuditKinds are the kinds of Event the audit log keeps, in the order
// docs/API.md lists them.
func AuditKinds() []string {
	return []string{EventSignUp, EventSignIn, EventSignInFailed, EventRefreshReused, EventSignOut,
		EventPasswordChanged, EventPasswordReset, EventNicknameChanged, EventIdentityLinked,
		EventIdentityUnlinked, EventWithdrawalRequested, EventWithdrawalRestored, EventAccountPurged,
		EventBlockAdded, EventBlockRemoved, EventSessionRevoked, EventKeyRotated}
}

// Event is something the service did or refused: what the audit log
// records and metrics count. It never holds a secret, an email or a
// nickname: only IDs, and a reason that is a code, a class or an
// operator's words.
type Event struct {
	Kind      string
	Time      time.Time
	PlayerID  string
	SessionID string
	DeviceID  string
	// ClientAddr is the address the request came from, when known.
	ClientAddr netip.Addr
	// Operator names the administrator who acted (WithOperator), "" for
	// a player's own request.
	Operator string
	// Method is how a player signed in or up: "email", "guest" or a
	// provider's name.
	Method string
	// Reason says why: the error code of a refusal, a revocation's reason,
	// a block's reason, the operation of a store error.
	Reason string
}

// Observer learns of every Event as it happens (the audit log, metrics).
// Observe is called synchronously on the request's goroutine: it must be
// quick and must not fail the request.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// Observers is an Observer that passes each event to every non-nil one
// of obs, in turn.
func Observers(obs ...Observer) Observer {
	var all observers
	for _, o := range obs {
		if o != nil {
			all = append(all, o)
		}
	}
	return all
}

type observers []Observer

func (all observers) Observe(ctx context.Context, e Event) {
	for _, o := range all {
		o.Observe(ctx, e)
	}
}

// Flush flushes every observer that buffers (an AuditLog).
func (all observers) Flush(ctx context.Context) error {
	var errs []error
	for _, o := range all {
		errs = append(errs, flushObserver(ctx, o))
	}
	return errors.Join(errs...)
}

// flushObserver waits until o has written what it was given, when it
// buffers (an AuditLog, or Observers holding one); others have nothing to
// wait for.
func flushObserver(ctx context.Context, o Observer) error {
	if f, ok := o.(interface{ Flush(context.Context) error }); ok {
		return f.Flush(ctx)
	}
	return nil
}

type operatorKey struct{}

// WithOperator returns ctx naming the administrator on whose behalf the
// service acts; the events of what it does record the operator.
func WithOperator(ctx context.Context, operator string) context.Context {
	return context.WithValue(ctx, operatorKey{}, operator)
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the address a request came from, for
// the events of flows that take a Principal (which names no address); the
// HTTP handler sets it.
func WithClientAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// observe reports e to the Observer, if any, with the time, and the
// operator and client address the context carries where e names none.
func (s *Service) observe(ctx context.Context, e Event) {
	if s.cfg.Observer == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	if e.Operator == "" {
		e.Operator, _ = ctx.Value(operatorKey{}).(string)
	}
	if !e.ClientAddr.IsValid() {
		e.ClientAddr, _ = ctx.Value(clientAddrKey{}).(netip.Addr)
	}
	s.cfg.Observer.Observe(ctx, e)
}

// signInEvent is the event of a sign-in's outcome: signup or signin with
// the grant; signin.failed with the refusal's code, and the player when the
// flow knew who it was (a wrong password for a known email). A malformed
// request or a failure of ours is no attempt on an account, and no event.
func (s *Service) signInEvent(ctx context.Context, c Client, method, player string, g *Grant, err error) {
	if err != nil {
		switch c := code(err); {
		case ctx.Err() != nil, c == CodeInvalidRequest, c == CodeUnavailable, c == CodeProviderUnavailable:
			return
		}
		s.observe(ctx, Event{Kind: EventSignInFailed, PlayerID: player, ClientAddr: c.Addr, DeviceID: c.Device.DeviceID,
			Method: method, Reason: code(err)})
		return
	}
	kind := EventSignIn
	if g.Created {
		kind = EventSignUp
	}
	s.observe(ctx, Event{Kind: kind, PlayerID: g.Player.UserUniqueID, SessionID: g.SessionID,
		DeviceID: c.Device.DeviceID, ClientAddr: c.Addr, Method: method})
}

// code is err's contract code, UNAVAILABLE for any other error.
func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnavailable
}
