package memory_test

import (
	"testing"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/storage/storagetest"
)

func TestStore(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		storagetest.Run(t, func(t *testing.T) storage.Store {
			s := memory.New()
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	// Accounts in one store, the rest in another: what a host with its own
	// users table does.
	t.Run("combined", func(t *testing.T) {
		t.Parallel()
		storagetest.Run(t, func(t *testing.T) storage.Store {
			return storage.Combine(memory.New(), memory.New())
		})
	})
	t.Run("accounts-only", func(t *testing.T) {
		t.Parallel()
		storagetest.RunAccounts(t, func(t *testing.T) storage.Accounts { return memory.New() })
	})
}
