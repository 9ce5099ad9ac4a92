// Package openapitest checks HTTP exchanges against docs/openapi.yaml, for
// the wire tests of the account handler and the admin API: every request
// they send and every answer they get goes through Checker.Check, so that
// the document cannot drift from what the handlers do. It is imported by
// tests only.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/gameauth/gameauth/docs"
)

// Checker validates exchanges against the document. It is safe for
// concurrent use.
type Checker struct {
	Doc    *openapi3.T
	router routers.Router
	errSch *openapi3.Schema

	mu      sync.Mutex
	checked int
	hits    map[string]int // "METHOD /path" of the document → answers checked
}

var (
	shared     *Checker
	sharedErr  error
	sharedOnce sync.Once
)

// Shared is one Checker for the whole test binary, so that its counts
// cover every test of the package.
func Shared() (*Checker, error) {
	sharedOnce.Do(func() { shared, sharedErr = New() })
	return shared, sharedErr
}

// New loads the document as the handler serves it (docs.OpenAPIJSON) and
// validates it.
func New() (*Checker, error) {
	data, err := docs.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	// The servers name a public host; the tests' requests go to any.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	errSch := doc.Components.Schemas["BaseResponse"]
	if errSch == nil || errSch.Value == nil {
		return nil, errors.New("openapi: no BaseResponse schema")
	}
	c := &Checker{Doc: doc, router: router, errSch: errSch.Value, hits: map[string]int{}}
	for _, p := range doc.Paths.InMatchingOrder() {
		for m := range doc.Paths.Value(p).Operations() {
			c.hits[m+" "+p] = 0
		}
	}
	return c, nil
}

// Exchange is one request and the answer it got. Request's URL path is the
// path as the example server mounts the handlers (/auth/…, /admin/…); its
// body is ignored in favour of RequestBody.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// Check validates one exchange. A documented route's request is validated
// (body, parameters, security) and its answer must be one of the operation's
// documented responses, with the status, content type, headers and body
// schema the document gives. A request the document calls invalid must not
// succeed. A path the document lacks must answer 404, a method it lacks on
// a documented path 405 with Allow naming the documented methods, both as
// BaseResponse with INVALID_REQUEST. The error names the route and every
// mismatch.
func (c *Checker) Check(x Exchange) error {
	err := c.check(x)
	if err != nil {
		return fmt.Errorf("openapi: %s %s → %d: %w", x.Request.Method, x.Request.URL.Path, x.Status, err)
	}
	return nil
}

func (c *Checker) check(x Exchange) error {
	req := x.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	req.ContentLength = int64(len(x.RequestBody))
	if req.Header.Get("Content-Type") == "" && len(x.RequestBody) > 0 {
		// The handlers read a body as JSON whatever its type (the
		// document says so); a client that sends none is served.
		req.Header.Set("Content-Type", "application/json")
	}
	head := req.Method == http.MethodHead
	if head {
		req.Method = http.MethodGet // HEAD is GET without a body
	}
	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		c.count("")
		return c.refusal(x, http.StatusNotFound, "")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		c.count("")
		return c.refusal(x, http.StatusMethodNotAllowed, c.allowed(req))
	case err != nil:
		return fmt.Errorf("routing: %w", err)
	}
	c.count(route.Method + " " + route.Path)
	if head {
		return nil
	}
	opts := &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		AuthenticationFunc:    bearer,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	var problems []string
	if reqErr != nil && x.Status >= 200 && x.Status < 300 {
		problems = append(problems, "the handler accepted a request the document calls invalid: "+reqErr.Error())
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: opts}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		problems = append(problems, "response: "+err.Error()+"; body: "+string(x.Body))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// bearer is the document's Bearer schemes: an Authorization header with the
// scheme (in any case) and a token. Whether the token is good is the
// handler's to say; the answer's documented 401 covers that.
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, tok, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return errors.New("no Bearer token")
	}
	return nil
}

// refusal checks a routing refusal: status, BaseResponse with
// INVALID_REQUEST, and for a 405 the Allow header.
func (c *Checker) refusal(x Exchange, status int, allow string) error {
	if x.Status != status {
		if status == http.StatusNotFound {
			return errors.New("the document has no such path, yet the handler did not answer 404")
		}
		return fmt.Errorf("the document has no %s operation here (it has %s), yet the handler did not answer 405", x.Request.Method, allow)
	}
	if status == http.StatusMethodNotAllowed && normAllow(x.Header.Get("Allow")) != allow {
		return fmt.Errorf("Allow is %q, the document's methods are %q", x.Header.Get("Allow"), allow)
	}
	if ct := x.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type %q, not BaseResponse's application/json", ct)
	}
	var body any
	if err := json.Unmarshal(x.Body, &body); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	if err := c.errSch.VisitJSON(body, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("body is not a BaseResponse: %w", err)
	}
	if code := body.(map[string]any)["ErrorCode"]; code != "INVALID_REQUEST" {
		return fmt.Errorf("ErrorCode %v, want INVALID_REQUEST", code)
	}
	return nil
}

// allowed is the document's methods of req's path, as Allow lists them.
func (c *Checker) allowed(req *http.Request) string {
	var ms []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
		r := req.Clone(context.Background())
		r.Method = m
		if _, _, err := c.router.FindRoute(r); err == nil {
			ms = append(ms, m)
		}
	}
	return strings.Join(ms, ", ")
}

// normAllow drops HEAD (net/http's mux adds it to GET) and puts the
// methods in the order allowed lists them.
func normAllow(h string) string {
	var ms []string
	for _, m := range strings.Split(h, ",") {
		if m = strings.TrimSpace(m); m != "" && m != http.MethodHead {
			ms = append(ms, m)
		}
	}
	order := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch}
	sort.SliceStable(ms, func(i, j int) bool { return slices.Index(order, ms[i]) < slices.Index(order, ms[j]) })
	return strings.Join(ms, ", ")
}

func (c *Checker) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if op != "" {
		c.hits[op]++
	}
}

// Checked is the number of exchanges checked so far.
func (c *Checker) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Unexercised are the document's operations ("METHOD /path") under prefix
// that no checked exchange reached.
func (c *Checker) Unexercised(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for op, n := range c.hits {
		if n == 0 && strings.HasPrefix(strings.SplitN(op, " ", 2)[1], prefix) {
			out = append(out, op)
		}
	}
	sort.Strings(out)
	return out
}

// Operations are the document's operations ("METHOD /path") under prefix.
func (c *Checker) Operations(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for op := range c.hits {
		if strings.HasPrefix(strings.SplitN(op, " ", 2)[1], prefix) {
			out = append(out, op)
		}
	}
	sort.Strings(out)
	return out
}

// ReportCoverage prints, for a test binary's TestMain after m.Run, how
// many answers the shared Checker checked and how many of the operations
// under prefix (what names them) the tests reached; verbose (testing.Verbose()), which not.
func ReportCoverage(prefix, what string, verbose bool) {
	c, err := Shared()
	if err != nil || c.Checked() == 0 {
		return
	}
	ops, left := c.Operations(prefix), c.Unexercised(prefix)
	fmt.Printf("openapi: %d answers checked against docs/openapi.yaml; %d of %s %d operations reached\n",
		c.Checked(), len(ops)-len(left), what, len(ops))
	if verbose && len(left) > 0 {
		fmt.Printf("openapi: not reached: %s\n", strings.Join(left, ", "))
	}
}
