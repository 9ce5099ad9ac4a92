// Package gobench reads the output of `go test -bench -benchmem`, for
// cmd/bench, which turns benchmark runs into BENCHMARKS.md.
package gobench

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Stat is one benchmark's runs, as `go test -bench -benchmem -count N`
// printed them.
type Stat struct {
	Name   string    // without the Benchmark prefix and the GOMAXPROCS suffix
	NsOp   []float64 // one per run, in the order they ran
	BOp    float64   // of the fastest run
	Allocs float64   // of the fastest run
	// Metrics are the other units a benchmark reported (b.ReportMetric,
	// e.g. "B/entry"), of the fastest run.
	Metrics map[string]float64
}

// Min is the fastest run: on a shared machine noise only ever adds time.
func (s *Stat) Min() float64 { return slices.Min(s.NsOp) }

// Median is the median run; with an even number of runs, the mean of the
// middle two.
func (s *Stat) Median() float64 {
	v := slices.Clone(s.NsOp)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Set is the parsed output of one or more `go test -bench` runs.
type Set struct {
	CPU   string           // from the "cpu:" line
	Order []string         // benchmark names in the order first seen
	By    map[string]*Stat // by name
}

// Parse reads `go test -bench -benchmem` output: every result line of every
// run, skipping what is not a result line. A result whose value is not a
// number is an error; one without ns/op is skipped.
func Parse(r io.Reader) (Set, error) {
	set := Set{By: map[string]*Stat{}}
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
		metrics := map[string]float64{}
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
			default:
				metrics[f[i+1]] = v
			}
		}
		if !seen {
			continue
		}
		st := set.By[name]
		if st == nil {
			st = &Stat{Name: name}
			set.By[name] = st
			set.Order = append(set.Order, name)
		}
		if len(st.NsOp) == 0 || ns < st.Min() {
			st.BOp, st.Allocs, st.Metrics = bop, allocs, metrics
		}
		st.NsOp = append(st.NsOp, ns)
	}
	return set, sc.Err()
}
