package account

import (
	"context"
	"net/http"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// What the external tests (package account_test) need of the internals.

// HashWith hashes password with parameters p, as a hash made before a
// parameter change would be.
func HashWith(ctx context.Context, p Argon2Params, password string) (string, error) {
	return newHasher(p.withDefaults(), 1).hash(ctx, password)
}

// DummyHashParams are the parameters of the hash unknown emails are
// verified against.
func (s *Service) DummyHashParams() (Argon2Params, error) {
	p, _, _, err := decodePHC(s.dummy)
	return p, err
}

// HashParams are the parameters new hashes are made with.
func (s *Service) HashParams() Argon2Params { return s.hasher.params }

// HashRuns counts the argon2 runs so far.
func (s *Service) HashRuns() int64 { return s.hasher.runs.Load() }

// PlayerAt is a as the contract shows it at, in zone tz.
func (s *Service) PlayerAt(a storage.Account, tz string, at time.Time) Player {
	return s.player(a, tz, at)
}

// HandlerRoutes are the paths h (a NewHandler) serves and each one's
// methods: the route table it is built from.
func HandlerRoutes(h http.Handler) map[string][]string {
	out := map[string][]string{}
	for path, e := range h.(*handler).routes {
		for m := range e.methods {
			out[path] = append(out[path], m)
		}
	}
	return out
}
