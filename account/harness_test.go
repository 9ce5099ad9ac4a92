package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameauth/gameauth/internal/testclock"

	. "github.com/gameauth/gameauth/account"

	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// ---- clock ----

func newClock() *testclock.Clock { return testclock.Default() }

// ---- log capture ----

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---- a store that fails on demand ----

var errInjected = errors.New("injected store failure")

// faultStore wraps a store: once armed, its Nth call fails with
// errInjected and writes nothing. It also counts calls.
type faultStore struct {
	inner  storage.Store
	mu     sync.Mutex
	armed  bool
	failAt int
	calls  int
	ops    []string
	failed string
	// everything the flows ever named, for snapshots
	seenAccounts, seenSessions, seenDevices map[string]bool
	seenLinks                               map[storage.Link]bool
	seenNicks                               map[string]bool
	seenKeyHashes                           map[string]bool
}

func (f *faultStore) seen(kind string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seenAccounts == nil {
		f.seenAccounts, f.seenSessions, f.seenDevices = map[string]bool{}, map[string]bool{}, map[string]bool{}
		f.seenLinks, f.seenNicks, f.seenKeyHashes = map[storage.Link]bool{}, map[string]bool{}, map[string]bool{}
	}
	switch kind {
	case "account":
		f.seenAccounts[v.(string)] = true
	case "session":
		f.seenSessions[v.(string)] = true
	case "device":
		f.seenDevices[v.(string)] = true
	case "link":
		f.seenLinks[v.(storage.Link)] = true
	case "nick":
		if v.(string) != "" {
			f.seenNicks[v.(string)] = true
		}
	case "keyhash":
		f.seenKeyHashes[string(v.([]byte))] = true
	}
}

func (f *faultStore) arm(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.failAt, f.calls, f.ops, f.failed = true, n, 0, nil, ""
}

func (f *faultStore) disarm() (calls int, failed string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.calls, f.failed
}

func (f *faultStore) step(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.calls++
	f.ops = append(f.ops, op)
	if f.calls == f.failAt {
		f.failed = op
		return errInjected
	}
	return nil
}

