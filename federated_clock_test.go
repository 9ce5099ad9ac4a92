package gameauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/stretchr/testify/require"
)

// Config.Clock reaches platform sign-in too: a token minted at the
// injected time signs in (federated.New gets the clock).
func TestFederatedUsesConfigClock(t *testing.T) {
	clk := testclock.New(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	apple := federatedtest.NewApple(t, federatedtest.IssuerOptions{Now: clk.Now})
	auth, err := gameauth.New(context.Background(), gameauth.Config{
		Store: memory.New(), Clock: clk.Now, Federated: federatedtest.Config(apple),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(auth.Handler())
	t.Cleanup(srv.Close)
	body := `{"provider":"apple","id_token":"` + apple.Mint(federatedtest.Token{Subject: "p"}) + `","platform":"ios","device_id":"d"}`
	res, err := http.Post(srv.URL+"/federated/signin", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
}
