package gobench

import "runtime"

// LiveHeap is the live heap after a full collection, in bytes: the figure
// the memory benchmarks take before and after filling what they measure.
func LiveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what finalizers of the first kept
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
