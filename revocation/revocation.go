// Package revocation keeps a node's view of what invalidates an access token
// before it expires: revoked sessions and active player and device blocks.
//
// Access tokens are stateless JWTs, so the middleware cannot ask the store on
// every request. The View answers instead, from memory: it is fed at once by
// the account service on this node (it implements account.Events), by a
// broadcast from other nodes when one is configured, and reconciled from the
// store's change feed at an interval, so an update that was missed (a
// restart, a lost message) is picked up within that interval.
//
// A revoked session is remembered for Retain (the access-token lifetime plus
// clock skew): after that, every access token of the session has expired and
// the verifier refuses it on its own.
package revocation

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameauth/gameauth/internal/wallclock"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// Feed is the part of the store the view reconciles from.
type Feed interface {
	// RevokedSince returns sessions revoked at or after since.
	RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error)
	// ListActiveBlocks returns every block in force at now.
	ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error)
}

// Config configures a View.
type Config struct {
	// Retain is how long a revoked session is remembered: as long as one
	// of its access tokens may still be accepted, the access-token lifetime
	// plus the verifier's clock skew (tokens.Config.Lifetime). Default the
	// lifetime of tokens.Config's defaults (1h30s).
	Retain time.Duration
	// Interval between reconciliations with the store. Default
	// DefaultInterval.
	Interval time.Duration
	// Clock is the time source; nil means the system clock: time.Now's time, its wall clock read once a second and advanced by the monotonic clock in between, at about half time.Now's cost.
	Clock func() time.Time
	// Logger receives reconciliation failures; nil means slog.Default().
	Logger *slog.Logger
}

// View is an in-memory view of revocations, safe for concurrent use. Lookups
// take no lock that writers hold for long: revoked sessions sit in striped,
// read-locked maps the garbage collector never scans, blocks in an
// immutable snapshot swapped atomically.
type View struct {
	feed     Feed
	retain   time.Duration
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	sessions *revokedSessions
	gen      atomic.Uint64 // see Generation

	blocks atomic.Pointer[blockSet]

	mu       sync.Mutex // serialises writers of blocks and the sync cursor
	recent   []blockEvent
	cursor   time.Time // next RevokedSince starts here
	synced   bool
	lastSync atomic.Int64 // unix nanos of the last successful sync
}

// blockSet maps a subject to its active blocks; never mutated once published.
type blockSet struct {
	players map[string][]storage.Block
	devices map[string][]storage.Block
}

// blockEvent is a block change received between syncs, replayed over a
// snapshot that may have been read before it happened.
type blockEvent struct {
	at    time.Time
	block storage.Block
}

// DefaultInterval is the default time between reconciliations with the
// store.
const DefaultInterval = 5 * time.Second

// overlap is how far back each reconciliation re-reads the revocation feed,
// so that a transaction committed late on another node is not skipped.
const overlap = 30 * time.Second

// New returns a View reconciled from feed (the store). It starts empty; call
// Sync (or Run) to load it.
func New(feed Feed, cfg Config) *View {
	v := &View{
		feed:     feed,
		retain:   cfg.Retain,
		interval: cfg.Interval,
		now:      cfg.Clock,
		log:      cfg.Logger,
	}
	if v.retain <= 0 {
		v.retain = tokens.Config{}.Lifetime()
	}
	if v.interval <= 0 {
		v.interval = DefaultInterval
	}
	if v.now == nil {
		v.now = wallclock.Now
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	v.sessions = newRevokedSessions()
	v.changed()
	v.blocks.Store(&blockSet{players: map[string][]storage.Block{}, devices: map[string][]storage.Block{}})
	return v
}

// generations numbers the states of every View in the process, so that no
// two Views are ever at the same generation.
var generations atomic.Uint64

// Generation returns the view's generation: a number that changes with
// every change of the view (a revocation or a block recorded, a sync) and
// that no other View in the process ever has. A session found in good
// standing at one generation is in good standing as long as the view stays
// at it, since time alone only ever lifts a refusal (a block ends, a
// revocation is forgotten past Retain): the middleware records the
// generation on the token's Identity and skips the lookups while it holds.
// Read it before the check it vouches for; the view changes it after each
// change is in place.
func (v *View) Generation() uint64 { return v.gen.Load() }

// changed moves the view to a new generation, after a change.
func (v *View) changed() { v.gen.Store(generations.Add(1)) }

// SessionRevoked reports whether the session was revoked, and why.
func (v *View) SessionRevoked(sessionID string) (storage.RevokeReason, bool) {
	at, reason, ok := v.sessions.get(sessionID)
	if !ok || v.now().Sub(at) >= v.retain {
		return "", false
	}
	return reason, true
}

// Blocked returns a block of the subject in force now that covers service:
// an account-wide block (no services) covers every service, and "" asks
// for account-wide blocks only.
func (v *View) Blocked(kind storage.BlockKind, subject, service string) (storage.Block, bool) {
	set := v.blocks.Load()
	m := set.players
	if kind == storage.BlockDevice {
		m = set.devices
	}
	list := m[subject]
	if len(list) == 0 {
		return storage.Block{}, false
	}
	now := v.now()
	for _, b := range list {
		if !b.ActiveAt(now) {
			continue
		}
		if len(b.Services) == 0 || (service != "" && slices.Contains(b.Services, service)) {
			return b, true
		}
	}
	return storage.Block{}, false
}

// BlocksInForce counts the player and device blocks in force now, for a
// metric read at scrape time: it walks every block, so it is not for a
// request's path.
func (v *View) BlocksInForce() (players, devices int) {
	set, now := v.blocks.Load(), v.now()
	count := func(m map[string][]storage.Block) (n int) {
		for _, list := range m {
			for _, b := range list {
				if b.ActiveAt(now) {
					n++
				}
			}
		}
		return n
	}
	return count(set.players), count(set.devices)
}

// SessionsRevoked records revocations; it implements account.Events.
func (v *View) SessionsRevoked(_ context.Context, revs []storage.Revocation) {
	if len(revs) > 0 {
		v.sessions.add(revs, v.now(), v.retain)
		v.changed()
	}
}

// BlockChanged records a block that was created, or lifted (LiftedAt set);
// it implements account.Events.
func (v *View) BlockChanged(_ context.Context, b storage.Block) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.recent = append(v.recent, blockEvent{at: v.now(), block: b})
	v.blocks.Store(v.blocks.Load().with(b))
	v.changed()
}

