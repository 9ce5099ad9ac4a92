package admin_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gameauth/gameauth/admin"
	"github.com/gameauth/gameauth/docs/openapitest"
)

// The wire tests' exchanges with the admin API (and the account handler
// beside it), checked against docs/openapi.yaml: server.do hands every
// request and answer to checkOpenAPI.

// checkOpenAPI checks one exchange under /admin/ or /auth/, the handlers
// the document describes; the example's game route (/me) is not theirs.
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, res *http.Response, raw []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/admin/") && !strings.HasPrefix(req.URL.Path, "/auth/") {
		return
	}
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(openapitest.Exchange{Request: req, RequestBody: body, Status: res.StatusCode, Header: res.Header, Body: raw}); err != nil {
		t.Error(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	openapitest.ReportCoverage("/admin/", "the admin API's", testing.Verbose())
	os.Exit(code)
}

// TestOpenAPIRoutes fails when the admin API serves a route the document
// lacks, or the document lists one under /admin/ that it does not serve:
// the API's routes are the ServeMux patterns it is built from, plus the
// console's page and files, which are served before the mux (probed).
func TestOpenAPIRoutes(t *testing.T) {
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, p := range admin.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Fatalf("pattern %q has no method", p)
		}
		served = append(served, method+" /admin"+path)
	}
	s := newServer(t)
	for _, console := range []struct{ op, probe string }{
		{"GET /admin/", "/admin/"},
		{"GET /admin/console/{file}", "/admin/console/kinds.json"},
	} {
		if r := s.do("GET", console.probe, "", nil); r.status == http.StatusOK {
			served = append(served, console.op)
		}
	}
	documented := c.Operations("/admin/")
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("the admin API serves %s; docs/openapi.yaml lacks it", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("docs/openapi.yaml lists %s; the admin API does not serve it", op)
		}
	}
	if len(served) < 12 {
		t.Errorf("only %d routes found", len(served))
	}
}
