package account_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
)

// gatedAudit is a storage.Audit over the memory store whose writes wait
// for the gate, fail while failing is set, and are counted.
type gatedAudit struct {
	*memory.Store
	gate    chan struct{} // nil: open
	failing atomic.Bool
	writes  atomic.Int64
}

func (g *gatedAudit) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.writes.Add(1)
	if g.failing.Load() {
		return errors.New("store down")
	}
	return g.Store.AppendAudit(ctx, events)
}

func auditEvent(player string, i int) Event {
	return Event{Kind: EventSignIn, Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), PlayerID: player,
		SessionID: fmt.Sprintf("s-%d", i), Method: "guest"}
}

func listAll(t *testing.T, st storage.Audit) []storage.AuditEvent {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), storage.AuditFilter{}, 100_000)
	require.NoError(t, err)
	return evs
}

// The audit log writes behind the requests, many events to a write, in
// the order each goroutine observed them; Flush waits for them.
func TestAuditLogBatchesInOrder(t *testing.T) {
	st := &gatedAudit{Store: memory.New(), gate: make(chan struct{})}
	l := NewAuditLog(st, nil)
	const players, each = 8, 100
	var wg sync.WaitGroup
	for p := range players {
		wg.Go(func() {
			for i := range each {
				l.Observe(context.Background(), auditEvent(fmt.Sprint("p", p), i))
			}
		})
	}
	wg.Wait() // every Observe returned while the store's first write waits
	close(st.gate)
	require.NoError(t, l.Flush(context.Background()))

	evs := listAll(t, st)
	require.Len(t, evs, players*each)
	assert.Less(t, st.writes.Load(), int64(players*each/10), "events share writes")
	next := map[string]int{}
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		e := evs[i]
		assert.Equal(t, fmt.Sprintf("s-%d", next[e.PlayerID]), e.SessionID, "%s's events in the order observed", e.PlayerID)
		next[e.PlayerID]++
		assert.Equal(t, "guest", e.Reason, "the method is kept")
	}
}

// A request's cancellation does not cancel its event's write.
func TestAuditLogOutlivesTheRequest(t *testing.T) {
	st := &gatedAudit{Store: memory.New()}
	l := NewAuditLog(st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Observe(ctx, auditEvent("p", 0))
	l.Observe(ctx, Event{Kind: "refresh", PlayerID: "p"}) // not an audit kind
	require.NoError(t, l.Flush(context.Background()))
	require.Len(t, listAll(t, st), 1)
}

// A failed write is tried once more; one that fails again is logged with
// the number of events lost, and Flush does not wait for them forever.
func TestAuditLogWriteFailures(t *testing.T) {
	st := &gatedAudit{Store: memory.New()}
	var logs bytes.Buffer
	l := NewAuditLog(st, slog.New(slog.NewTextHandler(&logs, nil)))

	st.failing.Store(true)
	l.Observe(context.Background(), auditEvent("p", 0))
	require.NoError(t, l.Flush(context.Background()))
	assert.Equal(t, int64(2), st.writes.Load(), "tried twice")
	assert.Contains(t, logs.String(), "audit log write failed")
	assert.Contains(t, logs.String(), "events=1")
	assert.Empty(t, listAll(t, st))

	st.failing.Store(false)
	l.Observe(context.Background(), auditEvent("p", 1))
	require.NoError(t, l.Flush(context.Background()))
	assert.Len(t, listAll(t, st), 1, "the log goes on once the store is back")
}

// Flush gives up when its context ends; Observe waits only when
// MaxAuditQueue events wait.
func TestAuditLogBoundedQueue(t *testing.T) {
	st := &gatedAudit{Store: memory.New(), gate: make(chan struct{})}
	l := NewAuditLog(st, nil)
	l.Observe(context.Background(), auditEvent("p", 0)) // the writer takes it, and waits

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, l.Flush(ctx), context.DeadlineExceeded)

	for i := 1; i < MaxAuditQueue; i++ {
		l.Observe(context.Background(), auditEvent("p", i)) // queued: returns at once
	}
	full := make(chan struct{})
	go func() {
		l.Observe(context.Background(), auditEvent("p", MaxAuditQueue)) // the queue is full: waits
		close(full)
	}()
	select {
	case <-full:
		t.Fatal("Observe returned with MaxAuditQueue events waiting")
	case <-time.After(50 * time.Millisecond):
	}
	close(st.gate)
	<-full
	require.NoError(t, l.Flush(context.Background()))
	assert.Len(t, listAll(t, st), MaxAuditQueue+1)
}

// The service reads the audit log after the node's pending events reach
// it (docs/API.md "Audit log"): AuditEvents and ExportPlayer wait for them.
func TestAuditReadsWaitForPendingEvents(t *testing.T) {
	var st *gatedAudit
	e := newEnv(t, func(c *envConfig) {
		mem := c.fault.inner.(*memory.Store)
		st = &gatedAudit{Store: mem, gate: make(chan struct{})}
		c.Observer = Observers(c.Observer, NewAuditLog(st, nil))
		c.store = mem // reads the audit log through storage.Audit
	})
	p := e.guest("dev-a") // a signup event, queued; its write waits on the gate

	type read struct {
		events []storage.AuditEvent
		export *PlayerExport
		err    error
	}
	done := make(chan read, 1)
	go func() {
		evs, _, err := e.svc.AuditEvents(context.Background(), AuditQuery{PlayerID: p.id}, "", 10)
		exp, err2 := e.svc.ExportPlayer(context.Background(), p.id)
		done <- read{evs, exp, errors.Join(err, err2)}
	}()
	select {
	case <-done:
		t.Fatal("the audit log was read before the pending event was written")
	case <-time.After(20 * time.Millisecond):
	}
	close(st.gate)
	r := <-done
	require.NoError(t, r.err)
	require.Len(t, r.events, 1)
	assert.Equal(t, EventSignUp, r.events[0].Kind)
	require.Len(t, r.export.AuditEvents, 1, "the export too")
}
