package federated

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// env is what every provider of a Set shares: the clock, the timeout of a
// vendor call and the HTTP client.
type env struct {
	now     func() time.Time
	timeout time.Duration
	// client follows no redirects (a redirect could carry Steam's key to
	// another host, or Game Center's certificate fetch off Apple's hosts)
	// and gives up after timeout.
	client *http.Client
}

// newEnv derives the client env uses from c (nil: http.DefaultClient's
// transport), leaving c itself untouched.
func newEnv(c *http.Client, now func() time.Time, timeout time.Duration) *env {
	var cl http.Client
	if c != nil {
		cl = *c
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cl.Timeout <= 0 || cl.Timeout > timeout {
		cl.Timeout = timeout
	}
	return &env{now: now, timeout: timeout, client: &cl}
}

// answer is a vendor's answer to one request.
type answer struct {
	status int
	body   []byte
}

// get sends a GET to u with header, bounded by the timeout, and reads at
// most limit bytes of the answer. Its errors never hold u, which may carry
// an API key.
func (e *env) get(ctx context.Context, u string, header http.Header, limit int64) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return answer{}, errors.New("cannot build the request")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := e.client.Do(req)
	if err != nil {
		return answer{}, transportError(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return answer{}, transportError(err)
	}
	if int64(len(body)) > limit {
		return answer{}, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return answer{status: res.StatusCode, body: body}, nil
}

// transportError strips the *url.Error net/http wraps around a failure:
// its text holds the request's URL, query and all.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// serverTrouble is true for the statuses that say the vendor cannot
// answer now rather than that it refuses.
func serverTrouble(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}
