package federated_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const steamKey = "SECRET-steam-web-api-key-0123456789"

// steamFixture is a fake Steam Web API and two Sets configured for it: a
// patient one, and one whose timeout the slow case exceeds.
func steamFixture(t *testing.T) (sets map[bool]*federated.Set, st *federatedtest.Steam) {
	st = federatedtest.NewSteam(t, federatedtest.SteamOptions{AppID: "480", WebAPIKey: steamKey})
	sets = map[bool]*federated.Set{}
	for impatient, timeout := range map[bool]time.Duration{false: 5 * time.Second, true: 200 * time.Millisecond} {
		cfg := federatedtest.Config(st)
		cfg.Timeout = federated.Duration(timeout)
		sets[impatient] = newSet(t, cfg, st.Client(), newClock())
	}
	return sets, st
}

// steamCase is a ticket the Web API, or the checks before it, do not take.
type steamCase struct {
	name   string
	ticket func(st *federatedtest.Steam) string
	fault  func(st *federatedtest.Steam) // how the Web API misbehaves
	slow   bool                          // the Web API answers after the timeout
	want   error
	why    string
}

// steamRefusals are every way a ticket fails: refused by Steam, Steam in
// trouble, or refused before it is asked.
func steamRefusals() []steamCase {
	const player = "76561197960287930"
	fixed := func(ticket string) func(*federatedtest.Steam) string {
		return func(*federatedtest.Steam) string { return ticket }
	}
	good := func(st *federatedtest.Steam) string { return st.Ticket(player) }
	answer := func(status int, body string) func(*federatedtest.Steam) {
		return func(st *federatedtest.Steam) {
			st.Override(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(status)
				fmt.Fprint(w, body)
			}))
		}
	}
	return []steamCase{
		{name: "denied", ticket: func(st *federatedtest.Steam) string {
			return st.Issue(federatedtest.SteamTicket{SteamID: player, Result: "Denied"})
		}, want: federated.ErrInvalidCredential, why: `result "Denied"`},
		{name: "invalid ticket", ticket: fixed("aa03"), want: federated.ErrInvalidCredential, why: "error 101"},
		{name: "invalid parameter, 400", ticket: good, fault: answer(http.StatusBadRequest,
			`{"response":{"error":{"errorcode":3,"errordesc":"Invalid parameter"}}}`), want: federated.ErrInvalidCredential, why: "error 3"},
		{name: "500", ticket: good, fault: func(st *federatedtest.Steam) { st.Fail(http.StatusInternalServerError) },
			want: federated.ErrUnavailable, why: "answered 500"},
		{name: "slow", ticket: good, fault: func(st *federatedtest.Steam) { st.Hang() }, slow: true, want: federated.ErrUnavailable, why: "Web API"},
		{name: "redirect", ticket: good, fault: func(st *federatedtest.Steam) {
			st.Override(http.RedirectHandler("https://elsewhere.example.com/steal", http.StatusFound))
		}, want: federated.ErrUnavailable, why: "302"},
		{name: "HTML", ticket: good, fault: answer(http.StatusOK, `<html>maintenance</html>`), want: federated.ErrUnavailable, why: "no JSON"},
		{name: "OK without a steamid", ticket: func(st *federatedtest.Steam) string {
			return st.Issue(federatedtest.SteamTicket{Result: "OK"})
		}, want: federated.ErrUnavailable, why: "without a steamid"},
		{name: "no ticket", ticket: fixed(""), want: federated.ErrInvalidRequest, why: `"ticket": missing`},
		{name: "not hex", ticket: fixed("xyz"), want: federated.ErrInvalidRequest, why: "not hex"},
		{name: "too long", ticket: fixed(strings.Repeat("ab", 5000)), want: federated.ErrInvalidRequest, why: "longer than"},
	}
}

// refuse runs tc against st with the fitting one of sets, and returns the
// error.
func (tc steamCase) refuse(sets map[bool]*federated.Set, st *federatedtest.Steam) error {
	if tc.fault != nil {
		tc.fault(st)
		defer st.Heal()
	}
	_, err := sets[tc.slow].Verify(context.Background(), federated.Steam, federated.Credential{Ticket: tc.ticket(st)})
	return err
}

func TestSteam(t *testing.T) {
	sets, st := steamFixture(t)
	s := sets[false]
	ctx := context.Background()

	// Family Sharing: the owner is someone else.
	id, err := s.Verify(ctx, federated.Steam, federated.Credential{Ticket: st.Issue(federatedtest.SteamTicket{
		SteamID: "76561197960287930", OwnerSteamID: "76561197960265728",
	})})
	require.NoError(t, err)
	assert.Equal(t, federated.Identity{Provider: federated.Steam, Subject: "76561197960287930"}, id, "steamid, not ownersteamid")

	for _, tc := range steamRefusals() {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			requireErr(t, tc.refuse(sets, st), tc.want, tc.why)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

// TestSteamKeyNeverShows: the Web API key is in no error text, whatever
// goes wrong, and in no printed or logged Config.
func TestSteamKeyNeverShows(t *testing.T) {
	sets, st := steamFixture(t)
	ctx := context.Background()
	var texts []string
	for _, tc := range steamRefusals() {
		err := tc.refuse(sets, st)
		require.Error(t, err)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}

	// The key refused (403), and the server gone (a transport error, which
	// net/http reports with the whole URL).
	badCfg := federatedtest.Config(st)
	badCfg.Steam.AppID = "999"
	bad := newSet(t, badCfg, st.Client(), newClock())
	_, err := bad.Verify(ctx, federated.Steam, federated.Credential{Ticket: st.Ticket("76561197960287930")})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	texts = append(texts, err.Error())
	gone := federatedtest.NewSteam(t, federatedtest.SteamOptions{AppID: "480", WebAPIKey: steamKey})
	gone.Close()
	down := newSet(t, federatedtest.Config(gone), nil, newClock())
	_, err = down.Verify(ctx, federated.Steam, federated.Credential{Ticket: "aa01"})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	texts = append(texts, err.Error(), fmt.Sprintf("%#v", err))

	cfg := federated.Config{Steam: &federated.SteamConfig{AppID: "480", WebAPIKey: steamKey}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "steam", cfg.Steam, "key", cfg.Steam.WebAPIKey)
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s %x", *cfg.Steam, *cfg.Steam, cfg.Steam, cfg.Steam.WebAPIKey, cfg.Steam.WebAPIKey), logged.String())

	for _, text := range texts {
		assert.NotContains(t, text, steamKey)
		assert.NotContains(t, text, "SECRET")
	}
	assert.Contains(t, logged.String(), "[redacted]")
}
