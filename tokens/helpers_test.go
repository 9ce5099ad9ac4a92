package tokens

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gameauth/gameauth/internal/testclock"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// memKeys is an in-memory storage.Keys for these tests.
type memKeys struct {
	mu   sync.Mutex
	keys []storage.Key
}

func (m *memKeys) ListKeys(context.Context) ([]storage.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.keys)
	slices.SortStableFunc(out, func(a, b storage.Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memKeys) AddKey(_ context.Context, k storage.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.keys {
		if e.ID == k.ID {
			return storage.Conflict(storage.FieldID)
		}
	}
	m.keys = append(m.keys, k)
	return nil
}

func (m *memKeys) DeleteKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range m.keys {
		if e.ID == id {
			m.keys = slices.Delete(m.keys, i, i+1)
			return nil
		}
	}
	return storage.ErrNotFound
}

func (m *memKeys) count(use string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, k := range m.keys {
		if k.Use == use {
			n++
		}
	}
	return n
}

func newClock() *testclock.Clock { return testclock.Default() }

const (
	testIss = "https://auth.example.test"
	testAud = "game"
)

// fixture is a ring with an issuer and a verifier on a fake clock.
type fixture struct {
	store *memKeys
	clock *testclock.Clock
	ring  *Ring
	iss   *Issuer
	ver   *Verifier
}

func newFixture(t testing.TB, cfg RingConfig) *fixture {
	t.Helper()
	f := &fixture{store: &memKeys{}, clock: newClock()}
	if cfg.Store == nil {
		cfg.Store = f.store
	}
	cfg.Clock = f.clock.Now
	r, err := OpenRing(context.Background(), cfg)
	require.NoError(t, err)
	f.ring = r
	f.iss = NewIssuer(r, IssuerConfig{Issuer: testIss, Audience: testAud})
	f.ver = NewVerifier(r, VerifierConfig{Issuer: testIss, Audience: testAud})
	return f
}

func testClaims() Claims {
	return Claims{
		Subject: "player-1", SessionID: "c2Vzc2lvbi1pZC0wMDAwMQ", OpenID: "open-1",
		Nickname: "Hero", LinkedType: "email", Country: "KR", DeviceID: "device-1",
	}
}
