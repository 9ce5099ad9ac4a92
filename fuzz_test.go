package gameauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http/httpguts"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/account"
)

// The stand-ins a fuzz input may use for a live session's tokens: each
// input that names one gets a fresh guest session, so that Bearer
// endpoints and refreshes are reached past the token check.
const (
	fuzzAccess  = "$ACCESS"
	fuzzRefresh = "$REFRESH"
)

var errorCodes = account.Codes()

// successKeys are the top-level fields of docs/API.md's success shapes (and
// of the game route's Player, and the OpenAPI document's "openapi"): every 2xx
// answer has one.
var successKeys = []string{"Token", "Status", "Nickname", "Items", "keys", "UserUniqueID", "Identities", "openapi"}

// FuzzHandler sends whole requests (method, target, header lines, body)
// to a game server on gameauth.New with a real SQLite store: the account
// handler and game routes behind the middleware. Whatever comes, nothing
// panics, nothing answers 5xx (the store is healthy, so not even 503), and
// every answer is one JSON object in docs/API.md's shape: an ErrorCode of
// the contract with a Message, or a success shape; an error never carries
// the session's tokens. The committed corpus (testdata/fuzz/FuzzHandler)
// holds a valid request for every endpoint and the hostile ones of the
// fault suite; CI fuzzes on from it for a short while.
func FuzzHandler(f *testing.F) {
	auth, err := gameauth.New(context.Background(), gameauth.Config{
		DBPath:  filepath.Join(f.TempDir(), "fuzz.db"),
		Account: account.Config{PasswordHashing: cheap, SignInLimit: -1},
	})
	require.NoError(f, err)
	f.Cleanup(func() { _ = auth.Close() })
	// /auth and below go to the library's handler whatever the path (a
	// ServeMux would first redirect /auth, and paths that are not clean,
	// with a body of its own); the game routes go through the host's mux.
	lib, game := http.StripPrefix("/auth", auth.Handler()), hostRoutes(auth)
	toLib := func(p string) bool { return p == "/auth" || strings.HasPrefix(p, "/auth/") }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if toLib(r.URL.Path) {
			lib.ServeHTTP(w, r)
			return
		}
		game.ServeHTTP(w, r)
	})
	device := 0

	f.Fuzz(func(t *testing.T, method, target, header string, body []byte) {
		req := fuzzRequest(method, target, header)
		if req == nil {
			return // not a request net/http would hand a handler
		}
		if p := req.URL.Path; !toLib(p) && path.Clean(p) != p {
			return // the host's ServeMux redirects it, not the library
		}
		var access, refresh string
		if strings.Contains(header, fuzzAccess) || bytes.Contains(body, []byte(fuzzRefresh)) {
			device++
			access, refresh = guestSession(t, h, "fuzz-"+strconv.Itoa(device))
			for k, vs := range req.Header {
				for i, v := range vs {
					req.Header[k][i] = strings.ReplaceAll(v, fuzzAccess, access)
				}
			}
			body = bytes.ReplaceAll(body, []byte(fuzzRefresh), []byte(refresh))
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		where := method + " " + target
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("%s: status %d: %s", where, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && ct != "application/jwk-set+json" {
			t.Fatalf("%s: %d with Content-Type %q: %q", where, rec.Code, ct, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: %d not one JSON object: %v: %q", where, rec.Code, err, rec.Body)
		}
		code, _ := out["ErrorCode"].(string)
		switch {
		case rec.Code >= 400 && (!slices.Contains(errorCodes, code) || out["Message"] == nil):
			t.Fatalf("%s: %d not the contract's error shape: %s", where, rec.Code, rec.Body)
		case rec.Code >= 400 && access != "" &&
			(strings.Contains(rec.Body.String(), access) || strings.Contains(rec.Body.String(), refresh)):
			t.Fatalf("%s: an error carries the session's token: %s", where, rec.Body)
		case rec.Code < 400 && (code != "" || !slices.ContainsFunc(successKeys, func(k string) bool { return out[k] != nil })):
			t.Fatalf("%s: %d not a success shape: %s", where, rec.Code, rec.Body)
		}
	})
}

// fuzzRequest builds the request, or nil where net/http's server would
// refuse it before any handler (a bad method, target or header).
func fuzzRequest(method, target, header string) *http.Request {
	if method == "" || strings.IndexFunc(method, func(r rune) bool { return !httpguts.IsTokenRune(r) }) >= 0 {
		return nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil || !strings.HasPrefix(target, "/") {
		return nil
	}
	req := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "game.example", RemoteAddr: "192.0.2.1:1234"}
	sc := bufio.NewScanner(strings.NewReader(header))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		v = strings.TrimSpace(v)
		if !ok || !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return nil
		}
		req.Header.Add(k, v)
	}
	if len(header) > 16<<10 {
		return nil // over the server's header bound: 431 before any handler
	}
	return req
}

// guestSession signs a new guest in through h.
func guestSession(t *testing.T, h http.Handler, device string) (access, refresh string) {
	req := httptest.NewRequest("POST", "/auth/guest/signin", strings.NewReader(`{"platform":"pc","device_id":"`+device+`"}`))
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var out struct {
		Token struct{ AccessToken, RefreshToken string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	return out.Token.AccessToken, out.Token.RefreshToken
}

// The committed corpus holds a request for every path and method of
// docs/API.md's endpoint table, aliases included, so that the fuzzer starts
// from every endpoint; a new endpoint without a seed fails here.
func TestFuzzCorpusCoversEveryEndpoint(t *testing.T) {
	seeds := map[string]bool{} // "METHOD /path"
	dir := filepath.Join("testdata", "fuzz", "FuzzHandler")
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, fi := range files {
		b, err := os.ReadFile(filepath.Join(dir, fi.Name()))
		require.NoError(t, err)
		lines := strings.Split(string(b), "\n")
		require.GreaterOrEqual(t, len(lines), 5, fi.Name())
		require.Equal(t, "go test fuzz v1", lines[0], fi.Name())
		method, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		require.NoError(t, err, fi.Name())
		target, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "string("), ")"))
		require.NoError(t, err, fi.Name())
		p, _, _ := strings.Cut(target, "?")
		seeds[method+" "+p] = true
	}
	doc, err := os.ReadFile(filepath.Join("docs", "API.md"))
	require.NoError(t, err)
	// The handler's endpoints: the "## Endpoints" section, up to the next
	// section (the admin API is another handler).
	_, api, ok := strings.Cut(string(doc), "\n## Endpoints\n")
	require.True(t, ok, "docs/API.md has an Endpoints section")
	api, _, _ = strings.Cut(api, "\n## ")
	row := regexp.MustCompile("(?m)^\\| ([A-Z, ]+) \\| `(/[^`]*)` \\|.*\\|([^|]*)\\|$")
	paths := regexp.MustCompile("`(/[^`]*)`")
	rows := row.FindAllStringSubmatch(api, -1)
	require.NotEmpty(t, rows, "docs/API.md's endpoint table")
	for _, r := range rows {
		all := []string{r[2]}
		for _, alias := range paths.FindAllStringSubmatch(r[3], -1) {
			all = append(all, alias[1])
		}
		for _, m := range strings.Split(r[1], ", ") {
			for _, p := range all {
				assert.True(t, seeds[m+" /auth"+p], "no seed for %s /auth%s in %s", m, p, dir)
			}
		}
	}
}
