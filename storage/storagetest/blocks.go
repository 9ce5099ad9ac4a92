package storagetest

import (
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newBlock returns an account-wide block created at created, ending at until
// (zero: permanent).
func newBlock(key string, kind storage.BlockKind, subject string, created, until time.Time) storage.Block {
	return storage.Block{
		Key: key, Kind: kind, Subject: subject, Reason: "reason of " + key,
		CreatedAt: created, Until: until,
	}
}

func getBlock(t *testing.T, st storage.Blocks, key string) storage.Block {
	t.Helper()
	b, err := st.GetBlock(t.Context(), key)
	require.NoError(t, err, "GetBlock(%q)", key)
	return b
}

func (s suite) blocks(t *testing.T) {
	s.test(t, "CreateAndGet", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		bs := []storage.Block{
			newBlock("blk-perm", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			{Key: "blk-svc", Kind: storage.BlockPlayer, Subject: "acc-1", Reason: "spam in chat, 3rd time",
				Services: []string{"trade", "chat"}, CreatedAt: at(time.Second), Until: at(7 * 24 * time.Hour)},
			newBlock("blk-dev", storage.BlockDevice, "device-1", at(2*time.Second), at(time.Hour)),
			{Key: "blk-empty-svc", Kind: storage.BlockPlayer, Subject: "acc-2", Services: []string{}, CreatedAt: at(0)},
		}
		for _, b := range bs {
			require.NoError(t, st.CreateBlock(ctx, b), b.Key)
		}
		for _, b := range bs {
			assert.Equal(t, normBlock(b), normBlock(getBlock(t, st, b.Key)), b.Key)
		}
		_, err := st.GetBlock(ctx, "blk-unknown")
		requireOnly(t, err, storage.ErrNotFound)
	})

	s.test(t, "DuplicateKey", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		b := newBlock("blk-1", storage.BlockPlayer, "acc-1", at(0), at(time.Hour))
		require.NoError(t, st.CreateBlock(ctx, b))
		dup := newBlock("blk-1", storage.BlockDevice, "device-9", at(time.Minute), time.Time{})
		requireConflict(t, st.CreateBlock(ctx, dup), storage.FieldID)
		assert.Equal(t, normBlock(b), normBlock(getBlock(t, st, "blk-1")), "the first block is untouched")
		active, err := st.ActiveBlocks(ctx, storage.BlockDevice, "device-9", at(time.Minute))
		require.NoError(t, err)
		assert.Empty(t, active, "the duplicate wrote nothing")
	})

	s.test(t, "ActiveAtBoundaries", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		until := at(time.Hour)
		for _, b := range []storage.Block{
			newBlock("blk-until", storage.BlockPlayer, "acc-1", at(0), until),
			newBlock("blk-perm", storage.BlockPlayer, "acc-1", at(time.Second), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		for _, c := range []struct {
			name string
			now  time.Time
			want []string
		}{
			{"Start", at(0), []string{"blk-until", "blk-perm"}},
			{"JustBeforeEnd", until.Add(-time.Microsecond), []string{"blk-until", "blk-perm"}},
			{"AtEnd", until, []string{"blk-perm"}},
			{"AfterEnd", until.Add(time.Hour), []string{"blk-perm"}},
			{"FarFuture", at(100 * 365 * 24 * time.Hour), []string{"blk-perm"}},
		} {
			active, err := st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", c.now)
			require.NoError(t, err, c.name)
			assert.Equal(t, c.want, blockKeys(active), c.name)
			for _, b := range active {
				assert.True(t, b.ActiveAt(c.now), "%s: %s agrees with Block.ActiveAt", c.name, b.Key)
			}
		}
		// The blocks themselves are unchanged by expiry.
		assert.True(t, until.Equal(getBlock(t, st, "blk-until").Until))
		assert.True(t, getBlock(t, st, "blk-until").LiftedAt.IsZero(), "expiry is not a lift")
	})

	s.test(t, "ActiveBlocksOldestFirst", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, b := range []storage.Block{
			newBlock("blk-b", storage.BlockPlayer, "acc-1", at(2*time.Minute), time.Time{}),
			newBlock("blk-c", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			newBlock("blk-a", storage.BlockPlayer, "acc-1", at(time.Minute), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		active, err := st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", at(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, []string{"blk-c", "blk-a", "blk-b"}, blockKeys(active))
		full := newBlock("blk-c", storage.BlockPlayer, "acc-1", at(0), time.Time{})
		assert.Equal(t, normBlock(full), normBlock(active[0]), "whole records are returned")
	})

	s.test(t, "KindsAndSubjects", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, b := range []storage.Block{
			newBlock("blk-player", storage.BlockPlayer, "x-1", at(0), time.Time{}),
			newBlock("blk-device", storage.BlockDevice, "x-1", at(0), time.Time{}),
			newBlock("blk-other", storage.BlockPlayer, "x-2", at(0), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		for _, c := range []struct {
			kind    storage.BlockKind
			subject string
			want    []string
		}{
			{storage.BlockPlayer, "x-1", []string{"blk-player"}},
			{storage.BlockDevice, "x-1", []string{"blk-device"}},
			{storage.BlockPlayer, "x-2", []string{"blk-other"}},
			{storage.BlockDevice, "x-2", nil},
			{storage.BlockPlayer, "x-3", nil},
		} {
			active, err := st.ActiveBlocks(ctx, c.kind, c.subject, at(time.Minute))
			require.NoError(t, err)
			assert.Equal(t, c.want, blockKeys(active), "%s %s", c.kind, c.subject)
		}

		n, err := st.LiftBlocks(ctx, storage.BlockDevice, "x-1", at(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only the device block is lifted")
		assert.True(t, getBlock(t, st, "blk-player").LiftedAt.IsZero())
		assert.True(t, at(time.Hour).Equal(getBlock(t, st, "blk-device").LiftedAt))
	})

	s.test(t, "Lift", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, b := range []storage.Block{
			newBlock("blk-perm", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			{Key: "blk-svc", Kind: storage.BlockPlayer, Subject: "acc-1", Services: []string{"chat"}, CreatedAt: at(0), Until: at(48 * time.Hour)},
			newBlock("blk-expired", storage.BlockPlayer, "acc-1", at(0), at(time.Hour)),
			newBlock("blk-lifted", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			newBlock("blk-other", storage.BlockPlayer, "acc-2", at(0), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		n, err := st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", at(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 4, n, "every block of the subject in force is lifted, services or not")
		// A later block is not affected by the earlier lift; lifting again
		// lifts only it and keeps the first lift's time on the others.
		require.NoError(t, st.CreateBlock(ctx, newBlock("blk-new", storage.BlockPlayer, "acc-1", at(2*time.Minute), time.Time{})))
		active, err := st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", at(3*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, []string{"blk-new"}, blockKeys(active))
		now := at(2 * time.Hour)
		n, err = st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", now)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only blocks still in force are lifted")
		assert.True(t, now.Equal(getBlock(t, st, "blk-new").LiftedAt))
		for _, key := range []string{"blk-perm", "blk-svc", "blk-expired", "blk-lifted"} {
			assert.True(t, at(time.Minute).Equal(getBlock(t, st, key).LiftedAt), "%s keeps its first lift", key)
		}
		assert.True(t, getBlock(t, st, "blk-other").LiftedAt.IsZero(), "other subjects are untouched")

		active, err = st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", now)
		require.NoError(t, err)
		assert.Empty(t, active)

		n, err = st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", now.Add(time.Hour))
		require.NoError(t, err)
		assert.Zero(t, n, "nothing left to lift")
		n, err = st.LiftBlocks(ctx, storage.BlockPlayer, "acc-unknown", now)
		require.NoError(t, err)
		assert.Zero(t, n)
	})

	s.test(t, "LiftSkipsExpired", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, b := range []storage.Block{
			newBlock("blk-active", storage.BlockPlayer, "acc-1", at(0), at(48*time.Hour)),
			newBlock("blk-expired", storage.BlockPlayer, "acc-1", at(0), at(time.Hour)),
			newBlock("blk-ends-now", storage.BlockPlayer, "acc-1", at(0), at(2*time.Hour)),
		} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		now := at(2 * time.Hour)
		n, err := st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", now)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.True(t, now.Equal(getBlock(t, st, "blk-active").LiftedAt))
		assert.True(t, getBlock(t, st, "blk-expired").LiftedAt.IsZero(), "an expired block is not lifted")
		assert.True(t, getBlock(t, st, "blk-ends-now").LiftedAt.IsZero(), "a block ending at now is not in force")
	})

	s.test(t, "LiftedBoundary", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		require.NoError(t, st.CreateBlock(ctx, newBlock("blk-1", storage.BlockDevice, "device-1", at(0), time.Time{})))
		lift := at(time.Hour)
		_, err := st.LiftBlocks(ctx, storage.BlockDevice, "device-1", lift)
		require.NoError(t, err)
		for _, c := range []struct {
			now  time.Time
			want []string
		}{
			{lift.Add(-time.Microsecond), []string{"blk-1"}},
			{lift, nil},
			{lift.Add(time.Hour), nil},
		} {
			active, err := st.ActiveBlocks(ctx, storage.BlockDevice, "device-1", c.now)
			require.NoError(t, err)
			assert.Equal(t, c.want, blockKeys(active), "ActiveBlocks at %v", c.now)
			listed, err := st.ListActiveBlocks(ctx, c.now)
			require.NoError(t, err)
			assert.Equal(t, c.want, blockKeys(listed), "ListActiveBlocks at %v", c.now)
		}
	})

	s.test(t, "ListActiveBlocks", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		bs := []storage.Block{
			newBlock("blk-p1", storage.BlockPlayer, "acc-1", at(0), time.Time{}),
			{Key: "blk-p2", Kind: storage.BlockPlayer, Subject: "acc-2", Services: []string{"chat"}, CreatedAt: at(time.Second), Until: at(2 * time.Hour)},
			newBlock("blk-d1", storage.BlockDevice, "device-1", at(2*time.Second), at(3*time.Hour)),
			newBlock("blk-expired", storage.BlockPlayer, "acc-3", at(0), at(time.Minute)),
			newBlock("blk-lifted", storage.BlockDevice, "device-2", at(0), time.Time{}),
		}
		for _, b := range bs {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		_, err := st.LiftBlocks(ctx, storage.BlockDevice, "device-2", at(2*time.Minute))
		require.NoError(t, err)

		listed, err := st.ListActiveBlocks(ctx, at(time.Hour))
		require.NoError(t, err)
		byKey := map[string]storage.Block{}
		for _, b := range listed {
			byKey[b.Key] = normBlock(b)
		}
		assert.Len(t, listed, 3)
		assert.Equal(t, map[string]storage.Block{
			"blk-p1": normBlock(bs[0]), "blk-p2": normBlock(bs[1]), "blk-d1": normBlock(bs[2]),
		}, byKey, "every kind, whole records, nothing out of force")
	})
}

// blockKeys returns the blocks' keys in order, nil for none.
func blockKeys(bs []storage.Block) []string {
	var keys []string
	for _, b := range bs {
		keys = append(keys, b.Key)
	}
	return keys
}
