package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/admin"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/storage/memory"
)

const token = "operator-secret"

// server is a game server with the admin API at /admin/, as the example's.
type server struct {
	t     *testing.T
	url   string
	auth  *gameauth.GameAuth
	clock *testclock.Clock
}

func newServer(t *testing.T) *server {
	t.Helper()
	clock := testclock.Default()
	auth, err := gameauth.New(context.Background(), gameauth.Config{
		Store:   memory.New(),
		Account: account.Config{PasswordHashing: account.Argon2Params{Memory: 64, Time: 1}, MaxSessions: -1},
		Clock:   clock.Now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))
	mux.Handle("/admin/", checked(t, http.StripPrefix("/admin", admin.NewHandler(auth.Service(),
		admin.Config{Authorize: admin.BearerToken(token, "anna"), Console: admin.Console()}))))
	mux.Handle("GET /me", auth.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "{}")
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL, auth: auth, clock: clock}
}

// checked serves the admin API, checking each exchange of the console in
// the browser (browser_test.go) against docs/openapi.yaml as it is served,
// as server.do checks the tests' own: the bodies the console sends
// included.
func checked(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.UserAgent(), "Chrome") {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("%s %s: reading the request: %v", r.Method, r.URL.Path, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		req := r.Clone(context.Background())
		req.URL.Scheme, req.URL.Host, req.RequestURI = "http", r.Host, ""
		checkOpenAPI(t, req, body, rec.Result(), rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func (s *server) do(method, path, bearer string, body any) reply {
	s.t.Helper()
	var rd io.Reader
	var sent []byte
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd, sent = bytes.NewReader(b), b
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(s.t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	checkOpenAPI(s.t, req, sent, res, raw)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return reply{res.StatusCode, m, string(raw)}
}

func (s *server) admin(method, path string, body any) reply {
	return s.do(method, "/admin"+path, token, body)
}

// signUp makes a player by email with a nickname, on device dev.
func (s *server) signUp(email, nick, dev string) (id, access string) {
	return s.signUpOn(email, nick, dev, "iPhone 17")
}

// signUpOn is signUp on a device of the given model.
func (s *server) signUpOn(email, nick, dev, model string) (id, access string) {
	s.t.Helper()
	r := s.do("POST", "/auth/email/signup", "", map[string]any{"linked_id": email, "linked_password": "correct horse",
		"nickname": nick, "platform": "ios", "device_id": dev, "device_model": model})
	require.Equal(s.t, http.StatusCreated, r.status, r.raw)
	return r.body["Player"].(map[string]any)["UserUniqueID"].(string), r.body["Token"].(map[string]any)["AccessToken"].(string)
}

func TestAuthorization(t *testing.T) {
	s := newServer(t)
	_, access := s.signUp("a@b.co", "Ann", "d1")
	for _, c := range []struct {
		bearer string
		code   string
	}{{"", account.CodeTokenMissing}, {"wrong", account.CodeTokenInvalid}, {access, account.CodeTokenInvalid}} {
		r := s.do("GET", "/admin/players?q=Ann", c.bearer, nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, r.raw)
		assert.Equal(t, c.code, r.body["ErrorCode"], "a player's access token is not an operator's")
	}
	assert.Equal(t, http.StatusOK, s.admin("GET", "/players?q=Ann", nil).status)
	r := s.admin("GET", "/nope", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, account.CodeInvalidRequest, r.body["ErrorCode"])
	r = s.admin("PUT", "/keys/rotate", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
}

func TestSearch(t *testing.T) {
	s := newServer(t)
	id, _ := s.signUp("hero@example.com", "Hero", "dev-hero")
	s.signUp("other@example.com", "Heroine", "dev-2")
	s.signUp("third@example.com", "Villain", "dev-3")
	rec, err := s.auth.Service().Player(context.Background(), id)
	require.NoError(t, err)
	openID := rec.Player.OpenID

	names := func(r reply) []string {
		var out []string
		for _, p := range r.body["Players"].([]any) {
			out = append(out, p.(map[string]any)["Nickname"].(string))
		}
		return out
	}
	for _, q := range []string{id, openID, " HERO@Example.com ", "dev-hero"} {
		r := s.admin("GET", "/players?q="+urlq(q), nil)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, "Hero", names(r)[0], "found by %q", q)
	}
	r := s.admin("GET", "/players?q=hEr", nil)
	assert.Equal(t, []string{"Hero", "Heroine"}, names(r), "nickname prefix, any case")
	p := r.body["Players"].([]any)[0].(map[string]any)
	for _, k := range []string{"UserUniqueID", "OpenID", "Nickname", "LinkedType", "LinkedID", "CreatedAt"} {
		assert.Contains(t, p, k)
	}

	// Pages of one, with a cursor.
	r = s.admin("GET", "/players?q=her&limit=1", nil)
	assert.Equal(t, []string{"Hero"}, names(r))
	cursor := r.body["Cursor"].(string)
	require.NotEmpty(t, cursor)
	r = s.admin("GET", "/players?q=her&limit=1&cursor="+cursor, nil)
	assert.Equal(t, []string{"Heroine"}, names(r))
	assert.Empty(t, r.body["Cursor"], "the last page")
	assert.Equal(t, http.StatusBadRequest, s.admin("GET", "/players?q=her&cursor=forged", nil).status)
	assert.Equal(t, http.StatusBadRequest, s.admin("GET", "/players", nil).status, "q is required")
}

func urlq(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, " ", "%20"), "@", "%40") }

// Every admin action takes effect at the middleware on the next request.
func TestActionsBiteAtTheNextRequest(t *testing.T) {
	s := newServer(t)
	id, access := s.signUp("a@b.co", "Ann", "dev-a")
	me := func() string { return fmt.Sprint(s.do("GET", "/me", access, nil).body["ErrorCode"]) }
	require.Equal(t, "<nil>", me())

	r := s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "cheating", "until": s.clock.Now().Add(time.Hour)})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.NotEmpty(t, r.body["BlockKey"])
	assert.Equal(t, account.CodeAccountBlocked, me())
	require.Equal(t, http.StatusOK, s.admin("DELETE", "/players/"+id+"/block", nil).status)
	assert.Equal(t, "<nil>", me())

	require.Equal(t, http.StatusOK, s.admin("POST", "/devices/dev-a/block", map[string]any{"reason": "farm"}).status)
	assert.Equal(t, account.CodeDeviceBlocked, me())
	require.Equal(t, http.StatusOK, s.admin("DELETE", "/devices/dev-a/block", nil).status)
	assert.Equal(t, "<nil>", me())

	rec := s.admin("GET", "/players/"+id, nil)
	require.Equal(t, http.StatusOK, rec.status, rec.raw)
	sessions := rec.body["Sessions"].([]any)
	require.Len(t, sessions, 1)
	sid := sessions[0].(map[string]any)["SessionID"].(string)
	require.Equal(t, http.StatusOK, s.admin("POST", "/sessions/"+sid+"/revoke", nil).status)
	assert.Equal(t, account.CodeSessionRevoked, me())

	_, access = s.signUp("b@b.co", "Bob", "dev-b")
	bob := s.do("GET", "/auth/token/status", access, nil).body["Player"].(map[string]any)["UserUniqueID"].(string)
	require.Equal(t, http.StatusOK, s.admin("POST", "/players/"+bob+"/revoke", nil).status)
	assert.Equal(t, account.CodeSessionRevoked, me())

	r = s.admin("POST", "/keys/rotate", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ROTATED", r.body["Status"])
	assert.NotEmpty(t, r.body["KeyID"])

	assert.Equal(t, http.StatusNotFound, s.admin("POST", "/players/nobody/block", map[string]any{"reason": "x"}).status)
	assert.Equal(t, http.StatusBadRequest, s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "x", "until": "tomorrow"}).status)
}

