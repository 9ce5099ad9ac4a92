package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/admin"
)

// The console's files are public (they hold no data); everything else
// under the mount is the API, behind the operator's token.
func TestConsoleFiles(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct {
		method, path, bearer string
		status               int
		contentType          string
		console              bool // carries the console's security headers
	}{
		{"GET", "/admin/", "", http.StatusOK, "text/html; charset=utf-8", true},
		{"GET", "/admin/console/app.js", "", http.StatusOK, "text/javascript; charset=utf-8", true},
		{"HEAD", "/admin/", "", http.StatusOK, "text/html; charset=utf-8", true},
		{"GET", "/admin/console/style.css", "", http.StatusOK, "text/css; charset=utf-8", true},
		{"GET", "/admin/console/kinds.json", "", http.StatusOK, "application/json", true},
		{"GET", "/admin/console/index.html", "", http.StatusNotFound, "application/json; charset=utf-8", true},
		{"GET", "/admin/console/", "", http.StatusNotFound, "application/json; charset=utf-8", true},
		{"GET", "/admin/console/nope.js", "", http.StatusNotFound, "application/json; charset=utf-8", true},
		{"GET", "/admin/console/sub/app.js", "", http.StatusNotFound, "application/json; charset=utf-8", true},
		// Not the console's: the API's, which wants the token.
		{"POST", "/admin/", "", http.StatusUnauthorized, "application/json; charset=utf-8", false},
		{"POST", "/admin/console/app.js", "", http.StatusUnauthorized, "application/json; charset=utf-8", false},
		{"GET", "/admin/players?q=x", "", http.StatusUnauthorized, "application/json; charset=utf-8", false},
		{"GET", "/admin/consoles", "", http.StatusUnauthorized, "application/json; charset=utf-8", false},
		{"DELETE", "/admin/", token, http.StatusNotFound, "application/json; charset=utf-8", false},
	} {
		req, err := http.NewRequest(c.method, s.url+c.path, nil)
		require.NoError(t, err)
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		name := c.method + " " + c.path
		assert.Equal(t, c.status, res.StatusCode, "%s: %s", name, body)
		assert.Equal(t, c.contentType, res.Header.Get("Content-Type"), name)
		csp := res.Header.Get("Content-Security-Policy")
		if !c.console {
			assert.Empty(t, csp, name)
			continue
		}
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
			"frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'", "require-trusted-types-for 'script'"} {
			assert.Contains(t, csp, want, name)
		}
		assert.NotContains(t, csp, "unsafe", name)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), name)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), name)
	}
}

// The audit log's filter offers the service's kinds, from the service.
func TestConsoleKinds(t *testing.T) {
	srv := httptest.NewServer(admin.Console())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/console/kinds.json")
	require.NoError(t, err)
	defer res.Body.Close()
	var kinds []string
	require.NoError(t, json.NewDecoder(res.Body).Decode(&kinds))
	assert.Equal(t, account.AuditKinds(), kinds)

	res, err = http.Post(srv.URL+"/", "text/plain", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "mounted alone, it still only reads")
}

// The page's markup has nothing the policy would block, so that the policy
// can stay strict: no inline script, handler or style, and URLs that are
// relative to the mount.
func TestConsoleMarkupNeedsNoInlineScript(t *testing.T) {
	srv := httptest.NewServer(admin.Console())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	page := string(raw)

	scripts := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, scripts)
	for _, m := range scripts {
		assert.Contains(t, m[1], `src="console/`, "a script is a relative file")
		assert.Empty(t, strings.TrimSpace(m[2]), "no inline script")
	}
	assert.NotRegexp(t, `(?i)\son[a-z]+\s*=`, page, "no inline handler")
	assert.NotRegexp(t, `(?i)\sstyle\s*=|<style`, page, "no inline style")
	assert.NotRegexp(t, `(?i)(src|href)="/`, page, "no absolute URL: the mount's prefix is unknown")
}
