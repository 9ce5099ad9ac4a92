package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// directoryStore is what the Directory part checks.
type directoryStore interface {
	storage.Store
	storage.Directory
}

// directory runs the Directory part of Run, when the store implements
// storage.Directory; for one that does not, it only logs so.
func (s suite) directory(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Directory); !ok {
		t.Log("the store does not implement storage.Directory: nothing to check")
		return
	}
	newStore := func(t *testing.T) directoryStore { return s.newStore(t).(directoryStore) }
	test := func(name string, f func(t *testing.T, st directoryStore)) {
		t.Helper()
		subtest(t, name, newStore, f)
	}

	test("GetAccountByOpenID", func(t *testing.T, st directoryStore) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "a@example.com", "Alpha")
		b := newAccount("acc-2", storage.LinkGuest, "guest-2", "")
		require.NoError(t, st.CreateAccount(ctx, a))
		require.NoError(t, st.CreateAccount(ctx, b))
		for _, want := range []storage.Account{a, b} {
			got, err := st.GetAccountByOpenID(ctx, want.OpenID)
			require.NoError(t, err, "GetAccountByOpenID(%q)", want.OpenID)
			requireAccount(t, want, got)
		}
		for _, id := range []string{"open-acc-3", "acc-1", "", "OPEN-ACC-1"} {
			_, err := st.GetAccountByOpenID(ctx, id)
			requireOnly(t, err, storage.ErrNotFound, "GetAccountByOpenID(%q)", id)
		}
		require.NoError(t, st.DeleteAccount(ctx, a.ID))
		_, err := st.GetAccountByOpenID(ctx, a.OpenID)
		requireOnly(t, err, storage.ErrNotFound, "a deleted account")
	})

	test("ListSessions", func(t *testing.T, st directoryStore) {
		ctx := t.Context()
		s1 := newSession("sess-1", "acc-1", at(0))
		s2 := newSession("sess-2", "acc-1", at(2*time.Minute))
		s2.ClientAddr, s2.DeviceModel = "2001:db8::7", "iPhone15,2 — 아이폰"
		s3 := newSession("sess-3", "acc-1", at(time.Minute))
		s3.ClientAddr, s3.DeviceModel = "", ""
		other := newSession("sess-4", "acc-2", at(3*time.Minute))
		for _, ss := range []storage.Session{s1, s2, s3, other} {
			createSession(t, st, ss, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, s3.ID, storage.ReasonSignedOut, at(4*time.Minute)))
		s3.RevokedAt, s3.RevokeReason = at(4*time.Minute), storage.ReasonSignedOut
		rot, err := st.RotateRefresh(ctx, s1.ID, rotation("sess-1/0", "sess-1/1", at(5*time.Minute)))
		require.NoError(t, err)
		s1 = rotated(s1, "sess-1/0", "sess-1/1", at(5*time.Minute))
		requireSession(t, s1, rot, "the rotation keeps the session's other fields")

		got, err := st.ListSessions(ctx, "acc-1")
		require.NoError(t, err)
		require.Equal(t, normAll([]storage.Session{s2, s3, s1}, normSession), normAll(got, normSession),
			"newest first, revoked ones included, whole")
		got, err = st.ListSessions(ctx, "acc-2")
		require.NoError(t, err)
		require.Equal(t, normAll([]storage.Session{other}, normSession), normAll(got, normSession))
		got, err = st.ListSessions(ctx, "acc-9")
		require.NoError(t, err)
		require.Empty(t, got, "no sessions")

		// Deleted sessions are not kept.
		_, err = st.DeleteSessionsBefore(ctx, at(5*time.Minute))
		require.NoError(t, err)
		got, err = st.ListSessions(ctx, "acc-1")
		require.NoError(t, err)
		require.Equal(t, normAll([]storage.Session{s2, s1}, normSession), normAll(got, normSession))
	})

	test("ListBlocks", func(t *testing.T, st directoryStore) {
		ctx := t.Context()
		b1 := newBlock("blk-1", storage.BlockPlayer, "acc-1", at(0), at(time.Hour))
		b2 := newBlock("blk-2", storage.BlockPlayer, "acc-1", at(2*time.Minute), time.Time{})
		b2.Services = []string{"chat", "trade"}
		b3 := newBlock("blk-3", storage.BlockPlayer, "acc-1", at(time.Minute), at(90*time.Second)) // over
		dev := newBlock("blk-4", storage.BlockDevice, "acc-1", at(3*time.Minute), time.Time{})     // same subject, other kind
		other := newBlock("blk-5", storage.BlockPlayer, "acc-2", at(4*time.Minute), time.Time{})
		for _, b := range []storage.Block{b1, b2, b3, dev, other} {
			require.NoError(t, st.CreateBlock(ctx, b))
		}
		list := func(kind storage.BlockKind, subject string) []storage.Block {
			t.Helper()
			got, err := st.ListBlocks(ctx, kind, subject)
			require.NoError(t, err, "ListBlocks(%s, %s)", kind, subject)
			return normBlocks(got)
		}
		require.Equal(t, normBlocks([]storage.Block{b2, b3, b1}), list(storage.BlockPlayer, "acc-1"),
			"in force and over, newest first")
		require.Equal(t, normBlocks([]storage.Block{dev}), list(storage.BlockDevice, "acc-1"), "kinds are apart")
		require.Equal(t, normBlocks([]storage.Block{other}), list(storage.BlockPlayer, "acc-2"))
		require.Empty(t, list(storage.BlockDevice, "acc-2"))
		require.Empty(t, list(storage.BlockPlayer, "acc-9"))

		// Lifted blocks stay listed, lifted.
		n, err := st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", at(5*time.Minute))
		require.NoError(t, err)
		require.Equal(t, 2, n)
		b1.LiftedAt, b2.LiftedAt = at(5*time.Minute), at(5*time.Minute)
		require.Equal(t, normBlocks([]storage.Block{b2, b3, b1}), list(storage.BlockPlayer, "acc-1"))
	})

	test("AccountsOnDevice", func(t *testing.T, st directoryStore) {
		ctx := t.Context()
		on := func(id, account, device string, created time.Time) storage.Session {
			ss := newSession(id, account, created)
			ss.DeviceID = device
			return ss
		}
		for _, ss := range []storage.Session{
			on("s1", "acc-c", "dev-x", at(0)),
			on("s2", "acc-a", "dev-x", at(time.Minute)),
			on("s3", "acc-a", "dev-x", at(2*time.Minute)),
			on("s4", "acc-b", "dev-x", at(3*time.Minute)),
			on("s5", "acc-d", "dev-y", at(4*time.Minute)),
			on("s6", "acc-e", "DEV-X", at(4*time.Minute)),
		} {
			createSession(t, st, ss, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, "s4", storage.ReasonAdmin, at(5*time.Minute)))
		onDevice := func(device string, limit int) []string {
			t.Helper()
			got, err := st.AccountsOnDevice(ctx, device, limit)
			require.NoError(t, err, "AccountsOnDevice(%q, %d)", device, limit)
			return normStrings(got)
		}
		require.Equal(t, []string{"acc-a", "acc-b", "acc-c"}, onDevice("dev-x", 10), "ID order, once each, ended sessions included")
		require.Equal(t, []string{"acc-a", "acc-b"}, onDevice("dev-x", 2), "limit")
		require.Equal(t, []string{"acc-a"}, onDevice("dev-x", 1), "limit")
		require.Equal(t, []string{"acc-d"}, onDevice("dev-y", 10))
		require.Nil(t, onDevice("dev-z", 10))

		_, err := st.DeleteSessionsBefore(ctx, at(6*time.Minute))
		require.NoError(t, err)
		require.Equal(t, []string{"acc-a", "acc-c"}, onDevice("dev-x", 10), "deleted sessions are gone")
	})

	s.searchNicknames(test)
	directoryCancelled(t, newStore)
}

