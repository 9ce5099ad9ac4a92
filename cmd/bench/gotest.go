package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// benchStat is one benchmark's runs, as `go test -bench -benchmem -count N`
// printed them.
type benchStat struct {
	Name   string    // without the Benchmark prefix and the GOMAXPROCS suffix
	NsOp   []float64 // one per run
	BOp    float64   // of the fastest run
	Allocs float64   // of the fastest run
}

// Min is the fastest run: on a shared machine noise only ever adds time.
func (b *benchStat) Min() float64 { return slices.Min(b.NsOp) }

// Median is the median run.
func (b *benchStat) Median() float64 {
	s := slices.Clone(b.NsOp)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchSet is the parsed output of one or more `go test -bench` runs.
type benchSet struct {
	CPU   string
	Order []string
	By    map[string]*benchStat
}

// parseBench reads `go test -bench -benchmem` output.
func parseBench(r io.Reader) (benchSet, error) {
	set := benchSet{By: map[string]*benchStat{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			set.CPU = strings.TrimSpace(c)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var ns, bop, allocs float64
		seen := false
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return set, fmt.Errorf("%q: %w", line, err)
			}
			switch f[i+1] {
			case "ns/op":
				ns, seen = v, true
			case "B/op":
				bop = v
			case "allocs/op":
				allocs = v
			}
		}
		if !seen {
			continue
		}
		st := set.By[name]
		if st == nil {
			st = &benchStat{Name: name}
			set.By[name] = st
			set.Order = append(set.Order, name)
		}
		if len(st.NsOp) == 0 || ns < st.Min() {
			st.BOp, st.Allocs = bop, allocs
		}
		st.NsOp = append(st.NsOp, ns)
	}
	return set, sc.Err()
}

// goBench runs the benchmarks matching pattern in pkg (relative to the
// module root) count times and parses them; go test's own output goes to
// stderr as it comes.
func goBench(ctx context.Context, root, pkg, pattern string, count int, benchtime string) (benchSet, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", strconv.Itoa(count)}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return benchSet{}, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	set, err := parseBench(&out)
	if err == nil && len(set.Order) == 0 {
		err = fmt.Errorf("go %s: no benchmark results", strings.Join(args, " "))
	}
	return set, err
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the gameauth module")
	}
	return filepath.Dir(mod), nil
}
