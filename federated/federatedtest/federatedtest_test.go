package federatedtest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakes is one of every fake, configured into one Set on one clock.
type fakes struct {
	clk       *testclock.Clock
	apple     *federatedtest.Issuer
	google    *federatedtest.Issuer
	studio    *federatedtest.Issuer
	playGames *federatedtest.PlayGames
	gc        *federatedtest.GameCenter
	steam     *federatedtest.Steam
	set       *federated.Set
}

func startFakes(t *testing.T) *fakes {
	clk := testclock.New(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f := &fakes{
		clk:       clk,
		apple:     federatedtest.NewApple(t, federatedtest.IssuerOptions{Now: clk.Now}),
		google:    federatedtest.NewGoogle(t, federatedtest.IssuerOptions{Now: clk.Now, OmitAlg: true}),
		studio:    federatedtest.NewOIDC(t, "studio", federatedtest.IssuerOptions{Now: clk.Now, Key: ec}),
		playGames: federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{}),
		gc:        federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{Now: clk.Now}),
		steam:     federatedtest.NewSteam(t, federatedtest.SteamOptions{}),
	}
	f.set = f.newSet(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, f.set.Warm(ctx))
	return f
}

// newSet is a Set of every fake, on their clock, with timeout.
func (f *fakes) newSet(t *testing.T, timeout time.Duration) *federated.Set {
	cfg := federatedtest.Config(f.apple, f.google, f.studio, f.playGames, f.gc, f.steam)
	cfg.Timeout = federated.Duration(timeout)
	set, err := federated.New(context.Background(), cfg, federated.WithHTTPClient(f.gc.Client()), federated.WithClock(f.clk.Now))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, set.Close()) })
	return set
}

// provider is one fake as a test drives it: a good credential for a
// subject, and the server it answers from.
type provider struct {
	name   string
	server *federatedtest.Server
	cred   func(subject string) federated.Credential
	// refused is a credential the provider must refuse.
	refused func() federated.Credential
}

func (f *fakes) providers() []provider {
	idToken := func(i *federatedtest.Issuer) func(string) federated.Credential {
		return func(sub string) federated.Credential {
			return federated.Credential{IDToken: i.Mint(federatedtest.Token{Subject: sub, Nonce: "n-0"}), Nonce: "n-0"}
		}
	}
	wrongAudience := func(i *federatedtest.Issuer) func() federated.Credential {
		return func() federated.Credential {
			return federated.Credential{IDToken: i.Mint(federatedtest.Token{Subject: "s", Audience: "another-app"})}
		}
	}
	return []provider{
		{"apple", f.apple.Server, idToken(f.apple), wrongAudience(f.apple)},
		{"google", f.google.Server, idToken(f.google), wrongAudience(f.google)},
		{"studio", f.studio.Server, idToken(f.studio), wrongAudience(f.studio)},
		{"playgames", f.playGames.Server,
			func(sub string) federated.Credential { return federated.Credential{AuthCode: f.playGames.Code(sub)} },
			func() federated.Credential { return federated.Credential{AuthCode: "4/never-issued"} }},
		{"gamecenter", f.gc.Server, f.gc.Credential, func() federated.Credential {
			return f.gc.Sign(federatedtest.GameCenterSignature{PlayerID: "T:_1", Timestamp: f.clk.Now().Add(-time.Hour)})
		}},
		{"steam", f.steam.Server,
			func(sub string) federated.Credential { return federated.Credential{Ticket: f.steam.Ticket(sub)} },
			func() federated.Credential { return federated.Credential{Ticket: "0badc0de"} }},
	}
}

