// Package promtest reads series out of a Prometheus registry, for the tests
// of the packages that export metrics: one value, how many series, which
// values a label takes.
package promtest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Value returns the value of one series, written as in the exposition
// format: `name{label="value",...}`, with every label of the series (none:
// just the name). A counter or gauge gives its value, a histogram its
// sample count. A series that does not exist fails the test.
func Value(t testing.TB, g prometheus.Gatherer, series string) float64 {
	t.Helper()
	name, want := parse(t, series)
	for _, m := range metrics(t, g, name) {
		if !equal(labels(m), want) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
		t.Fatalf("promtest: %s is neither a counter, a gauge nor a histogram", series)
	}
	t.Fatalf("promtest: no series %s", series)
	return 0
}

// Count returns the number of series of the metric name.
func Count(t testing.TB, g prometheus.Gatherer, name string) int {
	t.Helper()
	return len(metrics(t, g, name))
}

// LabelValues returns the values label takes in the series of name, sorted
// and without repeats.
func LabelValues(t testing.TB, g prometheus.Gatherer, name, label string) []string {
	t.Helper()
	var out []string
	for _, m := range metrics(t, g, name) {
		if v, ok := labels(m)[label]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func metrics(t testing.TB, g prometheus.Gatherer, name string) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("promtest: gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// parse splits `name{k="v",...}` into the name and its labels.
func parse(t testing.TB, series string) (string, map[string]string) {
	t.Helper()
	out := map[string]string{}
	name, rest, ok := strings.Cut(series, "{")
	if !ok {
		return name, out
	}
	rest, ok = strings.CutSuffix(rest, "}")
	for ok && rest != "" {
		var k, v, q string
		k, v, ok = strings.Cut(rest, "=")
		var err error
		if q, err = strconv.QuotedPrefix(v); err != nil {
			ok = false
			break
		}
		out[k], _ = strconv.Unquote(q)
		rest = strings.TrimPrefix(v[len(q):], ",")
	}
	if !ok {
		t.Fatalf("promtest: malformed series %q", series)
	}
	return name, out
}
