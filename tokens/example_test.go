package tokens_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// keyStore is a minimal storage.Keys for the examples; use a storage
// backend in a real server.
type keyStore struct {
	mu   sync.Mutex
	keys []storage.Key
}

func (s *keyStore) ListKeys(context.Context) ([]storage.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), nil
}

func (s *keyStore) AddKey(_ context.Context, k storage.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.ID == k.ID {
			return storage.Conflict(storage.FieldID)
		}
	}
	s.keys = append(s.keys, k)
	return nil
}

func (s *keyStore) DeleteKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.keys {
		if e.ID == id {
			s.keys = slices.Delete(s.keys, i, i+1)
			return nil
		}
	}
	return storage.ErrNotFound
}

func Example() {
	ctx := context.Background()
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: &keyStore{}})
	if err != nil {
		panic(err)
	}
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: "https://auth.example.com", Audience: "game"})
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{
		Issuer: "https://auth.example.com", Audience: "game",
		Cache: tokens.NewCache(100_000, 10*time.Minute),
	})

	token, _, err := issuer.Issue(tokens.Claims{Subject: "player-1", SessionID: "session-1", Nickname: "Hero"})
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(token)
	fmt.Println(claims.Subject, claims.Nickname, err)
	// Output: player-1 Hero <nil>
}

func ExampleRing_NextRefreshToken() {
	ring, err := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: &keyStore{}})
	if err != nil {
		panic(err)
	}
	first, _, _ := ring.NewRefreshToken("c2Vzc2lvbi1pZC0wMDAwMQ")

	// A refresh presents first: the store looks the session up by ID and
	// compares hashes, then swaps in the successor's hash.
	sessionID, presentedHash, err := ring.ParseRefreshToken(first)
	next, nextHash, _ := ring.NextRefreshToken(first)
	fmt.Println(sessionID, len(presentedHash), len(nextHash), err)

	// A retry of the same refresh gets the same successor.
	again, _, _ := ring.NextRefreshToken(first)
	fmt.Println(again == next)

	_, _, err = ring.ParseRefreshToken("c2Vzc2lvbi1pZC0wMDAwMQ.forged")
	fmt.Println(err)
	// Output:
	// c2Vzc2lvbi1pZC0wMDAwMQ 32 32 <nil>
	// true
	// tokens: token invalid: refresh token: shape
}

func ExampleRing_Rotate() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ring, _ := tokens.OpenRing(ctx, tokens.RingConfig{Store: &keyStore{}, Clock: clock})
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{})
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{})
	old, _, _ := issuer.Issue(tokens.Claims{Subject: "player-1"})

	now = now.Add(time.Minute)
	if _, err := ring.Rotate(ctx); err != nil {
		panic(err)
	}
	_, err := verifier.Verify(old)
	fmt.Println("old token after rotation:", err)

	now = now.Add(2 * time.Hour)
	_, err = verifier.Verify(old)
	fmt.Println("two hours later:", err)
	// Output:
	// old token after rotation: <nil>
	// two hours later: tokens: token invalid: key retired
}

func ExampleRing_JWKS() {
	ring, _ := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: &keyStore{}})
	jwks, _ := ring.JWKS()
	// Serve it at /.well-known/jwks.json; other services verify with it.
	fmt.Println(len(jwks) > 0)
	// Output: true
}
