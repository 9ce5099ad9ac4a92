// Command benchtable turns `go test -bench -benchmem` output (one or more
// runs) into the performance table of the tokens package documentation, so
// the numbers there are measured, never typed in. It keeps the fastest run
// of each benchmark (on a shared machine noise only ever adds time) and
// rewrites the table block of the Go file named on its command line:
//
//	go test -run '^$' -bench . -benchmem . | go run ./internal/benchtable doc.go
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

type result struct {
	ns     float64
	bytes  int64
	allocs int64
	runs   int
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable FILE.go < bench-output")
		os.Exit(2)
	}
	results, order, cpu, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on stdin")
		os.Exit(1)
	}
	block := render(results, order, cpu)
	if err := rewrite(os.Args[1], block); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	fmt.Print(strings.Join(block, "\n") + "\n")
}

func parse(r io.Reader) (map[string]*result, []string, string, error) {
	results := map[string]*result{}
	var order []string
	cpu := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(c)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		var res result
		for i := 2; i+1 < len(f); i += 2 {
			switch f[i+1] {
			case "ns/op":
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return nil, nil, "", fmt.Errorf("%s: %w", line, err)
				}
				res.ns = v
			case "B/op":
				res.bytes, _ = strconv.ParseInt(f[i], 10, 64)
			case "allocs/op":
				res.allocs, _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		prev, ok := results[name]
		if !ok {
			order = append(order, name)
			res.runs = 1
			results[name] = &res
			continue
		}
		prev.runs++
		if res.ns < prev.ns {
			res.runs = prev.runs
			*prev = res
		}
	}
	return results, order, cpu, sc.Err()
}

// floorOf names the floor a benchmark is compared with.
func floorOf(name string) string {
	group, _, _ := strings.Cut(name, "/")
	return group + "/floor-ed25519"
}

func render(results map[string]*result, order []string, cpu string) []string {
	runs := 0
	for _, r := range results {
		runs = max(runs, r.runs)
	}
	lines := []string{fmt.Sprintf("// Measured by go generate on %s (GOMAXPROCS 2), fastest of %d runs:", cpu, runs), "//"}
	lines = append(lines, fmt.Sprintf("//\t%-26s %11s %9s %6s %8s", "benchmark", "ns/op", "allocs/op", "B/op", "× floor"))
	for _, name := range order {
		r := results[name]
		ratio := "-"
		if fl, ok := results[floorOf(name)]; ok && fl.ns > 0 {
			ratio = fmt.Sprintf("%.3f", r.ns/fl.ns)
		}
		lines = append(lines, fmt.Sprintf("//\t%-26s %11.1f %9d %6d %8s", name, r.ns, r.allocs, r.bytes, ratio))
	}
	lines = append(lines, "//", "// Targets in the same run:", "//")
	check := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		lines = append(lines, fmt.Sprintf("//   - "+format+": %s", append(args, mark)...))
	}
	get := func(name string) *result {
		if r, ok := results[name]; ok {
			return r
		}
		return &result{}
	}
	unc, fl, jwt, cached := get("Verify/eddsa-uncached"), get("Verify/floor-ed25519"), get("Verify/golang-jwt-eddsa"), get("Verify/eddsa-cached")
	iss, sfl := get("Issue/eddsa"), get("Issue/floor-ed25519")
	check(fl.ns > 0 && unc.ns/fl.ns <= 1.15, "uncached verify ≤ 1.15× the floor (%.3f×)", ratio(unc, fl))
	check(cached.ns > 0 && cached.ns <= 1000 && cached.allocs <= 3, "cached verify ≤ 1 µs and ≤ 3 allocs (%.0f ns, %d allocs)", cached.ns, cached.allocs)
	check(jwt.ns > 0 && unc.ns < jwt.ns, "uncached verify faster than golang-jwt (%.3f× its time)", ratio(unc, jwt))
	check(sfl.ns > 0 && iss.ns/sfl.ns <= 1.3, "issue ≤ 1.3× the signing floor (%.3f×)", ratio(iss, sfl))
	return lines
}

func ratio(a, b *result) float64 {
	if b.ns == 0 {
		return 0
	}
	return a.ns / b.ns
}

// rewrite replaces, in file, the block that starts with the "// Measured by
// go generate" line and runs to the end of the comment's target list.
func rewrite(file string, block []string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "// Measured by go generate") {
			start = i
			break
		}
	}
	if start < 0 {
		return fmt.Errorf("%s: no line starting with %q", file, "// Measured by go generate")
	}
	end := start + 1
	for end < len(lines) && (lines[end] == "//" || strings.HasPrefix(lines[end], "//\t") ||
		strings.HasPrefix(lines[end], "//   - ") || lines[end] == "// Targets in the same run:") {
		end++
	}
	// Keep the blank comment line that separates the block from what follows.
	if end > start+1 && lines[end-1] == "//" {
		end--
	}
	out := append(append(append([]string{}, lines[:start]...), block...), lines[end:]...)
	return os.WriteFile(file, []byte(strings.Join(out, "\n")), 0o644)
}