// searchNicknames is the SearchNicknames part of Directory.
func (s suite) searchNicknames(test func(name string, f func(t *testing.T, st directoryStore))) {
	// search returns the IDs SearchNicknames finds.
	search := func(t *testing.T, st directoryStore, prefix, afterKey, afterID string, limit int) []string {
		t.Helper()
		got, err := st.SearchNicknames(t.Context(), prefix, afterKey, afterID, limit)
		require.NoError(t, err, "SearchNicknames(%q, %q, %q, %d)", prefix, afterKey, afterID, limit)
		require.LessOrEqual(t, len(got), limit, "at most limit")
		ids := make([]string, 0, len(got))
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		return normStrings(ids)
	}
	// nicknames creates an account for each nickname, acc-<i>, and the
	// accounts without a nickname none may find.
	nicknames := func(t *testing.T, st directoryStore, nicks ...string) map[string]string {
		t.Helper()
		byNick := map[string]string{}
		for i, n := range nicks {
			id := fmt.Sprintf("acc-%02d", i)
			require.NoError(t, st.CreateAccount(t.Context(), newAccount(id, storage.LinkGuest, "guest-"+id, n)), "nickname %q", n)
			byNick[n] = id
		}
		require.NoError(t, st.CreateAccount(t.Context(), newAccount("acc-none", storage.LinkGuest, "guest-none", "")))
		return byNick
	}
	// want returns the IDs of the nicknames, in the order the contract
	// gives: by NicknameKey (bytewise), then ID.
	want := func(byNick map[string]string, nicks ...string) []string {
		sorted := slices.Clone(nicks)
		slices.SortFunc(sorted, func(x, y string) int {
			if c := strings.Compare(storage.NicknameKey(x), storage.NicknameKey(y)); c != 0 {
				return c
			}
			return strings.Compare(byNick[x], byNick[y])
		})
		var ids []string
		for _, n := range sorted {
			ids = append(ids, byNick[n])
		}
		return ids
	}

	test("SearchNicknames/Folding", func(t *testing.T, st directoryStore) {
		ids := nicknames(t, st, "Hero", "heroine", "HEROIC", "Her", "He", "Zed", "Straße", "STRASSER", "ac", "ab", "abc")
		a, err := st.SearchNicknames(t.Context(), "hERo", "", "", 10)
		require.NoError(t, err)
		require.Len(t, a, 3)
		want0 := newAccount(ids["Hero"], storage.LinkGuest, "guest-"+ids["Hero"], "Hero")
		requireAccount(t, want0, a[0], "whole accounts")
		require.Equal(t, want(ids, "Hero", "HEROIC", "heroine"), search(t, st, "hERo", "", "", 10), "case folded, by key")
		require.Equal(t, want(ids, "Her", "Hero", "HEROIC", "heroine"), search(t, st, "HER", "", "", 10))
		require.Equal(t, want(ids, "Straße", "STRASSER"), search(t, st, "strAS", "", "", 10), "ß folds to ss")
		require.Equal(t, want(ids, "Straße", "STRASSER"), search(t, st, "Straß", "", "", 10))
		require.Equal(t, want(ids, "ab", "abc"), search(t, st, "ab", "", "", 10), "not the successor's")
		require.Equal(t, want(ids, "ab", "abc", "ac"), search(t, st, "A", "", "", 10))
		require.Nil(t, search(t, st, "heroes", "", "", 10), "no match")
		require.Nil(t, search(t, st, "y", "", "", 10), "no match")
		require.Nil(t, search(t, st, "zz", "", "", 10), "no match past the last")
		require.Equal(t, want(ids, "Hero"), search(t, st, "hero", "", "", 1), "limit")
		require.Nil(t, search(t, st, "hero", "", "", 0), "limit 0")
		require.Nil(t, search(t, st, "h\xff", "", "", 10), "a prefix that is not UTF-8 matches nothing")
	})

	test("SearchNicknames/Special", func(t *testing.T, st directoryStore) {
		nicks := []string{
			"100%", "100x", "1000", "a_b", "axb", "ab", "[ab]", "[x", "a", "b", "*x", "xx", "?x", `\x`, `\\y`,
			"x", "%", "_", "a%b", "a'b", "a'", `a"`, "a b", "A\u00a0B",
		}
		ids := nicknames(t, st, nicks...)
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"100%", []string{"100%"}},
			{"100", []string{"100%", "1000", "100x"}},
			{"a_", []string{"a_b"}},
			{"_", []string{"_"}},
			{"%", []string{"%"}},
			{"a%", []string{"a%b"}},
			{"[a", []string{"[ab]"}},
			{"[", []string{"[ab]", "[x"}},
			{"*", []string{"*x"}},
			{"?", []string{"?x"}},
			{`\`, []string{`\x`, `\\y`}},
			{`\\`, []string{`\\y`}},
			{"a'", []string{"a'", "a'b"}},
			{`a"`, []string{`a"`}},
			{"a ", []string{"a b"}},
		} {
			require.Equal(t, want(ids, c.want...), search(t, st, c.prefix, "", "", 100), "prefix %q matches only itself", c.prefix)
		}
		// The empty prefix lists every nickname, in bytewise key order,
		// never an account without one.
		require.Equal(t, want(ids, nicks...), search(t, st, "", "", "", 100), "every nickname, by key")
	})

	test("SearchNicknames/NonASCII", func(t *testing.T, st directoryStore) {
		nicks := []string{"한글", "한국", "한", "하늘", "핝", "Éclair", "école", "Ecole", "ÉTÉ", "e", "f", "日本", "日", "🎮gamer", "🎮"}
		ids := nicknames(t, st, nicks...)
		require.Equal(t, want(ids, "한", "한국", "한글"), search(t, st, "한", "", "", 10), "Hangul; not the next syllable")
		require.Equal(t, want(ids, "한국"), search(t, st, "한국", "", "", 10))
		require.Equal(t, want(ids, "Éclair", "école", "ÉTÉ"), search(t, st, "É", "", "", 10), "accented, folded")
		require.Equal(t, want(ids, "Éclair", "école", "ÉTÉ"), search(t, st, "e\u0301", "", "", 10), "combining accent composed")
		require.Equal(t, want(ids, "ÉTÉ"), search(t, st, "été", "", "", 10))
		require.Equal(t, want(ids, "e", "Ecole"), search(t, st, "E", "", "", 10), "an unaccented letter is another letter")
		require.Equal(t, want(ids, "日", "日本"), search(t, st, "日", "", "", 10))
		require.Equal(t, want(ids, "🎮", "🎮gamer"), search(t, st, "🎮", "", "", 10), "beyond the BMP")
		require.Nil(t, search(t, st, "\xed\x95", "", "", 10), "half of 한's bytes is not a prefix of it")
	})

	test("SearchNicknames/Paging", func(t *testing.T, st directoryStore) {
		nicks := []string{"pa", "Pb", "pA1", "pé", "p_", "p%", "p한", "P", "pz", "pzz", "q", "o"}
		ids := nicknames(t, st, nicks...)
		all := want(ids, "pa", "Pb", "pA1", "pé", "p_", "p%", "p한", "P", "pz", "pzz")
		require.Equal(t, all, search(t, st, "p", "", "", 100))
		for size := 1; size <= len(all)+1; size++ {
			var got []string
			afterKey, afterID := "", ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, len(all)+2, "size %d: paging does not end", size)
				page, err := st.SearchNicknames(t.Context(), "P", afterKey, afterID, size)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), size)
				if len(page) == 0 {
					break
				}
				for _, a := range page {
					got = append(got, a.ID)
				}
				last := page[len(page)-1]
				afterKey, afterID = storage.NicknameKey(last.Nickname), last.ID
			}
			require.Equal(t, all, got, "page size %d: every match once, in order", size)
		}
		// After the last entry: nothing. After one that is not there (the
		// page's last was renamed since): from the next key on.
		key := func(i int) string { // the key of all[i]
			for n, id := range ids {
				if id == all[i] {
					return storage.NicknameKey(n)
				}
			}
			panic("no such account")
		}
		n := len(all)
		require.Nil(t, search(t, st, "p", key(n-1), all[n-1], 10), "after the last")
		require.Equal(t, all, search(t, st, "p", key(5), "", 100), "afterID empty starts from the first")
		require.Equal(t, all[6:], search(t, st, "p", key(5)+"\x01", "acc-00", 100), "a cursor between keys")
		require.Equal(t, all[6:], search(t, st, "p", key(5), all[5], 100))
		require.Equal(t, all[5:], search(t, st, "p", key(5), "acc-", 100), "same key, smaller ID: that key again")
		require.Equal(t, all[6:], search(t, st, "p", key(5), "zzz", 100), "same key, greater ID")
		require.Equal(t, all, search(t, st, "p", "a", "acc-99", 100), "a cursor before the prefix's keys")
		require.Equal(t, all[1:], search(t, st, "p", "p", "acc-99", 100), "a cursor on the prefix itself")
		require.Nil(t, search(t, st, "p", "q", "acc-00", 10), "a cursor after the prefix's keys")
	})
}

// directoryCancelled calls each Directory method with a context cancelled
// beforehand: each must fail.
func directoryCancelled(t *testing.T, newStore func(t *testing.T) directoryStore) {
	subtest(t, "Cancelled", newStore, func(t *testing.T, st directoryStore) {
		fixture(t, st)
		calls := []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"GetAccountByOpenID", func(ctx context.Context) error {
				_, err := st.GetAccountByOpenID(ctx, "open-acc-1")
				return err
			}},
			{"SearchNicknames", func(ctx context.Context) error {
				_, err := st.SearchNicknames(ctx, "al", "", "", 10)
				return err
			}},
			{"AccountsOnDevice", func(ctx context.Context) error {
				_, err := st.AccountsOnDevice(ctx, "device-sess-1", 10)
				return err
			}},
			{"ListSessions", func(ctx context.Context) error {
				_, err := st.ListSessions(ctx, "acc-1")
				return err
			}},
			{"ListBlocks", func(ctx context.Context) error {
				_, err := st.ListBlocks(ctx, storage.BlockPlayer, "acc-1")
				return err
			}},
		}
		for _, c := range calls {
			requireCancelledFails(t, c.call, c.name)
		}
	})
}
