package storagebench_test

import (
	"testing"

	"github.com/gameauth/gameauth/bench/storagebench"
	"github.com/gameauth/gameauth/storage/memory"
)

// The benchmarks take an open store and add their own records to it.
func ExampleRotate() {
	_ = func(b *testing.B) { // func BenchmarkRotate(b *testing.B)
		b.Run("memory", func(b *testing.B) { storagebench.Rotate(b, memory.New()) })
	}
}

// A store that implements storage.Refresher measures its one-step refresh.
func ExampleRefresh() {
	_ = func(b *testing.B) { // func BenchmarkRefresh(b *testing.B)
		b.Run("memory", func(b *testing.B) { storagebench.Refresh(b, memory.New()) })
	}
}

// Account reads run in parallel among 256 accounts the benchmark adds.
func ExampleGetAccount() {
	_ = func(b *testing.B) { // func BenchmarkGetAccount(b *testing.B)
		b.Run("memory", func(b *testing.B) { storagebench.GetAccount(b, memory.New()) })
	}
}
