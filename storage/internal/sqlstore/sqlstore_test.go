package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func live() storage.Session {
	return storage.Session{
		ID: "s", ExpiresAt: t0.Add(time.Hour), RefreshHash: []byte("cur"),
		PrevRefreshHash: []byte("prev"), RotatedAt: t0, Generation: 3,
	}
}

// fakeOps is a session whose state other callers change between the
// statements Rotate runs: before[i] is applied before the i-th statement.
type fakeOps struct {
	s      storage.Session
	before []func(*storage.Session)
	calls  []string
}

func (f *fakeOps) step(name string) {
	if n := len(f.calls); n < len(f.before) && f.before[n] != nil {
		f.before[n](&f.s)
	}
	f.calls = append(f.calls, name)
}

func (f *fakeOps) Advance(_ context.Context, _ string, r storage.Rotation) (storage.Session, bool, error) {
	f.step("advance")
	if storage.Decide(f.s, r) != storage.OutcomeAdvance {
		return storage.Session{}, false, nil
	}
	f.s.PrevRefreshHash, f.s.RefreshHash = f.s.RefreshHash, r.Next
	f.s.Generation++
	f.s.RotatedAt = r.Now
	return f.s, true, nil
}

func (f *fakeOps) Get(context.Context, string) (storage.Session, error) {
	f.step("get")
	return f.s, nil
}

func (f *fakeOps) RevokeReused(_ context.Context, _ string, gen int64, now time.Time) (storage.Session, bool, error) {
	f.step("revoke")
	if f.s.Revoked() || f.s.Generation != gen {
		return storage.Session{}, false, nil
	}
	f.s.RevokedAt, f.s.RevokeReason = now, storage.ReasonReused
	return f.s, true, nil
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	rotated := func(s *storage.Session) { // another caller rotates "cur" to "other"
		s.PrevRefreshHash, s.RefreshHash = s.RefreshHash, []byte("other")
		s.Generation++
	}
	for _, tc := range []struct {
		name   string
		r      storage.Rotation
		before []func(*storage.Session)
		err    error
		calls  []string
		gen    int64
	}{
		{"one statement when it wins", storage.Rotation{Presented: []byte("cur"), Next: []byte("n"), Now: t0},
			nil, nil, []string{"advance"}, 4},
		{"reuse revokes", storage.Rotation{Presented: []byte("old"), Now: t0},
			nil, storage.ErrRefreshReused, []string{"advance", "get", "revoke"}, 3},
		{"reuse judged again after a concurrent rotation", storage.Rotation{Presented: []byte("old"), Now: t0},
			[]func(*storage.Session){nil, nil, rotated}, storage.ErrRefreshReused, []string{"advance", "get", "revoke", "get", "revoke"}, 4},
		{"lost race becomes a retry", storage.Rotation{Presented: []byte("cur"), Next: []byte("other"), Now: t0, Grace: time.Minute},
			[]func(*storage.Session){rotated}, nil, []string{"advance", "get"}, 4},
		{"lost race with another successor is reuse", storage.Rotation{Presented: []byte("cur"), Next: []byte("mine"), Now: t0, Grace: time.Minute},
			[]func(*storage.Session){rotated}, storage.ErrRefreshReused, []string{"advance", "get", "revoke"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeOps{s: live(), before: tc.before}
			got, err := Rotate(ctx, f, "s", tc.r)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
			assert.Equal(t, tc.calls, f.calls)
			assert.Equal(t, tc.gen, got.Generation)
		})
	}
}

// TestSettle: Settle reads first, then goes on as Rotate does.
func TestSettle(t *testing.T) {
	ctx := context.Background()
	f := &fakeOps{s: live()}
	f.s.PrevRefreshHash, f.s.RefreshHash = []byte("cur"), []byte("other") // someone else rotated "cur"
	got, err := Settle(ctx, f, "s", storage.Rotation{Presented: []byte("cur"), Next: []byte("other"), Now: t0, Grace: time.Minute})
	require.NoError(t, err, "the lost race is a retry")
	assert.Equal(t, []string{"get"}, f.calls)
	assert.EqualValues(t, 3, got.Generation)

	f = &fakeOps{s: live()}
	_, err = Settle(ctx, f, "s", storage.Rotation{Presented: []byte("cur"), Next: []byte("n"), Now: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"get", "advance"}, f.calls, "a session still on the token is rotated")

	f = &fakeOps{s: live()}
	_, err = Settle(ctx, f, "s", storage.Rotation{Presented: []byte("old"), Now: t0})
	require.ErrorIs(t, err, storage.ErrRefreshReused)
	assert.Equal(t, []string{"get", "revoke"}, f.calls)
}

