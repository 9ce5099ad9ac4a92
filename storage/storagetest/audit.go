package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// auditStore is what the Audit part checks.
type auditStore interface {
	storage.Store
	storage.Audit
}

// appenders is how many goroutines append audit events at once.
const appenders = 16

func normEvent(e storage.AuditEvent) storage.AuditEvent {
	e.Time = normTime(e.Time)
	return e
}

// listAudit returns ListAudit's answer, comparable with ==.
func listAudit(t *testing.T, st storage.Audit, f storage.AuditFilter, limit int) []storage.AuditEvent {
	t.Helper()
	evs, err := st.ListAudit(t.Context(), f, limit)
	require.NoError(t, err, "ListAudit(%+v, %d)", f, limit)
	require.LessOrEqual(t, len(evs), limit, "at most limit")
	return normAll(evs, normEvent)
}

// selects is the contract's AuditFilter, for the expected answers.
func selects(f storage.AuditFilter, e storage.AuditEvent) bool {
	return (f.PlayerID == "" || e.PlayerID == f.PlayerID) &&
		(f.Kind == "" || e.Kind == f.Kind) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.BeforeSeq == 0 || e.Seq < f.BeforeSeq)
}

// audit runs the Audit part of Run, when the store implements
// storage.Audit; for one that does not, it only logs so.
func (s suite) audit(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Audit); !ok {
		t.Log("the store does not implement storage.Audit: nothing to check")
		return
	}
	newStore := func(t *testing.T) auditStore { return s.newStore(t).(auditStore) }
	test := func(name string, f func(t *testing.T, st auditStore)) {
		t.Helper()
		subtest(t, name, newStore, f)
	}

	// events are a log's worth: two players, three kinds, times that tie.
	events := func() []storage.AuditEvent {
		var evs []storage.AuditEvent
		kinds := []string{"signin", "refresh_reused", "block"}
		for i := range 12 {
			evs = append(evs, storage.AuditEvent{
				Kind:       kinds[i%3],
				Time:       at(time.Duration(i/2) * time.Minute),
				PlayerID:   fmt.Sprintf("acc-%d", i%2),
				SessionID:  fmt.Sprintf("sess-%d", i),
				DeviceID:   fmt.Sprintf("dev-%d", i%4),
				ClientAddr: "2001:db8::" + fmt.Sprint(i),
				Operator:   []string{"", "ops@example.com"}[i%2],
				Reason:     []string{"", "cheating — 핵 사용"}[i%2],
			})
		}
		evs[5].PlayerID = "" // an event about no player
		return evs
	}
	// appendAll appends evs, one call each in batches of batch, and
	// returns them with the Seq the store gave them (read back).
	appendAll := func(t *testing.T, st auditStore, evs []storage.AuditEvent, batch int) []storage.AuditEvent {
		t.Helper()
		for i := 0; i < len(evs); i += batch {
			require.NoError(t, st.AppendAudit(t.Context(), evs[i:min(i+batch, len(evs))]))
		}
		got := listAudit(t, st, storage.AuditFilter{}, 1000)
		require.Len(t, got, len(evs))
		out := make([]storage.AuditEvent, len(evs))
		for i, e := range got {
			out[len(evs)-1-i] = e
		}
		return out
	}

	test("AppendAndList", func(t *testing.T, st auditStore) {
		evs := events()
		stored := appendAll(t, st, evs, 5)
		for i, e := range stored {
			if i > 0 {
				require.Greater(t, e.Seq, stored[i-1].Seq, "event %d: Seq increases in append order", i)
			}
			want := evs[i]
			want.Seq = e.Seq
			require.Equal(t, normEvent(want), e, "event %d round-trips", i)
		}
		// The caller's Seq is ignored.
		e := evs[0]
		e.Seq = 1
		require.NoError(t, st.AppendAudit(t.Context(), []storage.AuditEvent{e}))
		newest := listAudit(t, st, storage.AuditFilter{}, 1)
		require.Len(t, newest, 1)
		require.Greater(t, newest[0].Seq, stored[len(stored)-1].Seq)
		require.NoError(t, st.AppendAudit(t.Context(), nil), "nothing to append")
		require.Len(t, listAudit(t, st, storage.AuditFilter{}, 1000), len(evs)+1)
	})

	test("Filters", func(t *testing.T, st auditStore) {
		stored := appendAll(t, st, events(), 12)
		mid := stored[6].Seq
		for _, player := range []string{"", "acc-0", "acc-1", "acc-9"} {
			for _, kind := range []string{"", "signin", "block", "none"} {
				for _, since := range []time.Time{{}, at(0), at(2 * time.Minute), at(2*time.Minute + time.Microsecond), at(time.Hour)} {
					for _, before := range []int64{0, stored[0].Seq, mid, stored[11].Seq, stored[11].Seq + 1} {
						f := storage.AuditFilter{PlayerID: player, Kind: kind, Since: since, BeforeSeq: before}
						var want []storage.AuditEvent
						for i := len(stored) - 1; i >= 0; i-- {
							if selects(f, stored[i]) {
								want = append(want, stored[i])
							}
						}
						for _, limit := range []int{1, 3, 100} {
							require.Equal(t, want[:min(limit, len(want))], listAudit(t, st, f, limit), "filter %+v, limit %d", f, limit)
						}
					}
				}
			}
		}
	})

	test("Paging", func(t *testing.T, st auditStore) {
		stored := appendAll(t, st, events(), 3)
		for _, f := range []storage.AuditFilter{{}, {PlayerID: "acc-0"}, {Kind: "signin"}, {Since: at(3 * time.Minute)}} {
			var all []storage.AuditEvent
			for i := len(stored) - 1; i >= 0; i-- {
				if selects(f, stored[i]) {
					all = append(all, stored[i])
				}
			}
			for size := 1; size <= len(all)+1; size++ {
				var got []storage.AuditEvent
				page := f
				for pages := 0; ; pages++ {
					require.Less(t, pages, len(all)+2, "paging does not end")
					evs := listAudit(t, st, page, size)
					if len(evs) == 0 {
						break
					}
					got = append(got, evs...)
					page.BeforeSeq = evs[len(evs)-1].Seq
				}
				require.Equal(t, all, got, "filter %+v, page size %d: every event once, newest first", f, size)
			}
		}
	})

	test("DeleteAuditBefore", func(t *testing.T, st auditStore) {
		stored := appendAll(t, st, events(), 12) // two events a minute, at(0)..at(5m)
		n, err := st.DeleteAuditBefore(t.Context(), at(2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, 4, n, "before the cutoff, not at it")
		got := listAudit(t, st, storage.AuditFilter{}, 100)
		require.Len(t, got, 8)
		require.Equal(t, stored[4], got[len(got)-1], "the events at the cutoff stay")
		n, err = st.DeleteAuditBefore(t.Context(), at(2*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n, "again: nothing")

		// Deleting the newest does not free their numbers.
		n, err = st.DeleteAuditBefore(t.Context(), at(time.Hour))
		require.NoError(t, err)
		require.Equal(t, 8, n)
		require.Empty(t, listAudit(t, st, storage.AuditFilter{}, 100))
		require.NoError(t, st.AppendAudit(t.Context(), []storage.AuditEvent{{Kind: "signin", Time: at(0), PlayerID: "acc-0"}}))
		got = listAudit(t, st, storage.AuditFilter{}, 100)
		require.Len(t, got, 1)
		require.Greater(t, got[0].Seq, stored[len(stored)-1].Seq, "a Seq is never reused")
	})

	test("Concurrent", func(t *testing.T, st auditStore) {
		const batches, perBatch = 4, 3
		errs := race(appenders, func(g int) error {
			for b := range batches {
				var evs []storage.AuditEvent
				for i := range perBatch {
					evs = append(evs, storage.AuditEvent{Kind: "signin", Time: at(time.Duration(b) * time.Second),
						PlayerID: fmt.Sprintf("acc-%d", g), SessionID: fmt.Sprintf("%d/%d", b, i)})
				}
				if err := st.AppendAudit(t.Context(), evs); err != nil {
					return err
				}
			}
			return nil
		})
		for g, err := range errs {
			require.NoError(t, err, "appender %d", g)
		}
		all := listAudit(t, st, storage.AuditFilter{}, 10000)
		require.Len(t, all, appenders*batches*perBatch, "every event stored")
		seen := map[int64]bool{}
		last := map[string]int64{}
		for i := len(all) - 1; i >= 0; i-- { // oldest first
			e := all[i]
			require.False(t, seen[e.Seq], "Seq %d given twice", e.Seq)
			seen[e.Seq] = true
			if i < len(all)-1 {
				require.Greater(t, e.Seq, all[i+1].Seq, "listed newest first")
			}
			// Each appender's events are in the order it appended them.
			var b, n int
			_, err := fmt.Sscanf(e.SessionID, "%d/%d", &b, &n)
			require.NoError(t, err)
			require.Greater(t, int64(b*perBatch+n+1), last[e.PlayerID], "%s: %s out of order", e.PlayerID, e.SessionID)
			last[e.PlayerID] = int64(b*perBatch + n + 1)
		}
	})

	test("Cancelled", func(t *testing.T, st auditStore) {
		stored := appendAll(t, st, events(), 12)
		requireCancelledFails(t, func(ctx context.Context) error {
			return st.AppendAudit(ctx, []storage.AuditEvent{{Kind: "signin", Time: at(0)}})
		}, "AppendAudit")
		requireCancelledFails(t, func(ctx context.Context) error {
			_, err := st.ListAudit(ctx, storage.AuditFilter{}, 10)
			return err
		}, "ListAudit")
		requireCancelledFails(t, func(ctx context.Context) error {
			_, err := st.DeleteAuditBefore(ctx, at(time.Hour))
			return err
		}, "DeleteAuditBefore")
		require.Len(t, listAudit(t, st, storage.AuditFilter{}, 100), len(stored), "and writes nothing")
		require.NoError(t, st.AppendAudit(t.Context(), []storage.AuditEvent{{Kind: "signin", Time: at(0)}}))
		require.Len(t, listAudit(t, st, storage.AuditFilter{}, 100), len(stored)+1)
	})
}
