package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/bench/internal/gobench"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"no samples", nil, 50, 0},
		{"one sample", []time.Duration{7}, 99, 7},
		{"median of 100", hundred, 50, 50},
		{"p99 of 100", hundred, 99, 99},
		{"p100 is the largest", hundred, 100, 100},
		{"tiny q is the smallest", hundred, 0.001, 1},
		{"nearest rank rounds up", []time.Duration{1, 2, 3}, 50, 2},
		{"p99 of 3 is the largest", []time.Duration{1, 2, 3}, 99, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.sorted, tt.q))
		})
	}
}

func TestRunLoadByCount(t *testing.T) {
	var calls atomic.Int64
	res, err := runLoad(context.Background(), loadSpec{Clients: 4, WarmupCount: 2, Count: 100},
		func(int) (request, error) {
			return func(context.Context) error { calls.Add(1); return nil }, nil
		})
	require.NoError(t, err)
	assert.Equal(t, 100, res.Requests, "25 measured requests per client")
	assert.Equal(t, 108, res.Total, "warm-up requests count in the total, not in the window")
	assert.EqualValues(t, 108, calls.Load())
	assert.Len(t, res.Latencies, 100)
	assert.True(t, res.Window > 0)
	assert.IsNonDecreasing(t, res.Latencies)
}

func TestRunLoadByDuration(t *testing.T) {
	res, err := runLoad(context.Background(), loadSpec{Clients: 2, Duration: 20 * time.Millisecond},
		func(int) (request, error) { return func(context.Context) error { return nil }, nil })
	require.NoError(t, err)
	assert.Positive(t, res.Requests)
	assert.GreaterOrEqual(t, res.Window, 20*time.Millisecond)
	assert.Positive(t, res.RPS())
}

func TestRunLoadFailsOnErrors(t *testing.T) {
	boom := errors.New("boom")
	var n atomic.Int64
	_, err := runLoad(context.Background(), loadSpec{Clients: 2, Count: 10},
		func(int) (request, error) {
			return func(context.Context) error {
				if n.Add(1)%2 == 0 {
					return boom
				}
				return nil
			}, nil
		})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "5 of 10 requests failed")

	_, err = runLoad(context.Background(), loadSpec{Clients: 1, Count: 1},
		func(int) (request, error) { return nil, boom })
	require.ErrorIs(t, err, boom, "a client that cannot be made fails the run")
}

func TestMedianRun(t *testing.T) {
	run := func(n int) loadResult { return loadResult{Requests: n, Window: time.Second} }
	assert.Equal(t, 20, medianRun([]loadResult{run(30), run(10), run(20)}).Requests)
	assert.Equal(t, 10, medianRun([]loadResult{run(30), run(10)}).Requests, "the lower of two")
	assert.Equal(t, 0, medianRun(nil).Requests)
}

