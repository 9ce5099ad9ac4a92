package storagetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scribble overwrites b in place, as a careless caller might.
func scribble(b []byte) {
	for i := range b {
		b[i] ^= 0x5a
	}
}

// copies checks that a store keeps its own copies of the slices it is given
// and hands out slices the caller may change: trivially true of SQL backends,
// a classic bug of in-memory ones.
func (s suite) copies(t *testing.T) {
	s.test(t, "Sessions", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		sess := newSession("sess-1", "acc-1", at(0))
		in := sess
		in.RefreshHash = slices.Clone(sess.RefreshHash)
		createSession(t, st, in, 0)
		scribble(in.RefreshHash)

		got := getSession(t, st, sess.ID)
		requireSession(t, sess, got, "changing the input after CreateSession")
		scribble(got.RefreshHash)
		requireSession(t, sess, getSession(t, st, sess.ID), "changing GetSession's result")

		r := storage.Rotation{Presented: slices.Clone(sess.RefreshHash), Next: hash("next"), Now: at(time.Minute), Grace: grace}
		rotated, err := st.RotateRefresh(ctx, sess.ID, r)
		require.NoError(t, err)
		scribble(r.Next)
		scribble(r.Presented)
		scribble(rotated.RefreshHash)
		scribble(rotated.PrevRefreshHash)
		got = getSession(t, st, sess.ID)
		assert.Equal(t, hash("next"), got.RefreshHash, "changing the rotation or its result")
		assert.Equal(t, sess.RefreshHash, got.PrevRefreshHash)

		retry, err := st.RotateRefresh(ctx, sess.ID, storage.Rotation{Presented: sess.RefreshHash, Next: hash("next"), Now: at(time.Minute), Grace: grace})
		require.NoError(t, err)
		scribble(retry.RefreshHash)
		assert.Equal(t, hash("next"), getSession(t, st, sess.ID).RefreshHash, "changing a retry's result")
	})

	s.test(t, "Blocks", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		services := []string{"chat", "trade"}
		b := storage.Block{Key: "blk-1", Kind: storage.BlockPlayer, Subject: "acc-1", Services: slices.Clone(services), CreatedAt: at(0)}
		require.NoError(t, st.CreateBlock(ctx, b))
		b.Services[0] = "changed"

		got := getBlock(t, st, "blk-1")
		assert.Equal(t, services, got.Services, "changing the input after CreateBlock")
		got.Services[0] = "changed"
		active, err := st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", at(time.Minute))
		require.NoError(t, err)
		require.Len(t, active, 1)
		assert.Equal(t, services, active[0].Services, "changing GetBlock's result")
		active[0].Services[1] = "changed"
		listed, err := st.ListActiveBlocks(ctx, at(time.Minute))
		require.NoError(t, err)
		require.Len(t, listed, 1)
		assert.Equal(t, services, listed[0].Services, "changing ActiveBlocks' result")
		listed[0].Services[0] = "changed"
		assert.Equal(t, services, getBlock(t, st, "blk-1").Services, "changing ListActiveBlocks' result")
	})

	s.test(t, "Withdrawals", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		w := newWithdrawal("acc-1", at(0))
		in := w
		in.KeyHash = slices.Clone(w.KeyHash)
		withdraw(t, st, in)
		scribble(in.KeyHash)

		got, err := st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err, "changing the input after Withdraw")
		scribble(got.KeyHash)
		got, err = st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err)
		requireWithdrawal(t, w, got, "changing GetWithdrawal's result")
		scribble(got.KeyHash)
		due, err := st.DueWithdrawals(ctx, w.Deadline, 1)
		require.NoError(t, err)
		require.Len(t, due, 1)
		requireWithdrawal(t, w, due[0], "changing GetAccountWithdrawal's result")
		scribble(due[0].KeyHash)

		key := slices.Clone(w.KeyHash)
		restored, err := st.Restore(ctx, key, at(time.Hour))
		require.NoError(t, err, "changing DueWithdrawals' result")
		requireWithdrawal(t, w, restored)
	})

	s.test(t, "Keys", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		k := newKey("kid-1", at(0))
		in := k
		in.Private, in.Public = slices.Clone(k.Private), slices.Clone(k.Public)
		require.NoError(t, st.AddKey(ctx, in))
		scribble(in.Private)
		scribble(in.Public)

		got := listKeys(t, st)
		require.Len(t, got, 1)
		assert.Equal(t, normKey(k), normKey(got[0]), "changing the input after AddKey")
		scribble(got[0].Private)
		scribble(got[0].Public)
		assert.Equal(t, normKeys([]storage.Key{k}), normKeys(listKeys(t, st)), "changing ListKeys' result")
	})

	s.test(t, "ResetCodes", func(t *testing.T, st storage.Store) {
		c := newCode("a@example.com", "123456", at(0))
		want := bytes.Clone(c.CodeHash)
		createCode(t, st, c, perDay)
		scribble(c.CodeHash)
		require.NoError(t, st.ConsumeResetCode(t.Context(), "a@example.com", want, at(time.Minute), attempts),
			"changing the input after CreateResetCode")
	})
}
