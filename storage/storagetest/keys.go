package storagetest

import (
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allBytes is every byte value once: key material must round-trip exactly.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// newKey returns a signing key created at created.
func newKey(id string, created time.Time) storage.Key {
	return storage.Key{
		ID: id, Use: "sig", Algorithm: "EdDSA",
		Private: hash("private/" + id), Public: hash("public/" + id),
		CreatedAt: created, ActiveAt: created.Add(time.Hour),
	}
}

func listKeys(t *testing.T, st storage.Keys) []storage.Key {
	t.Helper()
	ks, err := st.ListKeys(t.Context())
	require.NoError(t, err)
	return ks
}

func (s suite) keys(t *testing.T) {
	s.test(t, "AddAndList", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		assert.Empty(t, listKeys(t, st), "an empty ring")

		k2 := newKey("kid-2", at(2*time.Hour))
		k1 := newKey("kid-1", at(0))
		k3 := newKey("kid-3", at(time.Hour))
		k3.Private = allBytes()
		secret := storage.Key{ID: "secret-1", Use: "secret", Algorithm: "HS256", Private: []byte{0, 0, 0}, CreatedAt: at(3 * time.Hour)}
		for _, k := range []storage.Key{k2, k1, secret, k3} {
			require.NoError(t, st.AddKey(ctx, k), k.ID)
		}
		assert.Equal(t, normKeys([]storage.Key{k1, k3, k2, secret}), normKeys(listKeys(t, st)), "oldest CreatedAt first, bytes exact")
	})

	s.test(t, "DuplicateID", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		k := newKey("kid-1", at(0))
		require.NoError(t, st.AddKey(ctx, k))
		dup := newKey("kid-1", at(time.Hour))
		dup.Private = []byte("other")
		requireConflict(t, st.AddKey(ctx, dup), storage.FieldID)
		assert.Equal(t, normKeys([]storage.Key{k}), normKeys(listKeys(t, st)), "the first key is untouched")
	})

	s.test(t, "Delete", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		k1, k2 := newKey("kid-1", at(0)), newKey("kid-2", at(time.Hour))
		require.NoError(t, st.AddKey(ctx, k1))
		require.NoError(t, st.AddKey(ctx, k2))
		require.NoError(t, st.DeleteKey(ctx, k1.ID))
		assert.Equal(t, normKeys([]storage.Key{k2}), normKeys(listKeys(t, st)))
		requireOnly(t, st.DeleteKey(ctx, k1.ID), storage.ErrNotFound, "deleting twice")
		requireOnly(t, st.DeleteKey(ctx, "kid-unknown"), storage.ErrNotFound)

		// A deleted ID can be added again.
		require.NoError(t, st.AddKey(ctx, newKey("kid-1", at(2*time.Hour))))
		assert.Len(t, listKeys(t, st), 2)
	})
}