// TestRotateBounded: a session that changes under every statement makes
// Rotate give up with an error instead of spinning.
func TestRotateBounded(t *testing.T) {
	f := &fakeOps{s: live()}
	for range 3 * maxRotateRounds {
		f.before = append(f.before, func(s *storage.Session) { s.Generation++ })
	}
	_, err := Rotate(context.Background(), f, "s", storage.Rotation{Presented: []byte("old"), Now: t0})
	require.ErrorIs(t, err, ErrContended)
	assert.False(t, f.s.Revoked())
}

func TestRotateTruncatesNow(t *testing.T) {
	f := &fakeOps{s: live()}
	got, err := Rotate(context.Background(), f, "s", storage.Rotation{Presented: []byte("cur"), Now: t0.Add(1500 * time.Nanosecond)})
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Microsecond), got.RotatedAt)
}

func TestRotateStoreError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Rotate(context.Background(), errOps{boom}, "s", storage.Rotation{Now: t0})
	require.ErrorIs(t, err, boom)
}

type errOps struct{ err error }

func (e errOps) Advance(context.Context, string, storage.Rotation) (storage.Session, bool, error) {
	return storage.Session{}, false, e.err
}
func (e errOps) Get(context.Context, string) (storage.Session, error) {
	return storage.Session{}, e.err
}
func (e errOps) RevokeReused(context.Context, string, int64, time.Time) (storage.Session, bool, error) {
	return storage.Session{}, false, e.err
}

func TestMigrations(t *testing.T) {
	ms, err := Migrations(fstest.MapFS{
		"0002_more.sql": {Data: []byte("B")},
		"0001_init.sql": {Data: []byte("A")},
		"README.md":     {Data: []byte("ignored")},
	})
	require.NoError(t, err)
	assert.Equal(t, []Migration{{1, "0001_init.sql", "A"}, {2, "0002_more.sql", "B"}}, ms)

	for name, fsys := range map[string]fstest.MapFS{
		"no version":  {"init.sql": {}},
		"zero":        {"0000_x.sql": {}},
		"duplicate":   {"0001_a.sql": {}, "1_b.sql": {}},
		"none at all": {},
	} {
		_, err := Migrations(fsys)
		assert.Error(t, err, name)
	}
}

func TestPending(t *testing.T) {
	ms := []Migration{{1, "0001_a.sql", "A"}, {2, "0002_b.sql", "B"}, {5, "0005_c.sql", "C"}}
	for _, tc := range []struct {
		cur  int
		want []Migration
	}{
		{0, ms},
		{1, ms[1:]},
		{2, ms[2:]},
		{3, ms[2:]},
		{5, []Migration{}},
	} {
		got, err := Pending(ms, tc.cur)
		require.NoError(t, err, tc.cur)
		assert.Equal(t, tc.want, got, tc.cur)
	}
	_, err := Pending(ms, 6)
	require.ErrorContains(t, err, "newer")
}

func TestVerdict(t *testing.T) {
	for _, err := range []error{
		storage.ErrNotFound, storage.Conflict(storage.FieldNickname), storage.ErrLimited,
		storage.ErrWithdrawalExpired, storage.ErrSessionRevoked, storage.ErrRefreshExpired,
		fmt.Errorf("rotate: %w", storage.ErrRefreshReused),
	} {
		assert.True(t, Verdict(err), "%v", err)
	}
	for _, err := range []error{nil, errors.New("connection reset"), ErrContended, context.Canceled} {
		assert.False(t, Verdict(err), "%v", err)
	}
}

func TestApplied(t *testing.T) {
	s, ok, err := Applied(live(), nil)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, live(), s)

	s, ok, err = Applied(storage.Session{}, storage.ErrNotFound)
	require.NoError(t, err, "no row matched: not applied, not an error")
	assert.False(t, ok)
	assert.Zero(t, s)

	boom := errors.New("boom")
	_, ok, err = Applied(storage.Session{}, boom)
	require.ErrorIs(t, err, boom)
	assert.False(t, ok)
}