func TestPlayerPageRestoreAndExport(t *testing.T) {
	s := newServer(t)
	id, access := s.signUp("a@b.co", "Ann", "dev-a")
	r := s.do("POST", "/auth/withdrawal", access, map[string]any{"memo": "bye"})
	require.Equal(t, http.StatusOK, r.status)
	_, err := s.auth.Service().BlockPlayer(context.Background(), id, account.BlockSpec{Reason: "spam", Until: s.clock.Now().Add(time.Minute)})
	require.NoError(t, err)
	s.clock.Advance(2 * time.Minute) // the block has ended: a past block

	rec := s.admin("GET", "/players/"+id, nil)
	require.Equal(t, http.StatusOK, rec.status, rec.raw)
	for _, k := range []string{"Player", "Identities", "Sessions", "Blocks", "Withdrawal"} {
		assert.Contains(t, rec.body, k)
	}
	pl := rec.body["Player"].(map[string]any)
	assert.Equal(t, "Ann", pl["Nickname"])
	assert.Equal(t, true, pl["HasPassword"])
	assert.NotContains(t, rec.raw, "argon2id", "no password hash")
	sess := rec.body["Sessions"].([]any)[0].(map[string]any)
	for _, k := range []string{"SessionID", "DeviceID", "Platform", "ClientAddr", "CreatedAt", "RefreshedAt", "State"} {
		assert.Contains(t, sess, k)
	}
	assert.Equal(t, "iPhone 17", sess["DeviceModel"])
	assert.Equal(t, "127.0.0.1", sess["ClientAddr"])
	assert.Equal(t, "revoked: withdrawn", sess["State"])
	block := rec.body["Blocks"].([]any)[0].(map[string]any)
	assert.Equal(t, false, block["InForce"])
	assert.Equal(t, "spam", block["Reason"])
	assert.Equal(t, "bye", rec.body["Withdrawal"].(map[string]any)["Memo"])

	require.Equal(t, http.StatusOK, s.admin("POST", "/players/"+id+"/restore", nil).status)
	rec = s.admin("GET", "/players/"+id, nil)
	assert.Nil(t, rec.body["Withdrawal"], "restored")
	assert.Equal(t, http.StatusNotFound, s.admin("POST", "/players/"+id+"/restore", nil).status, "nothing to restore")

	exp := s.admin("GET", "/players/"+id+"/export", nil)
	require.Equal(t, http.StatusOK, exp.status, exp.raw)
	assert.Contains(t, exp.raw, "a@b.co", "the data subject's own data")
	events := exp.body["AuditEvents"].([]any)
	kinds := map[string]bool{}
	for _, e := range events {
		kinds[e.(map[string]any)["Kind"].(string)] = true
	}
	for _, k := range []string{"signup", "withdrawal.requested", "block.added", "withdrawal.restored"} {
		assert.True(t, kinds[k], "export has %s", k)
	}
	assert.NotContains(t, exp.raw, "argon2id")
}