func (f *faultStore) CreateAccount(ctx context.Context, a storage.Account) error {
	f.seen("account", a.ID)
	f.seen("link", storage.Link{Type: a.LinkedType, ID: a.LinkedID})
	f.seen("nick", a.Nickname)
	if err := f.step("CreateAccount"); err != nil {
		return err
	}
	return f.inner.CreateAccount(ctx, a)
}
func (f *faultStore) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	if err := f.step("GetAccount"); err != nil {
		return storage.Account{}, err
	}
	return f.inner.GetAccount(ctx, id)
}
func (f *faultStore) GetAccountByLink(ctx context.Context, t, id string) (storage.Account, error) {
	if err := f.step("GetAccountByLink"); err != nil {
		return storage.Account{}, err
	}
	return f.inner.GetAccountByLink(ctx, t, id)
}
func (f *faultStore) GetAccountByNickname(ctx context.Context, n string) (storage.Account, error) {
	if err := f.step("GetAccountByNickname"); err != nil {
		return storage.Account{}, err
	}
	return f.inner.GetAccountByNickname(ctx, n)
}
func (f *faultStore) UpdateAccount(ctx context.Context, id string, u storage.AccountUpdate) error {
	if u.Link != nil {
		f.seen("link", *u.Link)
	}
	if u.Nickname != nil {
		f.seen("nick", *u.Nickname)
	}
	if err := f.step("UpdateAccount"); err != nil {
		return err
	}
	return f.inner.UpdateAccount(ctx, id, u)
}
func (f *faultStore) DeleteAccount(ctx context.Context, id string) error {
	if err := f.step("DeleteAccount"); err != nil {
		return err
	}
	return f.inner.DeleteAccount(ctx, id)
}
func (f *faultStore) CreateSession(ctx context.Context, s storage.Session, keep int) ([]string, error) {
	f.seen("session", s.ID)
	f.seen("device", s.DeviceID)
	if err := f.step("CreateSession"); err != nil {
		return nil, err
	}
	return f.inner.CreateSession(ctx, s, keep)
}
func (f *faultStore) GetSession(ctx context.Context, id string) (storage.Session, error) {
	if err := f.step("GetSession"); err != nil {
		return storage.Session{}, err
	}
	return f.inner.GetSession(ctx, id)
}
func (f *faultStore) RotateRefresh(ctx context.Context, id string, r storage.Rotation) (storage.Session, error) {
	if err := f.step("RotateRefresh"); err != nil {
		return storage.Session{}, err
	}
	return f.inner.RotateRefresh(ctx, id, r)
}
func (f *faultStore) RevokeSession(ctx context.Context, id string, reason storage.RevokeReason, now time.Time) error {
	if err := f.step("RevokeSession"); err != nil {
		return err
	}
	return f.inner.RevokeSession(ctx, id, reason, now)
}
func (f *faultStore) RevokeSessions(ctx context.Context, acc, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	if err := f.step("RevokeSessions"); err != nil {
		return nil, err
	}
	return f.inner.RevokeSessions(ctx, acc, except, reason, now)
}
func (f *faultStore) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	if err := f.step("RevokedSince"); err != nil {
		return nil, err
	}
	return f.inner.RevokedSince(ctx, since)
}
func (f *faultStore) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	if err := f.step("DeleteSessionsBefore"); err != nil {
		return 0, err
	}
	return f.inner.DeleteSessionsBefore(ctx, t)
}
func (f *faultStore) CreateBlock(ctx context.Context, b storage.Block) error {
	if b.Kind == storage.BlockDevice {
		f.seen("device", b.Subject)
	}
	if err := f.step("CreateBlock"); err != nil {
		return err
	}
	return f.inner.CreateBlock(ctx, b)
}
func (f *faultStore) LiftBlocks(ctx context.Context, k storage.BlockKind, sub string, now time.Time) (int, error) {
	if err := f.step("LiftBlocks"); err != nil {
		return 0, err
	}
	return f.inner.LiftBlocks(ctx, k, sub, now)
}
func (f *faultStore) ActiveBlocks(ctx context.Context, k storage.BlockKind, sub string, now time.Time) ([]storage.Block, error) {
	if err := f.step("ActiveBlocks"); err != nil {
		return nil, err
	}
	return f.inner.ActiveBlocks(ctx, k, sub, now)
}
func (f *faultStore) GetBlock(ctx context.Context, key string) (storage.Block, error) {
	if err := f.step("GetBlock"); err != nil {
		return storage.Block{}, err
	}
	return f.inner.GetBlock(ctx, key)
}
func (f *faultStore) ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error) {
	if err := f.step("ListActiveBlocks"); err != nil {
		return nil, err
	}
	return f.inner.ListActiveBlocks(ctx, now)
}
func (f *faultStore) Withdraw(ctx context.Context, w storage.Withdrawal) ([]string, error) {
	f.seen("keyhash", w.KeyHash)
	if err := f.step("Withdraw"); err != nil {
		return nil, err
	}
	return f.inner.Withdraw(ctx, w)
}
func (f *faultStore) GetWithdrawal(ctx context.Context, kh []byte) (storage.Withdrawal, error) {
	if err := f.step("GetWithdrawal"); err != nil {
		return storage.Withdrawal{}, err
	}
	return f.inner.GetWithdrawal(ctx, kh)
}
func (f *faultStore) GetAccountWithdrawal(ctx context.Context, id string) (storage.Withdrawal, error) {
	if err := f.step("GetAccountWithdrawal"); err != nil {
		return storage.Withdrawal{}, err
	}
	return f.inner.GetAccountWithdrawal(ctx, id)
}
func (f *faultStore) Restore(ctx context.Context, kh []byte, now time.Time) (storage.Withdrawal, error) {
	if err := f.step("Restore"); err != nil {
		return storage.Withdrawal{}, err
	}
	return f.inner.Restore(ctx, kh, now)
}
func (f *faultStore) DueWithdrawals(ctx context.Context, now time.Time, limit int) ([]storage.Withdrawal, error) {
	if err := f.step("DueWithdrawals"); err != nil {
		return nil, err
	}
	return f.inner.DueWithdrawals(ctx, now, limit)
}
func (f *faultStore) MarkPurged(ctx context.Context, id string, now time.Time) error {
	if err := f.step("MarkPurged"); err != nil {
		return err
	}
	return f.inner.MarkPurged(ctx, id, now)
}
func (f *faultStore) DeleteTombstones(ctx context.Context, before time.Time) (int, error) {
	if err := f.step("DeleteTombstones"); err != nil {
		return 0, err
	}
	return f.inner.DeleteTombstones(ctx, before)
}
func (f *faultStore) CreateResetCode(ctx context.Context, c storage.ResetCode, max int) error {
	if err := f.step("CreateResetCode"); err != nil {
		return err
	}
	return f.inner.CreateResetCode(ctx, c, max)
}
func (f *faultStore) ConsumeResetCode(ctx context.Context, email string, h []byte, now time.Time, max int) error {
	if err := f.step("ConsumeResetCode"); err != nil {
		return err
	}
	return f.inner.ConsumeResetCode(ctx, email, h, now, max)
}
func (f *faultStore) ListKeys(ctx context.Context) ([]storage.Key, error) {
	if err := f.step("ListKeys"); err != nil {
		return nil, err
	}
	return f.inner.ListKeys(ctx)
}
func (f *faultStore) AddKey(ctx context.Context, k storage.Key) error {
	if err := f.step("AddKey"); err != nil {
		return err
	}
	return f.inner.AddKey(ctx, k)
}
func (f *faultStore) DeleteKey(ctx context.Context, id string) error {
	if err := f.step("DeleteKey"); err != nil {
		return err
	}
	return f.inner.DeleteKey(ctx, id)
}
func (f *faultStore) Close() error { return f.inner.Close() }
func (f *faultStore) ListIdentities(ctx context.Context, id string) ([]storage.Identity, error) {
	if err := f.step("ListIdentities"); err != nil {
		return nil, err
	}
	return f.inner.(storage.Identities).ListIdentities(ctx, id)
}
func (f *faultStore) LinkIdentity(ctx context.Context, id string, i storage.Identity) error {
	if err := f.step("LinkIdentity"); err != nil {
		return err
	}
	f.seen("link", i.Link())
	return f.inner.(storage.Identities).LinkIdentity(ctx, id, i)
}
func (f *faultStore) UnlinkIdentity(ctx context.Context, id, t string, promote *storage.Link, at time.Time) error {
	if err := f.step("UnlinkIdentity"); err != nil {
		return err
	}
	return f.inner.(storage.Identities).UnlinkIdentity(ctx, id, t, promote, at)
}

