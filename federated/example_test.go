package federated_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Example configures Sign in with Apple from the JSON a server reads with
// -providers, and verifies the ID token a game client sends. A local
// server stands in for Apple's key set so that the example runs offline;
// in production keys_url is left out and defaults to Apple's.
func Example() {
	ctx := context.Background()
	appleKey, appleKeys := fakeApple()
	defer appleKeys.Close()

	cfg, err := federated.ParseConfig([]byte(`{
		"apple": {"client_ids": ["com.example.game"], "keys_url": "` + appleKeys.URL + `"},
		"timeout": "5s"
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set, err := federated.New(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer set.Close()

	// The client hashed its raw nonce into the Sign in with Apple request,
	// and sends the raw one with the ID token it got back.
	idToken := appleIDToken(appleKey, "com.example.game", "raw-nonce-from-the-client")
	id, err := set.Verify(ctx, federated.Apple, federated.Credential{IDToken: idToken, Nonce: "raw-nonce-from-the-client"})
	fmt.Println(id.Provider, id.Subject, err)

	// How an HTTP handler answers the errors.
	for _, try := range []struct {
		provider string
		cred     federated.Credential
	}{
		{federated.Apple, federated.Credential{}},
		{federated.Apple, federated.Credential{IDToken: idToken, Nonce: "another nonce"}},
		{"facebook", federated.Credential{IDToken: idToken}},
	} {
		_, err := set.Verify(ctx, try.provider, try.cred)
		fmt.Println(httpStatus(err))
	}
	// Output:
	// apple 001234.0a1b2c3d4e5f.0042 <nil>
	// 400 INVALID_REQUEST id_token
	// 401 PROVIDER_TOKEN_INVALID
	// 400 PROVIDER_NOT_CONFIGURED
}

// httpStatus is the answer issue 14 gives each error.
func httpStatus(err error) string {
	var fe *federated.FieldError
	switch {
	case err == nil:
		return "200"
	case errors.As(err, &fe):
		return "400 INVALID_REQUEST " + fe.Field
	case errors.Is(err, federated.ErrNotConfigured):
		return "400 PROVIDER_NOT_CONFIGURED"
	case errors.Is(err, federated.ErrInvalidCredential):
		return "401 PROVIDER_TOKEN_INVALID"
	default: // ErrUnavailable, and anything unforeseen: never sign the player out
		return "503 PROVIDER_UNAVAILABLE"
	}
}

// fakeApple serves a key set as Apple does, and returns its private key.
func fakeApple() (jwk.Key, *httptest.Server) {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	key, _ := jwk.Import(raw)
	_ = key.Set(jwk.KeyIDKey, "apple-key-1")
	_ = key.Set(jwk.AlgorithmKey, jwa.RS256())
	set := jwk.NewSet()
	_ = set.AddKey(key)
	public, _ := jwk.PublicSetOf(set)
	body, _ := json.Marshal(public)
	return key, httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
}

// appleIDToken is what Sign in with Apple hands the client: its nonce
// claim is the SHA-256 of the raw nonce, in hex.
func appleIDToken(key jwk.Key, audience, rawNonce string) string {
	sum := sha256.Sum256([]byte(rawNonce))
	tok, _ := jwt.NewBuilder().
		Issuer("https://appleid.apple.com").
		Audience([]string{audience}).
		Subject("001234.0a1b2c3d4e5f.0042").
		IssuedAt(time.Now()).
		Expiration(time.Now().Add(10*time.Minute)).
		Claim("nonce", hex.EncodeToString(sum[:])).
		Build()
	signed, _ := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), key))
	return string(signed)
}
