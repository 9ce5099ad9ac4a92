package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// concurrency is how many goroutines race in the contended-write tests.
const concurrency = 16

// accountsSuite carries the Accounts factory.
type accountsSuite struct {
	newAccounts func(t *testing.T) storage.Accounts
}

func (s accountsSuite) test(t *testing.T, name string, f func(t *testing.T, st storage.Accounts)) {
	t.Helper()
	subtest(t, name, s.newAccounts, f)
}

// newAccount returns a complete account with every field set.
func newAccount(id, linkType, linkID, nickname string) storage.Account {
	return storage.Account{
		ID:           id,
		OpenID:       "open-" + id,
		LinkedType:   linkType,
		LinkedID:     linkID,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHQ$" + id,
		Nickname:     nickname,
		Country:      "KR",
		Timezone:     "Asia/Seoul",
		Purchases: storage.Purchases{
			Count: 3, CurrencyCode: "KRW", TotalPrice: 12500.5,
			VoidedCount: 1, VoidedCurrencyCode: "USD", VoidedTotalPrice: 0.25,
		},
		CreatedAt: at(0),
		UpdatedAt: at(time.Second + 123*time.Microsecond),
	}
}

func requireAccount(t *testing.T, want, got storage.Account, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normAccount(want), normAccount(got), msgAndArgs...)
}

// requireAccountMissing asserts the account is gone by ID.
func requireAccountMissing(t *testing.T, st storage.Accounts, id string) {
	t.Helper()
	_, err := st.GetAccount(t.Context(), id)
	requireOnly(t, err, storage.ErrNotFound, "GetAccount(%q)", id)
}

// requireNicknameFree asserts no account holds nickname (by lookup).
func requireNicknameFree(t *testing.T, st storage.Accounts, nickname string) {
	t.Helper()
	_, err := st.GetAccountByNickname(t.Context(), nickname)
	requireOnly(t, err, storage.ErrNotFound, "GetAccountByNickname(%q)", nickname)
}

// requireLinkFree asserts no account holds the link (by lookup).
func requireLinkFree(t *testing.T, st storage.Accounts, linkType, linkID string) {
	t.Helper()
	_, err := st.GetAccountByLink(t.Context(), linkType, linkID)
	requireOnly(t, err, storage.ErrNotFound, "GetAccountByLink(%q, %q)", linkType, linkID)
}

func ptr[T any](v T) *T { return &v }

