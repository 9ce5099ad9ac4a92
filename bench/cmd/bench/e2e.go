package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
	"github.com/gameauth/gameauth/tokens"
)

// e2eConfig sizes the end-to-end runs.
type e2eConfig struct {
	Rounds   int           // interleaved rounds of each comparison; the median round is kept
	Warmup   time.Duration // per run, not measured
	Duration time.Duration // per run, measured
	Clients  int           // concurrent keep-alive clients for /me and refresh
	Signin   int           // concurrent clients for /email/signin
	TempDir  string
}

func (c e2eConfig) spec(clients int) loadSpec {
	return loadSpec{Clients: clients, Warmup: c.Warmup, Duration: c.Duration}
}

// interleave runs each of runs rounds times, a round running each once;
// each round starts one further along the list, so that no measurement
// always runs first, or right after the same other, in its round. It
// returns each one's results, in the order of runs.
func interleave(rounds int, runs ...func() (loadResult, error)) ([][]loadResult, error) {
	out := make([][]loadResult, len(runs))
	for k := range rounds {
		for j := range runs {
			i := (k + j) % len(runs)
			r, err := runs[i]()
			if err != nil {
				return out, err
			}
			out[i] = append(out[i], r)
		}
	}
	return out, nil
}

// medianRun returns the run with the median throughput.
func medianRun(runs []loadResult) loadResult {
	if len(runs) == 0 {
		return loadResult{}
	}
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b loadResult) int {
		switch {
		case a.RPS() < b.RPS():
			return -1
		case a.RPS() > b.RPS():
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

// meResult compares GET /me behind the middleware with the same handler and
// player without it, on the same server, rounds interleaved.
type meResult struct {
	NoAuth, Auth loadResult
	// Header is the reference with each client's Authorization header sent
	// anyway (and ignored): the part of the gap that is the token's bytes.
	Header loadResult
}

func benchMe(ctx context.Context, cfg e2eConfig) (meResult, error) {
	store, err := sqlite.Open(ctx, filepath.Join(cfg.TempDir, "me.db"))
	if err != nil {
		return meResult{}, err
	}
	defer store.Close()
	s, err := startServer(ctx, serverConfig{store: store, clients: cfg.Clients})
	if err != nil {
		return meResult{}, err
	}
	defer s.Close()
	players, err := s.guests(ctx, cfg.Clients)
	if err != nil {
		return meResult{}, err
	}
	var p middleware.Player
	if err := s.get(ctx, "/me", players[0].Token.AccessToken, http.StatusOK, &p); err != nil {
		return meResult{}, err
	}
	if p.UserUniqueID != players[0].Player.UserUniqueID {
		return meResult{}, errors.New("/me answered another player")
	}
	s.player.Store(&p) // /me-noauth answers the same bytes

	wires := s.wires(cfg.Clients)
	defer closeWires(wires)
	get := func(path string, withToken bool) func(i int) (request, error) {
		return func(i int) (request, error) {
			w, tok := wires[i], ""
			if withToken {
				tok = players[i].Token.AccessToken
			}
			req := w.getRequest(path, tok)
			return func(context.Context) error {
				_, err := w.roundTrip(req, http.StatusOK)
				return err
			}, nil
		}
	}
	load := func(path string, withToken bool) func() (loadResult, error) {
		return func() (loadResult, error) {
			r, err := runLoad(ctx, cfg.spec(cfg.Clients), get(path, withToken))
			if err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
			return r, err
		}
	}
	res, err := interleave(cfg.Rounds, load("/me-noauth", false), load("/me-noauth", true), load("/me", true))
	if err != nil {
		return meResult{}, err
	}
	noauth, header, auth := res[0], res[1], res[2]
	return meResult{NoAuth: medianRun(noauth), Header: medianRun(header), Auth: medianRun(auth)}, nil
}

// refreshResult is /token/refresh over HTTP on one backend, beside the store
// calls a refresh makes, issued directly (no HTTP, no signing): the ceiling
// the backend puts on the endpoint.
type refreshResult struct {
	Backend    string
	HTTP       loadResult
	Refresher  bool       // the store implements storage.Refresher
	OneStep    loadResult // Refresh alone, when Refresher: the service's one store call
	StoreCalls loadResult // the six store calls of one refresh without Refresher
	Rotate     loadResult // RotateRefresh alone
	// Unbatched is the endpoint on a second server whose store rotates
	// each refresh in its own statement (postgres.RefreshBatch(1)), when
	// the run has one.
	Unbatched *loadResult
	// NoAudit is the endpoint on a server whose store hides storage.Audit,
	// so that gameauth.New keeps no audit log, when the store has one.
	NoAudit *loadResult
}

// withoutAudit is a store with every optional part the service looks for
// but storage.Audit: gameauth.New then keeps no audit log, and everything
// else runs as on the store itself.
type withoutAudit struct {
	storage.Store
	storage.Refresher
	storage.Registrar
	storage.Identities
	storage.Directory
	storage.Eraser
}

// hideAudit returns store without its audit log, when it has one and every
// other part withoutAudit passes on.
func hideAudit(store storage.Store) (storage.Store, bool) {
	if _, ok := store.(storage.Audit); !ok {
		return nil, false
	}
	rf, ok1 := store.(storage.Refresher)
	rg, ok2 := store.(storage.Registrar)
	id, ok3 := store.(storage.Identities)
	d, ok4 := store.(storage.Directory)
	e, ok5 := store.(storage.Eraser)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return nil, false
	}
	return withoutAudit{store, rf, rg, id, d, e}, true
}

// Service returns the reference for the endpoint: the store calls
// account.Service makes for one refresh on this store.
func (r refreshResult) Service() loadResult {
	if r.Refresher {
		return r.OneStep
	}
	return r.StoreCalls
}

// storeMode is what storeRefresh calls.
type storeMode int

const (
	modeSix     storeMode = iota // the six calls of a refresh without storage.Refresher
	modeRotate                   // RotateRefresh alone
	modeOneStep                  // storage.Refresher's Refresh
)

// refreshClient is a client refreshing its own session's chain of tokens
// over HTTP: each answer's refresh token is the next request's. tok holds
// the chain's current token across runs.
func refreshClient(w *wire, tok *string) request {
	return func(context.Context) error {
		next, err := refreshOnce(w, *tok)
		if err == nil {
			*tok = next
		}
		return err
	}
}

// refreshBody is the body of /token/refresh.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshOnce refreshes tok over w and returns its successor.
func refreshOnce(w *wire, tok string) (string, error) {
	req, err := w.postRequest("/auth/token/refresh", refreshBody{tok})
	if err != nil {
		return "", err
	}
	body, err := w.roundTrip(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var res tokenResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return "", err
	}
	if res.Token.RefreshToken == "" || res.Token.RefreshToken == tok || res.Token.AccessToken == "" {
		return "", errors.New("refresh answered no new tokens")
	}
	return res.Token.RefreshToken, nil
}

// storeRefresh is a client making, directly on the store, along its own
// chain of tokens: with modeSix the calls account.Service makes for one
// refresh on a store without storage.Refresher (GetSession, GetAccount,
// GetAccountWithdrawal, ActiveBlocks for the player and the device, and
// RotateRefresh); with modeRotate RotateRefresh alone; with modeOneStep the
// one Refresh call it makes on a store with one.
func storeRefresh(store storage.Store, ring *tokens.Ring, tok *string, mode storeMode) request {
	return func(ctx context.Context) error {
		sid, hash, err := ring.ParseRefreshToken(*tok)
		if err != nil {
			return err
		}
		next, nextHash, err := ring.NextRefreshToken(*tok)
		if err != nil {
			return err
		}
		now := time.Now()
		rot := storage.Rotation{Presented: hash, Next: nextHash, Now: now, Grace: 10 * time.Second}
		if mode == modeOneStep {
			st, err := store.(storage.Refresher).Refresh(ctx, sid, rot)
			if err == nil && st.Held {
				err = errors.New("refresh stopped")
			}
			if err != nil {
				return err
			}
			*tok = next
			return nil
		}
		if mode == modeSix {
			sess, err := store.GetSession(ctx, sid)
			if err != nil {
				return err
			}
			if _, err := store.GetAccount(ctx, sess.AccountID); err != nil {
				return err
			}
			if _, err := store.GetAccountWithdrawal(ctx, sess.AccountID); !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("GetAccountWithdrawal: %v", err)
			}
			if _, err := store.ActiveBlocks(ctx, storage.BlockPlayer, sess.AccountID, now); err != nil {
				return err
			}
			if _, err := store.ActiveBlocks(ctx, storage.BlockDevice, sess.DeviceID, now); err != nil {
				return err
			}
		}
		if _, err := store.RotateRefresh(ctx, sid, rot); err != nil {
			return err
		}
		*tok = next
		return nil
	}
}

