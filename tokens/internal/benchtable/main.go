// Command benchtable turns `go test -bench -benchmem` output (one or more
// runs) into the performance table of the tokens package documentation, so
// the numbers there are measured, never typed in. It keeps the fastest run
// of each benchmark (on a shared machine noise only ever adds time) and
// rewrites the table block of the Go file named on its command line:
//
//	go test -run '^$' -bench . -benchmem . | go run ./internal/benchtable doc.go
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gameauth/gameauth/internal/gobench"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable FILE.go < bench-output")
		os.Exit(2)
	}
	set, err := gobench.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(set.Order) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on stdin")
		os.Exit(1)
	}
	block := render(set)
	if err := rewrite(os.Args[1], block); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	fmt.Print(strings.Join(block, "\n") + "\n")
}

// floorOf names the floor a benchmark is compared with.
func floorOf(name string) string {
	group, _, _ := strings.Cut(name, "/")
	return group + "/floor-ed25519"
}

func render(set gobench.Set) []string {
	runs := 0
	for _, r := range set.By {
		runs = max(runs, len(r.NsOp))
	}
	lines := []string{fmt.Sprintf("// Measured by go generate on %s (GOMAXPROCS 2), fastest of %d runs:", set.CPU, runs), "//"}
	lines = append(lines, fmt.Sprintf("//\t%-26s %11s %9s %6s %8s", "benchmark", "ns/op", "allocs/op", "B/op", "× floor"))
	for _, name := range set.Order {
		r := set.By[name]
		x := "-"
		if fl, ok := set.By[floorOf(name)]; ok {
			x = fmt.Sprintf("%.3f", ratio(r, fl))
		}
		lines = append(lines, fmt.Sprintf("//\t%-26s %11.1f %9.0f %6.0f %8s", name, r.Min(), r.Allocs, r.BOp, x))
	}
	lines = append(lines, "//", "// Targets in the same run:", "//")
	check := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		lines = append(lines, fmt.Sprintf("//   - "+format+": %s", append(args, mark)...))
	}
	get := func(name string) *gobench.Stat {
		if r, ok := set.By[name]; ok {
			return r
		}
		return &gobench.Stat{NsOp: []float64{0}}
	}
	unc, fl, jwt, cached := get("Verify/eddsa-uncached"), get("Verify/floor-ed25519"), get("Verify/golang-jwt-eddsa"), get("Verify/eddsa-cached")
	iss, sfl := get("Issue/eddsa"), get("Issue/floor-ed25519")
	check(fl.Min() > 0 && ratio(unc, fl) <= 1.15, "uncached verify ≤ 1.15× the floor (%.3f×)", ratio(unc, fl))
	check(cached.Min() > 0 && cached.Min() <= 1000 && cached.Allocs <= 3, "cached verify ≤ 1 µs and ≤ 3 allocs (%.0f ns, %.0f allocs)", cached.Min(), cached.Allocs)
	check(jwt.Min() > 0 && unc.Min() < jwt.Min(), "uncached verify faster than golang-jwt (%.3f× its time)", ratio(unc, jwt))
	check(sfl.Min() > 0 && ratio(iss, sfl) <= 1.3, "issue ≤ 1.3× the signing floor (%.3f×)", ratio(iss, sfl))
	return lines
}

// ratio is a's fastest run over b's, or 0 when b has no time.
func ratio(a, b *gobench.Stat) float64 {
	if b.Min() == 0 {
		return 0
	}
	return a.Min() / b.Min()
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
