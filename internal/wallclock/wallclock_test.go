package wallclock

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every reading lies between time.Now readings taken before and after it,
// by the monotonic clock, and its wall time agrees with theirs.
func TestNowIsTheWallClock(t *testing.T) {
	for range 10_000 {
		before := time.Now()
		got := Now()
		after := time.Now()
		require.False(t, got.Before(before), "%v before %v", got, before)
		require.False(t, got.After(after), "%v after %v", got, after)
		// The wall readings (Round(0) drops the monotonic one) agree to
		// within the clocks' drift over one interval.
		assert.WithinRange(t, got.Round(0), before.Round(0).Add(-time.Millisecond), after.Round(0).Add(time.Millisecond))
	}
}

// fakeClock is a Clock on a wall clock and a monotonic one the test sets.
type fakeClock struct {
	wall    time.Time     // what the wall clock reads
	elapsed time.Duration // what the monotonic clock says has gone by since the anchor
	reads   int
}

func (f *fakeClock) clock() *Clock {
	return &Clock{
		wall:  func() time.Time { f.reads++; return f.wall },
		since: func(time.Time) time.Duration { return f.elapsed },
		every: time.Second,
	}
}

// Within the interval the wall clock is not read again: the anchor is
// advanced by the monotonic clock. A step of the wall clock, forwards or
// back, is seen at the first call after the interval, and a monotonic
// reading behind the anchor reads the wall clock at once.
func TestNowFollowsTheWallClockWithinTheInterval(t *testing.T) {
	start := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f := &fakeClock{wall: start}
	c := f.clock()
	assert.Equal(t, start, c.Now())
	assert.Equal(t, 1, f.reads)

	f.wall = start.Add(time.Hour) // stepped forward
	f.elapsed = 999 * time.Millisecond
	assert.Equal(t, start.Add(999*time.Millisecond), c.Now(), "the anchor advanced by the monotonic clock")
	assert.Equal(t, 1, f.reads, "the wall clock is not read within the interval")

	f.elapsed = time.Second
	assert.Equal(t, start.Add(time.Hour), c.Now(), "the step is seen once the interval is over")
	assert.Equal(t, 2, f.reads)

	f.wall = start.Add(-time.Hour) // stepped back
	f.elapsed = 2 * time.Second
	assert.Equal(t, start.Add(-time.Hour), c.Now())

	f.wall = start
	f.elapsed = -time.Millisecond
	assert.Equal(t, start, c.Now(), "a monotonic reading behind the anchor re-anchors")
	assert.Equal(t, 4, f.reads)
}

// Between readings of the wall clock only the monotonic clock is read,
// whatever the number of callers.
func TestNowReadsTheWallClockOncePerInterval(t *testing.T) {
	var reads atomic.Int64
	c := &Clock{wall: func() time.Time { reads.Add(1); return time.Now() }, since: time.Since, every: time.Hour}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Now()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, reads.Load(), int64(8), "at most one read per caller racing on the first anchor")
	assert.GreaterOrEqual(t, reads.Load(), int64(1))
}

// Seconds is at most a Tick ahead of the second time.Now is in, across
// many refreshes, and behind it only when its refresh is over a Tick late
// (a goroutine kept from running: the race detector on a loaded machine
// does that).
func TestSecondsIsNeverBehind(t *testing.T) {
	deadline := time.Now().Add(3 * Tick)
	for n := 0; n < 1000 || time.Now().Before(deadline); n++ {
		before := time.Now()
		got := Seconds()
		read := seconds.read.Load()
		after := time.Now()
		if got < before.Unix() {
			require.Greater(t, before.UnixNano()-read, int64(Tick), "behind the clock, its refresh on time")
		}
		require.LessOrEqual(t, got, after.Add(Tick).Unix(), "more than a Tick ahead")
	}
}

// IsSystem tells Now from any other clock.
func TestIsSystem(t *testing.T) {
	assert.True(t, IsSystem(Now))
	var c func() time.Time = Now
	assert.True(t, IsSystem(c))
	assert.False(t, IsSystem(time.Now))
	assert.False(t, IsSystem(nil))
	fixed := time.Unix(0, 0)
	assert.False(t, IsSystem(func() time.Time { return fixed }))
	assert.False(t, IsSystem((&Clock{wall: time.Now, since: time.Since, every: Every}).Now))
}

// BenchmarkNow reports Now beside time.Now, its reference.
func BenchmarkNow(b *testing.B) {
	var sink int64
	b.Run("time.Now", func(b *testing.B) {
		for range b.N {
			sink += time.Now().UnixNano()
		}
	})
	b.Run("wallclock", func(b *testing.B) {
		for range b.N {
			sink += Now().UnixNano()
		}
	})
	b.Run("seconds", func(b *testing.B) {
		for range b.N {
			sink += Seconds()
		}
	})
	_ = sink
}
