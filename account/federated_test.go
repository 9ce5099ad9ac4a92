package account_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/gameauth/gameauth/account"
	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/storage"
)

// fakeProviders stands for the platforms: an id_token "<provider>:<sub>"
// proves that identity; "refused" and "down" are refused and unreachable.
type fakeProviders struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeProviders) Verify(_ context.Context, provider string, c federated.Credential) (federated.Identity, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	switch {
	case provider != "apple" && provider != "google" && provider != "studio":
		return federated.Identity{}, federated.ErrNotConfigured
	case c.IDToken == "":
		return federated.Identity{}, &federated.FieldError{Field: "id_token", Problem: "is required"}
	case c.IDToken == "refused":
		return federated.Identity{}, federated.ErrInvalidCredential
	case c.IDToken == "down":
		return federated.Identity{}, federated.ErrUnavailable
	case len(c.IDToken) > len(provider) && c.IDToken[:len(provider)+1] == provider+":":
		return federated.Identity{Provider: provider, Subject: c.IDToken[len(provider)+1:]}, nil
	}
	return federated.Identity{}, federated.ErrInvalidCredential
}

func withProviders(c *envConfig) { c.Providers = &fakeProviders{} }

func fedSignIn(provider, token, device string) map[string]any {
	return map[string]any{"provider": provider, "id_token": token, "platform": "ios", "device_id": device}
}

func TestFederatedSignIn(t *testing.T) {
	e := newEnv(t, withProviders)
	r := e.put("/federated/signin", fedSignIn("apple", "apple:000123.abc", "phone-1"))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	requireTokenResponse(t, r)
	assert.Equal(t, "apple", r.str("Player", "LinkedType"))
	assert.Equal(t, "000123.abc", r.str("Player", "LinkedID"))
	assert.NotContains(t, r.Body, "GuestKey")
	id := r.str("Player", "UserUniqueID")

	again := e.put("/federated/signin", fedSignIn("apple", "apple:000123.abc", "phone-1"))
	require.Equal(t, http.StatusOK, again.Status, again.Raw)
	assert.Equal(t, id, again.str("Player", "UserUniqueID"), "the same identity signs in to the same account")
	// The single-device policy, as for an email sign-in.
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(r.str("Token", "AccessToken"))), http.StatusUnauthorized, CodeSessionReplaced)
	// A subject at another provider is another identity.
	other := e.put("/federated/signin", fedSignIn("google", "google:000123.abc", "phone-1"))
	require.Equal(t, http.StatusCreated, other.Status)
	assert.NotEqual(t, id, other.str("Player", "UserUniqueID"))

	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"refused credential", fedSignIn("apple", "refused", "d"), 401, CodeProviderTokenInvalid},
		{"vendor down: never a 401", fedSignIn("apple", "down", "d"), 503, CodeProviderUnavailable},
		{"missing credential field", fedSignIn("apple", "", "d"), 400, CodeInvalidRequest},
		{"unknown provider", fedSignIn("myspace", "x", "d"), 400, CodeProviderNotConfigured},
		{"no provider", fedSignIn("", "x", "d"), 400, CodeInvalidRequest},
		{"email is no platform", fedSignIn("email", "x", "d"), 400, CodeInvalidRequest},
		{"no device", map[string]any{"provider": "apple", "id_token": "apple:1"}, 400, CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireError(t, e.put("/federated/signin", c.body), c.status, c.code)
		})
	}
	r = e.put("/federated/signin", fedSignIn("apple", "", "d"))
	assert.Equal(t, "id_token: is required", r.str("Message"), "the missing field is named")
}

func TestFederatedNotConfigured(t *testing.T) {
	e := newEnv(t)
	requireError(t, e.put("/federated/signin", fedSignIn("apple", "apple:1", "d")), http.StatusBadRequest, CodeProviderNotConfigured)
	p := e.signUp("dev-a")
	r := e.call(http.MethodGet, "/identities", nil, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.Body["Identities"], 1, "the email")
}