// KeyRotated implements account.Events; the view has nothing to do for it.
func (v *View) KeyRotated(context.Context, string) {}

// Sync reconciles the view with the store once: every active block, and the
// sessions revoked since the last sync (or within Retain, the first time).
func (v *View) Sync(ctx context.Context) error {
	start := v.now()
	v.mu.Lock()
	since := v.cursor
	first := !v.synced
	v.mu.Unlock()
	if first {
		since = start.Add(-v.retain)
	}
	revs, err := v.feed.RevokedSince(ctx, since)
	if err != nil {
		return err
	}
	blocks, err := v.feed.ListActiveBlocks(ctx, start)
	if err != nil {
		return err
	}
	v.SessionsRevoked(ctx, revs)

	set := newBlockSet(blocks)
	v.mu.Lock()
	// Replay changes this node heard of while (or shortly before) the
	// snapshot was read, so a block made a moment ago is not dropped.
	keep := v.recent[:0]
	for _, e := range v.recent {
		if e.at.After(start.Add(-overlap)) {
			set = set.with(e.block)
			keep = append(keep, e)
		}
	}
	v.recent = keep
	v.blocks.Store(set)
	v.changed()
	v.cursor = start.Add(-overlap)
	v.synced = true
	v.mu.Unlock()
	v.lastSync.Store(start.UnixNano())
	return nil
}

// LastSync returns when the last successful Sync started (zero if none).
func (v *View) LastSync() time.Time {
	n := v.lastSync.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Run syncs at once, then every Interval, until ctx is done. A failed sync
// is logged and retried at the next tick; Run returns ctx's error.
func (v *View) Run(ctx context.Context) error {
	t := time.NewTicker(v.interval)
	defer t.Stop()
	for {
		if err := v.Sync(ctx); err != nil && ctx.Err() == nil {
			v.log.WarnContext(ctx, "gameauth: revocation view sync failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func newBlockSet(blocks []storage.Block) *blockSet {
	s := &blockSet{players: map[string][]storage.Block{}, devices: map[string][]storage.Block{}}
	for _, b := range blocks {
		m := s.players
		if b.Kind == storage.BlockDevice {
			m = s.devices
		}
		m[b.Subject] = append(m[b.Subject], b)
	}
	return s
}

// with returns a copy of s with b added, replaced (same key), or removed
// when lifted. Only the touched subject's slice is copied.
func (s *blockSet) with(b storage.Block) *blockSet {
	n := &blockSet{players: s.players, devices: s.devices}
	src := s.players
	if b.Kind == storage.BlockDevice {
		src = s.devices
	}
	dst := make(map[string][]storage.Block, len(src)+1)
	for k, list := range src {
		dst[k] = list
	}
	list := make([]storage.Block, 0, len(src[b.Subject])+1)
	for _, old := range src[b.Subject] {
		if old.Key != b.Key {
			list = append(list, old)
		}
	}
	if b.LiftedAt.IsZero() {
		list = append(list, b)
	}
	if len(list) == 0 {
		delete(dst, b.Subject)
	} else {
		dst[b.Subject] = list
	}
	if b.Kind == storage.BlockDevice {
		n.devices = dst
	} else {
		n.players = dst
	}
	return n
}
