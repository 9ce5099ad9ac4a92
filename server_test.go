package gameauth_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
)

// serve runs h on a NewServer behind Listen with cfg, on a loopback port.
func serve(t *testing.T, h http.Handler, cfg gameauth.ServerConfig) string {
	t.Helper()
	ln, err := gameauth.Listen(context.Background(), "127.0.0.1:0", cfg)
	require.NoError(t, err)
	srv := gameauth.NewServer(h, cfg)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	return err == nil // EOF: the server closed it; a timeout is an error
}

// A client that trickles its request, or idles on a keep-alive connection,
// loses the connection within the configured time; oversized headers are
// refused; connections beyond the bound wait instead of taking descriptors.
func TestServerBoundsWhatAClientHolds(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	cfg := gameauth.ServerConfig{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond,
		IdleTimeout: 300 * time.Millisecond, MaxConns: 3}
	addr := serve(t, ok, cfg)

	t.Run("slow headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n") // and never the rest
		assert.True(t, closedWithin(conn, 2*time.Second), "cut after ReadHeaderTimeout")
	})
	t.Run("slow body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		start := time.Now()
		for time.Since(start) < 2*time.Second {
			if _, err := conn.Write([]byte("x")); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		r, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil { // the handler answered what it read: the body was cut
			r.Body.Close()
		}
		assert.Less(t, time.Since(start), 2*time.Second, "cut after ReadTimeout")
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		r, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		r.Body.Close()
		assert.True(t, closedWithin(conn, 2*time.Second), "cut after IdleTimeout")
	})
	t.Run("huge headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", gameauth.DefaultMaxHeaderBytes+4096))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
	})
	t.Run("connection bound", func(t *testing.T) {
		var held []net.Conn
		for range cfg.MaxConns {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			held = append(held, c)
		}
		// The next one connects (the kernel's backlog) but is served only
		// when a held one goes: here, when ReadHeaderTimeout cuts them.
		start := time.Now()
		res, err := http.Get("http://" + addr + "/")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "it waited for a slot")
		for _, c := range held {
			c.Close()
		}
	})
}
