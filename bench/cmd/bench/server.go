package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/storage"
)

// server is the game server under test, in this process, on a loopback port:
// the account handler at /auth/, GET /me behind the middleware, and GET
// /me-noauth, the same handler answering the same player with no
// authentication, as the reference.
type server struct {
	auth   *gameauth.GameAuth
	srv    *http.Server
	base   string
	player atomic.Pointer[middleware.Player] // what /me-noauth answers
	client *http.Client
}

// serverConfig is how a scenario wants its server.
type serverConfig struct {
	store   storage.Store // nil: SQLite at dbPath
	dbPath  string
	hashing account.Argon2Params
	clients int // keep-alive connections the client side keeps
}

func startServer(ctx context.Context, cfg serverConfig) (*server, error) {
	g, err := gameauth.New(ctx, gameauth.Config{
		Store:  cfg.store,
		DBPath: cfg.dbPath,
		Account: account.Config{
			SignInLimit:     -1, // a load test signs in far more than 10 times a minute
			PasswordHashing: cfg.hashing,
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	s := &server{auth: g}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", g.Handler()))
	mux.Handle("GET /me", g.Middleware()(http.HandlerFunc(me)))
	mux.Handle("GET /me-noauth", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePlayer(w, s.player.Load())
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.base = "http://" + ln.Addr().String()
	s.client = &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        cfg.clients + 8,
			MaxIdleConnsPerHost: cfg.clients + 8,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
		Timeout: 30 * time.Second,
	}
	return s, nil
}

func (s *server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.client.CloseIdleConnections()
	return s.auth.Close()
}

// me answers the request's player, as the example game server does.
func me(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	writePlayer(w, &p)
}

func writePlayer(w http.ResponseWriter, p *middleware.Player) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(p)
}

// tokenResponse is docs/API.md's TokenResponse, as far as the benchmark reads it.
type tokenResponse struct {
	Token struct {
		AccessToken  string
		RefreshToken string
	}
	Player struct {
		UserUniqueID string
	}
}

// device is the device info every sign-in carries.
func device(i int) map[string]any {
	return map[string]any{"platform": "aos", "device_id": fmt.Sprintf("bench-device-%06d", i)}
}

// post sends body as JSON to the account handler's path and decodes a
// response of status want into out (if not nil).
func (s *server) post(ctx context.Context, path string, body map[string]any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/auth"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(req, want, out)
}

// get sends GET path with the access token (if any) and checks the status.
func (s *server) get(ctx context.Context, path, access string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return err
	}
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	return s.do(req, want, out)
}

func (s *server) do(req *http.Request, want int, out any) error {
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// guests signs n new guest players in, each on its own device, and returns
// their tokens. Guest sign-in hashes no password, so setup is quick.
func (s *server) guests(ctx context.Context, n int) ([]tokenResponse, error) {
	out := make([]tokenResponse, n)
	for i := range out {
		if err := s.post(ctx, "/guest/signin", device(i), http.StatusCreated, &out[i]); err != nil {
			return nil, err
		}
		if out[i].Token.RefreshToken == "" || out[i].Token.AccessToken == "" {
			return nil, errors.New("guest sign-in answered no tokens")
		}
	}
	return out, nil
}

// wire is one keep-alive HTTP/1.1 connection of a load client: requests are
// written as prepared bytes and answers read with http.ReadResponse, with no
// Transport (and its two goroutines per connection) in between, so that the
// load generator takes less of the CPU it shares with the server.
type wire struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	body bytes.Buffer
}

// wires returns n load-client connections to s; closeWires closes them.
func (s *server) wires(n int) []*wire {
	ws := make([]*wire, n)
	for i := range ws {
		ws[i] = &wire{addr: strings.TrimPrefix(s.base, "http://")}
	}
	return ws
}

func closeWires(ws []*wire) {
	for _, w := range ws {
		w.close()
	}
}

// roundTrip sends req and returns the answer's body, which must have status
// want. The body is valid until the next call.
func (w *wire) roundTrip(req []byte, want int) ([]byte, error) {
	if w.conn == nil {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			return nil, err
		}
		w.conn, w.br = c, bufio.NewReaderSize(c, 8<<10)
	}
	if err := w.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, w.fail(err)
	}
	if _, err := w.conn.Write(req); err != nil {
		return nil, w.fail(err)
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return nil, w.fail(err)
	}
	w.body.Reset()
	_, err = w.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, w.fail(err)
	}
	if resp.Close {
		w.close()
	}
	if resp.StatusCode != want {
		b := w.body.Bytes()
		return nil, fmt.Errorf("status %d, want %d: %s", resp.StatusCode, want, bytes.TrimSpace(b[:min(len(b), 512)]))
	}
	return w.body.Bytes(), nil
}

func (w *wire) fail(err error) error {
	w.close()
	return err
}

func (w *wire) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// getRequest is GET path, with the access token if any, as bytes.
func (w *wire) getRequest(path, access string) []byte {
	b := []byte("GET " + path + " HTTP/1.1\r\nHost: " + w.addr + "\r\n")
	if access != "" {
		b = append(b, "Authorization: Bearer "+access+"\r\n"...)
	}
	return append(b, "\r\n"...)
}

// postRequest is POST path with body as JSON, as bytes.
func (w *wire) postRequest(path string, body any) ([]byte, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	b := []byte("POST " + path + " HTTP/1.1\r\nHost: " + w.addr + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(j)) + "\r\n\r\n")
	return append(b, j...), nil
}
