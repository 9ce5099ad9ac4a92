package tokens

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// clusteredHash returns a distinct hash for n whose probe starts at one of
// a few slots, the last slot among them: long runs of entries, wrapping
// around the end of the table, which is where removal can go wrong.
func clusteredHash(rng *rand.Rand, n uint64) uint64 {
	homes := [...]uint64{0, 1, 1<<32 - 1, 1<<32 - 2}
	return n<<40 | homes[rng.IntN(len(homes))]<<8
}

// checkStripe fails unless s holds exactly want, each entry reachable from
// its home, at most 7/8 full.
func checkStripe(t *testing.T, s *identityStripe, want map[uint64]*Identity) {
	t.Helper()
	require.Equal(t, len(want), s.n)
	used := 0
	for _, e := range s.slots {
		if e.id != nil {
			used++
		}
	}
	require.Equal(t, s.n, used)
	if s.slots != nil {
		require.Equal(t, 1, bits.OnesCount(uint(len(s.slots))), "a power of two")
		require.LessOrEqual(t, s.n*8, len(s.slots)*7)
	}
	for h, id := range want {
		i, ok := s.find(h)
		require.True(t, ok, "hash %#x lost", h)
		require.Same(t, id, s.slots[i].id)
	}
}

// An identity stripe under churn: entries come and go in clusters that
// wrap around the table, every entry stays reachable, and a steady number
// of entries keeps the table at one size (no tombstones to outgrow).
func TestIdentityStripeChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s identityStripe
	want := map[uint64]*Identity{}
	next := uint64(0)
	add := func() {
		next++
		h := clusteredHash(rng, next)
		if rng.IntN(2) == 0 {
			h = rng.Uint64()
		}
		if _, ok := s.find(h); ok {
			return
		}
		id := &Identity{}
		s.add(interned{h: h, id: id, refs: 1})
		want[h] = id
	}
	drop := func() {
		for h := range want { // a random one
			i, ok := s.find(h)
			require.True(t, ok)
			s.remove(i)
			delete(want, h)
			return
		}
	}

	for range 300 {
		add()
		checkStripe(t, &s, want)
	}
	size := len(s.slots)
	require.Equal(t, 512, size, "300 entries fit 512 slots at 7/8")
	for range 20_000 {
		drop()
		add()
		require.Equal(t, size, len(s.slots), "a steady count keeps the size")
	}
	checkStripe(t, &s, want)

	for len(want) > 0 {
		drop()
		checkStripe(t, &s, want)
	}
	require.Equal(t, minIdentitySlots, len(s.slots), "an emptied table shrinks")
	for range 1000 {
		if rng.IntN(3) == 0 {
			drop()
		} else {
			add()
		}
		checkStripe(t, &s, want)
	}
}
