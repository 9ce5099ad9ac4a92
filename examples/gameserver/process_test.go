package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What the tests that run the example server as a real process share:
// building it, starting it, and calling it as a game client does.

// node is a running example server.
type node struct {
	cmd  *exec.Cmd
	base string // http://host:port; empty if it did not start
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildServer builds the example server into the test's temporary
// directory and returns the binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gameserver")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs bin with args, env added to this process's environment,
// and returns once it listens (its base is empty if it did not within
// 30 s). It is killed when the test ends, and its log, called name, shown
// if the test failed.
func startServer(t *testing.T, name, bin string, env []string, args ...string) *node {
	n := &node{logs: &lockedBuffer{}}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Env = append(os.Environ(), env...)
	stderr, err := n.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, n.cmd.Start())
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, n.logs)
		}
	})
	found, exited := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			_, _ = n.logs.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		n.base = "http://" + addr
	case <-exited: // it closed its stderr: it is gone
	case <-time.After(30 * time.Second):
	}
	return n
}

// reply is a server's answer: status and JSON body, or the error that
// kept it from coming.
type reply struct {
	status int
	body   map[string]any
	err    error
}

// caller calls the server as a game client does, for one test.
type caller struct {
	t      *testing.T
	client *http.Client
}

func newCaller(t *testing.T) caller {
	return caller{t: t, client: &http.Client{Timeout: 10 * time.Second}}
}

func (c *caller) call(method, url, token string, body any) reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return reply{status: res.StatusCode, body: m}
}

// must requires r to have come with status.
func (c *caller) must(r reply, status int) reply {
	c.t.Helper()
	require.NoError(c.t, r.err)
	require.Equal(c.t, status, r.status, r.body)
	return r
}

func pair(r reply) (access, refresh string) {
	tok, _ := r.body["Token"].(map[string]any)
	access, _ = tok["AccessToken"].(string)
	refresh, _ = tok["RefreshToken"].(string)
	return access, refresh
}

func device(id string) map[string]any { return map[string]any{"platform": "pc", "device_id": id} }

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
