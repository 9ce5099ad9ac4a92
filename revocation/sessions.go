package revocation

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// revokedSessions is the View's set of revoked sessions. It holds no
// pointers, so the garbage collector never scans it: a go-cache of
// session ID strings and boxed revocations made every collection mark
// each revoked session again, and with 10,000 of them that cost a cached
// request at the middleware over 100 ns, as much as the rest of its
// authentication.
type revokedSessions struct {
	seed0, seed1 maphash.Seed // for IDs too long to be keys as they are
	stripes      [sessionStripes]sessionStripe

	reasonMu sync.Mutex                             // serialises additions to reasons
	reasons  atomic.Pointer[[]storage.RevokeReason] // every reason seen, by index; only appended to
}

const (
	sessionStripeBits = 4
	sessionStripes    = 1 << sessionStripeBits
	// sweepEvery is how often a stripe drops, when it is written to, the
	// sessions revoked longer than Retain ago.
	sweepEvery = time.Minute
)

type sessionStripe struct {
	mu    sync.RWMutex
	m     map[sessionKey]revoked
	swept int64    // unix nanos of the last sweep
	_     [64]byte // keeps stripes locked by different cores off one cache line
}

// sessionKey is a session ID of up to 31 bytes as it is (the account
// service's have 22), or a longer one's 128-bit digest under seeds drawn
// for the set and never shown outside the process: two long IDs share an
// entry with odds of one in 2^128, and that could only refuse a token,
// never let one through.
type sessionKey struct {
	n uint8 // the ID's length, or digested
	b [31]byte
}

const digested = math.MaxUint8

// revoked is one revoked session: when (unix nanos) and why (an index of
// revokedSessions.reasons).
type revoked struct {
	at     int64
	reason uint32
}

func newRevokedSessions() *revokedSessions {
	s := &revokedSessions{seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed()}
	known := []storage.RevokeReason{storage.ReasonSignedOut, storage.ReasonReplaced, storage.ReasonReused,
		storage.ReasonAdmin, storage.ReasonPasswordChanged, storage.ReasonWithdrawn}
	s.reasons.Store(&known)
	for i := range s.stripes {
		s.stripes[i].m = make(map[sessionKey]revoked)
	}
	return s
}

func (s *revokedSessions) key(id string) (k sessionKey) {
	if len(id) <= len(k.b) {
		k.n = uint8(len(id))
		copy(k.b[:], id)
		return k
	}
	k.n = digested
	binary.LittleEndian.PutUint64(k.b[0:], maphash.String(s.seed0, id))
	binary.LittleEndian.PutUint64(k.b[8:], maphash.String(s.seed1, id))
	return k
}

// stripe returns the stripe of k, picked by a mix of its bytes: any spread
// will do, since it only parts the locks (the maps are Go's, seeded
// against collisions).
func (s *revokedSessions) stripe(k *sessionKey) *sessionStripe {
	x := binary.LittleEndian.Uint64(k.b[0:]) ^ binary.LittleEndian.Uint64(k.b[8:]) ^
		binary.LittleEndian.Uint64(k.b[16:]) ^ binary.LittleEndian.Uint64(k.b[23:])
	return &s.stripes[(x*0x9e3779b97f4a7c15)>>(64-sessionStripeBits)]
}

// get returns when and why the session was revoked, if it is in the set.
func (s *revokedSessions) get(id string) (at time.Time, reason storage.RevokeReason, ok bool) {
	k := s.key(id)
	st := s.stripe(&k)
	st.mu.RLock()
	r, ok := st.m[k]
	st.mu.RUnlock()
	if !ok {
		return time.Time{}, "", false
	}
	return time.Unix(0, r.at), (*s.reasons.Load())[r.reason], true
}

// add records revs, and drops from each stripe it writes to the sessions
// revoked retain or longer before now, at most once per sweepEvery.
func (s *revokedSessions) add(revs []storage.Revocation, now time.Time, retain time.Duration) {
	for _, r := range revs {
		k := s.key(r.SessionID)
		e := revoked{at: unixNano(r.At), reason: s.reasonIndex(r.Reason)}
		st := s.stripe(&k)
		st.mu.Lock()
		if old, ok := st.m[k]; !ok || old.at <= e.at {
			st.m[k] = e // the latest revocation of a session is the one that counts
		}
		st.sweep(now, retain)
		st.mu.Unlock()
	}
}

// sweep drops the sessions revoked retain or longer before now, if the
// stripe was not swept within sweepEvery. The caller holds st.mu.
func (st *sessionStripe) sweep(now time.Time, retain time.Duration) {
	n := now.UnixNano()
	if n-st.swept < int64(sweepEvery) {
		return
	}
	st.swept = n
	cutoff := unixNano(now.Add(-retain))
	for k, r := range st.m {
		if r.at <= cutoff {
			delete(st.m, k)
		}
	}
}

// len returns the number of sessions held, some of them past Retain.
func (s *revokedSessions) len() int {
	n := 0
	for i := range s.stripes {
		st := &s.stripes[i]
		st.mu.RLock()
		n += len(st.m)
		st.mu.RUnlock()
	}
	return n
}

// reasonIndex returns the index of reason in s.reasons, adding it if new.
func (s *revokedSessions) reasonIndex(reason storage.RevokeReason) uint32 {
	find := func(list []storage.RevokeReason) (uint32, bool) {
		for i, r := range list {
			if r == reason {
				return uint32(i), true
			}
		}
		return 0, false
	}
	if i, ok := find(*s.reasons.Load()); ok {
		return i
	}
	s.reasonMu.Lock()
	defer s.reasonMu.Unlock()
	list := *s.reasons.Load()
	if i, ok := find(list); ok {
		return i
	}
	grown := append(list[:len(list):len(list)], reason)
	s.reasons.Store(&grown)
	return uint32(len(grown) - 1)
}

// unixNano is t in Unix nanoseconds, clamped to what an int64 holds: a
// zero time is long before any Retain.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
