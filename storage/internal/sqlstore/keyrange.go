package sqlstore

import "unicode/utf8"

// KeyRange returns the keys that start with prefix as a range in bytewise
// order — which for valid UTF-8 is code point order, SQLite's BINARY and
// PostgreSQL's "C" collation: lo <= key, and key < hi when bounded. An index
// on the key answers it as one range scan, where LIKE would need its
// wildcards (%, _) escaped and, in PostgreSQL, a pattern operator class.
//
// hi is prefix with its last character replaced by the next one (U+E000
// after U+D7FF: surrogates are not characters), after dropping trailing
// U+10FFFF, which has no next; so hi is valid UTF-8 when prefix is. bounded
// is false when no string is above every key with the prefix: prefix is
// empty or all U+10FFFF.
//
// prefix must be valid UTF-8 (callers answer "no match" otherwise: no valid
// key starts with an invalid prefix as a string of characters).
func KeyRange(prefix string) (lo, hi string, bounded bool) {
	rest := prefix
	for rest != "" {
		r, size := utf8.DecodeLastRuneInString(rest)
		rest = rest[:len(rest)-size]
		switch {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF:
			r = 0xE000
		default:
			r++
		}
		return prefix, rest + string(r), true
	}
	return prefix, "", false
}
