package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// IdentityStore is what RunIdentities checks: accounts and every identity
// they sign in with, kept by one store so that they change in one step.
type IdentityStore interface {
	storage.Accounts
	storage.Identities
}

// RunIdentities runs the identities part of the suite alone, each leaf
// subtest against a fresh store from newStore: what a host that keeps
// accounts and their identities in its own tables runs. Run includes it for
// stores that implement storage.Identities.
func RunIdentities(t *testing.T, newStore func(t *testing.T) IdentityStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: newStore is nil")
	}
	t.Run("Identities", func(t *testing.T) { runIdentities(t, newStore) })
}

// identities runs the Identities part of Run, when the store implements
// storage.Identities; for one that does not, it only logs so.
func (s suite) identities(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Identities); !ok {
		t.Log("the store does not implement storage.Identities: nothing to check")
		return
	}
	runIdentities(t, func(t *testing.T) IdentityStore { return s.newStore(t).(IdentityStore) })
}

// Identity types the identities part uses besides email and guest: federated
// providers' names, opaque to the store.
const (
	linkApple  = "apple"
	linkGoogle = "google"
	linkSteam  = "steam"
)

// ident is an identity linked at at(d).
func ident(linkType, subject string, d time.Duration) storage.Identity {
	return storage.Identity{Type: linkType, Subject: subject, LinkedAt: at(d)}
}

// primary is the identity CreateAccount records for a.
func primary(a storage.Account) storage.Identity {
	return storage.Identity{Type: a.LinkedType, Subject: a.LinkedID, LinkedAt: a.CreatedAt}
}

func normIdentity(i storage.Identity) storage.Identity {
	i.LinkedAt = normTime(i.LinkedAt)
	return i
}

// listIdentities returns the account's identities, comparable with ==.
func listIdentities(t *testing.T, st storage.Identities, accountID string) []storage.Identity {
	t.Helper()
	ids, err := st.ListIdentities(t.Context(), accountID)
	require.NoError(t, err, "ListIdentities(%q)", accountID)
	return normAll(ids, normIdentity)
}

// requireIdentities asserts the account's identities are want, in order.
func requireIdentities(t *testing.T, st storage.Identities, accountID string, want ...storage.Identity) {
	t.Helper()
	require.Equal(t, normAll(want, normIdentity), listIdentities(t, st, accountID), "identities of %q", accountID)
}

// requireLinkedTo asserts GetAccountByLink finds the account by l.
func requireLinkedTo(t *testing.T, st storage.Accounts, l storage.Link, accountID string) {
	t.Helper()
	got, err := st.GetAccountByLink(t.Context(), l.Type, l.ID)
	require.NoError(t, err, "GetAccountByLink(%q, %q)", l.Type, l.ID)
	require.Equal(t, accountID, got.ID, "GetAccountByLink(%q, %q)", l.Type, l.ID)
}

// linkIdentity links id to the account, which must succeed.
func linkIdentity(t *testing.T, st storage.Identities, accountID string, id storage.Identity) {
	t.Helper()
	require.NoError(t, st.LinkIdentity(t.Context(), accountID, id), "LinkIdentity(%q, %v)", accountID, id.Link())
}

// requireConsistent asserts what must hold of an account after any sequence
// of calls, racing ones included: it has identities, of distinct types, its
// primary identity is one of them, and each finds it.
func requireConsistent(t *testing.T, st IdentityStore, accountID string) {
	t.Helper()
	a, err := st.GetAccount(t.Context(), accountID)
	require.NoError(t, err, "GetAccount(%q)", accountID)
	ids := listIdentities(t, st, accountID)
	require.NotEmpty(t, ids, "%q has no identity left", accountID)
	types := map[string]bool{}
	hasPrimary := false
	for _, i := range ids {
		require.False(t, types[i.Type], "%q has two identities of type %q", accountID, i.Type)
		types[i.Type] = true
		hasPrimary = hasPrimary || (i.Type == a.LinkedType && i.Subject == a.LinkedID)
		requireLinkedTo(t, st, i.Link(), accountID)
	}
	require.True(t, hasPrimary, "%q's primary identity (%q, %q) is not among its identities %v",
		accountID, a.LinkedType, a.LinkedID, ids)
}

