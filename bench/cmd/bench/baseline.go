package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// baselineRev is the revision the "before" server of the before-and-after
// part is built from: the end of the first wave, before the architecture
// issue moved authenticated reads to one store round trip and a sign-up to
// one commit.
const baselineRev = "98807fbc1651dc1c838151d2675b21423e806060"

// procServer is the example game server (examples/gameserver) of some
// revision, running as a process of its own on PostgreSQL.
type procServer struct {
	// server is the client side of the in-process harness pointed at the
	// process (base and client only), for its guests and wires.
	server
	name string // "before" or "after"
	cmd  *exec.Cmd
	addr string
	db   string // its own database
	dsn  string // to that database
	log  *os.File
	done chan error
}

// buildGameServer builds examples/gameserver of the library at rev ("" for
// the working tree) into out. A revision is taken out of the library's git
// history with git archive, into a directory of its own.
func buildGameServer(ctx context.Context, libDir, rev, out string) error {
	dir := libDir
	if rev != "" {
		dir = out + "-src"
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", libDir, rev, dir)
		if b, err := archive.CombinedOutput(); err != nil {
			return fmt.Errorf("git archive %s: %w: %s", rev, err, bytes.TrimSpace(b))
		}
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./examples/gameserver")
	build.Dir = dir
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build (%s): %w: %s", cmpOr(rev, "working tree"), err, bytes.TrimSpace(b))
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withDatabase is dsn (a URL) naming database db instead.
func withDatabase(dsn, db string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("the before-and-after part needs a postgres:// URL as DSN")
	}
	u.Path = "/" + db
	return u.String(), nil
}

// recreateDatabase drops db if it exists and creates it empty.
func recreateDatabase(ctx context.Context, dsn, db string, create bool) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{db}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return err
	}
	if !create {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+id)
	return err
}

// startProcServer starts bin on a free loopback port, on a fresh database
// named db, and waits until it answers.
func startProcServer(ctx context.Context, name, bin, dsn, db, logDir string) (*procServer, error) {
	if err := recreateDatabase(ctx, dsn, db, true); err != nil {
		return nil, err
	}
	dbDSN, err := withDatabase(dsn, db)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	// No sign-in limit: a load test signs in far more than 10 times a minute.
	cmd := exec.Command(bin, "-addr", addr, "-postgres", dbDSN, "-signin-limit", "0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &procServer{name: name, cmd: cmd, addr: addr, db: db, dsn: dsn, log: log, done: make(chan error, 1),
		server: server{base: "http://" + addr, client: &http.Client{Timeout: 30 * time.Second}}}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/auth/nickname")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			p.Close()
			return nil, fmt.Errorf("%s server exited: %v: %s", name, err, p.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Close()
			return nil, fmt.Errorf("%s server did not answer within a minute: %s", name, p.logTail())
		}
	}
}

// logTail is the end of the server's log, for errors.
func (p *procServer) logTail() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(bytes.TrimSpace(b[max(0, len(b)-2000):]))
}

// Close stops the server and drops its database.
func (p *procServer) Close() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
	_ = recreateDatabase(context.Background(), p.dsn, p.db, false)
}

