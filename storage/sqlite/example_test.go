package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "gameauth")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	// The file is created and its schema migrated on first open.
	store, err := sqlite.Open(ctx, filepath.Join(dir, "auth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err = store.CreateAccount(ctx, storage.Account{
		ID: "a1", OpenID: "p1", LinkedType: storage.LinkEmail, LinkedID: "hero@example.com",
		Nickname: "Hero", CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		log.Fatal(err)
	}

	// Nicknames are unique by their case-folded form.
	err = store.CreateAccount(ctx, storage.Account{
		ID: "a2", OpenID: "p2", LinkedType: storage.LinkEmail, LinkedID: "other@example.com",
		Nickname: "HERO", CreatedAt: now, UpdatedAt: now,
	})
	fmt.Println(storage.ConflictField(err))

	a, err := store.GetAccountByNickname(ctx, "hero")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.ID, a.LinkedID)
	// Output:
	// nickname
	// a1 hero@example.com
}
