package account

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// NewLocalLimiter returns a Limiter local to this process: a token bucket
// per key that allows perMinute attempts per minute, in a burst of up to
// perMinute. Idle buckets are dropped, so memory follows the keys active in
// the last minute. Processes behind a load balancer each count on their
// own; share a limiter (e.g. in Redis) to count across them.
func NewLocalLimiter(perMinute int) Limiter {
	if perMinute < 1 {
		perMinute = 1
	}
	return &localLimiter{perMinute: perMinute, buckets: map[string]*rate.Limiter{}}
}

type localLimiter struct {
	mu        sync.Mutex
	perMinute int
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// Allow implements Limiter.
func (l *localLimiter) Allow(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= time.Minute || now.Before(l.lastSweep) {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.perMinute) {
				delete(l.buckets, k) // full again: as good as new
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// allow consumes one attempt under each key in turn and stops at the first
// refusal. A limiter error fails open.
func (s *Service) allow(ctx context.Context, now time.Time, keys ...string) error {
	if s.limiter == nil {
		return nil
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		ok, after, err := s.limiter.Allow(ctx, k, now)
		if err != nil {
			s.log.WarnContext(ctx, "gameauth: rate limiter failed; allowing the attempt", "err", err)
			continue
		}
		if !ok {
			e := ErrRateLimited.with("too many attempts; try again later")
			e.RetryAfter = after
			return e
		}
	}
	return nil
}

func acctKey(id string) string { return "acct:" + id }

// addrKey is the limiter key of a client address: an IPv4 address (also
// written IPv4-mapped) on its own, an IPv6 address by its /64, which is
// what one customer usually gets and can walk through at will.
func addrKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // cannot fail: 64 fits an IPv6 address
		return "addr:" + p.String()
	}
	return "addr:" + a.String()
}
