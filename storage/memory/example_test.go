package memory_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
)

// A store keeps nicknames unique case-insensitively and rotates refresh
// tokens as a compare-and-swap: presenting a token that was already rotated
// away revokes the session.
func Example() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	err := s.CreateAccount(ctx, storage.Account{
		ID: "u1", OpenID: "p1", LinkedType: storage.LinkEmail, LinkedID: "hero@example.com",
		Nickname: "Hero", CreatedAt: now, UpdatedAt: now,
	})
	fmt.Println("create:", err)
	err = s.CreateAccount(ctx, storage.Account{
		ID: "u2", OpenID: "p2", LinkedType: storage.LinkEmail, LinkedID: "other@example.com",
		Nickname: "HERO", CreatedAt: now, UpdatedAt: now,
	})
	fmt.Println("same nickname:", err, storage.ConflictField(err) == storage.FieldNickname)

	h := func(token string) []byte { sum := sha256.Sum256([]byte(token)); return sum[:] }
	_, err = s.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "u1", DeviceID: "d1", Platform: "pc",
		CreatedAt: now, ExpiresAt: now.Add(365 * 24 * time.Hour), RefreshHash: h("r0"), RotatedAt: now,
	}, 1)
	fmt.Println("sign in:", err)

	rotate := func(presented, next string, at time.Time) error {
		_, err := s.RotateRefresh(ctx, "s1", storage.Rotation{Presented: h(presented), Next: h(next), Now: at, Grace: 10 * time.Second})
		return err
	}
	fmt.Println("refresh:", rotate("r0", "r1", now.Add(time.Hour)))
	fmt.Println("retry inside grace:", rotate("r0", "r1", now.Add(time.Hour+time.Second)))
	fmt.Println("refresh:", rotate("r1", "r2", now.Add(2*time.Hour)))
	err = rotate("r0", "r1", now.Add(3*time.Hour))
	fmt.Println("old token again:", errors.Is(err, storage.ErrRefreshReused))

	sess, _ := s.GetSession(ctx, "s1")
	fmt.Println("session:", sess.RevokeReason, sess.Generation)
	// Output:
	// create: <nil>
	// same nickname: storage: conflict on nickname true
	// sign in: <nil>
	// refresh: <nil>
	// retry inside grace: <nil>
	// refresh: <nil>
	// old token again: true
	// session: reused 2
}