// Withdrawal and blocks stop a federated sign-in as they stop an email one.
func TestFederatedSignInState(t *testing.T) {
	e := newEnv(t, withProviders)
	r := e.put("/federated/signin", fedSignIn("apple", "apple:42", "phone-1"))
	require.Equal(t, http.StatusCreated, r.Status)
	id := r.str("Player", "UserUniqueID")
	_, err := e.svc.BlockPlayer(context.Background(), id, BlockSpec{Reason: "cheating"})
	require.NoError(t, err)
	requireError(t, e.put("/federated/signin", fedSignIn("apple", "apple:42", "phone-1")), http.StatusForbidden, CodeAccountBlocked)
	require.NoError(t, e.svc.UnblockPlayer(context.Background(), id))
	r = e.put("/federated/signin", fedSignIn("apple", "apple:42", "phone-1"))
	require.Equal(t, http.StatusOK, r.Status)
	key := e.withdraw(player{id: id, access: r.str("Token", "AccessToken")}, nil)
	r = e.put("/federated/signin", fedSignIn("apple", "apple:42", "phone-1"))
	requireError(t, r, http.StatusForbidden, CodeAccountWithdrawn)
	assert.Equal(t, key, r.str("WithdrawalKey"))
	_, err = e.svc.BlockDevice(context.Background(), "phone-9", BlockSpec{Reason: "farm"})
	require.NoError(t, err)
	requireError(t, e.put("/federated/signin", fedSignIn("apple", "apple:77", "phone-9")), http.StatusForbidden, CodeDeviceBlocked)
}

func TestFederatedLinkAndUnlink(t *testing.T) {
	e := newEnv(t, withProviders, func(c *envConfig) { c.MaxSessions = -1 })

	// A guest keeps its data and stops being a guest.
	g := e.guest("dev-g")
	nick := e.put("/nickname", map[string]any{"nickname": "Guesty"}, bearerOpt(g.access))
	require.Equal(t, http.StatusOK, nick.Status)
	r := e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:g1"}, bearerOpt(g.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	requireTokenResponse(t, r)
	assert.Equal(t, "apple", r.str("Player", "LinkedType"))
	assert.Equal(t, "g1", r.str("Player", "LinkedID"))
	assert.Equal(t, "Guesty", r.str("Player", "Nickname"))
	assert.Equal(t, g.id, r.str("Player", "UserUniqueID"))
	requireError(t, e.call(http.MethodGet, "/token/status", nil, bearerOpt(g.access)), http.StatusUnauthorized, CodeSessionRevoked)
	requireError(t, e.put("/guest/signin", with(device("dev-g"), "guest_key", g.guestKey)), http.StatusUnauthorized, CodeInvalidCredentials)
	signedIn := e.put("/federated/signin", fedSignIn("apple", "apple:g1", "dev-g"))
	require.Equal(t, http.StatusOK, signedIn.Status)
	assert.Equal(t, g.id, signedIn.str("Player", "UserUniqueID"))
	gAccess := r.str("Token", "AccessToken")
	requireError(t, e.put("/federated/unlink", map[string]any{"provider": "apple"}, bearerOpt(gAccess)), http.StatusConflict, CodeLastIdentity)

	// An email account gains a way to sign in and keeps its LinkedType.
	p := e.signUp("dev-a")
	r = e.put("/federated/link", map[string]any{"provider": "google", "id_token": "google:p1"}, bearerOpt(p.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "email", r.str("Player", "LinkedType"))
	pAccess := r.str("Token", "AccessToken")
	ids := e.call(http.MethodGet, "/identities", nil, bearerOpt(pAccess))
	require.Equal(t, http.StatusOK, ids.Status, ids.Raw)
	list := ids.Body["Identities"].([]any)
	require.Len(t, list, 2)
	assert.Equal(t, "email", list[0].(map[string]any)["LinkedType"])
	assert.Equal(t, p.email, list[0].(map[string]any)["LinkedID"])
	assert.Equal(t, "google", list[1].(map[string]any)["LinkedType"])
	assert.Equal(t, "p1", list[1].(map[string]any)["LinkedID"])
	assert.NotEmpty(t, list[1].(map[string]any)["LinkedAt"])
	signedIn = e.put("/federated/signin", fedSignIn("google", "google:p1", "dev-a"))
	require.Equal(t, http.StatusOK, signedIn.Status)
	assert.Equal(t, p.id, signedIn.str("Player", "UserUniqueID"))

	// Conflicts.
	requireError(t, e.put("/federated/link", map[string]any{"provider": "google", "id_token": "google:p2"}, bearerOpt(pAccess)),
		http.StatusConflict, CodeProviderAlreadyLinked)
	r = e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:g1"}, bearerOpt(pAccess))
	requireError(t, r, http.StatusConflict, CodeIdentityTaken)
	assert.NotContains(t, r.Raw, g.id, "nothing of the other account is revealed")
	requireError(t, e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "refused"}, bearerOpt(pAccess)),
		http.StatusUnauthorized, CodeProviderTokenInvalid)

	// Unlink: the email stays.
	r = e.put("/federated/unlink", map[string]any{"provider": "google"}, bearerOpt(pAccess))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "UNLINKED", r.str("Status"))
	requireError(t, e.put("/federated/unlink", map[string]any{"provider": "google"}, bearerOpt(pAccess)), http.StatusBadRequest, CodeInvalidRequest)
	fresh := e.put("/federated/signin", fedSignIn("google", "google:p1", "dev-x"))
	require.Equal(t, http.StatusCreated, fresh.Status, "the identity is free again: it signs up anew")
	assert.NotEqual(t, p.id, fresh.str("Player", "UserUniqueID"))
}

