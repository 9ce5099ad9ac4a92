package federatedtest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is the HTTP server under every fake: an httptest.Server that
// counts the requests it gets, by path, and can be made to fail or hang
// so that a test sees what its code does when a vendor misbehaves.
// Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	handler http.Handler

	mu    sync.Mutex
	calls map[string]int64
	total int64

	override atomic.Pointer[override]
	released chan struct{}
	release  sync.Once
}

// override answers the requests to paths (every request, when paths is
// empty) instead of the fake.
type override struct {
	h     http.Handler
	paths []string
}

func (o *override) applies(path string) bool {
	return o != nil && (len(o.paths) == 0 || slices.Contains(o.paths, path))
}

// newServer starts h behind the counting and the faults, over TLS when
// tls is set, and closes it when the test ends.
func newServer(tb testing.TB, h http.Handler, tls bool) *Server {
	s := &Server{handler: h, calls: map[string]int64{}, released: make(chan struct{})}
	if tls {
		s.Server = httptest.NewTLSServer(s)
	} else {
		s.Server = httptest.NewServer(s)
	}
	tb.Cleanup(s.Close)
	return s
}

// ServeHTTP counts the request and answers it: with the override when one
// applies, else as the vendor would. The answer is decided before the
// request is counted, so a test that sees the count knows what that
// request was answered.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := s.override.Load()
	s.mu.Lock()
	s.calls[r.URL.Path]++
	s.total++
	s.mu.Unlock()
	if o.applies(r.URL.Path) {
		o.h.ServeHTTP(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Calls counts the requests the fake got for paths, answered or not; with
// no path, every request.
func (s *Server) Calls(paths ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(paths) == 0 {
		return s.total
	}
	var n int64
	for _, p := range paths {
		n += s.calls[p]
	}
	return n
}

// Override makes h answer the requests to paths (every request, when none
// is given) in place of the fake, until Heal or another Override, Fail or
// Hang: for answers no vendor should give, such as a redirect or an HTML
// error page.
func (s *Server) Override(h http.Handler, paths ...string) {
	s.override.Store(&override{h: h, paths: slices.Clone(paths)})
}

// Fail makes the requests to paths (every request, when none is given)
// answer status with an empty body, as a vendor in trouble does.
func (s *Server) Fail(status int, paths ...string) {
	s.Override(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }), paths...)
}

// Hang makes the requests to paths (every request, when none is given)
// wait without an answer until the client gives up or the fake is closed:
// a vendor that is slower than the caller's patience.
func (s *Server) Hang(paths ...string) {
	s.Override(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.released:
		}
		// Drop the connection without a word: a handler that returns
		// would answer 200 with an empty body, which a client that has
		// just given up (a TLS client sends close_notify first) may
		// still read.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		panic(http.ErrAbortHandler) // net/http's way to abort a response it cannot hijack
	}), paths...)
}

// Heal undoes Override, Fail and Hang: the fake answers as the vendor
// again.
func (s *Server) Heal() { s.override.Store(nil) }

// Close stops the server, first releasing the requests Hang holds: the
// vendor is down from then on, and its URL refuses connections. It is
// called when the test ends, and may be called before.
func (s *Server) Close() {
	s.release.Do(func() { close(s.released) })
	s.Server.Close()
}
