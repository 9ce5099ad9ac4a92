// Package sqltest holds what the tests of the shipped SQL backends share
// beyond storagetest: the checks they run on a database made by an older
// build (its players must come through the upgrade whole and work on the
// new schema), and their benchmarks.
package sqltest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// t0 is the checks' clock: fixed, on a microsecond boundary.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)

// OldAccounts are the players a test writes, with the old schema's SQL,
// into a database at migration 0001, before opening it with the new build:
// an email account, a guest, and one with no creation time (NULL).
func OldAccounts() []storage.Account {
	return []storage.Account{
		{ID: "a1", OpenID: "open-a1", LinkedType: storage.LinkEmail, LinkedID: "a@x", Nickname: "Hero", CreatedAt: t0, UpdatedAt: t0},
		{ID: "a2", OpenID: "open-a2", LinkedType: storage.LinkGuest, LinkedID: "g2", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)},
		{ID: "a3", OpenID: "open-a3", LinkedType: storage.LinkGuest, LinkedID: "g3"},
	}
}

// OldSession is the session a test writes, with the old schema's SQL, next
// to OldAccounts: a1's, from before sessions kept a client address and a
// device model.
func OldSession() storage.Session {
	return storage.Session{
		ID: "s1", AccountID: "a1", DeviceID: "d1", Platform: "aos", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
		RefreshHash: []byte("h1"), RotatedAt: t0,
	}
}

// Admin checks st, opened on a database that held OldAccounts and
// OldSession at migration 0001: the old session reads back whole, with no
// client address or device model, the admin reads find the old rows, and
// the new columns and the audit log work.
func Admin(t *testing.T, st storage.Store) {
	t.Helper()
	ctx := context.Background()
	got, err := st.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, OldSession(), got)

	d, ok := st.(storage.Directory)
	require.True(t, ok, "the store implements storage.Directory")
	ss, err := d.ListSessions(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, []storage.Session{OldSession()}, ss)
	ids, err := d.AccountsOnDevice(ctx, "d1", 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a1"}, ids)
	a, err := d.GetAccountByOpenID(ctx, "open-a2")
	require.NoError(t, err)
	assert.Equal(t, "a2", a.ID)
	as, err := d.SearchNicknames(ctx, "HE", "", "", 10)
	require.NoError(t, err)
	require.Len(t, as, 1)
	assert.Equal(t, "a1", as[0].ID, "the old nickname key is found by prefix")

	s2 := OldSession()
	s2.ID, s2.ClientAddr, s2.DeviceModel = "s2", "192.0.2.1", "Pixel 9"
	_, err = st.CreateSession(ctx, s2, 0)
	require.NoError(t, err)
	got, err = st.GetSession(ctx, "s2")
	require.NoError(t, err)
	assert.Equal(t, s2, got)

	au, ok := st.(storage.Audit)
	require.True(t, ok, "the store implements storage.Audit")
	require.NoError(t, au.AppendAudit(ctx, []storage.AuditEvent{{Kind: "signin", Time: t0, PlayerID: "a1"}}))
	evs, err := au.ListAudit(ctx, storage.AuditFilter{PlayerID: "a1"}, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
}

// Identities checks st, opened on a database that held OldAccounts at
// migration 0001: each account has its primary identity, linked when it was
// created, found by GetAccountByLink, unique like any other, and the
// identity writes work on it.
func Identities(t *testing.T, st storage.Store) {
	t.Helper()
	ctx := context.Background()
	ids, ok := st.(storage.Identities)
	require.True(t, ok, "the store implements storage.Identities")
	for _, a := range OldAccounts() {
		got, err := ids.ListIdentities(ctx, a.ID)
		require.NoError(t, err)
		require.Len(t, got, 1, a.ID)
		assert.Equal(t, storage.Link{Type: a.LinkedType, ID: a.LinkedID}, got[0].Link(), a.ID)
		assert.True(t, a.CreatedAt.Equal(got[0].LinkedAt), "%s linked at %v, created at %v", a.ID, got[0].LinkedAt, a.CreatedAt)
		acct, err := st.GetAccountByLink(ctx, a.LinkedType, a.LinkedID)
		require.NoError(t, err, a.ID)
		assert.Equal(t, a.ID, acct.ID)
	}

	require.NoError(t, ids.LinkIdentity(ctx, "a2", storage.Identity{Type: "apple", Subject: "ap2", LinkedAt: t0.Add(2 * time.Hour)}))
	err := ids.LinkIdentity(ctx, "a3", storage.Identity{Type: storage.LinkEmail, Subject: "a@x", LinkedAt: t0})
	require.ErrorIs(t, err, storage.ErrConflict)
	assert.Equal(t, storage.FieldLink, storage.ConflictField(err), "an old account's identity is taken")
	err = ids.LinkIdentity(ctx, "a3", storage.Identity{Type: storage.LinkGuest, Subject: "g9", LinkedAt: t0})
	require.ErrorIs(t, err, storage.ErrConflict)
	assert.Equal(t, storage.FieldIdentityType, storage.ConflictField(err), "an old account has an identity of its type")

	require.NoError(t, ids.UnlinkIdentity(ctx, "a2", storage.LinkGuest, &storage.Link{Type: "apple", ID: "ap2"}, t0.Add(3*time.Hour)))
	acct, err := st.GetAccountByLink(ctx, "apple", "ap2")
	require.NoError(t, err)
	assert.Equal(t, "a2", acct.ID)

	require.NoError(t, st.DeleteAccount(ctx, "a1"))
	require.NoError(t, st.CreateAccount(ctx, storage.Account{ID: "b1", OpenID: "open-b1", LinkedType: storage.LinkEmail, LinkedID: "a@x"}),
		"a deleted old account frees its identity")
}

// AccountLookup benchmarks finding an account by its primary identity and
// by a linked one (GetAccountByLink, the sign-in's lookup) against finding
// it by ID, each iteration doing all three, so that the reported ratios
// (primary/id, linked/id) hold even on a machine whose load drifts.
func AccountLookup(b *testing.B, st storage.Store) {
	ctx := context.Background()
	ids, ok := st.(storage.Identities)
	require.True(b, ok, "the store implements storage.Identities")
	const n = 10000
	for i := range n {
		id := fmt.Sprint("a", i)
		require.NoError(b, st.CreateAccount(ctx, storage.Account{ID: id, OpenID: "o" + id, LinkedType: storage.LinkEmail, LinkedID: id + "@x"}))
		require.NoError(b, ids.LinkIdentity(ctx, id, storage.Identity{Type: "apple", Subject: id, LinkedAt: t0}))
	}
	var byID, byPrimary, byLinked time.Duration
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint("a", i%n)
		t1 := time.Now()
		_, err1 := st.GetAccount(ctx, id)
		t2 := time.Now()
		_, err2 := st.GetAccountByLink(ctx, storage.LinkEmail, id+"@x")
		t3 := time.Now()
		_, err3 := st.GetAccountByLink(ctx, "apple", id)
		t4 := time.Now()
		if err := errors.Join(err1, err2, err3); err != nil {
			b.Fatal(err)
		}
		byID, byPrimary, byLinked = byID+t2.Sub(t1), byPrimary+t3.Sub(t2), byLinked+t4.Sub(t3)
	}
	b.ReportMetric(float64(byPrimary)/float64(byID), "primary/id")
	b.ReportMetric(float64(byLinked)/float64(byID), "linked/id")
}
