package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// caller calls the server as a game client does, for one test.
type caller struct {
	t      *testing.T
	client *http.Client
}

func newCaller(t *testing.T) caller {
	return caller{t: t, client: &http.Client{Timeout: 10 * time.Second}}
}

// call sends body as JSON, with token as a Bearer when set.
func (c *caller) call(method, url, token string, body any) reply {
	return postJSON(c.client, method, url, token, body)
}

// must requires r to have come with status.
func (c *caller) must(r reply, status int) reply {
	c.t.Helper()
	require.NoError(c.t, r.err)
	require.Equal(c.t, status, r.status, r.body)
	return r
}
