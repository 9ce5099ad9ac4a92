package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/gameauth/gameauth/bench/internal/gobench"
)

// goBench runs the benchmarks matching pattern in pkg (a package of the
// bench module) as many times as the plan says, and parses them; go test's own output
// goes to stderr as it comes. The benchmarks that need PostgreSQL get this
// run's DSN, or none, through GAMEAUTH_TEST_POSTGRES.
func (rn *runner) goBench(pkg, pattern string) (gobench.Set, error) {
	return rn.goBenchIn(rn.mods.bench, pkg, pattern, rn.plan.count)
}

// goBenchIn is goBench for a package of the module in dir, count runs.
func (rn *runner) goBenchIn(dir, pkg, pattern string, count int) (gobench.Set, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", strconv.Itoa(count)}
	if rn.plan.benchtime != "" {
		args = append(args, "-benchtime", rn.plan.benchtime)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(rn.ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GAMEAUTH_TEST_POSTGRES="+rn.dsn)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return gobench.Set{}, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	set, err := gobench.Parse(&out)
	if err == nil && len(set.Order) == 0 {
		err = fmt.Errorf("go %s: no benchmark results", strings.Join(args, " "))
	}
	return set, err
}

// modules are the two directories a run works in.
type modules struct {
	bench string // this module: the packages whose benchmarks go test runs
	lib   string // the gameauth module it measures, where BENCHMARKS.md lives
}

// findModules asks go where the bench module and the library it replaces
// in are: cmd/bench runs from the bench module, as in `cd bench && go run
// ./cmd/bench`.
func findModules(ctx context.Context) (modules, error) {
	const benchMod, libMod = "github.com/gameauth/gameauth/bench", "github.com/gameauth/gameauth"
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}", benchMod, libMod).Output()
	if err != nil {
		return modules{}, fmt.Errorf("go list -m (run it from the bench module: cd bench && go run ./cmd/bench): %w", err)
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, dir, ok := strings.Cut(line, " "); ok {
			dirs[path] = dir
		}
	}
	m := modules{bench: dirs[benchMod], lib: dirs[libMod]}
	if m.bench == "" || m.lib == "" {
		return modules{}, fmt.Errorf("go list -m: no directory for %s or %s (run it from the bench module: cd bench && go run ./cmd/bench)", benchMod, libMod)
	}
	return m, nil
}