// faultRefresher is a faultStore that passes storage.Refresher and
// storage.Registrar through too, as the memory store under it implements
// them: the service then refreshes and signs up the one-step way, as on the
// shipped backends, and those calls can fail like any other.
type faultRefresher struct{ *faultStore }

var (
	_ storage.Refresher = faultRefresher{}
	_ storage.Registrar = faultRefresher{}
)

func (f faultRefresher) Refresh(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	if err := f.step("Refresh"); err != nil {
		return storage.RefreshState{}, err
	}
	return f.inner.(storage.Refresher).Refresh(ctx, id, r)
}

func (f faultRefresher) Register(ctx context.Context, a storage.Account, s storage.Session) error {
	f.seen("account", a.ID)
	f.seen("link", storage.Link{Type: a.LinkedType, ID: a.LinkedID})
	f.seen("nick", a.Nickname)
	f.seen("session", s.ID)
	f.seen("device", s.DeviceID)
	if err := f.step("Register"); err != nil {
		return err
	}
	return f.inner.(storage.Registrar).Register(ctx, a, s)
}

// slowRefresh is a newEnv option: the service gets the bare faultStore,
// which hides the memory store's Refresher and Registrar, so a refresh
// takes the long way, and a sign-up writes the account and then the
// session, as with a store that has neither.
func slowRefresh(c *envConfig) { c.store = c.fault }

