package tokens

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSID = "c2Vzc2lvbi1pZC0wMDAwMQ" // 22 base64url characters, like account's

func TestRefreshTokens(t *testing.T) {
	f := newFixture(t, RingConfig{})
	first, h1, err := f.ring.NewRefreshToken(testSID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(first, testSID+"."))
	assert.Equal(t, HashSecret(first), h1)
	assert.Len(t, first, len(testSID)+1+75)
	for _, c := range first {
		assert.True(t, c == '.' || isB64URL(byte(c)), "URL-safe")
	}

	other, _, err := f.ring.NewRefreshToken(testSID)
	require.NoError(t, err)
	assert.NotEqual(t, first, other, "first tokens are random")

	sid, h, err := f.ring.ParseRefreshToken(first)
	require.NoError(t, err)
	assert.Equal(t, testSID, sid)
	assert.Equal(t, h1, h)

	next, h2, err := f.ring.NextRefreshToken(first)
	require.NoError(t, err)
	assert.NotEqual(t, first, next)
	again, h2again, err := f.ring.NextRefreshToken(first)
	require.NoError(t, err)
	assert.Equal(t, next, again, "a retry gets the same successor")
	assert.Equal(t, h2, h2again)
	sid, _, err = f.ring.ParseRefreshToken(next)
	require.NoError(t, err)
	assert.Equal(t, testSID, sid)

	third, _, err := f.ring.NextRefreshToken(next)
	require.NoError(t, err)
	assert.NotEqual(t, next, third)
	assert.NotEqual(t, first, third)
	otherNext, _, err := f.ring.NextRefreshToken(other)
	require.NoError(t, err)
	assert.NotEqual(t, next, otherNext)

	// Another process on the same store derives the same successor.
	r2, err := OpenRing(t.Context(), RingConfig{Store: f.store, Clock: f.clock.Now})
	require.NoError(t, err)
	n2, _, err := r2.NextRefreshToken(first)
	require.NoError(t, err)
	assert.Equal(t, next, n2)
}

func TestRefreshTokenRejects(t *testing.T) {
	f := newFixture(t, RingConfig{})
	tok, _, err := f.ring.NewRefreshToken(testSID)
	require.NoError(t, err)
	foreign := newFixture(t, RingConfig{})
	foreignTok, _, err := foreign.ring.NewRefreshToken(testSID)
	require.NoError(t, err)
	body := tok[len(testSID)+1:]

	for name, bad := range map[string]string{
		"empty":                 "",
		"no dot":                strings.Replace(tok, ".", "", 1),
		"other ring's secret":   foreignTok,
		"session ID swapped":    "AAAAAAAAAAAAAAAAAAAAAA." + body,
		"body tampered":         tok[:len(tok)-1] + string("AB"[boolInt(tok[len(tok)-1] == 'A')]),
		"generation bumped":     testSID + "." + "AAAAAAAAAAE" + body[11:],
		"truncated":             tok[:len(tok)-1],
		"extended":              tok + "A",
		"padded":                tok + "=",
		"non-canonical base64":  tok[:len(tok)-1] + nonCanonical(tok[len(tok)-1]),
		"bad session ID chars":  "c2Vzc2lvbi1pZC0wMDA/MQ." + body,
		"long session ID":       strings.Repeat("a", MaxSessionIDLen+1) + "." + body,
		"an access token":       "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
		"1 MiB":                 strings.Repeat("a", 1<<20),
		"sid only":              testSID + ".",
		"dot in the session ID": "a.b" + "." + body,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.ring.ParseRefreshToken(bad)
			require.ErrorIs(t, err, ErrTokenInvalid)
			_, _, err = f.ring.NextRefreshToken(bad)
			require.ErrorIs(t, err, ErrTokenInvalid)
		})
	}

	for _, sid := range []string{"", "has.dot", "has space", strings.Repeat("a", MaxSessionIDLen+1)} {
		_, _, err := f.ring.NewRefreshToken(sid)
		assert.Error(t, err, sid)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nonCanonical returns another character that decodes to the same bits in
// the last position of a 75-character body (whose last 2 bits are padding).
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}