func TestAuditLog(t *testing.T) {
	s := newServer(t)
	id, _ := s.signUp("a@b.co", "Ann", "dev-a")
	s.signUp("b@b.co", "Bob", "dev-b")
	require.Equal(t, http.StatusOK, s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "spam"}).status)

	r := s.admin("GET", "/audit", nil)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	events := r.body["Events"].([]any)
	require.Len(t, events, 3)
	newest := events[0].(map[string]any)
	assert.Equal(t, "block.added", newest["Kind"], "newest first")
	assert.Equal(t, "anna", newest["Operator"], "the operator who acted")
	assert.Equal(t, id, newest["PlayerID"])
	for _, k := range []string{"Kind", "Time", "PlayerID", "SessionID", "DeviceID", "ClientAddr", "Operator", "Reason"} {
		assert.Contains(t, newest, k)
	}

	r = s.admin("GET", "/audit?player="+id, nil)
	assert.Len(t, r.body["Events"], 2)
	r = s.admin("GET", "/audit?kind=signup", nil)
	assert.Len(t, r.body["Events"], 2)
	r = s.admin("GET", "/audit?since="+s.clock.Now().Add(time.Second).Format(time.RFC3339), nil)
	assert.Empty(t, r.body["Events"])
	r = s.admin("GET", "/audit?limit=2", nil)
	assert.Len(t, r.body["Events"], 2)
	r = s.admin("GET", "/audit?limit=2&cursor="+r.body["Cursor"].(string), nil)
	assert.Len(t, r.body["Events"], 1)
	assert.Empty(t, r.body["Cursor"])
	assert.Equal(t, http.StatusBadRequest, s.admin("GET", "/audit?kind=nonsense", nil).status)
	assert.Equal(t, http.StatusBadRequest, s.admin("GET", "/audit?since=yesterday", nil).status)
}