// Unlinking the identity an account was created with puts another in its
// place: its email if it has one.
func TestFederatedUnlinkPrimary(t *testing.T) {
	e := newEnv(t, withProviders, func(c *envConfig) { c.MaxSessions = -1 })
	r := e.put("/federated/signin", fedSignIn("apple", "apple:a1", "d1"))
	require.Equal(t, http.StatusCreated, r.Status)
	access := r.str("Token", "AccessToken")
	r = e.put("/federated/link", map[string]any{"provider": "studio", "id_token": "studio:s1"}, bearerOpt(access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "apple", r.str("Player", "LinkedType"))
	access = r.str("Token", "AccessToken")
	r = e.put("/federated/unlink", map[string]any{"provider": "apple"}, bearerOpt(access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	status := e.call(http.MethodGet, "/token/status", nil, bearerOpt(access))
	require.Equal(t, http.StatusOK, status.Status)
	assert.Equal(t, "studio", status.str("Player", "LinkedType"))
	assert.Equal(t, "s1", status.str("Player", "LinkedID"))
	requireError(t, e.put("/federated/unlink", map[string]any{"provider": "studio"}, bearerOpt(access)), http.StatusConflict, CodeLastIdentity)
}

// Two first sign-ins with one identity at once make one account; two links
// of one identity at once have one winner.
func TestFederatedRaces(t *testing.T) {
	e := newEnv(t, withProviders, func(c *envConfig) { c.MaxSessions = -1 })
	rs := parallel(8, func(i int) resp {
		return e.put("/federated/signin", fedSignIn("apple", "apple:race", "d"))
	})
	ids := map[string]bool{}
	created := 0
	for _, r := range rs {
		require.Contains(t, []int{200, 201}, r.Status, r.Raw)
		ids[r.str("Player", "UserUniqueID")] = true
		if r.Status == 201 {
			created++
		}
	}
	assert.Len(t, ids, 1, "one account")
	assert.Equal(t, 1, created)

	var gs []player
	for i := range 8 {
		gs = append(gs, e.guest("dev-"+string(rune('a'+i))))
	}
	rs = parallel(len(gs), func(i int) resp {
		return e.put("/federated/link", map[string]any{"provider": "google", "id_token": "google:one"}, bearerOpt(gs[i].access))
	})
	assert.Equal(t, map[string]int{"200 ": 1, "409 IDENTITY_TAKEN": 7}, statuses(rs))
	st, err := e.mem.GetAccountByLink(context.Background(), "google", "one")
	require.NoError(t, err)
	assert.Equal(t, storage.Link{Type: "google", ID: "one"}, storage.Link{Type: st.LinkedType, ID: st.LinkedID})
}

// A provider name the server does not know never reaches an event: the
// audit log would keep whatever a client made up.
func TestFederatedEventsNameKnownProvidersOnly(t *testing.T) {
	e := newEnv(t, withProviders)
	requireError(t, e.put("/federated/signin", fedSignIn("made-up-<script>", "x", "d")), http.StatusBadRequest, CodeProviderNotConfigured)
	requireError(t, e.put("/federated/signin", fedSignIn("apple", "refused", "d")), http.StatusUnauthorized, CodeProviderTokenInvalid)
	var methods []string
	for _, ev := range e.events.seenEvents() {
		if ev.Kind == EventSignInFailed {
			methods = append(methods, ev.Method)
		}
	}
	assert.Equal(t, []string{"federated", "apple"}, methods)
}

// barrierProviders verifies as fakeProviders do, holding every call until
// n are in flight: two links pass their checks before either writes, as a
// slow vendor round trip lets them.
type barrierProviders struct {
	inner fakeProviders
	wg    sync.WaitGroup
}

func (b *barrierProviders) Verify(ctx context.Context, p string, c federated.Credential) (federated.Identity, error) {
	b.wg.Done()
	b.wg.Wait()
	return b.inner.Verify(ctx, p, c)
}

// A guest linking two platforms at once (both checked it was a guest
// before either wrote) keeps both: the first becomes its linked type, the
// second is added beside it. Neither is dropped behind a 200.
func TestGuestLinkingTwoPlatformsAtOnceKeepsBoth(t *testing.T) {
	bp := &barrierProviders{}
	bp.wg.Add(2)
	e := newEnv(t, func(c *envConfig) { c.Providers = bp })
	g := e.guest("phone-g")
	var wg sync.WaitGroup
	rs := make([]resp, 2)
	for i, body := range []map[string]any{
		{"provider": "apple", "id_token": "apple:A1"},
		{"provider": "google", "id_token": "google:G1"},
	} {
		wg.Go(func() { rs[i] = e.put("/federated/link", body, bearerOpt(g.access)) })
	}
	wg.Wait()
	ids, err := e.mem.ListIdentities(context.Background(), g.id)
	require.NoError(t, err)
	var linked []string
	for _, id := range ids {
		linked = append(linked, id.Type+":"+id.Subject)
	}
	for i, r := range rs {
		if r.Status == http.StatusOK {
			continue
		}
		t.Logf("link %d answered %d %s", i, r.Status, r.Raw)
	}
	ok := 0
	for _, r := range rs {
		if r.Status == http.StatusOK {
			ok++
		}
	}
	assert.Len(t, linked, ok, "every link answered 200 is on the account: %v", linked)
	assert.NotContains(t, linked, "guest:", "the guest key is gone")
	assert.Equal(t, 2, ok, "both links succeed")
}

// heldProviders verifies as fakeProviders do once release is closed,
// telling entered when a call arrives.
type heldProviders struct {
	inner            fakeProviders
	entered, release chan struct{}
}

func (h *heldProviders) Verify(ctx context.Context, p string, c federated.Credential) (federated.Identity, error) {
	close(h.entered)
	<-h.release
	return h.inner.Verify(ctx, p, c)
}

// A platform link that checked the account was a guest, then waited on
// the vendor while the guest linked an email, does not replace the email:
// it is added beside it.
func TestPlatformLinkAfterAnEmailLinkKeepsTheEmail(t *testing.T) {
	hp := &heldProviders{entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *envConfig) { c.Providers = hp })
	g := e.guest("phone-h")
	done := make(chan resp)
	go func() {
		done <- e.put("/federated/link", map[string]any{"provider": "apple", "id_token": "apple:A2"}, bearerOpt(g.access))
	}()
	<-hp.entered
	r := e.put("/email/link", map[string]any{"linked_id": "held@example.com", "linked_password": "s3cret-pass"}, bearerOpt(g.access))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	close(hp.release)
	r = <-done
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	a, err := e.mem.GetAccount(context.Background(), g.id)
	require.NoError(t, err)
	assert.Equal(t, "email", a.LinkedType, "the email stays the account's linked type")
	ids, err := e.mem.ListIdentities(context.Background(), g.id)
	require.NoError(t, err)
	var linked []string
	for _, id := range ids {
		linked = append(linked, id.Type+":"+id.Subject)
	}
	assert.ElementsMatch(t, []string{"email:held@example.com", "apple:A2"}, linked)
	r = e.put("/email/signin", with(device("phone-h"), "linked_id", "held@example.com", "linked_password", "s3cret-pass"))
	assert.Equal(t, http.StatusOK, r.Status, "the email still signs in: %s", r.Raw)
}
