// Command bench measures gameauth on the machine it runs on and writes
// BENCHMARKS.md: the middleware's overhead (BenchmarkMiddleware), the tokens
// package's benchmarks, memory per cached token and per revocation entry,
// end-to-end throughput and latency of GET /me, /token/refresh (SQLite and
// PostgreSQL) and /email/signin over loopback, and refresh latency as
// PostgreSQL grows to a million sessions. Every figure is measured in the
// same run as the reference it is compared with.
//
// It lives in its own module, so that the library's go.mod requires nothing
// only benchmarks use; run it from there:
//
//	cd bench
//	go run ./cmd/bench                      # the full run, under 10 minutes; writes ../BENCHMARKS.md
//	go run ./cmd/bench -quick               # a smoke run of a minute; prints the report
//	go run ./cmd/bench -only refresh -profile /tmp/prof -out /tmp/r.md
//	                                        # one part, with CPU profiles for go tool pprof
//
// PostgreSQL is taken from -postgres or GAMEAUTH_TEST_POSTGRES; every run
// works in a throwaway schema that it drops. Without one, the PostgreSQL
// parts are reported as not run.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/bench/internal/pgscratch"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// plan is everything a run does, sized for a full or a quick run.
type plan struct {
	count     int    // runs of each go test benchmark
	benchtime string // go test -benchtime; "" for the default
	mem       memConfig
	e2e       e2eConfig
	growth    growthConfig
}

func fullPlan() plan {
	return plan{
		count:  5,
		mem:    memConfig{Flood: 1_000_000, SampleEvery: 100_000, ViewEntries: 100_000},
		e2e:    e2eConfig{Rounds: 3, Warmup: time.Second, Duration: 5 * time.Second, Clients: 16, Signin: 4},
		growth: growthConfig{Sizes: []int{10_000, 100_000, 1_000_000}, Count: 4000, Warmup: 10, Clients: 8, Rounds: 3},
	}
}

func quickPlan() plan {
	return plan{
		count:     1,
		benchtime: "100ms",
		mem:       memConfig{Flood: 30_000, SampleEvery: 10_000, ViewEntries: 10_000},
		e2e:       e2eConfig{Rounds: 1, Warmup: 200 * time.Millisecond, Duration: time.Second, Clients: 8, Signin: 2},
		growth:    growthConfig{Sizes: []int{2_000, 10_000, 20_000}, Count: 400, Warmup: 5, Clients: 8, Rounds: 1},
	}
}

// allParts are the parts -only can pick.
var allParts = []string{"middleware", "tokens", "storage", "memory", "me", "refresh", "signin", "baseline", "growth", "cache"}

