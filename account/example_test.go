package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
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

// deployment is what gameauth.New wires for one process: a store, the
// tokens, the revocation view, the service, and the middleware.
type deployment struct {
	svc  *account.Service
	auth *middleware.Authenticator
}

func newDeployment() deployment {
	ctx := context.Background()
	store := memory.New()
	toks, err := tokens.Open(ctx, store, tokens.Config{Issuer: "my-game", Audience: "my-game"})
	if err != nil {
		panic(err)
	}
	view := revocation.New(store, revocation.Config{Retain: toks.Config.Lifetime()})
	svc, err := account.New(store, toks, view, account.Config{
		Mailer: queueMailer{make(chan string, 10)},
		Events: view, // revocations and blocks reach the middleware at once
	})
	if err != nil {
		panic(err)
	}
	return deployment{svc: svc, auth: middleware.New(toks.Verifier, view, middleware.Config{})}
}

// A game that does not speak HTTP signs its players in through the Go API:
// here a guest sign-in, then a refresh, as a WebSocket or TCP server would
// do them on a player's messages.
func ExampleService_SignInGuest() {
	d := newDeployment()
	ctx := context.Background()
	client := account.Client{
		Addr:   netip.MustParseAddr("203.0.113.7"),
		Device: account.DeviceInfo{Platform: "pc", DeviceID: "steam-deck-1"},
	}
	g, err := d.svc.SignInGuest(ctx, client, "") // no key yet: a new guest
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Created, g.Player.LinkedType, g.ExpiresIn, g.GuestKey != "")

	// The client keeps the guest key and the refresh token; later it
	// presents the refresh token for a new pair.
	r, err := d.svc.Refresh(ctx, client, g.RefreshToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.SessionID == g.SessionID, r.RefreshToken != g.RefreshToken)

	// The old refresh token is spent: past the grace window it would revoke
	// the session as stolen.
	_, err = d.svc.Refresh(ctx, client, "not-a-token")
	fmt.Println(errors.Is(err, account.ErrTokenInvalid))
	// Output:
	// true guest 1h0m0s true
	// true true
	// true
}

// An authenticated flow takes the principal the middleware verified.
func ExampleService_SetNickname() {
	d := newDeployment()
	ctx := context.Background()
	g, err := d.svc.SignUpEmail(ctx, account.Client{Device: account.DeviceInfo{Platform: "ios", DeviceID: "phone-1"}},
		"ada@example.com", "correct horse", "")
	if err != nil {
		panic(err)
	}
	p, err := d.auth.VerifyToken(g.AccessToken) // a WebSocket server keeps p for the connection
	if err != nil {
		panic(err)
	}
	nick, err := d.svc.SetNickname(ctx, p, "Ada")
	fmt.Println(nick, err)
	_, err = d.svc.SetNickname(ctx, p, " ")
	fmt.Println(err)
	// Output:
	// Ada <nil>
	// INVALID_REQUEST: nickname: must not begin or end with a blank
}

// A host mounts the handler under a prefix of its own.
func ExampleNewHandler() {
	d := newDeployment()
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", account.NewHandler(d.svc, d.auth, account.HandlerConfig{})))
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
	d := newDeployment()
	ctx := context.Background()
	client := account.Client{Device: account.DeviceInfo{Platform: "aos", DeviceID: "d1"}}
	g, err := d.svc.SignInGuest(ctx, client, "")
	if err != nil {
		panic(err)
	}
	_, err = d.svc.BlockPlayer(ctx, g.Player.UserUniqueID, account.BlockSpec{
		Reason: "cheating",
		Until:  time.Now().Add(7 * 24 * time.Hour),
	})
	if err != nil {
		panic(err)
	}
	_, err = d.svc.SignInGuest(ctx, client, g.GuestKey)
	var e *account.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.ErrorData["blockReason"])
	}
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
