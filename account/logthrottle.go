package account

import (
	"sync"
	"time"
)

// failureLogInterval is how often, at most, a failing operation logs again
// while it keeps failing.
const failureLogInterval = 10 * time.Second

// logThrottle keeps an outage from writing a log line per request: the
// first failure of an operation is logged at once, then at most one line
// per failureLogInterval, which says how many were left out since the last.
// The zero value is ready to use.
type logThrottle struct {
	mu  sync.Mutex
	ops map[string]*throttled
}

type throttled struct {
	last time.Time // when a line was last logged
	left int       // failures not logged since
}

// allow reports whether a failure of op at now is to be logged, and how
// many were left out before it.
func (t *logThrottle) allow(op string, now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ops == nil {
		t.ops = map[string]*throttled{}
	}
	st, ok := t.ops[op]
	if !ok {
		t.ops[op] = &throttled{last: now}
		return true, 0
	}
	if now.Sub(st.last) < failureLogInterval && !now.Before(st.last) {
		st.left++
		return false, 0
	}
	left := st.left
	st.last, st.left = now, 0
	return true, left
}