// unbatched, if not nil, is a second store on the same database whose
// refreshes are not batched: a second server on it is measured beside the
// first, as the before of the batching.
func benchRefresh(ctx context.Context, cfg e2eConfig, backend string, store, unbatched storage.Store) (refreshResult, error) {
	out := refreshResult{Backend: backend}
	s, err := startServer(ctx, serverConfig{store: store, clients: cfg.Clients})
	if err != nil {
		return out, err
	}
	defer s.Close()
	// Separate sessions for each measurement; guest sign-in hashes no
	// password, so setup is quick.
	_, oneStep := store.(storage.Refresher)
	out.Refresher = oneStep
	players, err := s.guests(ctx, 6*cfg.Clients)
	if err != nil {
		return out, err
	}
	chains := make([]string, len(players))
	for i, p := range players {
		chains[i] = p.Token.RefreshToken
	}
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: store})
	if err != nil {
		return out, err
	}
	n := cfg.Clients
	wires := s.wires(n)
	defer closeWires(wires)
	load := func(what string, client func(i int) request) func() (loadResult, error) {
		return func() (loadResult, error) {
			r, err := runLoad(ctx, cfg.spec(n), func(i int) (request, error) { return client(i), nil })
			if err != nil {
				err = fmt.Errorf("%s %s: %w", backend, what, err)
			}
			return r, err
		}
	}
	runs := []func() (loadResult, error){
		load("/token/refresh", func(i int) request { return refreshClient(wires[i], &chains[i]) }),
		load("store calls", func(i int) request { return storeRefresh(store, ring, &chains[n+i], modeSix) }),
		load("rotate", func(i int) request { return storeRefresh(store, ring, &chains[2*n+i], modeRotate) }),
	}
	if oneStep {
		runs = append(runs, load("Refresh", func(i int) request { return storeRefresh(store, ring, &chains[3*n+i], modeOneStep) }))
	}
	if unbatched != nil {
		u, err := startServer(ctx, serverConfig{store: unbatched, clients: cfg.Clients})
		if err != nil {
			return out, err
		}
		defer u.Close()
		uwires := u.wires(n)
		defer closeWires(uwires)
		runs = append(runs, load("/token/refresh unbatched", func(i int) request { return refreshClient(uwires[i], &chains[4*n+i]) }))
	}
	noAudit, audited := hideAudit(store)
	if audited {
		a, err := startServer(ctx, serverConfig{store: noAudit, clients: cfg.Clients})
		if err != nil {
			return out, err
		}
		defer a.Close()
		awires := a.wires(n)
		defer closeWires(awires)
		runs = append(runs, load("/token/refresh without the audit log", func(i int) request { return refreshClient(awires[i], &chains[5*n+i]) }))
	}
	res, err := interleave(cfg.Rounds, runs...)
	if err != nil {
		return out, err
	}
	if audited {
		a := medianRun(res[len(res)-1])
		out.NoAudit = &a
		res = res[:len(res)-1]
	}
	https, calls, rotates := res[0], res[1], res[2]
	out.HTTP, out.StoreCalls, out.Rotate = medianRun(https), medianRun(calls), medianRun(rotates)
	if oneStep {
		out.OneStep = medianRun(res[3])
	}
	if unbatched != nil {
		u := medianRun(res[len(res)-1])
		out.Unbatched = &u
	}
	return out, nil
}

