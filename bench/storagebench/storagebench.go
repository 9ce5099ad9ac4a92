// Package storagebench measures a gameauth storage backend under the load
// account.Service puts on it: refresh rotations from many callers at once,
// and account reads. Each helper takes an open store, adds its own records
// with fresh random IDs, and reports operations per second beside ns/op.
// It runs any storage.Store, a host's own included, from a benchmark in the
// bench module (this repository's benchmark harness, kept out of the
// library's module).
package storagebench

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

// callers is how many goroutines Rotate and Refresh run at once.
const callers = 16

// accounts is how many accounts GetAccount reads among.
const accounts = 256

// epoch is the creation time of the benchmarks' records; rotations run on
// a clock of their own from there, so expiry never ends a run.
func epoch() time.Time { return time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC) }

// Rotate measures RotateRefresh with 16 concurrent callers, each rotating
// its own session, and reports ops/s. s may hold data already. It fails the
// benchmark if a rotation errs or a session's generation does not match its
// rotations.
//
//	func BenchmarkRotate(b *testing.B) {
//		b.Run("mybackend", func(b *testing.B) { storagebench.Rotate(b, openStore(b)) })
//	}
func Rotate(b *testing.B, s storage.Store) {
	rotations(b, s, func(ctx context.Context, id string, r storage.Rotation) error {
		_, err := s.RotateRefresh(ctx, id, r)
		return err
	})
}

// Refresh is Rotate for storage.Refresher: 16 concurrent callers, each
// refreshing its own session of one live account, and ops/s. s must
// implement storage.Refresher.
//
//	func BenchmarkRefresh(b *testing.B) {
//		b.Run("mybackend", func(b *testing.B) { storagebench.Refresh(b, openStore(b)) })
//	}
func Refresh(b *testing.B, s storage.Store) {
	rf, ok := s.(storage.Refresher)
	if !ok {
		b.Fatalf("%T does not implement storage.Refresher", s)
	}
	rotations(b, s, func(ctx context.Context, id string, r storage.Rotation) error {
		st, err := rf.Refresh(ctx, id, r)
		if err == nil && st.Held {
			err = fmt.Errorf("stopped")
		}
		return err
	})
}

// rotations runs Rotate and Refresh with rotate as the call.
func rotations(b *testing.B, s storage.Store, rotate func(ctx context.Context, id string, r storage.Rotation) error) {
	ctx := b.Context()
	procs := runtime.GOMAXPROCS(0)
	p := (callers + procs - 1) / procs
	n := p * procs
	prefix := randomPrefix()
	start := epoch()
	if err := s.CreateAccount(ctx, account(prefix+"-acc", storage.LinkGuest, prefix)); err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	for i := range n {
		id := fmt.Sprintf("%s-sess-%d", prefix, i)
		sess := storage.Session{
			ID: id, AccountID: prefix + "-acc", DeviceID: "device-" + id, Platform: "aos",
			CreatedAt: start, RotatedAt: start, ExpiresAt: start.Add(365 * 24 * time.Hour),
			RefreshHash: token(i, 0),
		}
		if _, err := s.CreateSession(ctx, sess, 0); err != nil {
			b.Fatalf("CreateSession: %v", err)
		}
	}

	var next atomic.Int64
	counts := make([]int64, n)
	b.SetParallelism(p)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) - 1)
		id := fmt.Sprintf("%s-sess-%d", prefix, i)
		var done int64
		for pb.Next() {
			r := storage.Rotation{
				Presented: token(i, done),
				Next:      token(i, done+1),
				Now:       start.Add(time.Duration(done+1) * time.Microsecond),
				Grace:     10 * time.Second,
			}
			if err := rotate(ctx, id, r); err != nil {
				b.Errorf("rotation %s #%d: %v", id, done+1, err)
				return
			}
			done++
		}
		counts[i] = done
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

// GetAccount measures GetAccount by ID from parallel readers (GOMAXPROCS
// of them) among 256 accounts, and reports ops/s. The benchmark adds the
// accounts to s with fresh random IDs.
//
//	func BenchmarkGetAccount(b *testing.B) {
//		b.Run("mybackend", func(b *testing.B) { storagebench.GetAccount(b, openStore(b)) })
//	}
func GetAccount(b *testing.B, s storage.Store) {
	ctx := b.Context()
	prefix := randomPrefix()
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-acc-%d", prefix, i)
		a := account(ids[i], storage.LinkEmail, fmt.Sprintf("%s-%d@example.com", prefix, i))
		a.Nickname = fmt.Sprintf("%s-%d", prefix, i)
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

// account is a player's account as the service stores one, every column
// filled, so that a read costs what a real one does.
func account(id, linkType, linkID string) storage.Account {
	return storage.Account{
		ID:           id,
		OpenID:       "open-" + id,
		LinkedType:   linkType,
		LinkedID:     linkID,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHQ$" + id,
		Country:      "KR",
		Timezone:     "Asia/Seoul",
		Purchases:    storage.Purchases{Count: 3, CurrencyCode: "KRW", TotalPrice: 12500.5},
		CreatedAt:    epoch(),
		UpdatedAt:    epoch(),
	}
}

// token is the hash of caller i's n-th refresh token.
func token(i int, n int64) []byte {
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