func runAccounts(t *testing.T, newAccounts func(t *testing.T) storage.Accounts) {
	s := accountsSuite{newAccounts: newAccounts}

	s.test(t, "CreateAndGet", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "hero@example.com", "Hero")
		require.NoError(t, st.CreateAccount(ctx, a))

		got, err := st.GetAccount(ctx, a.ID)
		require.NoError(t, err)
		requireAccount(t, a, got, "GetAccount")

		got, err = st.GetAccountByLink(ctx, a.LinkedType, a.LinkedID)
		require.NoError(t, err)
		requireAccount(t, a, got, "GetAccountByLink")

		for _, nick := range []string{"Hero", "hero", "HERO", "hErO"} {
			got, err = st.GetAccountByNickname(ctx, nick)
			require.NoError(t, err, "GetAccountByNickname(%q)", nick)
			requireAccount(t, a, got, "GetAccountByNickname(%q)", nick)
		}

		requireAccountMissing(t, st, "acc-unknown")
		requireLinkFree(t, st, storage.LinkEmail, "nobody@example.com")
		requireLinkFree(t, st, storage.LinkGuest, a.LinkedID) // same ID, other type
		requireNicknameFree(t, st, "Heroine")
	})

	s.test(t, "ZeroFieldsRoundTrip", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := storage.Account{
			ID: "acc-guest", OpenID: "open-guest",
			LinkedType: storage.LinkGuest, LinkedID: fmt.Sprintf("%x", hash("guest-key")),
			CreatedAt: at(0), UpdatedAt: at(0),
		}
		require.NoError(t, st.CreateAccount(ctx, a))
		got, err := st.GetAccount(ctx, a.ID)
		require.NoError(t, err)
		requireAccount(t, a, got)
	})

	s.test(t, "NoNicknameIsNotUnique", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		for i := range 3 {
			a := newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("guest-%d", i), "")
			require.NoError(t, st.CreateAccount(ctx, a), "accounts without a nickname never conflict")
		}
		requireNicknameFree(t, st, "")
	})

	s.test(t, "DuplicateID", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "a@example.com", "Alpha")
		require.NoError(t, st.CreateAccount(ctx, a))
		b := newAccount("acc-1", storage.LinkEmail, "b@example.com", "Bravo")
		requireConflictMaybeField(t, st.CreateAccount(ctx, b), storage.FieldID)
		got, err := st.GetAccount(ctx, a.ID)
		require.NoError(t, err)
		requireAccount(t, a, got, "the first account is untouched")
		requireLinkFree(t, st, b.LinkedType, b.LinkedID)
		requireNicknameFree(t, st, b.Nickname)
	})

	s.test(t, "UniqueLink", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "hero@example.com", "Hero")
		require.NoError(t, st.CreateAccount(ctx, a))

		b := newAccount("acc-2", storage.LinkEmail, "hero@example.com", "Other")
		requireConflict(t, st.CreateAccount(ctx, b), storage.FieldLink)
		requireAccountMissing(t, st, b.ID)
		requireNicknameFree(t, st, "Other")

		// The same ID under another type is another identity.
		c := newAccount("acc-3", storage.LinkGuest, "hero@example.com", "")
		require.NoError(t, st.CreateAccount(ctx, c))
		got, err := st.GetAccountByLink(ctx, storage.LinkEmail, "hero@example.com")
		require.NoError(t, err)
		assert.Equal(t, a.ID, got.ID)
	})

	t.Run("UniqueNickname", func(t *testing.T) {
		cases := []struct{ name, first, second string }{
			{"Upper", "Hero", "HERO"},
			{"Title", "hero", "Hero"},
			{"Umlaut", "ÄRGER", "ärger"},
			{"SharpS", "Straße", "STRASSE"},
			{"FinalSigma", "ΣΊΣΥΦΟΣ", "σίσυφος"},
			{"Hangul", "용사", "용사"},
			{"Emoji", "🐉Dragon", "🐉DRAGON"},
		}
		for i, c := range cases {
			s.test(t, c.name, func(t *testing.T, st storage.Accounts) {
				ctx := t.Context()
				a := newAccount(fmt.Sprintf("acc-%d-a", i), storage.LinkEmail, fmt.Sprintf("a%d@example.com", i), c.first)
				require.NoError(t, st.CreateAccount(ctx, a), "first %q", c.first)
				b := newAccount(fmt.Sprintf("acc-%d-b", i), storage.LinkEmail, fmt.Sprintf("b%d@example.com", i), c.second)
				requireConflict(t, st.CreateAccount(ctx, b), storage.FieldNickname, "%q after %q", c.second, c.first)
				requireAccountMissing(t, st, b.ID)
				requireLinkFree(t, st, b.LinkedType, b.LinkedID)

				got, err := st.GetAccountByNickname(ctx, c.second)
				require.NoError(t, err, "lookup %q", c.second)
				assert.Equal(t, a.ID, got.ID, "lookup %q", c.second)
				assert.Equal(t, c.first, got.Nickname, "the nickname is kept as written")
			})
		}
	})

	s.test(t, "ConflictOnBothFields", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "hero@example.com", "Hero")
		require.NoError(t, st.CreateAccount(ctx, a))
		b := newAccount("acc-2", storage.LinkEmail, "hero@example.com", "HERO")
		err := st.CreateAccount(ctx, b)
		require.ErrorIs(t, err, storage.ErrConflict)
		assert.Contains(t, []string{storage.FieldLink, storage.FieldNickname}, storage.ConflictField(err),
			"either taken field may be named")
		requireAccountMissing(t, st, b.ID)
	})

	s.test(t, "ConcurrentCreateSameLink", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		errs := race(concurrency, func(i int) error {
			return st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkEmail, "same@example.com", fmt.Sprintf("Nick%d", i)))
		})
		winner := requireOneWinner(t, errs, storage.FieldLink)
		got, err := st.GetAccountByLink(ctx, storage.LinkEmail, "same@example.com")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
		for i := range concurrency {
			if i != winner {
				requireAccountMissing(t, st, fmt.Sprintf("acc-%d", i))
				requireNicknameFree(t, st, fmt.Sprintf("Nick%d", i))
			}
		}
	})

	s.test(t, "ConcurrentCreateSameNickname", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		nicks := []string{"Hero", "HERO", "hero", "hErO", "HeRo", "heRO"}
		errs := race(concurrency, func(i int) error {
			return st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkEmail, fmt.Sprintf("p%d@example.com", i), nicks[i%len(nicks)]))
		})
		winner := requireOneWinner(t, errs, storage.FieldNickname)
		got, err := st.GetAccountByNickname(ctx, "hero")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
		for i := range concurrency {
			if i != winner {
				requireAccountMissing(t, st, fmt.Sprintf("acc-%d", i))
				requireLinkFree(t, st, storage.LinkEmail, fmt.Sprintf("p%d@example.com", i))
			}
		}
	})

	s.test(t, "ConcurrentCreateSameUnicodeNickname", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		nicks := []string{"ÄRGER", "ärger", "Ärger", "äRGER"}
		errs := race(concurrency, func(i int) error {
			return st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkEmail, fmt.Sprintf("p%d@example.com", i), nicks[i%len(nicks)]))
		})
		winner := requireOneWinner(t, errs, storage.FieldNickname)
		got, err := st.GetAccountByNickname(ctx, "ärger")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
	})

	t.Run("Update", func(t *testing.T) {
		a := newAccount("acc-1", storage.LinkGuest, "guest-1", "Hero")
		cases := []struct {
			name   string
			update storage.AccountUpdate
			want   func(a *storage.Account)
		}{
			{"Nothing", storage.AccountUpdate{}, func(*storage.Account) {}},
			{"Nickname", storage.AccountUpdate{Nickname: ptr("Villain")}, func(a *storage.Account) { a.Nickname = "Villain" }},
			{"NicknameCase", storage.AccountUpdate{Nickname: ptr("HERO")}, func(a *storage.Account) { a.Nickname = "HERO" }},
			{"ClearNickname", storage.AccountUpdate{Nickname: ptr("")}, func(a *storage.Account) { a.Nickname = "" }},
			{"Link", storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: "hero@example.com"}}, func(a *storage.Account) {
				a.LinkedType, a.LinkedID = storage.LinkEmail, "hero@example.com"
			}},
			{"LinkIfStillGuest", storage.AccountUpdate{Link: &storage.Link{Type: "apple", ID: "A1"}, IfLink: &storage.Link{Type: storage.LinkGuest, ID: "guest-1"}}, func(a *storage.Account) {
				a.LinkedType, a.LinkedID = "apple", "A1"
			}},
			{"PasswordHash", storage.AccountUpdate{PasswordHash: ptr("$argon2id$new")}, func(a *storage.Account) { a.PasswordHash = "$argon2id$new" }},
			{"Purchases", storage.AccountUpdate{Purchases: &storage.Purchases{Count: 9, CurrencyCode: "EUR", TotalPrice: 99.75}}, func(a *storage.Account) {
				a.Purchases = storage.Purchases{Count: 9, CurrencyCode: "EUR", TotalPrice: 99.75}
			}},
			{"Country", storage.AccountUpdate{Country: ptr("DE")}, func(a *storage.Account) { a.Country = "DE" }},
			{"Timezone", storage.AccountUpdate{Timezone: ptr("Europe/Berlin")}, func(a *storage.Account) { a.Timezone = "Europe/Berlin" }},
			{"ClearStrings", storage.AccountUpdate{Country: ptr(""), Timezone: ptr(""), PasswordHash: ptr("")}, func(a *storage.Account) {
				a.Country, a.Timezone, a.PasswordHash = "", "", ""
			}},
			{"Everything", storage.AccountUpdate{
				Nickname: ptr("Ärger"), Link: &storage.Link{Type: "steam", ID: "7656"}, PasswordHash: ptr("h2"),
				Purchases: &storage.Purchases{VoidedCount: 2}, Country: ptr("JP"), Timezone: ptr("Asia/Tokyo"),
			}, func(a *storage.Account) {
				a.Nickname, a.LinkedType, a.LinkedID, a.PasswordHash = "Ärger", "steam", "7656", "h2"
				a.Purchases, a.Country, a.Timezone = storage.Purchases{VoidedCount: 2}, "JP", "Asia/Tokyo"
			}},
		}
		for _, c := range cases {
			s.test(t, c.name, func(t *testing.T, st storage.Accounts) {
				ctx := t.Context()
				require.NoError(t, st.CreateAccount(ctx, a))
				u := c.update
				u.At = at(time.Hour + 7*time.Microsecond)
				require.NoError(t, st.UpdateAccount(ctx, a.ID, u))

				want := a
				c.want(&want)
				want.UpdatedAt = u.At
				got, err := st.GetAccount(ctx, a.ID)
				require.NoError(t, err)
				requireAccount(t, want, got)

				// The old unique values are free, the new ones found.
				if u.Nickname != nil && storage.NicknameKey(*u.Nickname) != storage.NicknameKey(a.Nickname) {
					requireNicknameFree(t, st, a.Nickname)
				}
				if want.Nickname != "" {
					got, err := st.GetAccountByNickname(ctx, want.Nickname)
					require.NoError(t, err)
					assert.Equal(t, a.ID, got.ID)
				} else {
					requireNicknameFree(t, st, a.Nickname)
				}
				if u.Link != nil {
					requireLinkFree(t, st, a.LinkedType, a.LinkedID)
				}
				got, err = st.GetAccountByLink(ctx, want.LinkedType, want.LinkedID)
				require.NoError(t, err)
				assert.Equal(t, a.ID, got.ID)
			})
		}
	})

	s.test(t, "UpdateNotFound", func(t *testing.T, st storage.Accounts) {
		err := st.UpdateAccount(t.Context(), "acc-unknown", storage.AccountUpdate{Nickname: ptr("Ghost"), At: at(time.Hour)})
		requireOnly(t, err, storage.ErrNotFound)
		requireNicknameFree(t, st, "Ghost")
	})

	s.test(t, "UpdateConflictChangesNothing", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-a", storage.LinkEmail, "a@example.com", "Alpha")
		b := newAccount("acc-b", storage.LinkEmail, "b@example.com", "Bravo")
		require.NoError(t, st.CreateAccount(ctx, a))
		require.NoError(t, st.CreateAccount(ctx, b))
		later := at(time.Hour)

		cases := []struct {
			name  string
			u     storage.AccountUpdate
			field string
		}{
			{"NicknameAndPassword", storage.AccountUpdate{Nickname: ptr("ALPHA"), PasswordHash: ptr("changed")}, storage.FieldNickname},
			{"NicknameAndEverythingElse", storage.AccountUpdate{
				Nickname: ptr("alpha"), Link: &storage.Link{Type: storage.LinkEmail, ID: "new@example.com"},
				Purchases: &storage.Purchases{Count: 100}, Country: ptr("US"), Timezone: ptr("UTC"),
			}, storage.FieldNickname},
			{"LinkAndNickname", storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: "a@example.com"}, Nickname: ptr("Charlie")}, storage.FieldLink},
			{"LinkAndPassword", storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: "a@example.com"}, PasswordHash: ptr("changed")}, storage.FieldLink},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				u := c.u
				u.At = later
				requireConflict(t, st.UpdateAccount(ctx, b.ID, u), c.field)
				got, err := st.GetAccount(ctx, b.ID)
				require.NoError(t, err)
				requireAccount(t, b, got, "a failed update changes nothing, UpdatedAt included")
				got, err = st.GetAccount(ctx, a.ID)
				require.NoError(t, err)
				requireAccount(t, a, got, "the holder is untouched")
				requireNicknameFree(t, st, "Charlie")
				requireLinkFree(t, st, storage.LinkEmail, "new@example.com")
			})
		}
	})

	// A link that names the identity it replaces (IfLink) is written only
	// if the account still has it: two links racing on one guest cannot
	// both replace it, and neither the account nor its identities change
	// for the one that lost.
	s.test(t, "UpdateIfLinkChanged", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "a@example.com", "Alpha")
		require.NoError(t, st.CreateAccount(ctx, a))
		u := storage.AccountUpdate{Link: &storage.Link{Type: "apple", ID: "A1"}, IfLink: &storage.Link{Type: storage.LinkGuest, ID: "g-1"},
			Nickname: ptr("Changed"), At: at(time.Hour)}
		requireConflict(t, st.UpdateAccount(ctx, a.ID, u), storage.FieldState)
		got, err := st.GetAccount(ctx, a.ID)
		require.NoError(t, err)
		requireAccount(t, a, got, "nothing is written")
		requireLinkFree(t, st, "apple", "A1")
		requireNicknameFree(t, st, "Changed")
		if ids, ok := st.(storage.Identities); ok {
			have, err := ids.ListIdentities(ctx, a.ID)
			require.NoError(t, err)
			require.Len(t, have, 1)
			assert.Equal(t, a.LinkedType, have[0].Type)
		}
	})

	s.test(t, "ConcurrentLinksOfOneGuest", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		guest := storage.Link{Type: storage.LinkGuest, ID: "g-race"}
		require.NoError(t, st.CreateAccount(ctx, newAccount("acc-race", guest.Type, guest.ID, "")))
		links := make([]storage.Link, concurrency)
		errs := race(concurrency, func(i int) error {
			links[i] = storage.Link{Type: fmt.Sprintf("provider-%d", i), ID: fmt.Sprintf("sub-%d", i)}
			return st.UpdateAccount(ctx, "acc-race", storage.AccountUpdate{Link: &links[i], IfLink: &guest, At: at(time.Hour)})
		})
		winner := requireOneWinner(t, errs, storage.FieldState)
		got, err := st.GetAccount(ctx, "acc-race")
		require.NoError(t, err)
		assert.Equal(t, links[winner], storage.Link{Type: got.LinkedType, ID: got.LinkedID})
		for i, l := range links {
			if i != winner {
				requireLinkFree(t, st, l.Type, l.ID)
			}
		}
		if ids, ok := st.(storage.Identities); ok {
			have, err := ids.ListIdentities(ctx, "acc-race")
			require.NoError(t, err)
			require.Len(t, have, 1, "the winner's identity alone")
			assert.Equal(t, links[winner], have[0].Link())
		}
	})

	s.test(t, "UpdateToOwnValues", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "a@example.com", "Alpha")
		require.NoError(t, st.CreateAccount(ctx, a))
		u := storage.AccountUpdate{
			Nickname: ptr("Alpha"), Link: &storage.Link{Type: storage.LinkEmail, ID: "a@example.com"}, At: at(time.Hour),
		}
		require.NoError(t, st.UpdateAccount(ctx, a.ID, u), "keeping one's own nickname and link is no conflict")
		got, err := st.GetAccount(ctx, a.ID)
		require.NoError(t, err)
		a.UpdatedAt = u.At
		requireAccount(t, a, got)
	})

	s.test(t, "ConcurrentNicknameClaims", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), fmt.Sprintf("Player%d", i))))
		}
		nicks := []string{"Champion", "CHAMPION", "champion", "ChAmPiOn"}
		errs := race(concurrency, func(i int) error {
			return st.UpdateAccount(ctx, fmt.Sprintf("acc-%d", i), storage.AccountUpdate{Nickname: ptr(nicks[i%len(nicks)]), At: at(time.Hour)})
		})
		winner := requireOneWinner(t, errs, storage.FieldNickname)
		got, err := st.GetAccountByNickname(ctx, "champion")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
		for i := range concurrency {
			got, err := st.GetAccount(ctx, fmt.Sprintf("acc-%d", i))
			require.NoError(t, err)
			if i == winner {
				assert.Equal(t, nicks[i%len(nicks)], got.Nickname)
			} else {
				assert.Equal(t, fmt.Sprintf("Player%d", i), got.Nickname, "a loser keeps its nickname")
			}
		}
	})

	s.test(t, "ConcurrentNicknameCreateAndUpdate", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		for i := 0; i < concurrency; i += 2 {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
		}
		errs := race(concurrency, func(i int) error {
			if i%2 == 0 {
				return st.UpdateAccount(ctx, fmt.Sprintf("acc-%d", i), storage.AccountUpdate{Nickname: ptr("Zed"), At: at(time.Hour)})
			}
			return st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "ZED"))
		})
		winner := requireOneWinner(t, errs, storage.FieldNickname)
		got, err := st.GetAccountByNickname(ctx, "zed")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
	})

	s.test(t, "ConcurrentLinkClaims", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
		}
		errs := race(concurrency, func(i int) error {
			return st.UpdateAccount(ctx, fmt.Sprintf("acc-%d", i), storage.AccountUpdate{
				Link: &storage.Link{Type: storage.LinkEmail, ID: "claimed@example.com"}, PasswordHash: ptr("pw"), At: at(time.Hour),
			})
		})
		winner := requireOneWinner(t, errs, storage.FieldLink)
		got, err := st.GetAccountByLink(ctx, storage.LinkEmail, "claimed@example.com")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("acc-%d", winner), got.ID)
		for i := range concurrency {
			got, err := st.GetAccount(ctx, fmt.Sprintf("acc-%d", i))
			require.NoError(t, err)
			if i != winner {
				assert.Equal(t, storage.LinkGuest, got.LinkedType, "a loser keeps its link")
				assert.Equal(t, newAccount(got.ID, "", "", "").PasswordHash, got.PasswordHash, "a loser's password is unchanged")
				_, err := st.GetAccountByLink(ctx, storage.LinkGuest, fmt.Sprintf("g%d", i))
				require.NoError(t, err)
			}
		}
	})

	s.test(t, "Delete", func(t *testing.T, st storage.Accounts) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "hero@example.com", "Hero")
		other := newAccount("acc-2", storage.LinkEmail, "other@example.com", "Other")
		require.NoError(t, st.CreateAccount(ctx, a))
		require.NoError(t, st.CreateAccount(ctx, other))
		require.NoError(t, st.DeleteAccount(ctx, a.ID))

		requireAccountMissing(t, st, a.ID)
		requireLinkFree(t, st, a.LinkedType, a.LinkedID)
		requireNicknameFree(t, st, a.Nickname)
		requireOnly(t, st.DeleteAccount(ctx, a.ID), storage.ErrNotFound, "second delete")
		requireOnly(t, st.DeleteAccount(ctx, "acc-unknown"), storage.ErrNotFound)

		got, err := st.GetAccount(ctx, other.ID)
		require.NoError(t, err)
		requireAccount(t, other, got, "other accounts are untouched")

		// The freed link and nickname can be taken again.
		c := newAccount("acc-3", storage.LinkEmail, "hero@example.com", "HERO")
		require.NoError(t, st.CreateAccount(ctx, c))
		got, err = st.GetAccountByNickname(ctx, "hero")
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)
	})
}

// race runs f(0..n-1) on n goroutines released together and returns their
// errors by index.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// requireOneWinner asserts exactly one nil error and ConflictError{field}
// for every other, and returns the winner's index.
func requireOneWinner(t *testing.T, errs []error, field string) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two winners: %d and %d", winner, i)
			winner = i
			continue
		}
		requireConflict(t, err, field, "loser %d", i)
	}
	require.NotEqual(t, -1, winner, "no winner")
	return winner
}
