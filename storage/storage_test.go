package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gameauth/gameauth/storage"
)

func TestNicknameKey(t *testing.T) {
	same := [][2]string{
		{"Hero", "hERO"},
		{"ÄRGER", "ärger"},
		{"Straße", "STRASSE"},
		{"Caf\u00e9", "Cafe\u0301"}, // precomposed é, and e + combining acute
		{"CAFE\u0301", "caf\u00e9"},
	}
	for _, p := range same {
		assert.Equal(t, storage.NicknameKey(p[0]), storage.NicknameKey(p[1]), "%q vs %q", p[0], p[1])
	}
	assert.NotEqual(t, storage.NicknameKey("Cafe"), storage.NicknameKey("Café"))
	assert.Equal(t, "", storage.NicknameKey(""))
}
