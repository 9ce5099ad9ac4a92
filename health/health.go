// Package health gives the liveness and readiness handlers a load balancer
// or an orchestrator probes: Live answers while the process serves, Ready
// while it can do its work — the store answers, and the revocation view is
// current. Redis is only an accelerator (every node falls back to the
// store's change feed and its own rate limit), so Redis down is reported in
// Ready's body, never as a failure.
//
// Bodies are JSON in docs/API.md's PascalCase style:
//
//	GET /healthz  200 {"Status":"ALIVE"}
//	GET /readyz   200 {"Status":"READY","Store":"ok","RevocationSync":"2s ago","Redis":"down"}
//	              503 {"Status":"NOT_READY","Store":"timeout","RevocationSync":"41s ago"}
package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
)

// Store is the part of the store the readiness check calls; every
// storage.Store is one.
type Store interface {
	GetAccount(ctx context.Context, id string) (storage.Account, error)
}

// View is the revocation view whose freshness the readiness check judges;
// *revocation.View is one.
type View interface {
	LastSync() time.Time
}

// RedisHealth says whether Redis answers; *cluster.Health is one.
type RedisHealth interface {
	Up() bool
}

// Config configures Ready. Store and View are required.
type Config struct {
	Store Store
	View  View
	// Interval is the view's sync interval: it is current while its last
	// sync is at most three intervals old. Default
	// revocation.DefaultInterval.
	Interval time.Duration
	// Redis is reported when set (Redis configured).
	Redis RedisHealth
	// Timeout bounds the store check. Default 1s.
	Timeout time.Duration
	// Clock tells the time the view's syncs are stamped with; nil means
	// time.Now.
	Clock func() time.Time
}

// probeID is the account the store check looks up: a well-formed UUID (a
// host's own accounts table may type its key so) that no account has, as
// account IDs are random version-4 UUIDs.
const probeID = "00000000-0000-0000-0000-000000000000"

// Statuses of the bodies.
const (
	StatusAlive    = "ALIVE"
	StatusReady    = "READY"
	StatusNotReady = "NOT_READY"
)

// Report is the body of Ready's answer.
type Report struct {
	// Status is READY or NOT_READY.
	Status string
	// Store is "ok", "timeout" (no answer within the timeout) or
	// "unavailable" (an error, whose text stays in the server).
	Store string
	// RevocationSync is the age of the view's last sync ("2s ago"), or
	// "never".
	RevocationSync string
	// Redis is "up" or "down"; absent when Redis is not configured.
	Redis string `json:",omitempty"`
}

// Live returns the liveness handler: 200 {"Status":"ALIVE"} for as long
// as the process serves requests. It checks nothing else on purpose: a
// failing dependency is Ready's to report, and a liveness failure gets the
// process restarted.
func Live() http.Handler {
	return probe(func(*http.Request) (int, any) {
		return http.StatusOK, struct{ Status string }{StatusAlive}
	})
}

// Ready returns the readiness handler: 200 with a READY Report while the
// store answers within the timeout and the revocation view synced within
// three intervals; 503 with NOT_READY otherwise.
func Ready(cfg Config) http.Handler {
	if cfg.Interval <= 0 {
		cfg.Interval = revocation.DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return probe(func(r *http.Request) (int, any) {
		rep := check(r.Context(), cfg)
		if rep.Status != StatusReady {
			return http.StatusServiceUnavailable, rep
		}
		return http.StatusOK, rep
	})
}

// check runs the readiness checks.
func check(ctx context.Context, cfg Config) Report {
	rep := Report{Status: StatusReady, Store: "ok", RevocationSync: "never"}
	if st := storeCheck(ctx, cfg.Store, cfg.Timeout); st != "ok" {
		rep.Status, rep.Store = StatusNotReady, st
	}
	if last := cfg.View.LastSync(); last.IsZero() {
		rep.Status = StatusNotReady
	} else {
		age := max(cfg.Clock().Sub(last), 0)
		rep.RevocationSync = age.Round(time.Second).String() + " ago"
		if age > 3*cfg.Interval {
			rep.Status = StatusNotReady
		}
	}
	if cfg.Redis != nil {
		rep.Redis = "down"
		if cfg.Redis.Up() {
			rep.Redis = "up"
		}
	}
	return rep
}

// storeCheck looks up an account that does not exist: "ok" when the store
// answers (ErrNotFound) within timeout. The wait is bounded here, not left
// to the store's handling of ctx: a store that ignores its context is the
// kind of store this check is for. A call abandoned at the timeout ends in
// the background.
func storeCheck(ctx context.Context, s Store, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.GetAccount(ctx, probeID)
		done <- err
	}()
	select {
	case err := <-done:
		switch {
		case err == nil, errors.Is(err, storage.ErrNotFound):
			return "ok"
		case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
			return "timeout"
		}
		return "unavailable"
	case <-ctx.Done():
		return "timeout"
	}
}

// probe serves GET and HEAD with answer's status and JSON body, never
// cached; other methods get 405 in the contract's BaseResponse shape.
func probe(answer func(*http.Request) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusMethodNotAllowed,
				Message: "method not allowed; use GET, HEAD"})
			return
		}
		status, body := answer(r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(body)
		}
	})
}