// pair is what most identity tests start from: acc-a, a guest that has
// linked an Apple identity since, and acc-b, an email account that has
// linked Apple and Google.
type pair struct {
	a, b    storage.Account
	aApple  storage.Identity
	bApple  storage.Identity
	bGoogle storage.Identity
}

func newPair() pair {
	return pair{
		a:       newAccount("acc-a", storage.LinkGuest, "guest-a", "Alpha"),
		b:       newAccount("acc-b", storage.LinkEmail, "b@example.com", "Bravo"),
		aApple:  ident(linkApple, "apple-a", time.Minute),
		bApple:  ident(linkApple, "apple-b", time.Minute),
		bGoogle: ident(linkGoogle, "google-b", 2*time.Minute),
	}
}

// write creates the accounts and links their identities in st.
func (p pair) write(t *testing.T, st IdentityStore) {
	t.Helper()
	require.NoError(t, st.CreateAccount(t.Context(), p.a))
	require.NoError(t, st.CreateAccount(t.Context(), p.b))
	linkIdentity(t, st, p.a.ID, p.aApple)
	linkIdentity(t, st, p.b.ID, p.bApple)
	linkIdentity(t, st, p.b.ID, p.bGoogle)
}

// state is identityState of both accounts and every identity they have,
// and of more accounts and links a test touches.
func (p pair) state(t *testing.T, st IdentityStore, account string, links ...storage.Link) readings {
	t.Helper()
	links = append(links, primary(p.a).Link(), p.aApple.Link(), primary(p.b).Link(), p.bApple.Link(), p.bGoogle.Link())
	return identityState(t, st, []string{p.a.ID, p.b.ID, account}, links)
}

// identityState reads the accounts, their identities and the account each
// link finds, into a comparable map: what "nothing was written" compares.
func identityState(t *testing.T, st IdentityStore, accounts []string, links []storage.Link) readings {
	t.Helper()
	ctx := t.Context()
	state := readings{}
	put := state.put
	for _, id := range accounts {
		a, err := st.GetAccount(ctx, id)
		put("account "+id, normAccount(a), err)
		ids, err := st.ListIdentities(ctx, id)
		put("identities "+id, normAll(ids, normIdentity), err)
	}
	for _, l := range links {
		a, err := st.GetAccountByLink(ctx, l.Type, l.ID)
		put(fmt.Sprintf("link %s/%s", l.Type, l.ID), a.ID, err)
	}
	return state
}

