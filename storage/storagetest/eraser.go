package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// eraserStore is what the Eraser part checks.
type eraserStore interface {
	storage.Store
	storage.Eraser
}

// eraser runs the Eraser part of Run, when the store implements
// storage.Eraser; for one that does not, it only logs so.
func (s suite) eraser(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Eraser); !ok {
		t.Log("the store does not implement storage.Eraser: nothing to check")
		return
	}
	newStore := func(t *testing.T) eraserStore { return s.newStore(t).(eraserStore) }
	test := func(name string, f func(t *testing.T, st eraserStore)) {
		t.Helper()
		subtest(t, name, newStore, f)
	}
	const email, otherEmail = "a@example.com", "b@example.com"

	// players writes two players and everything the store keeps about
	// them: acc-1 (email, withdrawing) and acc-2 (guest), sharing device
	// dev-shared.
	players := func(t *testing.T, st eraserStore) {
		t.Helper()
		ctx := t.Context()
		require.NoError(t, st.CreateAccount(ctx, newAccount("acc-1", storage.LinkEmail, email, "Alpha")))
		require.NoError(t, st.CreateAccount(ctx, newAccount("acc-2", storage.LinkGuest, "guest-2", "Bravo")))
		if ids, ok := st.(storage.Identities); ok {
			require.NoError(t, ids.LinkIdentity(ctx, "acc-1", ident(linkApple, "apple-1", time.Minute)))
			require.NoError(t, ids.LinkIdentity(ctx, "acc-2", ident(linkApple, "apple-2", time.Minute)))
		}
		shared := newSession("sess-1b", "acc-1", at(time.Minute))
		shared.DeviceID = "dev-shared"
		other := newSession("sess-2", "acc-2", at(time.Minute))
		other.DeviceID = "dev-shared"
		for _, ss := range []storage.Session{newSession("sess-1a", "acc-1", at(0)), shared, other} {
			createSession(t, st, ss, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, "sess-1a", storage.ReasonSignedOut, at(2*time.Minute)))
		for _, b := range []storage.Block{
			newBlock("blk-p1", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			newBlock("blk-p1-over", storage.BlockPlayer, "acc-1", at(0), at(time.Minute)),
			newBlock("blk-d1", storage.BlockDevice, "device-sess-1a", at(0), time.Time{}),
			newBlock("blk-d-acc", storage.BlockDevice, "acc-1", at(0), time.Time{}), // a device named like the player
			newBlock("blk-p2", storage.BlockPlayer, "acc-2", at(0), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		createCode(t, st, newCode(email, "111111", at(0)), perDay)
		createCode(t, st, newCode(email, "222222", at(time.Minute)), perDay)
		createCode(t, st, newCode(otherEmail, "333333", at(time.Minute)), perDay)
		withdraw(t, st, newWithdrawal("acc-1", at(3*time.Minute)))
		if au, ok := st.(storage.Audit); ok {
			require.NoError(t, au.AppendAudit(ctx, []storage.AuditEvent{
				{Kind: "signin", Time: at(0), PlayerID: "acc-1", SessionID: "sess-1a", DeviceID: "device-sess-1a"},
				{Kind: "signin", Time: at(time.Minute), PlayerID: "acc-2", SessionID: "sess-2", DeviceID: "dev-shared"},
			}))
		}
	}

	// requireErased asserts acc-1's sessions, player blocks, identities and
	// its email's reset codes are gone, and the rest is where it was.
	requireErased := func(t *testing.T, st eraserStore, codes bool) {
		t.Helper()
		ctx := t.Context()
		for _, id := range []string{"sess-1a", "sess-1b"} {
			_, err := st.GetSession(ctx, id)
			requireOnly(t, err, storage.ErrNotFound, "session %s is erased", id)
		}
		requireLive(t, st, "sess-2")
		for _, key := range []string{"blk-p1", "blk-p1-over"} {
			_, err := st.GetBlock(ctx, key)
			requireOnly(t, err, storage.ErrNotFound, "block %s is erased", key)
		}
		for _, key := range []string{"blk-d1", "blk-d-acc", "blk-p2"} {
			getBlock(t, st, key)
		}
		// Both of the email's codes are gone (the older was superseded,
		// but a store may keep it for its daily count): a new one may be
		// sent at once, and the current one is not accepted.
		if codes {
			requireOnly(t, consume(st, t, email, "222222", at(2*time.Minute), attempts), storage.ErrNotFound, "the email's code is erased")
			require.NoError(t, consume(st, t, otherEmail, "333333", at(2*time.Minute), attempts), "another email's code stays")
		}

		_, err := st.GetAccount(ctx, "acc-1")
		require.NoError(t, err, "the account itself stays (DeleteAccount removes it)")
		_, err = st.GetAccount(ctx, "acc-2")
		require.NoError(t, err)
		w, err := st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err, "the withdrawal stays")
		requireWithdrawal(t, newWithdrawal("acc-1", at(3*time.Minute)), w)

		if ids, ok := st.(storage.Identities); ok {
			requireIdentities(t, ids, "acc-1")
			requireLinkFree(t, st, linkApple, "apple-1")
			requireLinkedTo(t, st, storage.Link{Type: linkApple, ID: "apple-2"}, "acc-2")
		}
		if d, ok := st.(storage.Directory); ok {
			got, err := d.ListSessions(ctx, "acc-1")
			require.NoError(t, err)
			require.Empty(t, got)
			bs, err := d.ListBlocks(ctx, storage.BlockPlayer, "acc-1")
			require.NoError(t, err)
			require.Empty(t, bs)
			devs, err := d.AccountsOnDevice(ctx, "dev-shared", 10)
			require.NoError(t, err)
			require.Equal(t, []string{"acc-2"}, devs)
		}
		if au, ok := st.(storage.Audit); ok {
			evs, err := au.ListAudit(ctx, storage.AuditFilter{}, 10)
			require.NoError(t, err)
			require.Len(t, evs, 2, "audit events stay")
		}
	}

	test("ErasePlayer", func(t *testing.T, st eraserStore) {
		players(t, st)
		require.NoError(t, st.ErasePlayer(t.Context(), "acc-1", email))
		requireErased(t, st, true)

		// Erasing again, or a player the store never heard of, is fine.
		require.NoError(t, st.ErasePlayer(t.Context(), "acc-1", email))
		require.NoError(t, st.ErasePlayer(t.Context(), "acc-9", "nobody@example.com"))
		requireErased(t, st, false)
	})

	test("AfterDeleteAccount", func(t *testing.T, st eraserStore) {
		players(t, st)
		require.NoError(t, st.DeleteAccount(t.Context(), "acc-1"))
		require.NoError(t, st.ErasePlayer(t.Context(), "acc-1", email), "the account may already be gone")
		_, err := st.GetSession(t.Context(), "sess-1b")
		requireOnly(t, err, storage.ErrNotFound)
		require.NoError(t, consume(st, t, otherEmail, "333333", at(2*time.Minute), attempts))
	})

	test("NoEmail", func(t *testing.T, st eraserStore) {
		players(t, st)
		require.NoError(t, st.ErasePlayer(t.Context(), "acc-2", ""))
		_, err := st.GetSession(t.Context(), "sess-2")
		requireOnly(t, err, storage.ErrNotFound, "the guest's session is erased")
		_, err = st.GetBlock(t.Context(), "blk-p2")
		requireOnly(t, err, storage.ErrNotFound, "the guest's block is erased")
		getSession(t, st, "sess-1b")
		getBlock(t, st, "blk-p1")
		require.NoError(t, consume(st, t, email, "222222", at(2*time.Minute), attempts), "no email: no code erased")
		require.NoError(t, consume(st, t, otherEmail, "333333", at(2*time.Minute), attempts))
	})

	test("Cancelled", func(t *testing.T, st eraserStore) {
		players(t, st)
		requireCancelledFails(t, func(ctx context.Context) error { return st.ErasePlayer(ctx, "acc-1", email) })
		getSession(t, st, "sess-1b")
		getBlock(t, st, "blk-p1")
		if _, ok := st.(storage.Identities); ok {
			requireLinkedTo(t, st, storage.Link{Type: linkApple, ID: "apple-1"}, "acc-1")
		}
		require.NoError(t, consume(st, t, email, "222222", at(2*time.Minute), attempts), "and writes nothing")
	})
}
