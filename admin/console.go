package admin

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gameauth/gameauth/account"
)

// consoleFiles is the console: a page, its script and its style sheet,
// built into the binary so that no tool chain or file beside it is needed.
//
//go:embed console
var consoleFiles embed.FS

// consolePolicy is the console's Content-Security-Policy: nothing but its
// own files, no inline script or style, no eval, no frames, no <base>; and
// Trusted Types with no policy, so that even a mistaken innerHTML
// assignment throws instead of parsing a player's text as markup.
const consolePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// Console returns the operators' web page, for Config.Console: the page
// at GET / and its files under GET /console/. The page holds no data: it
// asks for the operator's token, keeps it in the tab's sessionStorage,
// and calls the API beside it with relative URLs and that token as a
// Bearer header, so it works under any prefix the host mounts the handler
// at, and there is no cookie a forged cross-site request could ride on.
// Every answer carries a Content-Security-Policy that forbids inline
// script.
func Console() http.Handler {
	kinds, _ := json.Marshal(account.AuditKinds()) // a []string always marshals
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consolePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusMethodNotAllowed,
				Message: "method not allowed; use GET"})
			return
		}
		name, ok := consoleFile(r.URL.Path)
		if !ok {
			account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such file"})
			return
		}
		if name == "kinds.json" {
			// The audit log's kinds, from the service, for the filter.
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(kinds))
			return
		}
		data, err := fs.ReadFile(consoleFiles, "console/"+name)
		if err != nil {
			account.WriteError(w, &account.Error{Code: account.CodeInvalidRequest, Status: http.StatusNotFound, Message: "no such file"})
			return
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	})
}

// consoleFile maps a request path to the embedded file it names: the page
// at the root, the rest under /console/. The page itself is not served
// under /console/: its relative URLs are meant to resolve beside the API.
func consoleFile(p string) (string, bool) {
	if p == "/" || p == "" {
		return "index.html", true
	}
	name, ok := strings.CutPrefix(p, "/console/")
	if !ok || name == "" || name == "index.html" || strings.Contains(name, "/") || path.Clean(name) != name {
		return "", false
	}
	return name, true
}
