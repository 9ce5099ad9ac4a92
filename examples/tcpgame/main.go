// Command tcpgame is a game server that speaks its own protocol over plain
// TCP — one JSON message a line — and signs players in through gameauth's
// Go API, without the HTTP handler:
//
//	go run ./examples/tcpgame -addr :9000
//	printf '%s\n' '{"op":"guest","platform":"pc","device_id":"pc-1"}' | nc localhost 9000
//
// Messages: "guest" (optional guest_key) and "refresh" (refresh_token) sign
// in; "hello" and "nickname" carry the access token they were given, which
// the server checks as the middleware checks HTTP requests. Every answer is
// {"ok":true,...} or {"ok":false,"code":"<ErrorCode>","message":"…"} with the
// codes of docs/API.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
)

func main() {
	addr := flag.String("addr", ":9000", "address to listen on")
	db := flag.String("db", "tcpgame.db", "SQLite file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	auth, err := gameauth.New(ctx, gameauth.Config{DBPath: *db})
	if err != nil {
		slog.Error("gameauth", "err", err)
		os.Exit(1)
	}
	defer auth.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		slog.Error("listen", "err", err)
		os.Exit(1)
	}
	slog.Info("listening", "addr", ln.Addr().String())
	go func() { <-ctx.Done(); _ = ln.Close() }()
	_ = serve(ctx, ln, auth)
}

// message is one line a client sends.
type message struct {
	Op           string `json:"op"`
	Platform     string `json:"platform"`
	DeviceID     string `json:"device_id"`
	GuestKey     string `json:"guest_key"`
	RefreshToken string `json:"refresh_token"`
	AccessToken  string `json:"access_token"`
	Nickname     string `json:"nickname"`
}

// reply is one line the server answers.
type reply struct {
	OK           bool   `json:"ok"`
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	GuestKey     string `json:"guest_key,omitempty"`
	PlayerID     string `json:"player_id,omitempty"`
	Nickname     string `json:"nickname,omitempty"`
}

// serve accepts connections until ln is closed, and waits for them.
func serve(ctx context.Context, ln net.Listener, auth *gameauth.GameAuth) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		wg.Go(func() { session(ctx, conn, auth) })
	}
}

// session answers one connection's messages in order.
func session(ctx context.Context, conn net.Conn, auth *gameauth.GameAuth) {
	defer conn.Close()
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		addr = ap.Addr().Unmap()
	}
	in := bufio.NewScanner(conn)
	in.Buffer(make([]byte, 0, 4096), 64<<10)
	out := json.NewEncoder(conn)
	for in.Scan() {
		var m message
		rep := reply{}
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			rep = failure(account.ErrInvalidRequest)
		} else {
			rep = handle(ctx, auth, account.Client{Addr: addr, Device: account.DeviceInfo{Platform: m.Platform, DeviceID: m.DeviceID}}, m)
		}
		if err := out.Encode(rep); err != nil {
			return
		}
	}
}

// handle answers one message through the Go API.
func handle(ctx context.Context, auth *gameauth.GameAuth, c account.Client, m message) reply {
	svc := auth.Service()
	switch m.Op {
	case "guest":
		g, err := svc.SignInGuest(ctx, c, m.GuestKey)
		return granted(g, err)
	case "refresh":
		g, err := svc.Refresh(ctx, c, m.RefreshToken)
		return granted(g, err)
	case "hello":
		p, err := auth.Authenticator().AuthenticateToken(m.AccessToken, "")
		if err != nil {
			return failure(err)
		}
		return reply{OK: true, PlayerID: p.UserUniqueID, Nickname: p.Nickname}
	case "nickname":
		p, err := auth.Authenticator().AuthenticateToken(m.AccessToken, "")
		if err != nil {
			return failure(err)
		}
		nick, err := svc.SetNickname(ctx, p, m.Nickname)
		if err != nil {
			return failure(err)
		}
		return reply{OK: true, Nickname: nick}
	}
	return reply{Code: account.CodeInvalidRequest, Message: "op: unknown"}
}

func granted(g *account.Grant, err error) reply {
	if err != nil {
		return failure(err)
	}
	return reply{OK: true, AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, GuestKey: g.GuestKey,
		PlayerID: g.Player.UserUniqueID, Nickname: g.Player.Nickname}
}

// failure is the answer to an error: its code and message, never a
// store's own words (account.Error's Message is written for clients).
func failure(err error) reply {
	var e *account.Error
	if !errors.As(err, &e) {
		e = account.ErrUnavailable
	}
	return reply{Code: e.Code, Message: e.Message}
}
