package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// benchCallers is how many goroutines BenchRotate and BenchRefresh run at
// once.
const benchCallers = 16

// benchAccounts is how many accounts BenchGetAccount reads among.
const benchAccounts = 256

// BenchRotate measures RotateRefresh with 16 concurrent callers, each
// rotating its own session, and reports ops/s. s may hold data already; the
// benchmark adds sessions with fresh random IDs. It fails the benchmark if a
// rotation errs or a session's generation does not match its rotations.
//
//	func BenchmarkRotate(b *testing.B) {
//		b.Run("mybackend", func(b *testing.B) { storagetest.BenchRotate(b, openStore(b)) })
//	}
func BenchRotate(b *testing.B, s storage.Store) {
	benchRotations(b, s, func(ctx context.Context, id string, r storage.Rotation) error {
		_, err := s.RotateRefresh(ctx, id, r)
		return err
	})
}

// BenchRefresh is BenchRotate for storage.Refresher: 16 concurrent callers,
// each refreshing its own session of one live account, and ops/s. s must
// implement storage.Refresher.
//
//	func BenchmarkRefresh(b *testing.B) {
//		b.Run("mybackend", func(b *testing.B) { storagetest.BenchRefresh(b, openStore(b)) })
//	}
func BenchRefresh(b *testing.B, s storage.Store) {
	rf, ok := s.(storage.Refresher)
	if !ok {
		b.Fatalf("%T does not implement storage.Refresher", s)
	}
	benchRotations(b, s, func(ctx context.Context, id string, r storage.Rotation) error {
		st, err := rf.Refresh(ctx, id, r)
		if err == nil && st.Held {
			err = fmt.Errorf("stopped")
		}
		return err
	})
}

// benchRotations runs BenchRotate and BenchRefresh with rotate as the call.
func benchRotations(b *testing.B, s storage.Store, rotate func(ctx context.Context, id string, r storage.Rotation) error) {
	ctx := b.Context()
	procs := runtime.GOMAXPROCS(0)
	p := (benchCallers + procs - 1) / procs
	callers := p * procs
	prefix := randomPrefix()
	start := at(0)
	if err := s.CreateAccount(ctx, newAccount(prefix+"-acc", storage.LinkGuest, prefix, "")); err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	for i := range callers {
		sess := newSession(fmt.Sprintf("%s-sess-%d", prefix, i), prefix+"-acc", start)
		sess.ExpiresAt = start.Add(365 * 24 * time.Hour)
		sess.RefreshHash = benchToken(i, 0)
		if _, err := s.CreateSession(ctx, sess, 0); err != nil {
			b.Fatalf("CreateSession: %v", err)
		}
	}

	var next atomic.Int64
	counts := make([]int64, callers)
	b.SetParallelism(p)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) - 1)
		id := fmt.Sprintf("%s-sess-%d", prefix, i)
		var n int64
		for pb.Next() {
			r := storage.Rotation{
				Presented: benchToken(i, n),
				Next:      benchToken(i, n+1),
				Now:       start.Add(time.Duration(n+1) * time.Microsecond),
				Grace:     10 * time.Second,
			}
			if err := rotate(ctx, id, r); err != nil {
				b.Errorf("rotation %s #%d: %v", id, n+1, err)
				return
			}
			n++
		}
		counts[i] = n
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")

	for i := range int(next.Load()) {
		id := fmt.Sprintf("%s-sess-%d", prefix, i)
		sess, err := s.GetSession(ctx, id)
		if err != nil {
			b.Fatalf("GetSession %s: %v", id, err)
		}
		if sess.Generation != counts[i] {
			b.Fatalf("session %s: generation %d after %d rotations", id, sess.Generation, counts[i])
		}
	}
}

// BenchGetAccount measures GetAccount by ID from parallel readers
// (GOMAXPROCS of them) among 256 accounts, and reports ops/s. The benchmark
// adds the accounts to s with fresh random IDs.
func BenchGetAccount(b *testing.B, s storage.Store) {
	ctx := b.Context()
	prefix := randomPrefix()
	ids := make([]string, benchAccounts)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-acc-%d", prefix, i)
		a := newAccount(ids[i], storage.LinkEmail, fmt.Sprintf("%s-%d@example.com", prefix, i), fmt.Sprintf("%s-%d", prefix, i))
		if err := s.CreateAccount(ctx, a); err != nil {
			b.Fatalf("CreateAccount: %v", err)
		}
	}
	var seed atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(7919))
		for pb.Next() {
			id := ids[i%len(ids)]
			a, err := s.GetAccount(ctx, id)
			if err != nil || a.ID != id {
				b.Errorf("GetAccount %s: %v (got %q)", id, err, a.ID)
				return
			}
			i++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// benchToken is the hash of caller i's n-th refresh token.
func benchToken(i int, n int64) []byte {
	h := make([]byte, 32)
	binary.BigEndian.PutUint64(h[0:], uint64(i))
	binary.BigEndian.PutUint64(h[8:], uint64(n))
	h[31] = 0xff
	return h
}

// randomPrefix keeps the benchmark's records apart from whatever s holds,
// including an earlier run of the same benchmark.
func randomPrefix() string {
	return "bench-" + rand.Text()[:10]
}
