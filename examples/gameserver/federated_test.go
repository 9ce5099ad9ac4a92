package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/federated/federatedtest"
)

// platform is one provider as the test drives it.
type platform struct {
	name string
	// cred is a good credential for subject, new each time (a Play Games
	// code is good once).
	cred func(subject string) federated.Credential
	// refused is a credential the provider refuses.
	refused func() federated.Credential
	// down stops the vendor and returns a credential that needs it: one
	// the server cannot check from what it has cached.
	down func() federated.Credential
}

// platforms starts a fake of every vendor, and returns how to drive each,
// their configuration, and the file of TLS roots the server must trust.
func platforms(t *testing.T) (list []platform, cfg federated.Config, sslCertFile string) {
	apple := federatedtest.NewApple(t, federatedtest.IssuerOptions{ClientIDs: []string{"com.example.game", "com.example.web"}})
	google := federatedtest.NewGoogle(t, federatedtest.IssuerOptions{})
	studio := federatedtest.NewOIDC(t, "studio", federatedtest.IssuerOptions{Key: ecKey(t)})
	pg := federatedtest.NewPlayGames(t, federatedtest.PlayGamesOptions{})
	gc := federatedtest.NewGameCenter(t, federatedtest.GameCenterOptions{})
	steam := federatedtest.NewSteam(t, federatedtest.SteamOptions{})

	idToken := func(i *federatedtest.Issuer) platform {
		return platform{
			name: i.Name(),
			cred: func(sub string) federated.Credential {
				nonce := "nonce-" + sub
				return federated.Credential{IDToken: i.Mint(federatedtest.Token{Subject: sub, Nonce: nonce}), Nonce: nonce}
			},
			refused: func() federated.Credential {
				return federated.Credential{IDToken: i.Mint(federatedtest.Token{Subject: "someone", Audience: "another.app"})}
			},
			down: func() federated.Credential {
				i.Close()
				i.Rotate() // a kid the server has not seen: it must fetch the key set
				return federated.Credential{IDToken: i.Mint(federatedtest.Token{Subject: "someone"})}
			},
		}
	}
	list = []platform{
		idToken(apple), idToken(google), idToken(studio),
		{
			name:    federated.PlayGames,
			cred:    func(sub string) federated.Credential { return federated.Credential{AuthCode: pg.Code(sub)} },
			refused: func() federated.Credential { return federated.Credential{AuthCode: "4/0A-never-issued"} },
			down: func() federated.Credential {
				pg.Close()
				return federated.Credential{AuthCode: "4/0A-any"}
			},
		},
		{
			name: federated.GameCenter,
			cred: gc.Credential,
			refused: func() federated.Credential {
				c := gc.Credential("T:_someone")
				c.Salt = "dGFtcGVyZWQ=" // "tampered": the signature no longer fits
				return c
			},
			down: func() federated.Credential {
				gc.Close()
				c := gc.Credential("T:_someone")
				c.PublicKeyURL = gc.URL + "/public-key/gc-prod-2.cer" // not cached
				return c
			},
		},
		{
			name:    federated.Steam,
			cred:    func(sub string) federated.Credential { return federated.Credential{Ticket: steam.Ticket(sub)} },
			refused: func() federated.Credential { return federated.Credential{Ticket: "14000000deadbeef"} },
			down: func() federated.Credential {
				steam.Close()
				return federated.Credential{Ticket: "14000000deadbeef"}
			},
		},
	}
	cfg = federatedtest.Config(apple, google, studio, pg, gc, steam)
	cfg.Timeout = federated.Duration(3 * time.Second)

	// The server fetches Game Center's certificate over https from the
	// fake, whose TLS certificate it must trust: Go reads the roots from
	// SSL_CERT_FILE (on Linux and the BSDs) when it is set.
	sslCertFile = filepath.Join(t.TempDir(), "tls-roots.pem")
	require.NoError(t, os.WriteFile(sslCertFile, gc.TLSCertificatePEM(), 0o600))
	return list, cfg, sslCertFile
}

// signInBody is the body of /federated/signin (and of /federated/link,
// which ignores the device).
func signInBody(provider string, c federated.Credential, deviceID string) map[string]any {
	var body map[string]any
	b, _ := json.Marshal(c)
	_ = json.Unmarshal(b, &body)
	return with(body, "provider", provider, "platform", "ios", "device_id", deviceID)
}