// calledOps returns the store calls made since the last arm.
func (f *faultStore) calledOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// ---- mailer and events ----

type sentCode struct{ email, code string }

type fakeMailer struct {
	mu   sync.Mutex
	sent []sentCode
	err  error
}

func (m *fakeMailer) SendResetCode(_ context.Context, email, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentCode{email, code})
	return m.err
}

func (m *fakeMailer) last(t testing.TB) sentCode {
	m.mu.Lock()
	defer m.mu.Unlock()
	require.NotEmpty(t, m.sent, "no code was mailed")
	return m.sent[len(m.sent)-1]
}

type recEvents struct {
	mu       sync.Mutex
	revs     []storage.Revocation
	blocks   []storage.Block
	rotated  []string
	observed []Event
}

// Observe records what an Observer would learn.
func (e *recEvents) Observe(_ context.Context, ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.observed = append(e.observed, ev)
}

// seenEvents returns the events observed so far.
func (e *recEvents) seenEvents() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.observed)
}

func (e *recEvents) SessionsRevoked(_ context.Context, r []storage.Revocation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.revs = append(e.revs, r...)
}
func (e *recEvents) BlockChanged(_ context.Context, b storage.Block) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.blocks = append(e.blocks, b)
}
func (e *recEvents) KeyRotated(_ context.Context, kid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rotated = append(e.rotated, kid)
}

func (e *recEvents) reasons() map[string]storage.RevokeReason {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[string]storage.RevokeReason{}
	for _, r := range e.revs {
		m[r.SessionID] = r.Reason
	}
	return m
}

// ---- environment ----

// tinyArgon makes tests fast; the parameters' handling is tested apart.
var tinyArgon = Argon2Params{Memory: 64, Time: 1, Threads: 1}

type env struct {
	t      testing.TB
	clock  *testclock.Clock
	mem    *memory.Store
	fault  *faultStore
	toks   *tokens.Suite
	view   *revocation.View
	svc    *Service
	h      http.Handler
	mailer *fakeMailer
	events *recEvents
	logs   *logBuffer
	// secrets seen in the run, checked against the logs
	secretsMu sync.Mutex
	secrets   []string
}

// envConfig is what newEnv's options change: the service's Config, the
// handler's, and the store.
type envConfig struct {
	Config
	HandlerConfig
	// store is what the service runs on: the fault store, through which
	// the memory store's Refresher passes, unless an option changes it.
	store storage.Store
	fault *faultStore
}

func newEnv(t testing.TB, opts ...func(*envConfig)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), mem: memory.New(), mailer: &fakeMailer{}, events: &recEvents{}, logs: &logBuffer{}}
	e.fault = &faultStore{inner: e.mem}
	ctx := context.Background()
	toks, err := tokens.Open(ctx, e.mem, tokens.Config{Issuer: "test", Audience: "game", Clock: e.clock.Now})
	require.NoError(t, err)
	e.toks = toks
	e.view = revocation.New(e.mem, revocation.Config{Retain: toks.Config.Lifetime(), Clock: e.clock.Now})
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := envConfig{Config: Config{
		Clock:           e.clock.Now,
		Logger:          logger,
		PasswordHashing: tinyArgon,
		Mailer:          e.mailer,
		Events:          Fanout(e.view, e.events),
		Observer:        e.events,
		SignInLimit:     -1,
	}, store: faultRefresher{e.fault}, fault: e.fault}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg.store, toks, e.view, cfg.Config)
	require.NoError(t, err)
	e.svc = svc
	auth := middleware.New(toks.Verifier, e.view, middleware.Config{})
	e.h = NewHandler(svc, auth, cfg.HandlerConfig)
	return e
}

