package storagetest_test

import (
	"testing"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// A backend's test file runs the whole suite in a subtest named after it;
// newStore hands each leaf subtest an empty store of its own.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestStore(t *testing.T)
		t.Run("memory", func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Store {
				s := memory.New()
				t.Cleanup(func() { _ = s.Close() })
				return s
			})
		})
	}
}

// A host that keeps players in its own users table checks its adapter with
// the accounts part of the suite alone.
func ExampleRunAccounts() {
	_ = func(t *testing.T) { // func TestUsersTable(t *testing.T)
		storagetest.RunAccounts(t, func(t *testing.T) storage.Accounts {
			return memory.New() // your adapter over a freshly emptied users table
		})
	}
}

// A host that keeps accounts and every identity they sign in with in its own
// tables checks them with the identities part of the suite alone.
func ExampleRunIdentities() {
	_ = func(t *testing.T) { // func TestIdentitiesTables(t *testing.T)
		storagetest.RunIdentities(t, func(t *testing.T) storagetest.IdentityStore {
			return memory.New() // your adapter over freshly emptied tables
		})
	}
}