func runIdentities(t *testing.T, newStore func(t *testing.T) IdentityStore) {
	test := func(t *testing.T, name string, f func(t *testing.T, st IdentityStore)) {
		t.Helper()
		subtest(t, name, newStore, f)
	}

	test(t, "CreateRecordsPrimary", func(t *testing.T, st IdentityStore) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "hero@example.com", "Hero")
		require.NoError(t, st.CreateAccount(ctx, a))
		requireIdentities(t, st, a.ID, primary(a))
		requireIdentities(t, st, "acc-unknown") // no account: an empty list, no error
	})

	test(t, "LinkAndFind", func(t *testing.T, st IdentityStore) {
		ctx := t.Context()
		p := newPair()
		p.write(t, st)
		// The same subject under another type is another identity.
		steam := ident(linkSteam, p.aApple.Subject, 3*time.Minute)
		linkIdentity(t, st, p.b.ID, steam)

		requireIdentities(t, st, p.a.ID, primary(p.a), p.aApple)
		requireIdentities(t, st, p.b.ID, primary(p.b), p.bApple, p.bGoogle, steam)
		for _, l := range []storage.Link{primary(p.a).Link(), p.aApple.Link()} {
			got, err := st.GetAccountByLink(ctx, l.Type, l.ID)
			require.NoError(t, err, "GetAccountByLink(%v)", l)
			requireAccount(t, p.a, got, "GetAccountByLink(%v): linking changes nothing of the account", l)
		}
		for _, l := range []storage.Link{p.bApple.Link(), p.bGoogle.Link(), steam.Link()} {
			got, err := st.GetAccountByLink(ctx, l.Type, l.ID)
			require.NoError(t, err, "GetAccountByLink(%v)", l)
			requireAccount(t, p.b, got, "GetAccountByLink(%v)", l)
		}
		requireLinkFree(t, st, linkGoogle, p.aApple.Subject)
	})

	test(t, "ListOldestFirst", func(t *testing.T, st IdentityStore) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkGuest, "guest-1", "")
		require.NoError(t, st.CreateAccount(ctx, a))
		// Types in an order that is neither alphabetical nor reversed.
		want := []storage.Identity{primary(a)}
		for i, typ := range []string{linkSteam, linkApple, "epic", linkGoogle} {
			id := ident(typ, fmt.Sprintf("s-%d", i), time.Duration(i+1)*time.Hour)
			linkIdentity(t, st, a.ID, id)
			want = append(want, id)
		}
		requireIdentities(t, st, a.ID, want...)
	})

	t.Run("LinkConflicts", func(t *testing.T) {
		p := newPair()
		cases := []struct {
			name    string
			account string
			id      storage.Identity
			want    error    // ErrNotFound, or ErrConflict naming one of fields
			fields  []string // nil for ErrNotFound
		}{
			{"OtherAccountsPrimary", p.a.ID, ident(storage.LinkEmail, "b@example.com", time.Hour), storage.ErrConflict, []string{storage.FieldLink}},
			{"OtherAccountsLinked", p.a.ID, ident(linkGoogle, "google-b", time.Hour), storage.ErrConflict, []string{storage.FieldLink}},
			{"OwnPrimary", p.a.ID, ident(storage.LinkGuest, "guest-a", time.Hour), storage.ErrConflict, []string{storage.FieldLink}},
			{"OwnLinked", p.a.ID, ident(linkApple, "apple-a", time.Hour), storage.ErrConflict, []string{storage.FieldLink}},
			{"TypeOfOwnPrimary", p.a.ID, ident(storage.LinkGuest, "guest-other", time.Hour), storage.ErrConflict, []string{storage.FieldIdentityType}},
			{"TypeOfOwnLinked", p.a.ID, ident(linkApple, "apple-other", time.Hour), storage.ErrConflict, []string{storage.FieldIdentityType}},
			// Both apply; the contract names no order.
			{"TakenAndTypeHeld", p.a.ID, ident(linkApple, "apple-b", time.Hour), storage.ErrConflict, []string{storage.FieldLink, storage.FieldIdentityType}},
			{"NoAccount", "acc-ghost", ident(linkSteam, "7656", time.Hour), storage.ErrNotFound, nil},
		}
		for _, c := range cases {
			test(t, c.name, func(t *testing.T, st IdentityStore) {
				p.write(t, st)
				before := p.state(t, st, c.account, c.id.Link())
				err := st.LinkIdentity(t.Context(), c.account, c.id)
				requireOnly(t, err, c.want)
				if c.fields != nil {
					assert.Contains(t, c.fields, storage.ConflictField(err), "the field at fault")
				}
				require.Equal(t, before, p.state(t, st, c.account, c.id.Link()), "a refused link writes nothing")
			})
		}
	})

	t.Run("UpdateLink", func(t *testing.T) {
		a := newAccount("acc-1", storage.LinkGuest, "guest-1", "Hero")
		apple := ident(linkApple, "apple-1", time.Minute)
		cases := []struct {
			name string
			link storage.Link
			want []storage.Identity // after the update at at(time.Hour)
		}{
			{"OtherType", storage.Link{Type: storage.LinkEmail, ID: "hero@example.com"},
				[]storage.Identity{apple, ident(storage.LinkEmail, "hero@example.com", time.Hour)}},
			{"SameType", storage.Link{Type: storage.LinkGuest, ID: "guest-new"},
				[]storage.Identity{apple, ident(storage.LinkGuest, "guest-new", time.Hour)}},
			{"Own", primary(a).Link(), []storage.Identity{primary(a), apple}},
		}
		for _, c := range cases {
			test(t, c.name, func(t *testing.T, st IdentityStore) {
				ctx := t.Context()
				require.NoError(t, st.CreateAccount(ctx, a))
				linkIdentity(t, st, a.ID, apple)
				u := storage.AccountUpdate{Link: &c.link, PasswordHash: ptr("$argon2id$new"), At: at(time.Hour)}
				require.NoError(t, st.UpdateAccount(ctx, a.ID, u))

				want := a
				want.LinkedType, want.LinkedID, want.PasswordHash, want.UpdatedAt = c.link.Type, c.link.ID, "$argon2id$new", u.At
				got, err := st.GetAccount(ctx, a.ID)
				require.NoError(t, err)
				requireAccount(t, want, got)
				requireIdentities(t, st, a.ID, c.want...)
				if c.link != primary(a).Link() {
					requireLinkFree(t, st, a.LinkedType, a.LinkedID)
				}
				requireLinkedTo(t, st, c.link, a.ID)
				requireLinkedTo(t, st, apple.Link(), a.ID)
				requireConsistent(t, st, a.ID)
			})
		}

		test(t, "WithoutLink", func(t *testing.T, st IdentityStore) {
			ctx := t.Context()
			require.NoError(t, st.CreateAccount(ctx, a))
			linkIdentity(t, st, a.ID, apple)
			require.NoError(t, st.UpdateAccount(ctx, a.ID, storage.AccountUpdate{Nickname: ptr("Villain"), At: at(time.Hour)}))
			requireIdentities(t, st, a.ID, primary(a), apple)
		})

		test(t, "FreedPrimaryCanBeTaken", func(t *testing.T, st IdentityStore) {
			ctx := t.Context()
			require.NoError(t, st.CreateAccount(ctx, a))
			require.NoError(t, st.UpdateAccount(ctx, a.ID, storage.AccountUpdate{
				Link: &storage.Link{Type: storage.LinkEmail, ID: "hero@example.com"}, At: at(time.Hour),
			}))
			b := newAccount("acc-2", storage.LinkEmail, "b@example.com", "")
			require.NoError(t, st.CreateAccount(ctx, b))
			old := ident(a.LinkedType, a.LinkedID, 2*time.Hour)
			linkIdentity(t, st, b.ID, old)
			requireIdentities(t, st, b.ID, primary(b), old)
			requireLinkedTo(t, st, old.Link(), b.ID)
		})
	})

	t.Run("UpdateLinkConflicts", func(t *testing.T) {
		p := newPair()
		cases := []struct {
			name  string
			link  storage.Link
			field string
		}{
			{"OtherAccountsPrimary", primary(p.b).Link(), storage.FieldLink},
			{"OtherAccountsLinked", p.bGoogle.Link(), storage.FieldLink},
			{"OwnLinked", p.aApple.Link(), storage.FieldLink},
			{"TypeOfOwnLinked", storage.Link{Type: linkApple, ID: "apple-other"}, storage.FieldIdentityType},
		}
		for _, c := range cases {
			test(t, c.name, func(t *testing.T, st IdentityStore) {
				p.write(t, st)
				before := p.state(t, st, p.a.ID, c.link)
				err := st.UpdateAccount(t.Context(), p.a.ID, storage.AccountUpdate{
					Link: &c.link, Nickname: ptr("Charlie"), PasswordHash: ptr("changed"), At: at(time.Hour),
				})
				requireConflict(t, err, c.field)
				require.Equal(t, before, p.state(t, st, p.a.ID, c.link), "a refused update writes nothing")
				requireNicknameFree(t, st, "Charlie")
			})
		}
	})

	t.Run("Unlink", func(t *testing.T) {
		p := newPair()
		a, apple := p.a, p.aApple

		test(t, "Linked", func(t *testing.T, st IdentityStore) {
			ctx := t.Context()
			p.write(t, st)
			require.NoError(t, st.UnlinkIdentity(ctx, a.ID, linkApple, nil, at(time.Hour)))
			requireIdentities(t, st, a.ID, primary(a))
			requireLinkFree(t, st, apple.Type, apple.Subject)
			got, err := st.GetAccount(ctx, a.ID)
			require.NoError(t, err)
			requireAccount(t, a, got, "removing a linked identity changes nothing of the account")
			requireConsistent(t, st, a.ID)

			// The freed identity can be linked again, by any account.
			c := newAccount("acc-c", storage.LinkEmail, "c@example.com", "")
			require.NoError(t, st.CreateAccount(ctx, c))
			again := ident(linkApple, apple.Subject, 2*time.Hour)
			linkIdentity(t, st, c.ID, again)
			requireLinkedTo(t, st, again.Link(), c.ID)
		})

		test(t, "PrimaryWithPromote", func(t *testing.T, st IdentityStore) {
			ctx := t.Context()
			p.write(t, st)
			promote := apple.Link()
			require.NoError(t, st.UnlinkIdentity(ctx, a.ID, storage.LinkGuest, &promote, at(time.Hour)))
			want := a
			want.LinkedType, want.LinkedID, want.UpdatedAt = apple.Type, apple.Subject, at(time.Hour)
			got, err := st.GetAccount(ctx, a.ID)
			require.NoError(t, err)
			requireAccount(t, want, got)
			requireIdentities(t, st, a.ID, apple)
			requireLinkFree(t, st, a.LinkedType, a.LinkedID)
			got, err = st.GetAccountByLink(ctx, apple.Type, apple.Subject)
			require.NoError(t, err)
			requireAccount(t, want, got)
			requireConsistent(t, st, a.ID)
		})

		refused := []struct {
			name    string
			account string
			typ     string
			promote *storage.Link
			want    error // ErrNotFound or ErrConflict{FieldState}
		}{
			{"PrimaryNoPromote", a.ID, storage.LinkGuest, nil, storage.ErrConflict},
			{"PrimaryPromoteItself", a.ID, storage.LinkGuest, &storage.Link{Type: storage.LinkGuest, ID: "guest-a"}, storage.ErrConflict},
			{"PrimaryPromoteOthers", a.ID, storage.LinkGuest, &storage.Link{Type: linkGoogle, ID: "google-b"}, storage.ErrConflict},
			{"PrimaryPromoteUnknown", a.ID, storage.LinkGuest, &storage.Link{Type: linkSteam, ID: "7656"}, storage.ErrConflict},
			{"PrimaryPromoteWrongSubject", a.ID, storage.LinkGuest, &storage.Link{Type: linkApple, ID: "apple-b"}, storage.ErrConflict},
			{"UnknownType", a.ID, linkSteam, nil, storage.ErrNotFound},
			{"UnknownTypeWithPromote", a.ID, linkSteam, &storage.Link{Type: linkApple, ID: "apple-a"}, storage.ErrNotFound},
			{"NoAccount", "acc-ghost", linkApple, nil, storage.ErrNotFound},
		}
		for _, c := range refused {
			test(t, c.name, func(t *testing.T, st IdentityStore) {
				p.write(t, st)
				before := p.state(t, st, c.account)
				err := st.UnlinkIdentity(t.Context(), c.account, c.typ, c.promote, at(time.Hour))
				if c.want == storage.ErrConflict {
					requireConflict(t, err, storage.FieldState)
				} else {
					requireOnly(t, err, c.want)
				}
				require.Equal(t, before, p.state(t, st, c.account), "a refused unlink writes nothing")
			})
		}

		test(t, "LastIdentity", func(t *testing.T, st IdentityStore) {
			ctx := t.Context()
			require.NoError(t, st.CreateAccount(ctx, a))
			own := primary(a).Link()
			for _, promote := range []*storage.Link{nil, &own} {
				requireConflict(t, st.UnlinkIdentity(ctx, a.ID, a.LinkedType, promote, at(time.Hour)), storage.FieldState)
			}
			requireIdentities(t, st, a.ID, primary(a))
			got, err := st.GetAccount(ctx, a.ID)
			require.NoError(t, err)
			requireAccount(t, a, got)
		})
	})

	test(t, "DeleteFreesEveryIdentity", func(t *testing.T, st IdentityStore) {
		ctx := t.Context()
		p := newPair()
		p.write(t, st)
		require.NoError(t, st.DeleteAccount(ctx, p.b.ID))

		requireIdentities(t, st, p.b.ID)
		for _, i := range []storage.Identity{primary(p.b), p.bApple, p.bGoogle} {
			requireLinkFree(t, st, i.Type, i.Subject)
		}
		requireIdentities(t, st, p.a.ID, primary(p.a), p.aApple)

		// Every identity can be taken again: linked, or as a new account's primary.
		c := newAccount("acc-c", storage.LinkGuest, "guest-c", "")
		require.NoError(t, st.CreateAccount(ctx, c))
		linkIdentity(t, st, c.ID, p.bApple)
		linkIdentity(t, st, c.ID, p.bGoogle)
		d := newAccount("acc-d", p.b.LinkedType, p.b.LinkedID, "")
		require.NoError(t, st.CreateAccount(ctx, d))
		requireIdentities(t, st, c.ID, primary(c), p.bApple, p.bGoogle)
		requireIdentities(t, st, d.ID, primary(d))
		requireConsistent(t, st, c.ID)
		requireConsistent(t, st, d.ID)
	})

	test(t, "CreateWithLinkedIdentity", func(t *testing.T, st IdentityStore) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkGuest, "guest-1", "")
		require.NoError(t, st.CreateAccount(ctx, a))
		apple := ident(linkApple, "apple-1", time.Minute)
		linkIdentity(t, st, a.ID, apple)

		b := newAccount("acc-2", linkApple, "apple-1", "Bravo")
		requireConflict(t, st.CreateAccount(ctx, b), storage.FieldLink)
		requireAccountMissing(t, st, b.ID)
		requireNicknameFree(t, st, b.Nickname)
		requireIdentities(t, st, b.ID)
		requireIdentities(t, st, a.ID, primary(a), apple)
		requireLinkedTo(t, st, apple.Link(), a.ID)
	})

	// The races below release real goroutines on one store together.

	test(t, "ConcurrentFirstSignIn", func(t *testing.T, st IdentityStore) {
		// Several devices signing in with one new Apple ID at once: one account.
		ctx := t.Context()
		errs := race(concurrency, func(i int) error {
			return st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), linkApple, "apple-same", ""))
		})
		winner := requireOneWinner(t, errs, storage.FieldLink)
		requireLinkedTo(t, st, storage.Link{Type: linkApple, ID: "apple-same"}, fmt.Sprintf("acc-%d", winner))
		for i := range concurrency {
			id := fmt.Sprintf("acc-%d", i)
			if i == winner {
				requireIdentities(t, st, id, ident(linkApple, "apple-same", 0))
				continue
			}
			requireAccountMissing(t, st, id)
			requireIdentities(t, st, id)
		}
	})

	test(t, "ConcurrentLink", func(t *testing.T, st IdentityStore) {
		// One identity linked to many accounts at once: one winner.
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
		}
		google := ident(linkGoogle, "google-same", time.Minute)
		errs := race(concurrency, func(i int) error {
			return st.LinkIdentity(ctx, fmt.Sprintf("acc-%d", i), google)
		})
		winner := requireOneWinner(t, errs, storage.FieldLink)
		requireLinkedTo(t, st, google.Link(), fmt.Sprintf("acc-%d", winner))
		for i := range concurrency {
			a := newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")
			if i == winner {
				requireIdentities(t, st, a.ID, primary(a), google)
			} else {
				requireIdentities(t, st, a.ID, primary(a))
			}
		}
	})

	test(t, "ConcurrentClaimsAcrossPaths", func(t *testing.T, st IdentityStore) {
		// One identity claimed at once by first sign-ins, links and link
		// changes of existing accounts: one winner among all of them.
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
		}
		claimed := storage.Link{Type: linkApple, ID: "apple-claimed"}
		owner := func(i int) string {
			if i%3 == 0 {
				return fmt.Sprintf("new-%d", i)
			}
			return fmt.Sprintf("acc-%d", i)
		}
		errs := race(concurrency, func(i int) error {
			switch i % 3 {
			case 0:
				return st.CreateAccount(ctx, newAccount(owner(i), claimed.Type, claimed.ID, ""))
			case 1:
				return st.LinkIdentity(ctx, owner(i), ident(claimed.Type, claimed.ID, time.Minute))
			default:
				return st.UpdateAccount(ctx, owner(i), storage.AccountUpdate{Link: &claimed, At: at(time.Minute)})
			}
		})
		winner := requireOneWinner(t, errs, storage.FieldLink)
		requireLinkedTo(t, st, claimed, owner(winner))
		for i := range concurrency {
			if i%3 == 0 && i != winner {
				requireAccountMissing(t, st, owner(i))
				requireIdentities(t, st, owner(i))
				continue
			}
			requireConsistent(t, st, owner(i))
		}
	})

	test(t, "ConcurrentLinkSameType", func(t *testing.T, st IdentityStore) {
		// Two Google accounts linked to one player at once: one winner.
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkGuest, "guest-1", "")
		require.NoError(t, st.CreateAccount(ctx, a))
		errs := race(concurrency, func(i int) error {
			return st.LinkIdentity(ctx, a.ID, ident(linkGoogle, fmt.Sprintf("google-%d", i), time.Minute))
		})
		winner := requireOneWinner(t, errs, storage.FieldIdentityType)
		requireIdentities(t, st, a.ID, primary(a), ident(linkGoogle, fmt.Sprintf("google-%d", winner), time.Minute))
		for i := range concurrency {
			if i != winner {
				requireLinkFree(t, st, linkGoogle, fmt.Sprintf("google-%d", i))
			}
		}
	})

	test(t, "ConcurrentUnlinkKeepsOne", func(t *testing.T, st IdentityStore) {
		// On each account of exactly two identities, one call removes the
		// linked one while another removes the primary, promoting the
		// linked one: whichever goes first, the other must be refused.
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
			linkIdentity(t, st, fmt.Sprintf("acc-%d", i), ident(linkApple, fmt.Sprintf("apple-%d", i), time.Minute))
		}
		errs := race(2*concurrency, func(i int) error {
			acc := fmt.Sprintf("acc-%d", i/2)
			if i%2 == 0 {
				return st.UnlinkIdentity(ctx, acc, linkApple, nil, at(time.Hour))
			}
			return st.UnlinkIdentity(ctx, acc, storage.LinkGuest, &storage.Link{Type: linkApple, ID: fmt.Sprintf("apple-%d", i/2)}, at(time.Hour))
		})
		for n := range concurrency {
			acc := fmt.Sprintf("acc-%d", n)
			pair := errs[2*n : 2*n+2]
			won := 0
			for _, err := range pair {
				if err == nil {
					won++
				} else {
					requireConflict(t, err, storage.FieldState, "%s: the refused removal", acc)
				}
			}
			require.Equal(t, 1, won, "%s: exactly one removal", acc)
			requireConsistent(t, st, acc)
			require.Len(t, listIdentities(t, st, acc), 1, acc)
		}
	})

	test(t, "ConcurrentDeleteAndLink", func(t *testing.T, st IdentityStore) {
		// A link racing its account's deletion either lands before it, and
		// goes with the account, or finds no account: never an identity
		// left to an account that is gone.
		ctx := t.Context()
		for i := range concurrency {
			require.NoError(t, st.CreateAccount(ctx, newAccount(fmt.Sprintf("acc-%d", i), storage.LinkGuest, fmt.Sprintf("g%d", i), "")))
		}
		errs := race(2*concurrency, func(i int) error {
			acc := fmt.Sprintf("acc-%d", i/2)
			if i%2 == 0 {
				return st.DeleteAccount(ctx, acc)
			}
			return st.LinkIdentity(ctx, acc, ident(linkApple, fmt.Sprintf("apple-%d", i/2), time.Minute))
		})
		for n := range concurrency {
			acc := fmt.Sprintf("acc-%d", n)
			require.NoError(t, errs[2*n], "%s: the delete", acc)
			if err := errs[2*n+1]; err != nil {
				requireOnly(t, err, storage.ErrNotFound, "%s: a link after the delete", acc)
			}
			requireAccountMissing(t, st, acc)
			requireIdentities(t, st, acc)
			requireLinkFree(t, st, linkApple, fmt.Sprintf("apple-%d", n))
			requireLinkFree(t, st, storage.LinkGuest, fmt.Sprintf("g%d", n))
		}
	})

	identitiesCancelled(t, newStore)
}

