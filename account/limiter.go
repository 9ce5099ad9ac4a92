package account

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
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

func addrKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return "addr:" + a.String()
}

// clientAddr is the address of the client: the connection's peer, unless
// that peer is a trusted proxy; then the right-most address of
// X-Forwarded-For that is not a trusted proxy, else X-Real-IP.
func (s *Service) clientAddr(r *http.Request) netip.Addr {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = ap.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a.Unmap()
	}
	if !addr.IsValid() || !s.trusted(addr) {
		return addr
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return addr // garbage: stop at the last hop we could trust
			}
			a = a.Unmap()
			if !s.trusted(a) {
				return a
			}
			addr = a
		}
		return addr
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap()
	}
	return addr
}

func (s *Service) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
