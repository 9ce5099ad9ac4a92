package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// queueMailer stands for the host's mailer: it hands the code to a queue and
// returns at once, so reset requests take the same time for every email.
type queueMailer struct{ queue chan<- string }

func (m queueMailer) SendResetCode(_ context.Context, email, _ string) error {
	m.queue <- email // a real one would enqueue the code for delivery
	return nil
}

func newService() *account.Service {
	ctx := context.Background()
	store := memory.New()
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: store})
	if err != nil {
		panic(err)
	}
	svc, err := account.New(account.Config{
		Store:    store,
		Ring:     ring,
		Issuer:   tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: "my-game", Audience: "my-game"}),
		Verifier: tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: "my-game", Audience: "my-game"}),
		Mailer:   queueMailer{make(chan string, 10)},
	})
	if err != nil {
		panic(err)
	}
	return svc
}

// A host mounts the handler under a prefix of its own.
func ExampleService_Handler() {
	svc := newService()
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", svc.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/auth/guest/signin", "application/json",
		strings.NewReader(`{"platform":"ios","device_id":"device-1"}`))
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var body struct {
		Token struct {
			ExpiresIn int
		}
		Player struct {
			LinkedType string
		}
		GuestKey string
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		panic(err)
	}
	fmt.Println(res.StatusCode, body.Player.LinkedType, body.Token.ExpiresIn, body.GuestKey != "")
	// Output: 201 guest 3600 true
}

// Blocks are administered from Go; the player meets them at sign-in.
func ExampleService_BlockPlayer() {
	svc := newService()
	h := svc.Handler()
	do := func(body string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/guest/signin", strings.NewReader(body)))
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	_, created := do(`{"platform":"aos","device_id":"d1"}`)
	id := created["Player"].(map[string]any)["UserUniqueID"].(string)
	key := created["GuestKey"].(string)

	_, err := svc.BlockPlayer(context.Background(), id, account.BlockSpec{
		Reason: "cheating",
		Until:  time.Now().Add(7 * 24 * time.Hour),
	})
	if err != nil {
		panic(err)
	}
	status, out := do(`{"platform":"aos","device_id":"d1","guest_key":"` + key + `"}`)
	fmt.Println(status, out["ErrorCode"], out["ErrorData"].(map[string]any)["blockReason"])
	// Output: 403 ACCOUNT_BLOCKED cheating
}

// Errors match their sentinel by code.
func ExampleError() {
	err := fmt.Errorf("sign-in: %w", account.ErrEmailTaken)
	fmt.Println(errors.Is(err, account.ErrEmailTaken), errors.Is(err, account.ErrNicknameTaken))
	rec := httptest.NewRecorder()
	account.WriteError(rec, err)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// true false
	// 409 {"ErrorCode":"EMAIL_TAKEN","Message":"email is already linked to an account"}
}

// A local limiter: 10 attempts a minute per key.
func ExampleNewLocalLimiter() {
	l := account.NewLocalLimiter(10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ok bool
	var after time.Duration
	for range 11 {
		ok, after, _ = l.Allow(context.Background(), "addr:192.0.2.1", now)
	}
	fmt.Println(ok, after)
	// Output: false 6s
}