// An operator's input mistake is refused, never turned into a broader
// action: each of these bodies used to make a permanent, account-wide
// block. The message names the field at fault.
func TestInputMistakesAreRefused(t *testing.T) {
	s := newServer(t)
	id, access := s.signUp("a@b.co", "Ann", "dev-a")
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"a typo of services", map[string]any{"reason": "chat spam", "service": []string{"chat"}}, "service"},
		{"a typo of until", map[string]any{"reason": "one day", "untill": "2099-01-01T00:00:00Z"}, "untill"},
		{"a field in another case and a typo", map[string]any{"Reason": "x", "Services": []string{"chat"}, "servcies": nil}, "servcies"},
		{"a blank service", map[string]any{"reason": "x", "services": []string{" "}}, "services"},
		{"an empty service beside another", map[string]any{"reason": "x", "services": []string{"chat", ""}}, "services"},
		{"a repeated service", map[string]any{"reason": "x", "services": []string{"chat", " chat"}}, "services"},
		{"no service at all", map[string]any{"reason": "x", "services": []string{}}, "services"},
		{"an empty reason", map[string]any{"reason": ""}, "reason"},
		{"a blank reason", map[string]any{"reason": "  ", "services": []string{"chat"}}, "reason"},
		{"a reason too long", map[string]any{"reason": strings.Repeat("x", account.MaxBlockReason+1)}, "reason"},
		{"no reason", map[string]any{"until": s.clock.Now().Add(time.Hour)}, "reason"},
		{"an empty body", nil, "reason"},
	} {
		for _, path := range []string{"/players/" + id + "/block", "/devices/dev-a/block"} {
			r := s.admin("POST", path, c.body)
			assert.Equal(t, http.StatusBadRequest, r.status, "%s, %s: %s", c.name, path, r.raw)
			assert.Equal(t, account.CodeInvalidRequest, r.body["ErrorCode"], c.name)
			assert.True(t, strings.HasPrefix(fmt.Sprint(r.body["Message"]), c.field+": "), "%s: the message names %q: %s", c.name, c.field, r.raw)
		}
	}
	// An unknown field next to a mistake in a known one is named as well.
	r := s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "", "untill": "2099-01-01T00:00:00Z"})
	assert.Equal(t, "untill: is not a field of this request", r.body["Message"])
	// A long field name is named in part.
	r = s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "x", strings.Repeat("é", 100): 1})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, strings.Repeat("é", 32)+"…: is not a field of this request", r.body["Message"])

	assert.Empty(t, s.admin("GET", "/players/"+id, nil).body["Blocks"], "nothing was blocked")
	assert.Empty(t, s.admin("GET", "/audit?kind=block.added", nil).body["Events"])
	assert.Equal(t, http.StatusOK, s.do("GET", "/me", access, nil).status, "the player plays on")

	// Actions that take no fields refuse any: a session sent to the
	// player's revoke-all does not end all their sessions.
	for _, c := range []struct{ method, path string }{
		{"POST", "/players/" + id + "/revoke"},
		{"DELETE", "/players/" + id + "/block"},
		{"DELETE", "/devices/dev-a/block"},
		{"POST", "/sessions/some-session/revoke"},
		{"POST", "/players/" + id + "/restore"},
		{"POST", "/keys/rotate"},
	} {
		r := s.admin(c.method, c.path, map[string]any{"session": "some-session"})
		assert.Equal(t, http.StatusBadRequest, r.status, "%s %s: %s", c.method, c.path, r.raw)
		assert.Equal(t, "session: is not a field of this request", r.body["Message"], c.path)
	}
	assert.Equal(t, http.StatusOK, s.do("GET", "/me", access, nil).status, "the session is live")
	assert.Equal(t, http.StatusOK, s.admin("POST", "/players/"+id+"/revoke", map[string]any{}).status, "an empty object is no field")

	// What the operator meant, said right, is done as said.
	r = s.admin("POST", "/players/"+id+"/block", map[string]any{"reason": "chat spam", "services": []string{" chat ", "ranking"},
		"until": s.clock.Now().Add(time.Hour)})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	b := s.admin("GET", "/players/"+id, nil).body["Blocks"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"chat", "ranking"}, b["Services"])
	assert.Equal(t, "chat spam", b["Reason"])
	assert.NotEmpty(t, b["Until"])
}

// Actions on an unknown player answer ACCOUNT_NOT_FOUND and leave no audit
// event; an unknown session 404 INVALID_REQUEST. A device has no registry:
// unblocking one with no block in force answers UNBLOCKED, as docs/API.md
// says.
func TestUnknownSubjects(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/players/no-such-player/revoke", nil},
		{"DELETE", "/players/no-such-player/block", nil},
		{"POST", "/players/no-such-player/block", map[string]any{"reason": "x"}},
	} {
		r := s.admin(c.method, c.path, c.body)
		assert.Equal(t, http.StatusNotFound, r.status, "%s %s: %s", c.method, c.path, r.raw)
		assert.Equal(t, account.CodeAccountNotFound, r.body["ErrorCode"], c.path)
	}
	r := s.admin("POST", "/sessions/no-such-session/revoke", nil)
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	assert.Equal(t, account.CodeInvalidRequest, r.body["ErrorCode"])
	assert.Equal(t, "no such session", r.body["Message"])

	r = s.admin("DELETE", "/devices/never-seen/block", nil)
	assert.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "UNBLOCKED", r.body["Status"])

	r = s.admin("GET", "/audit", nil)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Empty(t, r.body["Events"], "nothing happened to record")
}