// signinResult is /email/signin beside the password hash it is bound by:
// argon2id with the parameters the server stored, computed alone.
type signinResult struct {
	Params  argonParams
	Load    loadResult // Signin concurrent clients
	Seq     loadResult // one client
	HashSeq loadResult // argon2id alone, one at a time
	HashPar loadResult // argon2id alone, GOMAXPROCS at a time (the server's HashConcurrency)
}

// argonParams are argon2id parameters as a PHC string carries them.
type argonParams struct {
	Memory          uint32 // KiB
	Time            uint32
	Threads         uint8
	KeyLen, SaltLen uint32
}

func (p argonParams) String() string {
	return fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d, %d-byte key", p.Memory, p.Time, p.Threads, p.KeyLen)
}

// parsePHC reads the parameters of "$argon2id$v=19$m=..,t=..,p=..$salt$key".
func parsePHC(h string) (argonParams, error) {
	var p argonParams
	f := strings.Split(h, "$")
	if len(f) != 6 || f[1] != "argon2id" {
		return p, errors.New("not an argon2id PHC string")
	}
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("PHC parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			p.Threads = uint8(n)
		}
	}
	p.SaltLen = uint32(len(f[4]) * 6 / 8) // unpadded base64
	p.KeyLen = uint32(len(f[5]) * 6 / 8)
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.KeyLen == 0 {
		return p, errors.New("PHC string lacks a parameter")
	}
	return p, nil
}