const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/gameauth/gameauth/middleware
cpu: AMD EPYC
BenchmarkMiddleware/none-2         	52872766	        23.75 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/cached-2       	 2074954	       343.1 ns/op	     368 B/op	       2 allocs/op
BenchmarkMiddleware/uncached-2     	   17739	     68322 ns/op	    2437 B/op	      19 allocs/op
BenchmarkMiddleware/golang-jwt-2   	   13920	     72192 ns/op	    3944 B/op	      60 allocs/op
BenchmarkMiddleware/floor-context-2         	 3928149	       215.7 ns/op	     368 B/op	       2 allocs/op
BenchmarkMiddleware/floor-ed25519-2         	   28671	     62790 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/none-2         	52872766	        25.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/cached-2       	 2074954	       600.0 ns/op	     480 B/op	       3 allocs/op
BenchmarkMiddleware/uncached-2     	   17739	     67000 ns/op	    2400 B/op	      18 allocs/op
BenchmarkMiddleware/golang-jwt-2   	   13920	     73000 ns/op	    3944 B/op	      60 allocs/op
BenchmarkMiddleware/cached-2       	 2074954	       590.0 ns/op	     480 B/op	       3 allocs/op
PASS
ok  	github.com/gameauth/gameauth/middleware	7.807s
`

func TestMiddlewareSection(t *testing.T) {
	set, err := gobench.Parse(strings.NewReader(benchOutput))
	require.NoError(t, err)
	s, targets, err := middlewareSection(set, 2)
	require.NoError(t, err)
	require.Len(t, targets, 3)
	assert.Equal(t, met, targets[0].Status, "343 ns over 24 ns is within 350 ns, in 2 allocations")
	assert.Contains(t, targets[0].Measured, "+319 ns")
	assert.Contains(t, targets[0].Measured, "the net/http floor alone is +192 ns")
	assert.Equal(t, met, targets[1].Status, "67.0 µs is within 1.10× of 62.8 µs")
	assert.Equal(t, met, targets[2].Status, "67.0 µs beats 72.2 µs")
	require.Len(t, s.Tables, 1)
	assert.Len(t, s.Tables[0].Rows, 6)

	set.By["Middleware/cached"].NsOp = []float64{400}
	set.By["Middleware/uncached"].NsOp = []float64{80000}
	_, targets, err = middlewareSection(set, 1)
	require.NoError(t, err)
	assert.Equal(t, []status{missed, missed, missed}, []status{targets[0].Status, targets[1].Status, targets[2].Status})

	set.By["Middleware/cached"].NsOp = []float64{300}
	set.By["Middleware/cached"].Allocs = 3
	_, targets, err = middlewareSection(set, 1)
	require.NoError(t, err)
	assert.Equal(t, missed, targets[0].Status, "a third allocation misses the target")

	delete(set.By, "Middleware/golang-jwt")
	_, _, err = middlewareSection(set, 1)
	require.Error(t, err, "a missing benchmark is an error, not a blank row")
}

const tokensOutput = `cpu: AMD EPYC
BenchmarkVerify/eddsa-uncached-2         	   18000	     63298 ns/op	     921 B/op	      14 allocs/op
BenchmarkVerify/eddsa-cached-2           	10000000	       111.4 ns/op	       0 B/op	       0 allocs/op
BenchmarkVerify/floor-ed25519-2          	   19000	     61329 ns/op	       0 B/op	       0 allocs/op
BenchmarkVerify/golang-jwt-eddsa-2       	   16000	     70727 ns/op	    3376 B/op	      58 allocs/op
BenchmarkIssue/eddsa-2                   	   40000	     29562 ns/op	    1600 B/op	       7 allocs/op
BenchmarkIssue/floor-ed25519-2           	   43000	     27664 ns/op	       0 B/op	       0 allocs/op
`

func TestTokensSection(t *testing.T) {
	parse := func(t *testing.T) gobench.Set {
		set, err := gobench.Parse(strings.NewReader(tokensOutput))
		require.NoError(t, err)
		return set
	}
	statuses := func(ts []target) []status {
		var out []status
		for _, tg := range ts {
			out = append(out, tg.Status)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(set gobench.Set)
		want   []status // uncached vs floor, uncached vs golang-jwt, cached, issue
	}{
		{"all met", func(gobench.Set) {}, []status{met, met, met, met}},
		{"uncached over 1.15× the floor", func(set gobench.Set) { set.By["Verify/eddsa-uncached"].NsOp = []float64{70600} },
			[]status{missed, met, met, met}},
		{"uncached slower than golang-jwt", func(set gobench.Set) { set.By["Verify/golang-jwt-eddsa"].NsOp = []float64{63000} },
			[]status{met, missed, met, met}},
		{"cached over 111 ns", func(set gobench.Set) { set.By["Verify/eddsa-cached"].NsOp = []float64{112} },
			[]status{met, met, missed, met}},
		{"cached allocates", func(set gobench.Set) { set.By["Verify/eddsa-cached"].Allocs = 1 },
			[]status{met, met, missed, met}},
		{"issue over 1.3× the floor", func(set gobench.Set) { set.By["Issue/eddsa"].NsOp = []float64{36000} },
			[]status{met, met, met, missed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := parse(t)
			tt.change(set)
			s, targets, err := tokensSection(set, 1)
			require.NoError(t, err)
			assert.Equal(t, tt.want, statuses(targets))
			require.Len(t, s.Tables, 1)
			assert.Len(t, s.Tables[0].Rows, 6)
		})
	}

	set := parse(t)
	s, targets, err := tokensSection(set, 1)
	require.NoError(t, err)
	assert.Equal(t, "63.3 µs vs 61.3 µs (1.03×)", targets[0].Measured)
	assert.Equal(t, "111 ns, 0 allocations", targets[2].Measured)
	assert.Equal(t, []string{"`Issue/eddsa`", "29.6 µs", "29.6 µs", "1600", "7", "1.07×", "–"}, s.Tables[0].Rows[4],
		"Issue is compared with its own floor and has no golang-jwt column")

	delete(set.By, "Verify/golang-jwt-eddsa")
	_, _, err = tokensSection(set, 1)
	require.Error(t, err, "a missing benchmark is an error, not a target judged on nothing")
}

func TestSigninShares(t *testing.T) {
	ms := func(n int) []time.Duration { return []time.Duration{time.Duration(n) * time.Millisecond} }
	r := signinResult{
		Seq:     loadResult{Latencies: ms(50)},
		HashSeq: loadResult{Latencies: ms(45)},
		Load:    loadResult{Total: 10, CPU: 500 * time.Millisecond},
		HashPar: loadResult{Total: 10, CPU: 400 * time.Millisecond},
	}
	lat, capa := signinShares(r)
	assert.InDelta(t, 0.10, lat, 1e-9)
	assert.InDelta(t, 0.20, capa, 1e-9)
	_, tgt := signinSection(e2eConfig{}, r)
	assert.Equal(t, missed, tgt.Status, "the worse of the two views decides")
}

func TestParsePHC(t *testing.T) {
	p, err := parsePHC("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	require.NoError(t, err)
	assert.Equal(t, argonParams{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, p)
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=x,t=2,p=1$s$k", "$argon2id$v=19$t=2,p=1$s$k"} {
		_, err := parsePHC(bad)
		assert.Error(t, err, bad)
	}
}

func TestFormatting(t *testing.T) {
	assert.Equal(t, "1,000,000", groupThousands(1_000_000))
	assert.Equal(t, "999", groupThousands(999))
	assert.Equal(t, "-12,345", groupThousands(-12345))
	assert.Equal(t, "24 ns", fmtNs(23.75))
	assert.Equal(t, "1.12 µs", fmtNs(1120))
	assert.Equal(t, "68.3 µs", fmtNs(68322))
	assert.Equal(t, "24.55 ms", fmtNs(24.55e6))
	assert.Equal(t, "5,123/s", fmtRate(5123.4))
	assert.Equal(t, "31.2/s", fmtRate(31.21))
	assert.Equal(t, "1017 B", fmtBytes(1017))
	assert.Equal(t, "97.0 MiB", fmtBytes(97*(1<<20)))
	assert.Equal(t, "0.946×", fmtRatio(68.3, 72.2))
	assert.Equal(t, "1.00×", fmtRatio(95.7, 95.3))
	assert.Equal(t, "–", fmtRatio(1, 0))
	assert.Equal(t, "10k", shortCount(10_000))
	assert.Equal(t, "1M", shortCount(1_000_000))
	assert.Equal(t, "2,500", shortCount(2500))
}

func TestRender(t *testing.T) {
	r := report{
		Command: "cd bench && go run ./cmd/bench",
		Machine: machine{
			CPU: "AMD EPYC", Cores: 2, GOMAXPROCS: 2, OSArch: "linux/amd64", GoVersion: "go1.26.8",
			Postgres: "15.20", Start: time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC), Elapsed: 372 * time.Second,
			LoadStart: "0.39, 1.85, 1.71", LoadEnd: "2.00, 1.90, 1.75",
		},
		Targets: []target{
			check("Cached", "≤ 1 µs", "+583 ns", true),
			check("Refresh", "≥ 5,000/s", "2,400/s", false),
			{Name: "Growth", Goal: "flat", Measured: "not run"},
		},
		Sections: []section{{
			Title: "Middleware",
			Text:  []string{"Intro."},
			Tables: []table{{
				Header: []string{"variant", " time"},
				Rows:   [][]string{{"`a|b`", "1 µs"}, {"short row"}},
			}},
			Notes: []string{"A note."},
		}},
	}
	md := render(r)
	for _, want := range []string{
		"# gameauth benchmarks\n",
		"Generated by `cd bench && go run ./cmd/bench` on 2026-11-22 02:30 UTC, in 6m12s.",
		"| CPU | AMD EPYC, 2 cores (GOMAXPROCS 2) |",
		"| Go | go1.26.8 |",
		"| PostgreSQL | 15.20, same machine, over loopback |",
		"| Load average (1, 5, 15 min) at start / end | 0.39, 1.85, 1.71 / 2.00, 1.90, 1.75 |",
		"| Cached | ≤ 1 µs | +583 ns | met |",
		"| Refresh | ≥ 5,000/s | 2,400/s | **missed** |",
		"| Growth | flat | not run | not run |",
		"## 1. Middleware\n\nIntro.\n\n| variant | time |\n|---|---:|\n",
		"| `a\\|b` | 1 µs |",
		"| short row |  |",
		"- A note.\n",
	} {
		assert.Contains(t, md, want)
	}
	assert.NotContains(t, md, "Smoke run")
	r.Quick = true
	assert.Contains(t, render(r), "Smoke run (`-quick`)")
}

// lat is a load result whose every latency is d, at rps requests a second.
func lat(d time.Duration, rps int) loadResult {
	return loadResult{Requests: rps, Window: time.Second, Latencies: []time.Duration{d}}
}

func TestGrowthSection(t *testing.T) {
	stage := func(n int, p50 time.Duration) growthStage {
		return growthStage{Sessions: n, Result: lat(p50, 1000)}
	}
	cfg := growthConfig{Clients: 8, Count: 4000, Warmup: 10, Rounds: 3}
	s, tgt := growthSection(cfg, []growthStage{stage(10_000, 10*time.Millisecond), stage(1_000_000, 14*time.Millisecond)}, nil)
	assert.Equal(t, met, tgt.Status)
	assert.Equal(t, "Refresh latency from 10k to 1M sessions", tgt.Name)
	assert.Contains(t, tgt.Measured, "(1.40×)")
	require.Len(t, s.Tables, 1)
	assert.Len(t, s.Tables[0].Rows, 2)

	_, tgt = growthSection(cfg, []growthStage{stage(10_000, 10*time.Millisecond), stage(1_000_000, 16*time.Millisecond)}, nil)
	assert.Equal(t, missed, tgt.Status)

	s, tgt = growthSection(cfg, nil, errNoPostgres)
	assert.Equal(t, notRun, tgt.Status)
	assert.Contains(t, s.Notes[0], "no PostgreSQL DSN")
}

func TestRefreshSection(t *testing.T) {
	res := func(backend string, rps int) refreshResult {
		return refreshResult{Backend: backend, HTTP: lat(time.Millisecond, rps), StoreCalls: lat(time.Millisecond, 2*rps), Rotate: lat(time.Millisecond, 6*rps)}
	}
	s, tgts := refreshSection(e2eConfig{}, []refreshResult{res("SQLite", 9000)}, errNoPostgres)
	tgt := tgts[0]
	assert.Equal(t, notRun, tgt.Status, "SQLite alone does not decide the PostgreSQL target")
	assert.Len(t, s.Tables, 1)

	_, tgts = refreshSection(e2eConfig{}, []refreshResult{res("SQLite", 9000), res("PostgreSQL", 2600)}, nil)
	tgt = tgts[0]
	assert.Equal(t, missed, tgt.Status)
	assert.Contains(t, tgt.Measured, "2,600/s")
	s, tgts = refreshSection(e2eConfig{}, []refreshResult{res("PostgreSQL", 5000)}, nil)
	tgt = tgts[0]
	assert.Equal(t, notRun, tgts[1].Status, "no audit-log figure without a server without it")
	assert.Equal(t, met, tgt.Status)
	assert.Contains(t, s.Notes[0], "the five reads before the rotation take 66.7%")
	assert.Len(t, s.Tables[0].Rows, 3, "no Refresh row for a store without one")

	one := res("PostgreSQL", 5000)
	one.Refresher, one.OneStep = true, lat(time.Millisecond, 8000)
	s, _ = refreshSection(e2eConfig{}, []refreshResult{one}, nil)
	require.Len(t, s.Tables[0].Rows, 4)
	assert.Contains(t, s.Tables[0].Rows[1][0], "`Refresh`")
	assert.Equal(t, "0.625× of the store calls", s.Tables[0].Rows[0][7], "the endpoint against the one call it makes")
	assert.Contains(t, s.Notes[0], "`Refresh`, reads and rotation in one step, runs at 8,000/s (0.800×")

	before := lat(time.Millisecond, 2000)
	one.Unbatched = &before
	s, _ = refreshSection(e2eConfig{}, []refreshResult{one}, nil)
	require.Len(t, s.Tables[0].Rows, 5)
	assert.Contains(t, s.Tables[0].Rows[4][0], "`RefreshBatch(1)`")
	assert.Equal(t, "0.400× of the batched endpoint", s.Tables[0].Rows[4][7])
	assert.Contains(t, s.Notes[0], "batching takes the endpoint from 2,000/s (each refresh its own statement) to 5,000/s (2.50×)")

	bare := lat(time.Millisecond, 5100)
	one.NoAudit = &bare
	s, tgts = refreshSection(e2eConfig{}, []refreshResult{one}, nil)
	require.Len(t, s.Tables[0].Rows, 6)
	assert.Equal(t, "0.980× (the audited endpoint × this)", s.Tables[0].Rows[5][7])
	assert.Equal(t, met, tgts[1].Status, "98% of the throughput without the audit log")
	bare = lat(time.Millisecond, 5300)
	_, tgts = refreshSection(e2eConfig{}, []refreshResult{one}, nil)
	assert.Equal(t, missed, tgts[1].Status, "94.3% is under 95%")
}

func TestMemorySection(t *testing.T) {
	m := memResult{TokenLen: 546, CacheEntry: 1000, CacheBound: 100_000, Flood: 1_000_000,
		FloodHeap: 100_000_000, FloodPeak: 104_000_000, RevokedEntry: 230, BlockEntry: 310, ViewEntries: 100_000}
	_, tgt := memorySection(m)
	assert.Equal(t, met, tgt.Status, "within 10% of the bound")
	m.FloodPeak = 120_000_000
	_, tgt = memorySection(m)
	assert.Equal(t, missed, tgt.Status)
}

func TestMeSection(t *testing.T) {
	r := meResult{NoAuth: lat(time.Millisecond, 10_000), Header: lat(time.Millisecond, 9800), Auth: lat(time.Millisecond, 9000)}
	s, tgt := meSection(e2eConfig{Rounds: 3, Warmup: time.Second, Duration: 5 * time.Second}, r)
	assert.Equal(t, met, tgt.Status)
	assert.Contains(t, tgt.Measured, "90.0%")
	assert.Len(t, s.Tables[0].Rows, 3)
	r.Auth = lat(time.Millisecond, 8999)
	_, tgt = meSection(e2eConfig{}, r)
	assert.Equal(t, missed, tgt.Status)
}

func TestStorageSection(t *testing.T) {
	set, err := gobench.Parse(strings.NewReader(`cpu: AMD EPYC
