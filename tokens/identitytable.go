package tokens

import (
	"hash/maphash"
	"sync"
)

// identityTable interns the Identities of a BoundedCache's entries, so that
// the tokens of one session share one. It counts the entries pointing to
// each, and drops an Identity with the last of them. Put is the only
// caller, after a signature check, so a few mutexes are plenty.
type identityTable struct {
	seed    maphash.Seed
	stripes [identityStripes]identityStripe
}

const (
	identityStripes  = 16 // chosen by the low bits of a claims hash
	minIdentitySlots = 8
)

// identityStripe is a hash table of Identities by the hash of their
// claims, with open addressing and linear probing. Removing an entry moves
// the ones after it back instead of leaving a tombstone, so a table whose
// sessions come and go keeps its size: the Go map it replaces grew to
// twice the size under a flood of one-token sessions (a deleted slot is
// reused only where a probe passes it). The table doubles when it is 7/8
// full and halves when it is under 1/8 full.
type identityStripe struct {
	mu    sync.Mutex
	slots []interned // a power of two of them; nil until the first acquire
	n     int        // slots in use
}

// interned is an Identity of the table, the hash of its claims, and the
// number of entries pointing to it: 24 bytes.
type interned struct {
	h    uint64
	id   *Identity // nil: the slot is free
	refs int
}

// acquire returns the table's Identity for f, counting one more entry
// pointing to it: a new one if the table has none. Two sessions whose
// claims hash alike cannot share: the later one gets an Identity of its own,
// outside the table. Nil means f cannot be packed (see newIdentity). A
// shared Identity forgets MarkChecked's record: a new token of the session
// is checked against the revocation view before it is trusted.
func (t *identityTable) acquire(f [identityFields]string) *Identity {
	h := maphash.Comparable(t.seed, f)
	s := &t.stripes[h%identityStripes]
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.find(h); ok {
		e := &s.slots[i]
		if e.id.fields() != f {
			id, _ := newIdentity(f)
			return id
		}
		e.refs++
		e.id.checked.Store(0)
		return e.id
	}
	id, err := newIdentity(f)
	if err != nil {
		return nil
	}
	s.add(interned{h: h, id: id, refs: 1})
	return id
}

// release counts one entry fewer pointing to id.
func (t *identityTable) release(id *Identity) {
	h := maphash.Comparable(t.seed, id.fields())
	s := &t.stripes[h%identityStripes]
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(h)
	if !ok || s.slots[i].id != id {
		return // not interned: a hash collision's
	}
	if s.slots[i].refs--; s.slots[i].refs > 0 {
		return
	}
	s.remove(i)
}

// home is the slot where the probe for hash h starts. The low bits chose
// the stripe, so they are left out.
func (s *identityStripe) home(h uint64) int { return int(h>>8) & (len(s.slots) - 1) }

// find returns the slot holding hash h, or else the free slot where its
// probe ends (false, and -1 while the table has no slots). The table
// always has a free slot, so the probe ends.
func (s *identityStripe) find(h uint64) (int, bool) {
	if s.slots == nil {
		return -1, false
	}
	mask := len(s.slots) - 1
	for i := s.home(h); ; i = (i + 1) & mask {
		switch e := &s.slots[i]; {
		case e.id == nil:
			return i, false
		case e.h == h:
			return i, true
		}
	}
}

// add puts e, whose hash the table lacks, in the table, doubling it first
// if it would be over 7/8 full.
func (s *identityStripe) add(e interned) {
	if s.slots == nil {
		s.slots = make([]interned, minIdentitySlots)
	}
	if (s.n+1)*8 > len(s.slots)*7 {
		s.resize(2 * len(s.slots))
	}
	i, _ := s.find(e.h)
	s.slots[i] = e
	s.n++
}

// remove frees slot i and moves back each entry after it, up to the next
// free slot, whose probe passes i: every entry stays reachable from its
// home without tombstones. Then it halves the table if it is under 1/8
// full.
func (s *identityStripe) remove(i int) {
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j].id != nil; j = (j + 1) & mask {
		if home := s.home(s.slots[j].h); (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = interned{}
	if s.n--; len(s.slots) > minIdentitySlots && s.n*8 < len(s.slots) {
		s.resize(len(s.slots) / 2)
	}
}

// resize moves the entries into a table of size slots.
func (s *identityStripe) resize(size int) {
	old := s.slots
	s.slots = make([]interned, size)
	for _, e := range old {
		if e.id != nil {
			i, _ := s.find(e.h)
			s.slots[i] = e
		}
	}
}
