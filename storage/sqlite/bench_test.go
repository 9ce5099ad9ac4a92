package sqlite_test

import (
	"testing"

	"github.com/gameauth/gameauth/storage/storagetest"
)

func BenchmarkRotate(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storagetest.BenchRotate(b, newStore(b)) })
}

func BenchmarkGetAccount(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storagetest.BenchGetAccount(b, newStore(b)) })
}

func BenchmarkRefresh(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storagetest.BenchRefresh(b, newStore(b)) })
}