// identitiesCancelled calls every write that touches identities with a
// context cancelled beforehand: each must fail and leave accounts and
// identities as they were.
func identitiesCancelled(t *testing.T, newStore func(t *testing.T) IdentityStore) {
	a := newAccount("acc-1", storage.LinkGuest, "guest-1", "Hero")
	apple := ident(linkApple, "apple-1", time.Minute)
	newEmail := storage.Link{Type: storage.LinkEmail, ID: "new@example.com"}
	accounts := []string{a.ID, "acc-new"}
	links := []storage.Link{primary(a).Link(), apple.Link(), newEmail, {Type: linkGoogle, ID: "google-1"}}
	writes := []struct {
		name string
		call func(ctx context.Context, st IdentityStore) error
	}{
		{"CreateAccount", func(ctx context.Context, st IdentityStore) error {
			return st.CreateAccount(ctx, newAccount("acc-new", newEmail.Type, newEmail.ID, ""))
		}},
		{"UpdateAccountLink", func(ctx context.Context, st IdentityStore) error {
			return st.UpdateAccount(ctx, a.ID, storage.AccountUpdate{Link: &newEmail, At: at(time.Hour)})
		}},
		{"DeleteAccount", func(ctx context.Context, st IdentityStore) error { return st.DeleteAccount(ctx, a.ID) }},
		{"LinkIdentity", func(ctx context.Context, st IdentityStore) error {
			return st.LinkIdentity(ctx, a.ID, ident(linkGoogle, "google-1", time.Hour))
		}},
		{"UnlinkLinked", func(ctx context.Context, st IdentityStore) error {
			return st.UnlinkIdentity(ctx, a.ID, linkApple, nil, at(time.Hour))
		}},
		{"UnlinkPrimary", func(ctx context.Context, st IdentityStore) error {
			promote := apple.Link()
			return st.UnlinkIdentity(ctx, a.ID, storage.LinkGuest, &promote, at(time.Hour))
		}},
		{"ListIdentities", func(ctx context.Context, st IdentityStore) error {
			_, err := st.ListIdentities(ctx, a.ID)
			return err
		}},
	}
	t.Run("Cancelled", func(t *testing.T) {
		for _, w := range writes {
			subtest(t, w.name, newStore, func(t *testing.T, st IdentityStore) {
				require.NoError(t, st.CreateAccount(t.Context(), a))
				linkIdentity(t, st, a.ID, apple)
				before := identityState(t, st, accounts, links)
				requireCancelledFails(t, func(ctx context.Context) error { return w.call(ctx, st) })
				require.Equal(t, before, identityState(t, st, accounts, links), "and writes nothing")
			})
		}
	})
}
