package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/postgres"
)

// Several server processes share one database; each opens it the same way,
// and the first to start creates the tables.
func Example() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Schema("gameauth"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	now := time.Now()
	_, err = store.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "a1", CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
		RefreshHash: []byte("hash of token 0"), RotatedAt: now,
	}, 5) // keep at most 5 live sessions per player
	if err != nil {
		log.Fatal(err)
	}

	// Two nodes refreshing with the same token: exactly one rotates; a
	// later replay of the old token revokes the session.
	_, err = store.RotateRefresh(ctx, "s1", storage.Rotation{
		Presented: []byte("hash of token 0"), Next: []byte("hash of token 1"),
		Now: time.Now(), Grace: 10 * time.Second,
	})
	switch {
	case errors.Is(err, storage.ErrRefreshReused):
		fmt.Println("token reuse: session revoked")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("rotated")
	}
}
