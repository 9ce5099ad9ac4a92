package cluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Tests that stop and start Redis, or need a Redis Cluster, run redis-server
// processes of their own on free loopback ports, never the shared Redis of
// GAMEAUTH_TEST_REDIS. Like the other Redis tests they run when
// GAMEAUTH_TEST_REDIS is set; redis-server and redis-cli must then be on PATH.
func redisBinaries(t *testing.T) (server, cli string) {
	t.Helper()
	if os.Getenv("GAMEAUTH_TEST_REDIS") == "" {
		t.Skip("GAMEAUTH_TEST_REDIS not set: skipping tests that start their own redis-server")
	}
	server, err := exec.LookPath("redis-server")
	require.NoError(t, err, "tests that start their own Redis need redis-server on PATH")
	cli, err = exec.LookPath("redis-cli")
	require.NoError(t, err, "tests that start their own Redis need redis-cli on PATH")
	return server, cli
}

// freePorts returns n distinct loopback ports free at the time of the call.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// redisServer is one redis-server process the test owns.
type redisServer struct {
	t    *testing.T
	bin  string
	args []string
	addr string
	cmd  *exec.Cmd
	out  *syncBuffer
}

// startRedisServer runs redis-server on port with nothing persisted, and
// waits until it answers PING. Cleanup kills it.
func startRedisServer(t *testing.T, bin string, port int, extra ...string) *redisServer {
	t.Helper()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)
	s := &redisServer{t: t, bin: bin, args: args, addr: fmt.Sprintf("127.0.0.1:%d", port), out: &syncBuffer{}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	dieWithTest(s.cmd)
	require.NoError(s.t, s.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	require.Eventually(s.t, func() bool { return c.Ping(context.Background()).Err() == nil },
		10*time.Second, 5*time.Millisecond, "redis-server on %s did not start:\n%s", s.addr, s.out)
}

// stop kills the server as a crash would; start brings it back on the same
// port, empty.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// startRedisCluster starts a three-master Redis Cluster (no replicas) on free
// ports and waits until every node reports cluster_state:ok. It returns the
// nodes' addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	server, cli := redisBinaries(t)
	ports := freePorts(t, 6) // three client ports, three cluster-bus ports
	addrs := make([]string, 3)
	for i := range addrs {
		dir := t.TempDir()
		s := startRedisServer(t, server, ports[i], "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-port", strconv.Itoa(ports[3+i]))
		addrs[i] = s.addr
	}
	create := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...)
	out, err := create.CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create:\n%s", out)
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		require.Eventually(t, func() bool {
			info, err := c.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		}, 20*time.Second, 10*time.Millisecond, "cluster node %s never reported cluster_state:ok", addr)
		_ = c.Close()
	}
	return addrs
}