func (e *env) secret(ss ...string) {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	for _, s := range ss {
		if s != "" {
			e.secrets = append(e.secrets, s)
		}
	}
}

// resp is a decoded answer.
type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r resp) code() string { s, _ := r.Body["ErrorCode"].(string); return s }

func (r resp) str(path ...string) string {
	var v any = r.Body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (r resp) num(path ...string) float64 {
	var v any = r.Body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return -1e9
		}
		v = m[p]
	}
	f, ok := v.(float64)
	if !ok {
		return -1e9
	}
	return f
}

type reqOpt func(*http.Request)

func bearerOpt(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func fromAddr(addr string) reqOpt { return func(r *http.Request) { r.RemoteAddr = addr } }

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Add(k, v) } }

// call sends body (a string is sent as is, anything else as JSON).
func (e *env) call(method, path string, body any, opts ...reqOpt) resp {
	e.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		data, err = json.Marshal(b)
		require.NoError(e.t, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "198.51.100.7:40000"
	req.Header.Set("Content-Type", "application/json")
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	out := resp{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	checkOpenAPI(e.t, req, data, rec)
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &out.Body), "body: %s", rec.Body.String())
	}
	return out
}

func (e *env) put(path string, body any, opts ...reqOpt) resp {
	e.t.Helper()
	return e.call(http.MethodPut, path, body, opts...)
}

// device returns the device fields of a request.
func device(id string) map[string]any {
	return map[string]any{"platform": "aos", "device_id": id, "device_model": "Pixel", "device_os": "Android 15", "device_language": "KO"}
}

func with(base map[string]any, kv ...any) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// player is a signed-in player.
type player struct {
	id, email, password, access, refresh, guestKey string
}

var emailSeq atomic.Int64

func (e *env) signUp(devID string) player {
	e.t.Helper()
	email := fmt.Sprintf("player%d@example.com", emailSeq.Add(1))
	return e.signUpAs(email, "correct horse", devID)
}

func (e *env) signUpAs(email, password, devID string) player {
	e.t.Helper()
	r := e.put("/email/signup", with(device(devID), "linked_id", email, "linked_password", password))
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	p := player{id: r.str("Player", "UserUniqueID"), email: email, password: password,
		access: r.str("Token", "AccessToken"), refresh: r.str("Token", "RefreshToken")}
	e.secret(p.password, p.access, p.refresh)
	return p
}

func (e *env) signIn(p player, devID string) player {
	e.t.Helper()
	r := e.put("/email/signin", with(device(devID), "linked_id", p.email, "linked_password", p.password))
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	p.access, p.refresh = r.str("Token", "AccessToken"), r.str("Token", "RefreshToken")
	e.secret(p.access, p.refresh)
	return p
}

func (e *env) guest(devID string) player {
	e.t.Helper()
	r := e.put("/guest/signin", device(devID))
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	p := player{id: r.str("Player", "UserUniqueID"), access: r.str("Token", "AccessToken"),
		refresh: r.str("Token", "RefreshToken"), guestKey: r.str("GuestKey")}
	e.secret(p.access, p.refresh, p.guestKey)
	return p
}

func (e *env) withdraw(p player, body map[string]any) string {
	e.t.Helper()
	r := e.put("/withdrawal", body, bearerOpt(p.access))
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	k := r.str("WithdrawalKey")
	e.secret(k)
	return k
}

// requireError checks docs/API.md's error shape.
func requireError(t testing.TB, r resp, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, r.Raw)
	require.Equal(t, code, r.code(), r.Raw)
	require.NotEmpty(t, r.str("Message"), r.Raw)
	if code != CodeAccountWithdrawn {
		require.NotContains(t, r.Body, "WithdrawalKey")
	}
	if code != CodeAccountBlocked {
		require.NotContains(t, r.Body, "BlockKey")
	}
	if code != CodeAccountBlocked && code != CodeDeviceBlocked {
		require.NotContains(t, r.Body, "ErrorData")
	}
}
