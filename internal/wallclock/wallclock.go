// Package wallclock tells the wall-clock time at half the cost of time.Now.
//
// time.Now reads two clocks, the wall clock and the monotonic one. On
// virtual machines each read goes through the hypervisor's clock page and
// costs tens of nanoseconds, which shows on a path as short as a cached
// token check. Now reads the wall clock once a second and the monotonic
// clock in between, adding the time gone by: the same reading, within the
// drift of the two clocks over a second, and a step of the wall clock (an
// operator or NTP setting it) is seen within a second.
//
// Seconds is cheaper still, for a check that needs only the second: it
// reads no clock at all.
package wallclock

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Every is how long Now goes on from one reading of the wall clock.
const Every = time.Second

var system = Clock{wall: time.Now, since: time.Since, every: Every}

// Now returns the current time, as time.Now does, with its monotonic
// reading.
func Now() time.Time { return system.Now() }

// Clock is a wall clock read once per interval and advanced by the
// monotonic clock in between.
type Clock struct {
	wall   func() time.Time
	since  func(time.Time) time.Duration
	every  time.Duration
	anchor atomic.Pointer[time.Time]
}

// Now returns the anchor's time advanced by the monotonic time since it,
// reading the wall clock again when the anchor is older than the interval
// (or ahead of the monotonic clock). Concurrent callers may both read the
// wall clock when the anchor expires; either reading is a good anchor.
func (c *Clock) Now() time.Time {
	if a := c.anchor.Load(); a != nil {
		// time.Since reads only the monotonic clock when a has a
		// monotonic reading, which the wall function's times carry.
		if d := c.since(*a); d >= 0 && d < c.every {
			return a.Add(d)
		}
	}
	t := c.wall()
	c.anchor.Store(&t)
	return t
}

// IsSystem reports whether clock is Now, the system clock the packages
// default to: they may then judge to the second with Seconds.
func IsSystem(clock func() time.Time) bool {
	return clock != nil && reflect.ValueOf(clock).Pointer() == reflect.ValueOf(Now).Pointer()
}

// Tick is how often Seconds' value is refreshed.
const Tick = 100 * time.Millisecond

var seconds struct {
	once sync.Once
	unix atomic.Int64 // what Seconds answers
	read atomic.Int64 // the Now, in Unix nanoseconds, unix was computed from
}

// Seconds returns the Unix second of Now, rounded up to the next Tick: a
// value a goroutine refreshes every Tick, started by the first call, so a
// call reads no clock. It is never behind the second Now is in, unless the
// goroutine was kept from running for over a Tick, and at most a Tick ahead
// of it: a check of an expiry against it ends early rather than late.
func Seconds() int64 {
	if s := seconds.unix.Load(); s != 0 {
		return s
	}
	seconds.once.Do(func() {
		refreshSeconds()
		go func() {
			t := time.NewTicker(Tick)
			for range t.C {
				refreshSeconds()
			}
		}()
	})
	return seconds.unix.Load()
}

// refreshSeconds sets what Seconds answers until the next refresh: the
// Unix second of Now plus a Tick, when the clock has moved on by up to a
// Tick.
func refreshSeconds() {
	t := Now()
	seconds.read.Store(t.UnixNano())
	seconds.unix.Store(t.Add(Tick).Unix())
}
