package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The helpers of the tests that run the example server as real processes:
// build it, start and kill it, and start private Redis and PostgreSQL
// servers that a test may stop, stall or restart without disturbing the
// machine's shared ones, which other packages' tests use at the same time.

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

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// built is this package's server, built once for all the tests of a run
// (linking alone takes seconds) into a directory TestMain removes.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildGameserver returns the path of the example server, built for the
// tests.
func buildGameserver(t *testing.T) string {
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "gameauth-gameserver-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "gameserver")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, built.err)
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// processTest skips a test that runs the example server as processes
// under -short: they need only the go tool, but take seconds.
func processTest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a fault test that runs the example server as processes")
	}
}

// sharedPostgres is the machine's PostgreSQL, or a skip.
func sharedPostgres(t *testing.T) string {
	dsn := os.Getenv("GAMEAUTH_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("GAMEAUTH_TEST_POSTGRES not set: skipping a test of the example server on PostgreSQL")
	}
	return dsn
}

// clusterServices are what several nodes share: a fresh schema of the
// machine's PostgreSQL (its DSN) and a private Redis the test may stop; or a
// skip naming what.
func clusterServices(t *testing.T, what string) (dsn string, rd *redisServer) {
	pg := os.Getenv("GAMEAUTH_TEST_POSTGRES")
	if pg == "" || os.Getenv("GAMEAUTH_TEST_REDIS") == "" {
		t.Skip("GAMEAUTH_TEST_POSTGRES and GAMEAUTH_TEST_REDIS not both set: skipping " + what)
	}
	return freshSchema(t, pg), startRedis(t)
}

// freshSchema creates a schema in the PostgreSQL at dsn, dropped after the
// test, and returns dsn with it as the search_path.
func freshSchema(t *testing.T, dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	schema := randomName("gameauth_mp_")
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// node is one example-server process.
type node struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// launch starts bin with args and waits for it to listen (on -addr
// 127.0.0.1:0: the log line names the port). n.base is empty if it did not
// start within 30 s; the caller reports that, so launch is safe in a
// goroutine. The process is killed after the test.
func launch(t *testing.T, bin string, args ...string) *node {
	return launchCmd(t, exec.Command(bin, args...))
}

func launchCmd(t *testing.T, cmd *exec.Cmd) *node {
	n := &node{cmd: cmd, logs: &lockedBuffer{}}
	stderr, err := n.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, n.cmd.Start())
	t.Cleanup(func() { n.kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
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
	case <-time.After(30 * time.Second):
	}
	return n
}

// mustLaunch is launch that fails the test, with the log, when the server
// does not start.
func mustLaunch(t *testing.T, bin string, args ...string) *node {
	return mustLaunchCmd(t, exec.Command(bin, args...))
}

func mustLaunchCmd(t *testing.T, cmd *exec.Cmd) *node {
	n := launchCmd(t, cmd)
	require.NotEmpty(t, n.base, "the example server did not start:\n%s", n.logs)
	logOnFailure(t, "server", n)
	return n
}

func logOnFailure(t *testing.T, name string, n *node) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", name, n.logs)
		}
	})
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would.
func (n *node) kill() {
	if n.cmd.ProcessState == nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	}
}

// rss is the process's resident memory, from /proc.
func (n *node) rss(t *testing.T) int64 {
	rss, err := n.readRSS()
	require.NoError(t, err)
	return rss
}

func (n *node) readRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/<pid>/status")
}

// fds counts the process's open file descriptors.
func (n *node) fds(t *testing.T) int {
	c, err := n.readFDs()
	require.NoError(t, err)
	return c
}

func (n *node) readFDs() (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.cmd.Process.Pid))
	return len(ents), err
}

// redisServer is a private redis-server a test may stop and start.
type redisServer struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "the test starts a redis-server of its own")
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	r.start()
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	require.NoError(r.t, cmd.Start())
	r.cmd = cmd
	r.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(r.t, func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
}

func (r *redisServer) stop() {
	require.NoError(r.t, r.cmd.Process.Kill())
	_ = r.cmd.Wait()
}

// postgresServer is a private PostgreSQL cluster in a temporary directory,
// on a port of its own, that a test may stop, restart or stall.
type postgresServer struct {
	t      *testing.T
	bindir string
	dir    string
	port   int
	runAs  []string // runuser -u postgres -- when the test runs as root
	dsn    string
}

// postgresBinDir finds initdb and pg_ctl: GAMEAUTH_TEST_PG_BIN (which must
// hold them), else PATH, else the newest /usr/lib/postgresql/*/bin.
func postgresBinDir(t *testing.T) string {
	if dir := os.Getenv("GAMEAUTH_TEST_PG_BIN"); dir != "" {
		_, err := os.Stat(filepath.Join(dir, "initdb"))
		require.NoError(t, err, "GAMEAUTH_TEST_PG_BIN names no directory with initdb")
		return dir
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		t.Skip("no initdb (set GAMEAUTH_TEST_PG_BIN): skipping a test that starts a PostgreSQL of its own")
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// startPrivatePostgres initializes and starts a PostgreSQL of the test's
// own, with trust authentication, fsync off (a test database), and its
// socket in its own directory. Run as root, the server runs as the
// postgres user, which it insists on.
func startPrivatePostgres(t *testing.T) *postgresServer {
	sharedPostgres(t) // the gate: this machine has PostgreSQL for tests
	p := &postgresServer{t: t, bindir: postgresBinDir(t), port: freePort(t)}
	// Not t.TempDir: its parent is private to root, and the server may
	// run as another user.
	dir, err := os.MkdirTemp("", "gameauth-pg-")
	require.NoError(t, err)
	p.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root: the private PostgreSQL runs as the postgres user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		p.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	p.run("initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	p.start()
	t.Cleanup(func() { p.stop("immediate") })
	p.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	return p
}

func (p *postgresServer) data() string { return filepath.Join(p.dir, "data") }

func (p *postgresServer) run(tool string, args ...string) {
	argv := append(append(append([]string{}, p.runAs...), filepath.Join(p.bindir, tool)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	require.NoError(p.t, err, "%s: %s", tool, out)
}

func (p *postgresServer) start() {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=32MB",
		p.port, p.dir)
	p.run("pg_ctl", "start", "-w", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-o", opts)
}

// stop stops the server: "fast" as an operator's restart, "immediate" as
// a crash (recovery on the next start).
func (p *postgresServer) stop(mode string) {
	argv := append(append(append([]string{}, p.runAs...), filepath.Join(p.bindir, "pg_ctl")),
		"stop", "-w", "-m", mode, "-D", p.data())
	_ = exec.Command(argv[0], argv[1:]...).Run() // already stopped is fine
}

// reply is one answer as a client sees it: no answer (err), or a status
// and a body that should be one JSON object.
type reply struct {
	status  int
	body    map[string]any
	raw     []byte
	ctype   string
	jsonErr error
	err     error
	took    time.Duration
}

// request sends one request and reads the whole answer.
func request(client *http.Client, method, url string, header http.Header, body []byte) reply {
	start := time.Now()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{err: err}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := client.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, ctype: res.Header.Get("Content-Type")}
	r.raw, r.err = io.ReadAll(res.Body)
	r.took = time.Since(start)
	if r.err == nil {
		r.jsonErr = json.Unmarshal(r.raw, &r.body)
	}
	return r
}

// postJSON sends body as JSON, with token as a Bearer when set.
func postJSON(client *http.Client, method, url, token string, body any) reply {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return request(client, method, url, h, b)
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
