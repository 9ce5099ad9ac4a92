package gobench_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/gobench"
)

const twoRuns = `goos: linux
goarch: amd64
pkg: github.com/gameauth/gameauth/tokens
cpu: AMD EPYC
BenchmarkVerify/eddsa-cached-2     	10000000	       111.4 ns/op	       0 B/op	       0 allocs/op
BenchmarkRefresh/postgres-2        	   20962	     59002 ns/op	     16949 ops/s	    2731 B/op	      35 allocs/op
BenchmarkIssue/eddsa-2             	   50000	     29562 ns/op	    1600 B/op	       7 allocs/op
BenchmarkVerify/eddsa-cached-2     	10000000	       120.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkRefresh/postgres-2        	   20000	     58000 ns/op	     17241 ops/s	    2700 B/op	      34 allocs/op
BenchmarkIssue/eddsa-2             	   50000	     30000 ns/op	    1650 B/op	       8 allocs/op
BenchmarkIssue/eddsa-2             	   50000	     31000 ns/op	    1660 B/op	       9 allocs/op
BenchmarkNoTime-2                  	     100	        42 widgets/op
PASS
ok  	github.com/gameauth/gameauth/tokens	7.807s
`

func TestParse(t *testing.T) {
	set, err := gobench.Parse(strings.NewReader(twoRuns))
	require.NoError(t, err)
	assert.Equal(t, "AMD EPYC", set.CPU)
	assert.Equal(t, []string{"Verify/eddsa-cached", "Refresh/postgres", "Issue/eddsa"}, set.Order,
		"names lose the GOMAXPROCS suffix; a result without ns/op is skipped")

	c := set.By["Verify/eddsa-cached"]
	assert.Equal(t, []float64{111.4, 120}, c.NsOp)
	assert.InDelta(t, 111.4, c.Min(), 1e-9)
	assert.InDelta(t, 115.7, c.Median(), 1e-9, "the mean of the middle two")

	r := set.By["Refresh/postgres"]
	assert.Equal(t, []float64{59002, 58000}, r.NsOp, "custom metrics between the pairs do not shift them")
	assert.InDelta(t, 2700, r.BOp, 1e-9, "B/op and allocs/op of the fastest run")
	assert.InDelta(t, 34, r.Allocs, 1e-9)
	assert.Equal(t, map[string]float64{"ops/s": 17241}, r.Metrics, "custom metrics of the fastest run")

	i := set.By["Issue/eddsa"]
	assert.InDelta(t, 30000, i.Median(), 1e-9)
	assert.InDelta(t, 1600, i.BOp, 1e-9)
	assert.InDelta(t, 7, i.Allocs, 1e-9)
}

func TestParseBadNumber(t *testing.T) {
	_, err := gobench.Parse(strings.NewReader("BenchmarkX-2  100  fast ns/op\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BenchmarkX-2")
}

func TestParseNothing(t *testing.T) {
	set, err := gobench.Parse(strings.NewReader("PASS\nok  \tx\t0.1s\n"))
	require.NoError(t, err)
	assert.Empty(t, set.Order)
	assert.Empty(t, set.CPU)
}
