package tokens_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gameauth/gameauth/tokens"
)

func ExampleNewCache() {
	// 100,000 entries: about 25 MiB if every token is a different
	// session's, less when sessions have several tokens in the cache.
	cache := tokens.NewCache(100_000, time.Hour)
	ring, _ := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: &keyStore{}})
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{})
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{Cache: cache})

	token, _, _ := issuer.Issue(tokens.Claims{Subject: "player-1", SessionID: "session-1"})
	_, err := verifier.Verify(token) // the signature is checked
	fmt.Println(cache.Len(), cache.Cap(), err)
	claims, err := verifier.Verify(token) // answered from the cache
	fmt.Println(claims.Subject, err)
	// Output:
	// 1 100000 <nil>
	// player-1 <nil>
}

func ExampleVerifier_VerifyIdentity() {
	ring, _ := tokens.OpenRing(context.Background(), tokens.RingConfig{Store: &keyStore{}})
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{})
	verifier := tokens.NewVerifier(ring, tokens.VerifierConfig{Cache: tokens.NewCache(0, 0)})

	session := tokens.Claims{Subject: "player-1", SessionID: "session-1", Nickname: "Hero"}
	first, _, _ := issuer.Issue(session)
	refreshed, _, _ := issuer.Issue(session) // a later token of the same session

	a, err := verifier.VerifyIdentity(first)
	if err != nil {
		panic(err)
	}
	b, _ := verifier.VerifyIdentity(refreshed)
	again, _ := verifier.VerifyIdentity(first) // a hit: no allocation
	fmt.Println(a.Subject(), a.Nickname(), a == b, a == again)
	// Output: player-1 Hero true true
}
