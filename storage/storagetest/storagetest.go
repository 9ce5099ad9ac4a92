// Package storagetest is the conformance suite every storage backend runs,
// the shipped ones and a host's own alike:
//
//	func TestStore(t *testing.T) {
//		t.Run("mybackend", func(t *testing.T) {
//			storagetest.Run(t, func(t *testing.T) storage.Store {
//				s := openFreshStore(t) // empty and isolated from every other call
//				t.Cleanup(func() { s.Close() })
//				return s
//			})
//		})
//	}
//
// A host that keeps players in its own users table and the rest on a shipped
// backend (storage.Combine) runs RunAccounts against its Accounts alone.
//
// What the suite asks of a backend beyond storage's doc comments:
//
//   - newStore returns an empty store that shares nothing with the stores of
//     other calls. It is called once per subtest, always from the subtest's
//     own goroutine; the suite runs its subtests one after another, so a
//     helper that truncates one shared database between calls works. To run
//     several backends at once, call Run from parallel subtests.
//   - Times round-trip to the microsecond. The suite only builds UTC times
//     with whole microseconds and compares them with time.Time.Equal, so a
//     backend may return them in another location; the zero time must come
//     back as the zero time (IsZero), e.g. stored as NULL.
//   - Byte slices round-trip exactly (any byte values, including 0x00). A nil
//     and an empty slice count as equal, as do nil and empty Services.
//   - IDs, keys and names are opaque strings; the suite uses short ASCII ones,
//     and Unicode nicknames.
//   - Sessions, blocks and withdrawals name accounts by ID only. The suite
//     does not create the accounts they name (with storage.Combine those live
//     in another store), so a backend must not require them, and deleting an
//     account must leave its withdrawal in place for MarkPurged.
//   - A call whose context is already cancelled returns an error and writes
//     nothing.
//   - A store that implements storage.Refresher is checked for it too (the
//     Refresher part); for one that does not, that part only logs so. The
//     same goes for storage.Identities (the Identities part, which
//     RunIdentities runs alone) and storage.Registrar (the Registrar part).
//
// The suite is hermetic: it needs nothing but the store, never sleeps, and
// passes every time as "now" explicitly. Concurrent subtests race real
// goroutines on one store; run them with -race.
package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run runs the whole conformance suite, one subtest per concern, each leaf
// subtest against a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: newStore is nil")
	}
	s := suite{newStore: newStore}
	t.Run("Accounts", func(t *testing.T) {
		runAccounts(t, func(t *testing.T) storage.Accounts { return newStore(t) })
	})
	t.Run("Sessions", s.sessions)
	t.Run("Rotation", s.rotation)
	t.Run("Refresher", s.refresher)
	t.Run("Identities", s.identities)
	t.Run("Registrar", s.registrar)
	t.Run("Revocation", s.revocation)
	t.Run("ChangeFeed", s.changeFeed)
	t.Run("DeleteSessionsBefore", s.deleteSessionsBefore)
	t.Run("Blocks", s.blocks)
	t.Run("Withdrawals", s.withdrawals)
	t.Run("ResetCodes", s.resetCodes)
	t.Run("Keys", s.keys)
	t.Run("Copies", s.copies)
	t.Run("Cancelled", s.cancelled)
}

// RunAccounts runs the accounts part of the suite alone, each leaf subtest
// against a fresh Accounts from newAccounts: what a host adapting its own
// users table runs. Run includes it.
func RunAccounts(t *testing.T, newAccounts func(t *testing.T) storage.Accounts) {
	t.Helper()
	if newAccounts == nil {
		t.Fatal("storagetest: newAccounts is nil")
	}
	t.Run("Accounts", func(t *testing.T) { runAccounts(t, newAccounts) })
}

// suite carries the store factory to the tests of Run.
type suite struct {
	newStore func(t *testing.T) storage.Store
}

// test runs f as a subtest named name against a fresh store.
func (s suite) test(t *testing.T, name string, f func(t *testing.T, st storage.Store)) {
	t.Helper()
	subtest(t, name, s.newStore, f)
}

// subtest runs f as a subtest named name against a fresh store from
// newStore.
func subtest[S any](t *testing.T, name string, newStore func(t *testing.T) S, f func(t *testing.T, st S)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		st := newStore(t)
		require.NotNil(t, st, "the store factory returned nil")
		f(t, st)
	})
}

// at is the suite's clock: a fixed UTC instant with whole microseconds, plus d.
func at(d time.Duration) time.Time {
	return time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC).Add(d)
}