func benchSignin(ctx context.Context, cfg e2eConfig) (signinResult, error) {
	var out signinResult
	store, err := sqlite.Open(ctx, filepath.Join(cfg.TempDir, "signin.db"))
	if err != nil {
		return out, err
	}
	defer store.Close()
	// The server's default argon2id parameters: accounts signed up with
	// cheaper ones would be rehashed on every sign-in.
	s, err := startServer(ctx, serverConfig{store: store, clients: cfg.Signin})
	if err != nil {
		return out, err
	}
	defer s.Close()
	const password = "correct horse battery staple"
	email := func(i int) string { return fmt.Sprintf("bench-%d@example.com", i) }
	n := max(cfg.Signin, 1)
	for i := range n {
		body := device(i)
		body["linked_id"], body["linked_password"] = email(i), password
		if err := s.post(ctx, "/email/signup", body, http.StatusCreated, nil); err != nil {
			return out, err
		}
	}
	a, err := store.GetAccountByLink(ctx, storage.LinkEmail, email(0))
	if err != nil {
		return out, err
	}
	if out.Params, err = parsePHC(a.PasswordHash); err != nil {
		return out, err
	}
	wires := s.wires(n)
	defer closeWires(wires)
	signin := func(i int) (request, error) {
		body := device(i)
		body["linked_id"], body["linked_password"] = email(i), password
		w := wires[i]
		req, err := w.postRequest("/auth/email/signin", body)
		if err != nil {
			return nil, err
		}
		return func(context.Context) error {
			b, err := w.roundTrip(req, http.StatusOK)
			if err != nil {
				return err
			}
			var res tokenResponse
			if err := json.Unmarshal(b, &res); err != nil {
				return err
			}
			if res.Token.AccessToken == "" {
				return errors.New("sign-in answered no access token")
			}
			return nil
		}, nil
	}
	p := out.Params
	hash := func(int) (request, error) {
		pw, salt := []byte(password), make([]byte, p.SaltLen)
		return func(context.Context) error {
			_ = argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			return nil
		}, nil
	}
	load := func(clients int, client func(int) (request, error), what string) func() (loadResult, error) {
		return func() (loadResult, error) {
			r, err := runLoad(ctx, cfg.spec(clients), client)
			if err != nil && what != "" {
				err = fmt.Errorf("%s: %w", what, err)
			}
			return r, err
		}
	}
	res, err := interleave(cfg.Rounds,
		load(cfg.Signin, signin, "/email/signin"), load(runtime.GOMAXPROCS(0), hash, ""),
		load(1, signin, "/email/signin"), load(1, hash, ""))
	if err != nil {
		return out, err
	}
	loads, hpars, seqs, hseqs := res[0], res[1], res[2], res[3]
	out.Load, out.Seq, out.HashSeq, out.HashPar = medianRun(loads), medianRun(seqs), medianRun(hseqs), medianRun(hpars)
	return out, nil
}

// atomicCounter is shared by clients that take items from one pool.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1) - 1) }