// TestFakesVerify: every fake's credential verifies to its subject, its
// refused one is refused, and each request is counted.
func TestFakesVerify(t *testing.T) {
	f := startFakes(t)
	ctx := context.Background()
	warmKeys := f.apple.Calls(federatedtest.KeysPath)
	require.Positive(t, warmKeys, "Warm fetched Apple's key set")
	for _, p := range f.providers() {
		t.Run(p.name, func(t *testing.T) {
			for _, sub := range []string{"76561198000000001", "76561198000000002"} { // a Steam ID is decimal
				id, err := f.set.Verify(ctx, p.name, p.cred(sub))
				require.NoError(t, err)
				assert.Equal(t, federated.Identity{Provider: p.name, Subject: sub}, id)
			}
			_, err := f.set.Verify(ctx, p.name, p.refused())
			require.ErrorIs(t, err, federated.ErrInvalidCredential)
			assert.NotErrorIs(t, err, federated.ErrUnavailable)
			assert.Positive(t, p.server.Calls())
		})
	}
	assert.Equal(t, warmKeys, f.apple.Calls(federatedtest.KeysPath), "warm keys: no fetch")
	assert.EqualValues(t, 1, f.studio.Calls(federatedtest.DiscoveryPath))
	assert.EqualValues(t, 1, f.gc.Calls(federatedtest.GameCenterCertPath), "the certificate is cached")
	assert.EqualValues(t, 3, f.playGames.Calls(federatedtest.PlayGamesTokenPath))
	assert.EqualValues(t, 2, f.playGames.Calls(federatedtest.PlayersMePath))
	assert.EqualValues(t, 3, f.steam.Calls(federatedtest.SteamTicketPath))
}

// fresh is a good credential for sub that the Set cannot check from what
// it has cached: for the ID-token providers a token under a rotated key
// (past the refetch limit), for Game Center a certificate URL not seen
// yet.
func (f *fakes) fresh(p provider, sub string) federated.Credential {
	switch p.name {
	case "apple":
		f.apple.Rotate()
	case "google":
		f.google.Rotate()
	case "studio":
		f.studio.Rotate()
	case "gamecenter":
		path := "/public-key/gc-prod-" + rand.Text() + ".cer" // the same certificate, at a new URL
		f.gc.Serve(path, f.gc.Intermediate.Issue("gc-prod", &f.gc.Key().PublicKey).Raw)
		return f.gc.Sign(federatedtest.GameCenterSignature{PlayerID: sub, URL: f.gc.URL + path})
	}
	f.clk.Advance(31 * time.Second)
	return p.cred(sub)
}

// TestFakesFail: a fake made to fail, or closed, is a vendor that cannot
// answer, never a refusal; healed, it answers again.
func TestFakesFail(t *testing.T) {
	f := startFakes(t)
	ctx := context.Background()
	for _, p := range f.providers() {
		t.Run(p.name, func(t *testing.T) {
			fresh := func(sub string) federated.Credential { return f.fresh(p, sub) }
			const subject = "76561198000000003"
			p.server.Fail(http.StatusServiceUnavailable)
			_, err := f.set.Verify(ctx, p.name, fresh(subject))
			require.ErrorIs(t, err, federated.ErrUnavailable)
			assert.NotErrorIs(t, err, federated.ErrInvalidCredential)

			p.server.Heal()
			id, err := f.set.Verify(ctx, p.name, fresh(subject))
			require.NoError(t, err)
			assert.Equal(t, subject, id.Subject)

			p.server.Close()
			_, err = f.set.Verify(ctx, p.name, fresh(subject))
			require.ErrorIs(t, err, federated.ErrUnavailable)
			assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
		})
	}
}

