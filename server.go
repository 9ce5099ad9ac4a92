package gameauth

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Defaults of ServerConfig. A request to the account handler is a small
// JSON body (at most 64 KiB) answered in milliseconds, or in the time of one
// password hash; these leave a slow mobile network ample room and nothing to
// a client that trickles bytes.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxConns          = 10_000
)

// ServerConfig bounds what one client can hold of a server. Zero fields
// take the Default... values.
type ServerConfig struct {
	// ReadHeaderTimeout bounds the time to send a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to send a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer. A WebSocket or other long-lived handler must
	// lift it for its connection (http.ResponseController's
	// SetWriteDeadline(time.Time{}), or the hijacked conn's SetDeadline).
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers; larger ones are answered
	// 431.
	MaxHeaderBytes int
	// MaxConns bounds the connections served at once (Listen); further
	// ones wait in the kernel's backlog instead of taking file descriptors.
	MaxConns int
}

func (c ServerConfig) withDefaults() ServerConfig {
	c.ReadHeaderTimeout = cmp.Or(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	return c
}

// NewServer returns an *http.Server for h with the timeouts and limits of
// cfg. A bare http.Server has none: a client that sends a byte a second,
// or opens a connection and never uses it, holds a goroutine and a file
// descriptor for ever, and enough of them (twenty thousand, in the fault
// test that found it) exhaust the process's descriptors, so that nobody can
// sign in. With these, a slow or idle connection is cut within seconds.
// Serve it on Listen's listener to bound the connections too.
func NewServer(h http.Handler, cfg ServerConfig) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
	}
}

// Listen listens on the TCP address addr and serves at most cfg.MaxConns
// connections at once.
func Listen(ctx context.Context, addr string, cfg ServerConfig) (net.Listener, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, cfg.withDefaults().MaxConns), nil
}
