package account

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// DefaultAuditRetention is how long the audit log keeps an event unless
// Config.AuditRetention says otherwise.
const DefaultAuditRetention = 90 * 24 * time.Hour

// AuditLog is an Observer that keeps the security-relevant events
// (AuditKinds) in the store's audit log.
//
// Events are written in the background, in order, many to one write (one
// statement and one commit on a database), so that recording costs a
// request no round trip of its own: a sign-up stays one commit. A writer
// goroutine runs while events wait and ends when none do; nothing needs
// closing. Flush waits for the events observed so far, and the service
// flushes before it reads the log (AuditEvents, ExportPlayer), so that a
// node reads its own events; gameauth's Close flushes before it closes the
// store. An event is queued past its request's cancellation, so that a
// client hanging up cannot erase its trace. A write that fails is tried
// again once, then logged (throttled) with the number of events lost; it
// never fails a request, whose own outcome is decided. When
// MaxAuditQueue events wait (the store cannot keep up), Observe waits for
// the queue to drain: memory stays bounded, and the log loses nothing to
// load. Only refresh reuse is audited on the refresh path.
type AuditLog struct {
	store    storage.Audit
	log      *slog.Logger
	clock    func() time.Time
	kinds    []string
	failures logThrottle

	mu       sync.Mutex
	queue    []storage.AuditEvent
	queued   uint64        // events ever queued
	done     uint64        // events written, or given up on
	writing  bool          // a writer goroutine runs
	progress chan struct{} // closed, and replaced, when done moves
}

// MaxAuditQueue is how many events an AuditLog holds waiting to be
// written before Observe waits for them.
const MaxAuditQueue = 8192

// auditBatch is the most events one write stores.
const auditBatch = 512

// NewAuditLog returns the audit log over store; a nil logger means
// slog.Default().
func NewAuditLog(store storage.Audit, logger *slog.Logger) *AuditLog {
	if logger == nil {
		logger = slog.Default()
	}
	return &AuditLog{store: store, log: logger, clock: time.Now, kinds: AuditKinds(), progress: make(chan struct{})}
}

// Observe implements Observer: it queues the event if its kind is audited.
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
	l.mu.Lock()
	l.queue = append(l.queue, ev)
	l.queued++
	full := len(l.queue) >= MaxAuditQueue
	if !l.writing {
		l.writing = true
		go l.write()
	}
	l.mu.Unlock()
	if full {
		_ = l.Flush(context.WithoutCancel(ctx))
	}
}

// write stores the queue, a batch at a time, until it is empty.
func (l *AuditLog) write() {
	for {
		l.mu.Lock()
		n := min(len(l.queue), auditBatch)
		if n == 0 {
			l.writing = false
			l.mu.Unlock()
			return
		}
		batch := slices.Clone(l.queue[:n])
		l.queue = slices.Delete(l.queue, 0, n)
		l.mu.Unlock()

		err := l.append(batch)
		if err != nil {
			err = l.append(batch) // once more: a lost connection, a deadlock
		}
		if err != nil {
			if ok, left := l.failures.allow("AppendAudit", l.clock()); ok {
				l.log.Error("gameauth: audit log write failed", "events", len(batch), "kind", batch[0].Kind, "err", err, "suppressed", left)
			}
		}
		l.mu.Lock()
		l.done += uint64(n)
		close(l.progress)
		l.progress = make(chan struct{})
		l.mu.Unlock()
	}
}

// append writes one batch, giving the store at most 10 seconds.
func (l *AuditLog) append(batch []storage.AuditEvent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.store.AppendAudit(ctx, batch)
}

// Flush waits until every event observed before it was called is written
// (or given up on), or ctx ends.
func (l *AuditLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	target := l.queued
	for l.done < target {
		progress := l.progress
		l.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
	}
	l.mu.Unlock()
	return nil
}

// join is a sign-in's reason in the audit log: its method, and the
// refusal's code when it failed ("email: INVALID_CREDENTIALS").
func join(method, reason string) string {
	if reason == "" {
		return method
	}
	return method + ": " + reason
}
