package account

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// DefaultAuditRetention is how long the audit log keeps an event unless
// Config.AuditRetention says otherwise.
const DefaultAuditRetention = 90 * 24 * time.Hour

// AuditLog is an Observer that keeps the security-relevant events
// (AuditKinds) in the store's audit log. An event is written as it
// happens, on the request's goroutine and past its cancellation, so that a
// client hanging up cannot erase its trace; a write that fails is logged
// (throttled) and does not fail the request, whose own outcome is decided.
// Only refresh reuse is audited on the refresh path, so refreshes cost
// nothing more.
type AuditLog struct {
	store    storage.Audit
	log      *slog.Logger
	clock    func() time.Time
	kinds    []string
	failures logThrottle
}

// NewAuditLog returns the audit log over store; a nil logger means
// slog.Default().
func NewAuditLog(store storage.Audit, logger *slog.Logger) *AuditLog {
	if logger == nil {
		logger = slog.Default()
	}
	return &AuditLog{store: store, log: logger, clock: time.Now, kinds: AuditKinds()}
}

// Observe implements Observer.
func (l *AuditLog) Observe(ctx context.Context, e Event) {
	if !slices.Contains(l.kinds, e.Kind) {
		return
	}
	ev := storage.AuditEvent{Kind: e.Kind, Time: e.Time, PlayerID: e.PlayerID, SessionID: e.SessionID,
		DeviceID: e.DeviceID, Operator: e.Operator, Reason: e.Reason}
	if e.ClientAddr.IsValid() {
		ev.ClientAddr = e.ClientAddr.String()
	}
	if e.Method != "" {
		ev.Reason = join(e.Method, e.Reason)
	}
	if err := l.store.AppendAudit(context.WithoutCancel(ctx), []storage.AuditEvent{ev}); err != nil {
		if ok, left := l.failures.allow("AppendAudit", l.clock()); ok {
			l.log.ErrorContext(ctx, "gameauth: audit log write failed", "kind", e.Kind, "err", err, "suppressed", left)
		}
	}
}

// join is a sign-in's reason in the audit log: its method, and the
// refusal's code when it failed ("email: INVALID_CREDENTIALS").
func join(method, reason string) string {
	if reason == "" {
		return method
	}
	return method + ": " + reason
}