// hash returns a deterministic 32-byte value standing in for a SHA-256 hash;
// it deliberately contains 0x00 and high bytes.
func hash(label string) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = byte(i * 37)
	}
	for i, c := range []byte(label) {
		h[(i+1)%32] ^= c
		h[(i*7+3)%32] += c * byte(i+1)
	}
	h[0] = 0x00
	h[31] = 0xff
	return h
}

// normTime makes times comparable with ==: UTC, no monotonic reading.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// normBytes makes nil and empty slices the same.
func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// normStrings makes nil and empty slices the same.
func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normAccount(a storage.Account) storage.Account {
	a.CreatedAt = normTime(a.CreatedAt)
	a.UpdatedAt = normTime(a.UpdatedAt)
	return a
}

func normSession(s storage.Session) storage.Session {
	s.CreatedAt = normTime(s.CreatedAt)
	s.ExpiresAt = normTime(s.ExpiresAt)
	s.RotatedAt = normTime(s.RotatedAt)
	s.RevokedAt = normTime(s.RevokedAt)
	s.RefreshHash = normBytes(s.RefreshHash)
	s.PrevRefreshHash = normBytes(s.PrevRefreshHash)
	return s
}

func normBlock(b storage.Block) storage.Block {
	b.CreatedAt = normTime(b.CreatedAt)
	b.Until = normTime(b.Until)
	b.LiftedAt = normTime(b.LiftedAt)
	b.Services = normStrings(b.Services)
	return b
}

func normBlocks(bs []storage.Block) []storage.Block { return normAll(bs, normBlock) }

func normWithdrawal(w storage.Withdrawal) storage.Withdrawal {
	w.KeyHash = normBytes(w.KeyHash)
	w.RequestedAt = normTime(w.RequestedAt)
	w.Deadline = normTime(w.Deadline)
	w.PurgedAt = normTime(w.PurgedAt)
	return w
}

func normKey(k storage.Key) storage.Key {
	k.Private = normBytes(k.Private)
	k.Public = normBytes(k.Public)
	k.CreatedAt = normTime(k.CreatedAt)
	k.ActiveAt = normTime(k.ActiveAt)
	return k
}

func normKeys(ks []storage.Key) []storage.Key { return normAll(ks, normKey) }

func normRevocation(r storage.Revocation) storage.Revocation {
	r.At = normTime(r.At)
	return r
}

func normRevocations(rs []storage.Revocation) []storage.Revocation {
	return normAll(rs, normRevocation)
}

// normAll returns xs with norm applied to each; nil when empty, so nil and
// empty results compare equal.
func normAll[T any](xs []T, norm func(T) T) []T {
	if len(xs) == 0 {
		return nil
	}
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = norm(x)
	}
	return out
}

// sorted returns a sorted copy of ids, nil when empty, for comparing sets.
func sorted(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// requireConflict asserts err is an ErrConflict naming field.
func requireConflict(t *testing.T, err error, field string, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, storage.ErrConflict, msgAndArgs...)
	require.Equal(t, field, storage.ConflictField(err), msgAndArgs...)
}

// requireConflictMaybeField asserts err is an ErrConflict that, if it names a
// field, names field: for conflicts storage.go does not promise a field for.
func requireConflictMaybeField(t *testing.T, err error, field string, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, storage.ErrConflict, msgAndArgs...)
	if f := storage.ConflictField(err); f != "" {
		require.Equal(t, field, f, msgAndArgs...)
	}
}

// sentinels are the errors a backend reports; distinct outcomes must match
// exactly one of them.
func sentinels() []error {
	return []error{
		storage.ErrNotFound, storage.ErrConflict, storage.ErrSessionRevoked,
		storage.ErrRefreshExpired, storage.ErrRefreshReused, storage.ErrLimited,
		storage.ErrWithdrawalExpired,
	}
}

// requireOnly asserts err matches want and no other sentinel.
func requireOnly(t *testing.T, err, want error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, want, msgAndArgs...)
	for _, other := range sentinels() {
		if other != want {
			assert.NotErrorIs(t, err, other, msgAndArgs...)
		}
	}
}

// wins counts the callers of a race that succeeded, and requires every
// other caller's error to be want and no other sentinel; who names a caller
// in failure messages.
func wins(t *testing.T, errs []error, want error, who string) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		if err == nil {
			n++
			continue
		}
		requireOnly(t, err, want, "%s %d", who, i)
	}
	return n
}