// TestFakesHang: a fake made to hang holds every request until the
// client gives up, which the verifier answers ErrUnavailable within its
// timeout.
func TestFakesHang(t *testing.T) {
	f := startFakes(t)
	impatient := f.newSet(t, 150*time.Millisecond)
	ctx := context.Background()
	for _, p := range f.providers() {
		t.Run(p.name, func(t *testing.T) {
			const subject = "76561198000000004"
			p.server.Hang() // first: no fetch from now on sees the key fresh rotates to
			c := f.fresh(p, "76561198000000004")
			start := time.Now()
			_, err := impatient.Verify(ctx, p.name, c)
			require.ErrorIs(t, err, federated.ErrUnavailable)
			assert.NotErrorIs(t, err, federated.ErrInvalidCredential)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

func TestOverridePaths(t *testing.T) {
	pg := federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{})
	set, err := federated.New(context.Background(), federatedtest.Config(pg))
	require.NoError(t, err)
	pg.Fail(http.StatusBadGateway, federatedtest.PlayersMePath)
	_, err = set.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: pg.Code("p")})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	assert.Contains(t, err.Error(), "Players API answered 502", "the token endpoint answered; only players/me failed")
	assert.EqualValues(t, 1, pg.Calls(federatedtest.PlayGamesTokenPath))
	assert.EqualValues(t, 2, pg.Calls())
}

// TestPlayGamesCodeOnce: a server auth code is good for one exchange, and
// the client must be the configured one.
func TestPlayGamesCodeOnce(t *testing.T) {
	pg := federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{ClientSecret: "right"})
	set, err := federated.New(context.Background(), federatedtest.Config(pg))
	require.NoError(t, err)
	code := pg.Code("g123")
	id, err := set.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: code})
	require.NoError(t, err)
	assert.Equal(t, "g123", id.Subject)
	_, err = set.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: code})
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "invalid_grant")

	cfg := federatedtest.Config(pg)
	cfg.PlayGames.ClientSecret = "wrong"
	wrong, err := federated.New(context.Background(), cfg)
	require.NoError(t, err)
	_, err = wrong.Verify(context.Background(), federated.PlayGames, federated.Credential{AuthCode: pg.Code("g123")})
	require.ErrorIs(t, err, federated.ErrUnavailable, "a refused client is the server's fault")
	assert.Contains(t, err.Error(), "invalid_client")
}

// TestSteamTickets: the subject is steamid, whoever owns the game; a
// result other than OK is refused; a wrong key answers 403.
func TestSteamTickets(t *testing.T) {
	s := federatedtest.NewSteam(t, federatedtest.SteamOptions{AppID: "570", WebAPIKey: "k-1"})
	set, err := federated.New(context.Background(), federatedtest.Config(s))
	require.NoError(t, err)
	verify := func(ticket string) (federated.Identity, error) {
		return set.Verify(context.Background(), federated.Steam, federated.Credential{Ticket: ticket})
	}
	id, err := verify(s.Issue(federatedtest.SteamTicket{SteamID: "76561197960287930", OwnerSteamID: "76561197960265728"}))
	require.NoError(t, err)
	assert.Equal(t, "76561197960287930", id.Subject)
	_, err = verify(s.Issue(federatedtest.SteamTicket{SteamID: "76561197960287930", Result: "Denied"}))
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), `result "Denied"`)

	cfg := federatedtest.Config(s)
	cfg.Steam.WebAPIKey = "k-2"
	wrong, err := federated.New(context.Background(), cfg)
	require.NoError(t, err)
	_, err = wrong.Verify(context.Background(), federated.Steam, federated.Credential{Ticket: s.Ticket("76561197960287930")})
	require.ErrorIs(t, err, federated.ErrUnavailable)
	assert.Contains(t, err.Error(), "403")
}