// cpu is the CPU time (user and system) the server process and the
// PostgreSQL backends serving its database have used so far.
func (p *procServer) cpu(ctx context.Context) (server, db time.Duration, err error) {
	server, err = procCPU(p.cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", p.db)
	if err != nil {
		return 0, 0, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, 0, err
	}
	for _, pid := range pids {
		c, err := procCPU(int(pid))
		if err != nil {
			continue // a backend that just ended
		}
		db += c
	}
	return server, db, nil
}

// procCPU is a process's CPU time (user and system) from /proc/pid/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis; utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// procLoad is a load run on a server process, with the CPU the server and
// its database backends used over it.
type procLoad struct {
	loadResult
	ServerCPU, DBCPU time.Duration // per request, warm-up included
}

// run drives newClient's requests against p and measures its CPU too.
func (p *procServer) run(ctx context.Context, spec loadSpec, newClient func(i int) (request, error)) (procLoad, error) {
	s0, d0, err := p.cpu(ctx)
	if err != nil {
		return procLoad{}, err
	}
	r, err := runLoad(ctx, spec, newClient)
	if err != nil {
		return procLoad{}, fmt.Errorf("%s: %w", p.name, err)
	}
	s1, d1, err := p.cpu(ctx)
	if err != nil {
		return procLoad{}, err
	}
	out := procLoad{loadResult: r}
	if r.Total > 0 {
		out.ServerCPU = (s1 - s0) / time.Duration(r.Total)
		out.DBCPU = (d1 - d0) / time.Duration(r.Total)
	}
	return out, nil
}

// baselineResult is the before-and-after part: each scenario on the server
// of baselineRev and on the working tree's, rounds interleaved.
type baselineResult struct {
	Scenarios []baselineScenario
}

type baselineScenario struct {
	Name          string
	Before, After procLoad
}

// benchBaseline builds both servers, starts them on databases of their own,
// and runs each scenario on both, interleaved.
func benchBaseline(ctx context.Context, cfg e2eConfig, libDir, dsn string) (baselineResult, error) {
	dir := filepath.Join(cfg.TempDir, "baseline")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return baselineResult{}, err
	}
	servers := make([]*procServer, 2)
	for i, v := range []struct{ name, rev string }{{"before", baselineRev}, {"after", ""}} {
		bin := filepath.Join(dir, "gameserver-"+v.name)
		logf("baseline: building the %s server", v.name)
		if err := buildGameServer(ctx, libDir, v.rev, bin); err != nil {
			return baselineResult{}, err
		}
		s, err := startProcServer(ctx, v.name, bin, dsn, "gameauth_bench_"+v.name, dir)
		if err != nil {
			return baselineResult{}, err
		}
		defer s.Close()
		servers[i] = s
	}
	var out baselineResult
	scenarios := []struct {
		name string
		// client is client i's request on p, over its own connection w.
		setup func(p *procServer) (func(i int, w *wire) request, error)
	}{
		{"`GET /nickname`", func(p *procServer) (func(i int, w *wire) request, error) {
			players, err := p.guests(ctx, cfg.Clients)
			return func(i int, w *wire) request {
				req := w.getRequest("/auth/nickname", players[i].Token.AccessToken)
				return func(context.Context) error {
					_, err := w.roundTrip(req, http.StatusOK)
					return err
				}
			}, err
		}},
		{"guest sign-up (`POST /guest/signin` of a new device)", func(p *procServer) (func(i int, w *wire) request, error) {
			return func(i int, w *wire) request {
				n := 0
				prefix := fmt.Sprintf("su-%d-%02d-", time.Now().UnixNano(), i)
				return func(context.Context) error {
					n++
					req, err := w.postRequest("/auth/guest/signin", map[string]any{"platform": "aos", "device_id": prefix + strconv.Itoa(n)})
					if err != nil {
						return err
					}
					_, err = w.roundTrip(req, http.StatusCreated)
					return err
				}
			}, nil
		}},
		{"`POST /token/refresh`", func(p *procServer) (func(i int, w *wire) request, error) {
			players, err := p.guests(ctx, cfg.Clients)
			chains := make([]string, len(players))
			for i, pl := range players {
				chains[i] = pl.Token.RefreshToken
			}
			return func(i int, w *wire) request { return refreshClient(w, &chains[i]) }, err
		}},
	}
	for _, sc := range scenarios {
		logf("baseline: %s", sc.name)
		loads := make([]func() (loadResult, error), 2)
		results := make([][]procLoad, 2)
		for j, p := range servers {
			client, err := sc.setup(p)
			if err != nil {
				return out, err
			}
			wires := p.wires(cfg.Clients)
			defer closeWires(wires)
			loads[j] = func() (loadResult, error) {
				r, err := p.run(ctx, cfg.spec(cfg.Clients), func(i int) (request, error) { return client(i, wires[i]), nil })
				results[j] = append(results[j], r)
				return r.loadResult, err
			}
		}
		if _, err := interleave(cfg.Rounds, loads...); err != nil {
			return out, fmt.Errorf("%s: %w", sc.name, err)
		}
		out.Scenarios = append(out.Scenarios, baselineScenario{Name: sc.name,
			Before: medianProcRun(results[0]), After: medianProcRun(results[1])})
	}
	return out, nil
}

// medianProcRun is the run with the median throughput.
func medianProcRun(runs []procLoad) procLoad {
	lr := make([]loadResult, len(runs))
	for i, r := range runs {
		lr[i] = r.loadResult
	}
	m := medianRun(lr)
	for _, r := range runs {
		if r.Requests == m.Requests && r.Window == m.Window {
			return r
		}
	}
	return procLoad{}
}