type identity struct{ LinkedType, LinkedID string }

// playerField is a field of a TokenResponse's Player.
func playerField(r reply, field string) string {
	p, _ := r.body["Player"].(map[string]any)
	v, _ := p[field].(string)
	return v
}

// TestFederatedProviders runs the example server as a real process, on
// SQLite, configured by -providers with a file pointing at local fakes of
// every vendor, and drives each provider over HTTP as game clients would:
// sign-in, link to an email account and to a guest, identities, unlink,
// a refused credential and the vendor down. It needs nothing but the Go
// toolchain that runs it.
func TestFederatedProviders(t *testing.T) {
	list, cfg, sslCertFile := platforms(t)
	providers := federatedtest.WriteConfig(t, cfg)
	cmd := exec.Command(buildGameserver(t), "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "auth.db"),
		"-providers", providers, "-signin-limit", "0")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+sslCertFile)
	srv := mustLaunchCmd(t, cmd)
	auth := srv.base + "/auth"

	for n, p := range list {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			c := newCaller(t)
			// Steam IDs are decimal; every platform takes them as subjects.
			subject := func(i int) string { return strconv.Itoa(76561198000000000 + 1000*n + i) }
			signIn := func(cred federated.Credential, dev string) reply {
				return c.call("POST", auth+"/federated/signin", "", signInBody(p.name, cred, dev))
			}
			link := func(access string, cred federated.Credential) reply {
				return c.call("POST", auth+"/federated/link", access, signInBody(p.name, cred, ""))
			}
			unlink := func(access string) reply {
				return c.call("POST", auth+"/federated/unlink", access, map[string]any{"provider": p.name})
			}
			identities := func(access string) []identity {
				r := c.must(c.call("GET", auth+"/identities", access, nil), http.StatusOK)
				var out []identity
				for _, i := range r.body["Identities"].([]any) {
					m := i.(map[string]any)
					assert.NotEmpty(t, m["LinkedAt"])
					out = append(out, identity{m["LinkedType"].(string), m["LinkedID"].(string)})
				}
				return out
			}
			requireCode := func(r reply, status int, code string) {
				t.Helper()
				c.must(r, status)
				assert.Equal(t, code, r.body["ErrorCode"], r.body)
			}
			devA := "dev-" + p.name + "-a"

			// First sign-in creates the account; the next signs in to it.
			r := c.must(signIn(p.cred(subject(1)), devA), http.StatusCreated)
			assert.Equal(t, p.name, playerField(r, "LinkedType"))
			assert.Equal(t, subject(1), playerField(r, "LinkedID"))
			uid := playerField(r, "UserUniqueID")
			r = c.must(signIn(p.cred(subject(1)), devA), http.StatusOK)
			assert.Equal(t, uid, playerField(r, "UserUniqueID"))
			access, _ := pair(r)
			me := c.must(c.call("GET", srv.base+"/me", access, nil), http.StatusOK)
			assert.Equal(t, uid, me.body["UserUniqueID"])
			assert.Equal(t, []identity{{p.name, subject(1)}}, identities(access))
			requireCode(unlink(access), http.StatusConflict, "LAST_IDENTITY")

			// An email account links the platform, keeps its LinkedType,
			// and signs in with either.
			email := p.name + "@example.com"
			r = c.must(c.call("POST", auth+"/email/signup", "", with(device("dev-"+email), "linked_id", email, "linked_password", "correct horse")), http.StatusCreated)
			emailUID := playerField(r, "UserUniqueID")
			access, _ = pair(r)
			requireCode(link(access, p.refused()), http.StatusUnauthorized, "PROVIDER_TOKEN_INVALID")
			r = c.must(link(access, p.cred(subject(2))), http.StatusOK)
			assert.Equal(t, "email", playerField(r, "LinkedType"))
			assert.Equal(t, email, playerField(r, "LinkedID"))
			access, _ = pair(r)
			assert.Equal(t, []identity{{"email", email}, {p.name, subject(2)}}, identities(access))
			requireCode(link(access, p.cred(subject(3))), http.StatusConflict, "PROVIDER_ALREADY_LINKED")
			r = c.must(signIn(p.cred(subject(2)), "dev-"+email), http.StatusOK)
			assert.Equal(t, emailUID, playerField(r, "UserUniqueID"))
			assert.Equal(t, "email", playerField(r, "LinkedType"))
			access, _ = pair(r)
			c.must(unlink(access), http.StatusOK)
			assert.Equal(t, []identity{{"email", email}}, identities(access))
			requireCode(link(access, p.cred(subject(1))), http.StatusConflict, "IDENTITY_TAKEN")
			r = c.must(signIn(p.cred(subject(2)), "dev-b"), http.StatusCreated)
			assert.NotEqual(t, emailUID, playerField(r, "UserUniqueID"), "unlinked, the identity makes an account of its own")

			// A guest links the platform: it keeps its account, is a guest
			// no longer, and cannot unlink its only way in.
			devG := "dev-" + p.name + "-guest"
			r = c.must(c.call("POST", auth+"/guest/signin", "", device(devG)), http.StatusCreated)
			guestUID, guestKey := playerField(r, "UserUniqueID"), r.body["GuestKey"].(string)
			access, _ = pair(r)
			requireCode(link(access, p.cred(subject(1))), http.StatusConflict, "IDENTITY_TAKEN")
			r = c.must(link(access, p.cred(subject(4))), http.StatusOK)
			assert.Equal(t, guestUID, playerField(r, "UserUniqueID"))
			assert.Equal(t, p.name, playerField(r, "LinkedType"))
			assert.Equal(t, subject(4), playerField(r, "LinkedID"))
			access, _ = pair(r)
			assert.Equal(t, []identity{{p.name, subject(4)}}, identities(access))
			requireCode(unlink(access), http.StatusConflict, "LAST_IDENTITY")
			requireCode(c.call("POST", auth+"/guest/signin", "", with(device(devG), "guest_key", guestKey)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
			r = c.must(signIn(p.cred(subject(4)), devG), http.StatusOK)
			assert.Equal(t, guestUID, playerField(r, "UserUniqueID"))

			// What the client gets wrong, and a vendor that is down.
			requireCode(signIn(p.refused(), devA), http.StatusUnauthorized, "PROVIDER_TOKEN_INVALID")
			requireCode(signIn(federated.Credential{}, devA), http.StatusBadRequest, "INVALID_REQUEST")
			start := time.Now()
			requireCode(signIn(p.down(), devA), http.StatusServiceUnavailable, "PROVIDER_UNAVAILABLE")
			assert.Less(t, time.Since(start), time.Duration(cfg.Timeout), "a vendor that is down is known at once")
		})
	}
	t.Run("unlinking the primary identity promotes another", func(t *testing.T) {
		c := newCaller(t)
		apple, steam := list[0], list[5]
		require.Equal(t, []string{"apple", "steam"}, []string{apple.name, steam.name})
		const appleSub, steamSub = "001234.primary.0001", "76561198000900001"
		r := c.must(c.call("POST", auth+"/federated/signin", "", signInBody(apple.name, apple.cred(appleSub), "dev-p")), http.StatusCreated)
		uid := playerField(r, "UserUniqueID")
		access, _ := pair(r)
		r = c.must(c.call("POST", auth+"/federated/link", access, signInBody(steam.name, steam.cred(steamSub), "")), http.StatusOK)
		assert.Equal(t, "apple", playerField(r, "LinkedType"))
		access, _ = pair(r)
		c.must(c.call("POST", auth+"/federated/unlink", access, map[string]any{"provider": "apple"}), http.StatusOK)
		r = c.must(c.call("POST", auth+"/federated/signin", "", signInBody(steam.name, steam.cred(steamSub), "dev-p")), http.StatusOK)
		assert.Equal(t, uid, playerField(r, "UserUniqueID"))
		assert.Equal(t, "steam", playerField(r, "LinkedType"), "the other identity is the primary now")
		assert.Equal(t, steamSub, playerField(r, "LinkedID"))
		r = c.must(c.call("POST", auth+"/federated/signin", "", signInBody(apple.name, apple.cred(appleSub), "dev-q")), http.StatusCreated)
		assert.NotEqual(t, uid, playerField(r, "UserUniqueID"), "the unlinked identity is free")
	})
	t.Run("not configured", func(t *testing.T) {
		c := newCaller(t)
		r := c.call("POST", auth+"/federated/signin", "", signInBody("facebook", federated.Credential{IDToken: "x"}, "d"))
		c.must(r, http.StatusBadRequest)
		assert.Equal(t, "PROVIDER_NOT_CONFIGURED", r.body["ErrorCode"])
	})
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}