func run() error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a short smoke run (small sizes, one round); prints the report unless -out is given")
	out := fs.String("out", "", "file to write the report to (default BENCHMARKS.md in the gameauth module; with -quick, standard output)")
	dsn := fs.String("postgres", os.Getenv("GAMEAUTH_TEST_POSTGRES"), "PostgreSQL DSN (default $GAMEAUTH_TEST_POSTGRES); empty skips the PostgreSQL parts")
	profDir := fs.String("profile", "", "directory to write a CPU profile of each end-to-end scenario to (for pprof)")
	only := fs.String("only", "", "comma-separated parts to run, of "+strings.Join(allParts, ",")+" (default all); the others are reported as not run")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	p := fullPlan()
	command := "cd bench && go run ./cmd/bench"
	if *quick {
		p = quickPlan()
		command += " -quick"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	want := map[string]bool{}
	for _, part := range strings.Split(*only, ",") {
		if part = strings.TrimSpace(part); part != "" {
			if !slices.Contains(allParts, part) {
				return fmt.Errorf("-only: unknown part %q", part)
			}
			want[part] = true
		}
	}
	runs := func(part string) bool { return len(want) == 0 || want[part] }
	if len(want) > 0 {
		command += " -only " + *only
	}
	mods, err := findModules(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gameauth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p.e2e.TempDir = tmp

	r := report{Command: command, Quick: *quick}
	r.Machine = machine{
		CPU: cpuModel(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version(),
		Start: time.Now(), LoadStart: loadAvg(),
	}
	if *dsn != "" && (runs("refresh") || runs("baseline") || runs("growth")) {
		r.Machine.Postgres = postgresVersion(ctx, *dsn)
	}
	logf("start: %s, load %s", r.Machine.CPU, r.Machine.LoadStart)
	rn := &runner{ctx: ctx, plan: p, mods: mods, dsn: *dsn, profDir: *profDir}

	// Go benchmarks first, in child processes, while this one idles; then
	// memory, before any server has run in this process; then end to end.
	// The report shows them in reading order.
	order := []string{"middleware", "tokens", "cache", "storage", "me", "refresh", "signin", "baseline", "growth", "memory"}
	parts := map[string]func() (section, []target, error){
		"middleware": rn.middleware, "tokens": rn.tokens, "storage": rn.storage, "memory": rn.memory,
		"me": rn.me, "refresh": rn.refresh, "signin": rn.signin, "baseline": rn.baseline, "growth": rn.growth, "cache": rn.cacheMemory,
	}
	done := map[string]section{}
	var failures []string
	for _, name := range allParts {
		if !runs(name) {
			continue
		}
		logf("%s", name)
		s, ts, err := parts[name]()
		if err != nil {
			failures = append(failures, name+": "+err.Error())
			logf("%s failed: %v", name, err)
		}
		done[name] = s
		r.Targets = append(r.Targets, ts...)
	}
	for _, name := range order {
		if s, ok := done[name]; ok && s.Title != "" {
			r.Sections = append(r.Sections, s)
		}
	}
	if len(failures) > 0 {
		r.Sections = append(r.Sections, section{Title: "Failures", Notes: failures})
	}
	r.Machine.Elapsed = time.Since(r.Machine.Start)
	r.Machine.LoadEnd = loadAvg()

	md := render(r)
	dest := *out
	if dest == "" && !*quick {
		dest = filepath.Join(mods.lib, "BENCHMARKS.md")
	}
	if dest == "" || dest == "-" {
		fmt.Print(md)
	} else {
		if err := os.WriteFile(dest, []byte(md), 0o644); err != nil {
			return err
		}
		logf("wrote %s in %s", dest, r.Machine.Elapsed.Round(time.Second))
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d part(s) failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// runner runs the parts of a benchmark run; each returns its section of the
// report and its targets, even when it failed part way.
type runner struct {
	ctx     context.Context
	plan    plan
	mods    modules
	dsn     string
	profDir string
}

func (rn *runner) middleware() (section, []target, error) {
	set, err := rn.goBench("./middleware", "^BenchmarkMiddleware$")
	if err != nil {
		return section{}, nil, err
	}
	return middlewareSection(set, rn.plan.count)
}

// storage runs the backends' benchmarks (package storagebench):
// BenchmarkRotate (16 concurrent callers), BenchmarkRefresh and
// BenchmarkGetAccount, each on memory, SQLite and, with a DSN, PostgreSQL.
// cacheMemory runs BenchmarkCacheMemory once: it measures bytes, which do
// not vary from run to run as times do.
func (rn *runner) cacheMemory() (section, []target, error) {
	set, err := rn.goBenchIn(rn.mods.lib, "./tokens", "^BenchmarkCacheMemory$", 1)
	if err != nil {
		return section{}, nil, err
	}
	return cacheMemorySection(set)
}

func (rn *runner) storage() (section, []target, error) {
	pattern := "^Benchmark(Rotate|Refresh|GetAccount)$"
	if rn.dsn == "" {
		pattern += "/^(memory|sqlite)$"
	}
	set, err := rn.goBench("./storagebench", pattern)
	if err != nil {
		return section{}, nil, err
	}
	s, t := storageSection(set, rn.plan.count, rn.dsn != "")
	return s, t, nil
}

func (rn *runner) tokens() (section, []target, error) {
	set, err := rn.goBench("./tokens", ".")
	if err != nil {
		return section{}, nil, err
	}
	return tokensSection(set, rn.plan.count)
}

func (rn *runner) memory() (section, []target, error) {
	m, err := benchMemory(rn.ctx, rn.plan.mem)
	if err != nil {
		return section{}, nil, err
	}
	s, t := memorySection(m)
	return s, []target{t}, nil
}

func (rn *runner) me() (section, []target, error) {
	var me meResult
	err := rn.profile("me", func() (err error) { me, err = benchMe(rn.ctx, rn.plan.e2e); return err })
	if err != nil {
		return section{}, nil, err
	}
	s, t := meSection(rn.plan.e2e, me)
	return s, []target{t}, nil
}

func (rn *runner) refresh() (section, []target, error) {
	var results []refreshResult
	err := rn.profile("refresh-sqlite", func() error {
		store, err := sqlite.Open(rn.ctx, filepath.Join(rn.plan.e2e.TempDir, "refresh.db"))
		if err != nil {
			return err
		}
		defer store.Close()
		res, err := benchRefresh(rn.ctx, rn.plan.e2e, "SQLite", store, nil)
		if err == nil {
			results = append(results, res)
		}
		return err
	})
	if err != nil {
		err = fmt.Errorf("SQLite: %w", err)
	}
	pgErr := errNoPostgres
	if rn.dsn != "" {
		pgErr = rn.profile("refresh-postgres", func() error {
			pg, err := pgscratch.Open(rn.ctx, rn.dsn, "gameauth_bench_refresh")
			if err != nil {
				return err
			}
			defer pg.Close()
			unbatched, err := postgres.Open(rn.ctx, rn.dsn, postgres.Schema(pg.Name), postgres.RefreshBatch(1))
			if err != nil {
				return err
			}
			defer unbatched.Close()
			res, err := benchRefresh(rn.ctx, rn.plan.e2e, "PostgreSQL", pg.Store, unbatched)
			if err == nil {
				results = append(results, res)
			}
			return err
		})
		if pgErr != nil {
			err = errors.Join(err, fmt.Errorf("PostgreSQL: %w", pgErr))
		}
	}
	s, ts := refreshSection(rn.plan.e2e, results, pgErr)
	return s, ts, err
}

func (rn *runner) signin() (section, []target, error) {
	var si signinResult
	err := rn.profile("signin", func() (err error) { si, err = benchSignin(rn.ctx, rn.plan.e2e); return err })
	if err != nil {
		return section{}, nil, err
	}
	s, t := signinSection(rn.plan.e2e, si)
	return s, []target{t}, nil
}

// baseline runs the before-and-after part: the first wave's game server
// against this one, on PostgreSQL.
func (rn *runner) baseline() (section, []target, error) {
	var r baselineResult
	err := errNoPostgres
	if rn.dsn != "" {
		err = rn.profile("baseline", func() (err error) { r, err = benchBaseline(rn.ctx, rn.plan.e2e, rn.mods.lib, rn.dsn); return err })
	}
	s, ts := baselineSection(rn.plan.e2e, r, err)
	if errors.Is(err, errNoPostgres) {
		err = nil
	}
	return s, ts, err
}

func (rn *runner) growth() (section, []target, error) {
	var stages []growthStage
	err := errNoPostgres
	if rn.dsn != "" {
		err = rn.profile("growth", func() (err error) { stages, err = benchGrowth(rn.ctx, rn.dsn, rn.plan.growth); return err })
	}
	s, t := growthSection(rn.plan.growth, stages, err)
	if errors.Is(err, errNoPostgres) {
		err = nil
	}
	return s, []target{t}, err
}

// profile runs f, with a CPU profile written to name.cpu in -profile's
// directory if one was given.
func (rn *runner) profile(name string, f func() error) error {
	if rn.profDir == "" {
		return f()
	}
	file, err := os.Create(filepath.Join(rn.profDir, name+".cpu"))
	if err != nil {
		return err
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAvg is the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// postgresVersion is the server's version, or "" if it cannot be asked.
func postgresVersion(ctx context.Context, dsn string) string {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return ""
	}
	return v
}
