package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"syscall"
	"time"
)

// loadResult is what a load run measured: requests completed inside the
// measurement window, how long the window was, and each request's latency.
type loadResult struct {
	Clients   int
	Requests  int
	Errors    int
	Window    time.Duration
	Latencies []time.Duration // sorted
	// CPU is the CPU time (user and system) this process spent over the
	// whole run, warm-up included, client and server alike.
	CPU   time.Duration
	Total int // requests over the whole run, warm-up included
}

// CPUPerRequest is the process's CPU time per request: unlike throughput,
// it hardly moves when other processes take the cores.
func (r loadResult) CPUPerRequest() time.Duration {
	if r.Total == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Total)
}

// RPS is requests completed per second of the window.
func (r loadResult) RPS() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Window.Seconds()
}

// P returns the q-th percentile latency (0 < q ≤ 100).
func (r loadResult) P(q float64) time.Duration { return percentile(r.Latencies, q) }

// percentile is the nearest-rank percentile of sorted: the smallest value
// with at least q% of the samples at or below it. Zero for no samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// request is one client's next request; it returns an error if the answer
// was not what the scenario expects.
type request func(ctx context.Context) error

// loadSpec bounds a load run: by duration (Duration > 0) or by a number of
// requests in total (Count > 0), after Warmup requests or time.
type loadSpec struct {
	Clients      int
	Warmup       time.Duration // by time
	Duration     time.Duration
	WarmupCount  int // by count: requests per client before measuring
	Count        int // by count: requests in total, split among clients
	MaxErrorRate float64
}

// runLoad drives spec.Clients concurrent clients, each calling its own
// request function (newClient(i)) back to back, and records the latency of
// every request that starts inside the measurement window. A run with more
// failed requests than MaxErrorRate (default none) is an error: a benchmark
// of errors is no benchmark.
func runLoad(ctx context.Context, spec loadSpec, newClient func(i int) (request, error)) (loadResult, error) {
	if spec.Clients <= 0 {
		return loadResult{}, errors.New("load: no clients")
	}
	reqs := make([]request, spec.Clients)
	for i := range reqs {
		var err error
		if reqs[i], err = newClient(i); err != nil {
			return loadResult{}, err
		}
	}
	type clientResult struct {
		lat   []time.Duration
		errs  int
		total int
		first error
		lastT time.Time
	}
	results := make([]clientResult, spec.Clients)
	cpu0 := processCPU()
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	measureTo := measureFrom.Add(spec.Duration)
	byCount := spec.Count > 0
	perClient := 0
	if byCount {
		perClient = (spec.Count + spec.Clients - 1) / spec.Clients
	}
	// With a count, the window opens when every client has warmed up.
	var warm sync.WaitGroup
	warm.Add(spec.Clients)
	var windowStart time.Time
	ready := make(chan struct{})
	for i := range spec.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[i]
			do := reqs[i]
			if byCount {
				for range spec.WarmupCount {
					res.total++
					if err := do(ctx); err != nil {
						res.errs++
						res.first = cmp(res.first, err)
					}
				}
				warm.Done()
				<-ready
				res.lat = make([]time.Duration, 0, perClient)
				for range perClient {
					res.total++
					t0 := time.Now()
					err := do(ctx)
					t1 := time.Now()
					if err != nil {
						res.errs++
						res.first = cmp(res.first, err)
						continue
					}
					res.lat = append(res.lat, t1.Sub(t0))
					res.lastT = t1
				}
				return
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(measureTo) {
					return
				}
				err := do(ctx)
				t1 := time.Now()
				res.total++
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					res.errs++
					res.first = cmp(res.first, err)
					continue
				}
				res.lat = append(res.lat, t1.Sub(t0))
				res.lastT = t1
			}
		}()
	}
	if byCount {
		warm.Wait()
		windowStart = time.Now()
		close(ready)
	}
	wg.Wait()
	cpu := processCPU() - cpu0
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}

	out := loadResult{Clients: spec.Clients, CPU: cpu}
	var first error
	var end time.Time
	for _, r := range results {
		out.Latencies = append(out.Latencies, r.lat...)
		out.Errors += r.errs
		out.Total += r.total
		first = cmp(first, r.first)
		if r.lastT.After(end) {
			end = r.lastT
		}
	}
	slices.Sort(out.Latencies)
	out.Requests = len(out.Latencies)
	if byCount {
		out.Window = end.Sub(windowStart)
	} else {
		// Requests started before measureTo finish after it: the window
		// runs to the last completion.
		out.Window = max(end.Sub(measureFrom), spec.Duration)
	}
	total := out.Requests + out.Errors
	if out.Errors > 0 && (total == 0 || float64(out.Errors)/float64(total) > spec.MaxErrorRate) {
		return out, fmt.Errorf("load: %d of %d requests failed, first: %w", out.Errors, total, first)
	}
	if out.Requests == 0 {
		return out, errors.New("load: no request completed in the window")
	}
	return out, nil
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cmp keeps the first error seen.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