// TestIssuerToken: the claims a Token asks for are the ones minted, with
// each vendor's nonce and email_verified.
func TestIssuerToken(t *testing.T) {
	clk := testclock.Default()
	apple := federatedtest.NewApple(t, federatedtest.IssuerOptions{Now: clk.Now})
	google := federatedtest.NewGoogle(t, federatedtest.IssuerOptions{Now: clk.Now, ClientIDs: []string{"a", "b"}})
	exp := clk.Now().Add(time.Hour)
	assert.Equal(t, map[string]any{
		"iss": federatedtest.AppleIssuer, "aud": "com.example.game", "sub": "s", "iat": clk.Now().Unix(), "exp": exp.Unix(),
		"nonce": "d7439bee24773bcbfa2d0a97947ee36227b10d1022b1a55847e928965bb6bfde",
		"email": "p@example.com", "email_verified": "true", "extra": 1,
	}, apple.Claims(federatedtest.Token{Subject: "s", Expiry: exp, Nonce: "raw", Email: "p@example.com", Claims: map[string]any{"extra": 1}}))
	assert.Equal(t, map[string]any{
		"iss": federatedtest.GoogleIssuer, "aud": "b", "sub": "s", "iat": clk.Now().Unix(), "nonce": "raw",
		"email": "p@example.com", "email_verified": true,
	}, google.Claims(federatedtest.Token{Subject: "s", Audience: "b", Nonce: "raw", Email: "p@example.com", Claims: map[string]any{"exp": nil}}))
}

// TestConfigFile: the file WriteConfig writes reads back, secrets and all,
// as the fakes' configuration.
func TestConfigFile(t *testing.T) {
	apple := federatedtest.NewApple(t, federatedtest.IssuerOptions{})
	studio := federatedtest.NewOIDC(t, "studio", federatedtest.IssuerOptions{})
	epic := federatedtest.NewOIDC(t, "epic", federatedtest.IssuerOptions{ClientIDs: []string{"epic-client"}})
	pg := federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{ClientSecret: "pg-secret"})
	gc := federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{})
	steam := federatedtest.NewSteam(t, federatedtest.SteamOptions{WebAPIKey: "steam-key"})
	want := federatedtest.Config(apple, studio, epic, pg, gc, steam)
	want.Timeout = federated.Duration(2 * time.Second)

	got, err := federated.LoadConfig(federatedtest.WriteConfig(t, want))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, federated.Secret("pg-secret"), got.PlayGames.ClientSecret)
	assert.Equal(t, federated.Secret("steam-key"), got.Steam.WebAPIKey)
	assert.Equal(t, []string{"studio", "epic"}, []string{got.OIDC[0].Name, got.OIDC[1].Name})
	assert.Equal(t, apple.URL+federatedtest.KeysPath, got.Apple.KeysURL)
	assert.Equal(t, []string{gc.Host()}, got.GameCenter.CertHosts)
	assert.FileExists(t, got.GameCenter.RootCAFile)

	_, err = federatedtest.ConfigJSON(federated.Config{Apple: &federated.AppleConfig{}})
	require.Error(t, err, "an invalid configuration is no file")
}

// TestGameCenterChain: the certificate served chains through Intermediate
// to Root, as the configured root file says, and one of another root is
// refused.
func TestGameCenterChain(t *testing.T) {
	clk := testclock.Default()
	gc := federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{Now: clk.Now, BundleIDs: []string{"com.example.a", "com.example.b"}})
	set, err := federated.New(context.Background(), federatedtest.Config(gc), federated.WithHTTPClient(gc.Client()), federated.WithClock(clk.Now))
	require.NoError(t, err)
	id, err := set.Verify(context.Background(), federated.GameCenter, gc.Sign(federatedtest.GameCenterSignature{PlayerID: "T:_b", BundleID: "com.example.b"}))
	require.NoError(t, err)
	assert.Equal(t, "T:_b", id.Subject)

	stranger := federatedtest.NewCA(t, "Stranger", clk.Now())
	key := gc.Key()
	gc.Serve("/stranger.cer", stranger.Issue("gc-prod", &key.PublicKey).Raw)
	_, err = set.Verify(context.Background(), federated.GameCenter, gc.Sign(federatedtest.GameCenterSignature{PlayerID: "T:_b", URL: gc.URL + "/stranger.cer"}))
	require.ErrorIs(t, err, federated.ErrInvalidCredential)
	assert.Contains(t, err.Error(), "does not chain")
}
