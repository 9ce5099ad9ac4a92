package storage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gameauth/gameauth/storage"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func live() storage.Session {
	return storage.Session{
		ID: "s", ExpiresAt: t0.Add(time.Hour), RefreshHash: []byte("cur"),
		PrevRefreshHash: []byte("prev"), RotatedAt: t0, Generation: 3,
	}
}

func TestDecide(t *testing.T) {
	revoked := live()
	revoked.RevokedAt = t0
	for _, tc := range []struct {
		name string
		s    storage.Session
		r    storage.Rotation
		want storage.Outcome
	}{
		{"current token", live(), storage.Rotation{Presented: []byte("cur"), Now: t0}, storage.OutcomeAdvance},
		{"revoked beats everything", revoked, storage.Rotation{Presented: []byte("cur"), Now: t0}, storage.OutcomeRevoked},
		{"expired at ExpiresAt", live(), storage.Rotation{Presented: []byte("cur"), Now: t0.Add(time.Hour)}, storage.OutcomeExpired},
		{"retry in grace", live(), storage.Rotation{Presented: []byte("prev"), Next: []byte("cur"), Now: t0.Add(time.Second), Grace: 2 * time.Second}, storage.OutcomeRetry},
		{"retry at grace end", live(), storage.Rotation{Presented: []byte("prev"), Next: []byte("cur"), Now: t0.Add(2 * time.Second), Grace: 2 * time.Second}, storage.OutcomeReused},
		{"retry with other successor", live(), storage.Rotation{Presented: []byte("prev"), Next: []byte("x"), Now: t0, Grace: time.Minute}, storage.OutcomeReused},
		{"unknown token", live(), storage.Rotation{Presented: []byte("old"), Now: t0}, storage.OutcomeReused},
		{"empty token never matches empty hash", storage.Session{ExpiresAt: t0.Add(time.Hour)}, storage.Rotation{Now: t0, Grace: time.Minute}, storage.OutcomeReused},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, storage.Decide(tc.s, tc.r)) })
	}
}