// A write a browser sends from another origin is refused before the
// authorizer is asked: an authorizer that reads a cookie would otherwise
// act for any web page the operator has open. Safe methods, and requests
// without the browser's headers (scripts), pass; Config.CrossOrigin trusts
// a console served from elsewhere.
func TestCrossOriginWritesAreRefused(t *testing.T) {
	s := newServer(t)
	id, _ := s.signUp("a@b.co", "Ann", "d1")
	asked := 0
	byCookie := func(r *http.Request) (string, bool) {
		asked++
		c, err := r.Cookie("op")
		return "cookie-op", err == nil && c.Value == "secret"
	}
	trusted := http.NewCrossOriginProtection()
	require.NoError(t, trusted.AddTrustedOrigin("https://console.example"))
	serve := func(cfg admin.Config) string {
		cfg.Authorize = byCookie
		mux := http.NewServeMux()
		mux.Handle("/admin/", http.StripPrefix("/admin", admin.NewHandler(s.auth.Service(), cfg)))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	plain, withTrust := serve(admin.Config{}), serve(admin.Config{CrossOrigin: trusted})
	send := func(base, method, path string, headers map[string]string, body any) reply {
		t.Helper()
		var sent []byte
		if body != nil {
			var err error
			sent, err = json.Marshal(body)
			require.NoError(t, err)
		}
		req, err := http.NewRequest(method, base+"/admin"+path, bytes.NewReader(sent))
		require.NoError(t, err)
		req.Header.Set("Cookie", "op=secret")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode == http.StatusForbidden {
			// The document describes the example's Bearer token, not this
			// host's cookie; the refusal comes before either is read.
			checkOpenAPI(t, req, sent, res, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return reply{res.StatusCode, m, string(raw)}
	}
	block := map[string]any{"reason": "forged"}

	for name, c := range map[string]struct {
		method, path string
		headers      map[string]string
	}{
		"a cross-site block":                 {"POST", "/players/" + id + "/block", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"a same-site block (another origin)": {"POST", "/devices/d1/block", map[string]string{"Sec-Fetch-Site": "same-site"}},
		"an Origin that is not the Host":     {"POST", "/players/" + id + "/block", map[string]string{"Origin": "https://evil.example"}},
		"a cross-site unblock":               {"DELETE", "/players/" + id + "/block", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"a cross-site revoke":                {"POST", "/players/" + id + "/revoke", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		before := asked
		var body any
		if c.method == "POST" && strings.HasSuffix(c.path, "/block") {
			body = block
		}
		r := send(plain, c.method, c.path, c.headers, body)
		assert.Equal(t, http.StatusForbidden, r.status, "%s: %s", name, r.raw)
		assert.Equal(t, account.CodeInvalidRequest, r.body["ErrorCode"], name)
		assert.Contains(t, r.raw, "cross-origin", name)
		assert.Equal(t, before, asked, "%s: the authorizer was not asked", name)
	}
	assert.Empty(t, s.admin("GET", "/players/"+id, nil).body["Blocks"], "nothing was blocked")

	r := send(plain, "GET", "/players/"+id, map[string]string{"Sec-Fetch-Site": "cross-site"}, nil)
	assert.Equal(t, http.StatusOK, r.status, "a read is safe: the browser will not show it to the other site")
	r = send(plain, "POST", "/players/"+id+"/block", map[string]string{"Sec-Fetch-Site": "same-origin"}, block)
	assert.Equal(t, http.StatusOK, r.status, "from the console's own origin: %s", r.raw)
	r = send(plain, "POST", "/players/"+id+"/revoke", nil, nil)
	assert.Equal(t, http.StatusOK, r.status, "a script sends neither header: %s", r.raw)
	r = send(plain, "POST", "/players/"+id+"/revoke", map[string]string{"Sec-Fetch-Site": "none"}, nil)
	assert.Equal(t, http.StatusOK, r.status, "the operator's own doing (a bookmark, the address bar): %s", r.raw)

	trustedOrigin := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://console.example"}
	r = send(withTrust, "POST", "/players/"+id+"/revoke", trustedOrigin, nil)
	assert.Equal(t, http.StatusOK, r.status, "a trusted origin: %s", r.raw)
	r = send(withTrust, "POST", "/players/"+id+"/revoke", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, nil)
	assert.Equal(t, http.StatusForbidden, r.status, "any other: %s", r.raw)
}
