package account_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/docs/openapitest"
)

// The wire tests' exchanges, checked against docs/openapi.yaml: env.call
// hands every request and answer to checkOpenAPI.

// mount is where the example server mounts the handler, and so the prefix
// of the document's paths.
const mount = "/auth"

// checkOpenAPI checks one exchange of the handler against the document,
// at the path the example server serves it.
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	r := req.Clone(req.Context())
	if strings.HasPrefix(r.URL.Path, "/") {
		r.URL.Path = mount + r.URL.Path
		r.URL.RawPath = ""
	}
	if err := c.Check(openapitest.Exchange{Request: r, RequestBody: body, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}); err != nil {
		t.Error(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	openapitest.ReportCoverage(mount+"/", "the account handler's", testing.Verbose())
	os.Exit(code)
}

// TestOpenAPIRoutes fails when the handler serves a route the document
// lacks, or the document lists one the handler does not serve: the
// handler's routes are those it is built from (its route table), the
// document's are its operations under /auth.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t)
	var served []string
	for path, methods := range HandlerRoutes(e.h) {
		for _, m := range methods {
			served = append(served, m+" "+mount+path)
		}
	}
	sort.Strings(served)
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	documented := c.Operations(mount + "/")
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("the handler serves %s; docs/openapi.yaml lacks it", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("docs/openapi.yaml lists %s; the handler does not serve it", op)
		}
	}
	if len(served) < 60 {
		t.Errorf("only %d routes found; the route table was not read", len(served))
	}
}

// TestOpenAPIServed checks GET /openapi.json: the document, as JSON, the
// same the checks above use.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.call(http.MethodGet, "/openapi.json", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if r.Body["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", r.Body["openapi"])
	}
	paths, _ := r.Body["paths"].(map[string]any)
	for _, p := range []string{"/auth/email/signup", "/auth/federated/signin", "/auth/identities", "/auth/openapi.json", "/admin/players/{id}"} {
		if paths[p] == nil {
			t.Errorf("the served document has no %s", p)
		}
	}
}

// TestOpenAPIErrorCodes checks the document's error answers against the
// code table (Sentinels) and the legacy codes (LegacyCodes): ErrorCode's
// values are both sets exactly; every error response of every operation
// lists its codes; each code is answered with its table status; under
// /auth/ each contract code that has a legacy number lists that number too
// (and no number without its code), while the admin API, which always
// answers the contract codes, lists none.
func TestOpenAPIErrorCodes(t *testing.T) {
	c, err := openapitest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]int{}
	legacyOf := map[string]string{}
	want := map[string]bool{}
	for _, e := range Sentinels() {
		status[e.Code] = e.Status
		want[e.Code] = true
		if l, _ := LegacyCodes.Code(e.Code); l != e.Code {
			legacyOf[e.Code] = l
			want[l] = true
		}
	}
	got := map[string]bool{}
	for _, v := range c.Doc.Components.Schemas["ErrorCode"].Value.Enum {
		got[fmt.Sprint(v)] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ErrorCode's values are %v; the code table and the legacy codes are %v", got, want)
	}
	responses := 0
	for _, path := range c.Doc.Paths.InMatchingOrder() {
		legacy := strings.HasPrefix(path, mount+"/")
		if !legacy && !strings.HasPrefix(path, "/admin/") {
			continue // the probes: not the handlers' error table
		}
		for method, op := range c.Doc.Paths.Value(path).Operations() {
			for st, ref := range op.Responses.Map() {
				if st[0] != '4' && st[0] != '5' || ref.Value.Content.Get("application/json") == nil {
					continue
				}
				where := method + " " + path + " " + st
				sch := ref.Value.Content.Get("application/json").Schema.Value
				if len(sch.AllOf) != 2 || sch.AllOf[1].Value.Properties["ErrorCode"] == nil {
					t.Errorf("%s: not BaseResponse with its list of codes", where)
					continue
				}
				responses++
				listed := map[string]bool{}
				for _, v := range sch.AllOf[1].Value.Properties["ErrorCode"].Value.Enum {
					listed[fmt.Sprint(v)] = true
				}
				for code := range listed {
					if s, ok := status[code]; ok {
						if fmt.Sprint(s) != st && !(code == CodeInvalidRequest && (st == "404" || st == "405" || st == "413" ||
							st == "403" && strings.HasPrefix(path, "/admin/"))) { // 403: the admin API's cross-origin writes
							t.Errorf("%s lists %s, which the table answers %d", where, code, s)
						}
						if l := legacyOf[code]; l != "" && legacy && !listed[l] {
							t.Errorf("%s lists %s without its legacy code %s", where, code, l)
						}
						continue
					}
					ok := false
					for contract, l := range legacyOf {
						ok = ok || l == code && listed[contract]
					}
					if !ok || !legacy {
						t.Errorf("%s lists %s, no legacy code of a code it lists (or the admin API, which has none)", where, code)
					}
				}
			}
		}
	}
	if responses < 100 {
		t.Errorf("only %d error responses found", responses)
	}
}
