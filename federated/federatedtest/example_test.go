package federatedtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
)

// A host tests its platform sign-in offline: the fakes stand in for Apple
// and Game Center, a Set is built from their configuration, and each
// verifies what a game client would send. The Set is what a host passes
// as account.Config.Providers; a server in another process reads the
// file WriteConfig writes instead (see the package documentation for
// Game Center's TLS there).
func Example() {
	_ = func(t *testing.T) { // func TestPlatformSignIn(t *testing.T)
		ctx := context.Background()
		apple := federatedtest.NewApple(t, federatedtest.IssuerOptions{ClientIDs: []string{"com.example.game"}})
		gc := federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{})

		set, err := federated.New(ctx, federatedtest.Config(apple, gc),
			federated.WithHTTPClient(gc.Client())) // trusts Game Center's https host
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = set.Close() })

		id, err := set.Verify(ctx, federated.Apple, federated.Credential{
			IDToken: apple.Mint(federatedtest.Token{Subject: "001234.abcd.0042", Nonce: "raw-nonce"}),
			Nonce:   "raw-nonce",
		})
		if err != nil || id.Subject != "001234.abcd.0042" {
			t.Fatalf("apple: %v %v", id, err)
		}
		if _, err := set.Verify(ctx, federated.GameCenter, gc.Credential("T:_player-1")); err != nil {
			t.Fatalf("gamecenter: %v", err)
		}

		apple.Close() // Apple is down: a token under a kid not cached yet cannot be checked
		apple.Rotate()
		_, err = set.Verify(ctx, federated.Apple, federated.Credential{IDToken: apple.Mint(federatedtest.Token{Subject: "001234.abcd.0042"})})
		if !errors.Is(err, federated.ErrUnavailable) {
			t.Fatalf("apple down: %v", err)
		}
	}
}
