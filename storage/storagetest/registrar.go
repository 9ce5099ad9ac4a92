package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// registrar runs the Registrar part of the suite: Register must write the
// account (as CreateAccount does) and its first session, or neither. It runs
// only when the store implements storage.Registrar.
func (s suite) registrar(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Registrar); !ok {
		t.Log("the store does not implement storage.Registrar: nothing to check")
		return
	}
	register := func(ctx context.Context, st storage.Store, a storage.Account, sess storage.Session) error {
		return st.(storage.Registrar).Register(ctx, a, sess)
	}
	// requireNothing asserts that neither the account nor the session was
	// written, nor any trace of them found by their unique fields.
	requireNothing := func(t *testing.T, st storage.Store, a storage.Account, sess storage.Session, msg string) {
		t.Helper()
		requireAccountMissing(t, st, a.ID)
		_, err := st.GetSession(t.Context(), sess.ID)
		requireOnly(t, err, storage.ErrNotFound, msg+": the session")
	}

	s.test(t, "Writes", func(t *testing.T, st storage.Store) {
		a := newAccount("acc-r", storage.LinkEmail, "r@example.com", "Registered")
		sess := newSession("sess-r", a.ID, at(0))
		require.NoError(t, register(t.Context(), st, a, sess))

		got, err := st.GetAccount(t.Context(), a.ID)
		require.NoError(t, err)
		requireAccount(t, a, got)
		got, err = st.GetAccountByLink(t.Context(), a.LinkedType, a.LinkedID)
		require.NoError(t, err, "found by its link")
		requireAccount(t, a, got)
		got, err = st.GetAccountByNickname(t.Context(), "registered")
		require.NoError(t, err, "found by its nickname")
		requireAccount(t, a, got)
		requireSession(t, sess, getSession(t, st, sess.ID))
		if ids, ok := st.(storage.Identities); ok {
			requireIdentities(t, ids, a.ID, primary(a))
		}

		// The session is an ordinary one: the next sign-in replaces it.
		next := newSession("sess-r2", a.ID, at(time.Minute))
		require.Equal(t, []string{sess.ID}, createSession(t, st, next, 1))
	})

	s.test(t, "Conflicts", func(t *testing.T, st storage.Store) {
		taken := newAccount("acc-1", storage.LinkEmail, "taken@example.com", "Taken")
		require.NoError(t, st.CreateAccount(t.Context(), taken))
		createSession(t, st, newSession("sess-1", taken.ID, at(0)), 0)

		for i, c := range []struct {
			name  string
			a     storage.Account
			sess  string
			field string
		}{
			{"Link", newAccount("acc-2", storage.LinkEmail, "taken@example.com", "Other"), "sess-2", storage.FieldLink},
			{"Nickname", newAccount("acc-2", storage.LinkEmail, "free@example.com", "TAKEN"), "sess-2", storage.FieldNickname},
			{"ID", newAccount("acc-1", storage.LinkGuest, "guest-x", ""), "sess-2", storage.FieldID},
			// The account is new but its session's ID is not: neither goes in.
			{"SessionID", newAccount("acc-2", storage.LinkEmail, "free@example.com", "Free"), "sess-1", ""},
		} {
			sess := newSession(c.sess, c.a.ID, at(time.Duration(i+1)*time.Minute))
			err := register(t.Context(), st, c.a, sess)
			if c.field == "" {
				requireConflictMaybeField(t, err, storage.FieldID, c.name)
				requireAccountMissing(t, st, c.a.ID)
				requireLinkFree(t, st, c.a.LinkedType, c.a.LinkedID)
				requireNicknameFree(t, st, c.a.Nickname)
				continue
			}
			requireConflict(t, err, c.field, c.name)
			if c.a.ID != taken.ID {
				requireNothing(t, st, c.a, sess, c.name)
			} else {
				_, err := st.GetSession(t.Context(), sess.ID)
				requireOnly(t, err, storage.ErrNotFound, c.name+": the session")
			}
		}
		got, err := st.GetAccount(t.Context(), taken.ID)
		require.NoError(t, err)
		requireAccount(t, taken, got, "the account that held the fields is untouched")
		requireLive(t, st, "sess-1")
	})

	s.test(t, "SameEmailRace", func(t *testing.T, st storage.Store) {
		// Racing sign-ups of one email: one account, one session, and no
		// session left behind by a loser.
		const n = 16
		errs := race(n, func(i int) error {
			a := newAccount(fmt.Sprintf("acc-%02d", i), storage.LinkEmail, "race@example.com", fmt.Sprintf("Racer%02d", i))
			return register(t.Context(), st, a, newSession(fmt.Sprintf("sess-%02d", i), a.ID, at(0)))
		})
		w := requireOneWinner(t, errs, storage.FieldLink)
		for i := range n {
			if i == w {
				requireLive(t, st, fmt.Sprintf("sess-%02d", i))
				continue
			}
			a := newAccount(fmt.Sprintf("acc-%02d", i), storage.LinkEmail, "race@example.com", "")
			requireNothing(t, st, a, newSession(fmt.Sprintf("sess-%02d", i), a.ID, at(0)), fmt.Sprintf("loser %d", i))
		}
	})

	s.test(t, "Cancelled", func(t *testing.T, st storage.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		a := newAccount("acc-c", storage.LinkGuest, "guest-c", "")
		sess := newSession("sess-c", a.ID, at(0))
		require.Error(t, register(ctx, st, a, sess))
		requireNothing(t, st, a, sess, "cancelled")
		requireLinkFree(t, st, a.LinkedType, a.LinkedID)
	})
}
