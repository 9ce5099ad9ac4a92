package sqlstore

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestKeyRange(t *testing.T) {
	for _, c := range []struct {
		prefix, hi string
		bounded    bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"ab", "ac", true},
		{"a%", "a&", true},
		{"한", "핝", true},
		{"é", "ê", true},
		{"\u007f", "\u0080", true},     // one byte to two
		{"\uffff", "\U00010000", true}, // three bytes to four
		{"\ud7ff", "\ue000", true},     // over the surrogates
		{"a\U0010ffff", "b", true},
		{"a\U0010ffff\U0010ffff", "b", true},
		{"\U0010ffff", "", false},
	} {
		lo, hi, bounded := KeyRange(c.prefix)
		assert.Equal(t, c.prefix, lo)
		assert.Equal(t, c.hi, hi, "successor of %q", c.prefix)
		assert.Equal(t, c.bounded, bounded, "%q", c.prefix)
		assert.True(t, utf8.ValidString(hi), "%q", hi)
	}
}

// TestKeyRangeExact: in bytewise order, a valid key is in the range exactly
// when it starts with the prefix.
func TestKeyRangeExact(t *testing.T) {
	chars := []string{"", "a", "b", "z", "\u007f", "\u0080", "é", "ê", "한", "핝", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010ffff"}
	var keys []string
	for _, x := range chars {
		for _, y := range chars {
			for _, z := range chars {
				keys = append(keys, x+y+z)
			}
		}
	}
	for _, x := range chars {
		for _, y := range chars {
			prefix := x + y
			lo, hi, bounded := KeyRange(prefix)
			for _, k := range keys {
				in := k >= lo && (!bounded || k < hi)
				if in != strings.HasPrefix(k, prefix) {
					t.Fatalf("prefix %q: key %q in range %v, has prefix %v", prefix, k, in, !in)
				}
			}
		}
	}
}