BenchmarkRotate/memory-2         	 1000000	       500 ns/op	     100 B/op	       2 allocs/op
BenchmarkRotate/postgres-2       	   10000	    100000 ns/op	     900 B/op	      20 allocs/op
BenchmarkRotate/postgres-2       	   10000	    250000 ns/op	     900 B/op	      20 allocs/op
`))
	require.NoError(t, err)
	s, targets := storageSection(set, 2, true)
	require.Len(t, targets, 1)
	assert.Equal(t, met, targets[0].Status, "100 µs wall time per op is 10,000/s")
	assert.Equal(t, "10,000/s", targets[0].Measured)
	assert.Equal(t, []string{"`Rotate/postgres`", "10,000/s", "5,714/s", fmtNs(100000), fmtRatio(10000, 2e6)}, s.Tables[0].Rows[1])

	set.By["Rotate/postgres"].NsOp = []float64{400000}
	_, targets = storageSection(set, 1, true)
	assert.Equal(t, missed, targets[0].Status, "2,500/s misses 5,000/s")

	_, targets = storageSection(set, 1, false)
	assert.Empty(t, targets, "no PostgreSQL, no target claimed")
}

func TestInterleave(t *testing.T) {
	var order []int
	run := func(i int) func() (loadResult, error) {
		return func() (loadResult, error) {
			order = append(order, i)
			return loadResult{Requests: len(order)}, nil
		}
	}
	res, err := interleave(3, run(0), run(1), run(2))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 1, 2, 0, 2, 0, 1}, order, "each round starts one further along")
	requests := func(rs []loadResult) (n []int) {
		for _, r := range rs {
			n = append(n, r.Requests)
		}
		return n
	}
	assert.Equal(t, []int{1, 6, 8}, requests(res[0]), "run 0's results, in round order")
	assert.Equal(t, []int{2, 4, 9}, requests(res[1]))
	assert.Equal(t, []int{3, 5, 7}, requests(res[2]))

	order = nil
	_, err = interleave(2, run(0), func() (loadResult, error) { return loadResult{}, errors.New("boom") })
	require.EqualError(t, err, "boom")
	assert.Equal(t, []int{0}, order, "an error stops the runs")
}

const cacheOutput = `cpu: AMD EPYC
BenchmarkCacheMemory/per-session=1/bounded-2 	       1	 293656788 ns/op	       247.5 B/entry	     95778 entries
BenchmarkCacheMemory/per-session=1/go-cache-token-2          	       1	 794467727 ns/op	       999.0 B/entry	    100000 entries
BenchmarkCacheMemory/per-session=4/bounded-2                 	       1	 751253283 ns/op	       122.6 B/entry	     95774 entries
BenchmarkCacheMemory/per-session=4/go-cache-token-2          	       1	 866079433 ns/op	       999.0 B/entry	    100000 entries
`

func TestCacheMemorySection(t *testing.T) {
	set, err := gobench.Parse(strings.NewReader(cacheOutput))
	require.NoError(t, err)
	s, targets, err := cacheMemorySection(set)
	require.NoError(t, err)
	require.Len(t, targets, 1)
	assert.Equal(t, met, targets[0].Status)
	assert.Equal(t, "122.6 B at 4 tokens per session; 247.5 B at 1 (was 999.0 B)", targets[0].Measured)
	assert.Len(t, s.Tables[0].Rows, 4)

	set.By["CacheMemory/per-session=4/bounded"].Metrics["B/entry"] = 128.1
	_, targets, err = cacheMemorySection(set)
	require.NoError(t, err)
	assert.Equal(t, missed, targets[0].Status)

	delete(set.By["CacheMemory/per-session=1/bounded"].Metrics, "B/entry")
	_, _, err = cacheMemorySection(set)
	require.Error(t, err, "a benchmark without its metric is an error")
}

func TestBaselineSection(t *testing.T) {
	run := func(requests int, serverCPU, dbCPU time.Duration) procLoad {
		return procLoad{loadResult: loadResult{Clients: 16, Requests: requests, Window: time.Second, Total: requests},
			ServerCPU: serverCPU, DBCPU: dbCPU}
	}
	r := baselineResult{Scenarios: []baselineScenario{
		{Name: "`GET /nickname`", Before: run(1000, 500*time.Microsecond, 400*time.Microsecond), After: run(2100, 200*time.Microsecond, 100*time.Microsecond)},
		{Name: "guest sign-up (`POST /guest/signin` of a new device)", Before: run(1000, 0, 0), After: run(1200, 0, 0)},
		{Name: "`POST /token/refresh`", Before: run(1000, 0, 0), After: run(990, 0, 0)},
	}}
	s, targets := baselineSection(e2eConfig{Rounds: 3, Clients: 16}, r, nil)
	require.Len(t, targets, 3)
	assert.Equal(t, []status{met, missed, met}, []status{targets[0].Status, targets[1].Status, targets[2].Status},
		"2.1× meets 2×; 1.2× misses 1.3×; 0.99× is no slower than 0.95×")
	assert.Equal(t, "2.10× (2,100/s vs 1,000/s)", targets[0].Measured)
	require.Len(t, s.Tables, 1)
	assert.Len(t, s.Tables[0].Rows, 6)
	assert.Contains(t, s.Notes[0], "PostgreSQL CPU per request 400.0 µs → 100.0 µs")

	_, targets = baselineSection(e2eConfig{}, baselineResult{}, errors.New("no git"))
	require.Len(t, targets, 3)
	for _, tg := range targets {
		assert.Equal(t, notRun, tg.Status, tg.Name)
	}
}
