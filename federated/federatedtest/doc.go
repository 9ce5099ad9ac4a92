// Package federatedtest runs local fakes of the platforms package
// federated verifies credentials with — Sign in with Apple, Google
// Sign-In, an OpenID Connect issuer, Google Play Games Services, Apple
// Game Center and the Steam Web API — so that gameauth's tests, and a
// host's tests of its integration, run offline and fast.
//
// Each fake is an httptest server that answers as its vendor does, makes
// the credentials a game client would get from the platform's SDK, and
// configures its provider:
//
//   - [Issuer] ([NewApple], [NewGoogle], [NewOIDC]): a key set (RSA by
//     default, or any key of [IssuerOptions]), a discovery document, and
//     ID tokens minted with chosen claims ([Issuer.Mint]); [Issuer.Rotate]
//     rotates the key.
//   - [PlayGames]: a token endpoint that exchanges a server auth code
//     ([PlayGames.Code]) once for an access token, and a Players API
//     whose players/me answers that token's player ID.
//   - [GameCenter]: an https host serving a signing certificate of a
//     generated root, and [GameCenter.Credential], the signature GameKit
//     makes of player_id ‖ bundle_id ‖ timestamp ‖ salt.
//   - [Steam]: AuthenticateUserTicket, answering the tickets
//     [Steam.Ticket] makes with their steamid.
//
// [Config] gathers the fakes' entries into a federated.Config, and
// [WriteConfig] writes one as the providers file a server reads (the
// example server's -providers). Every fake counts the requests it gets
// ([Server.Calls]) and can be made to fail ([Server.Fail]), hang
// ([Server.Hang]) or go down ([Server.Close]), which a verifier must
// answer with federated.ErrUnavailable, never a refusal.
//
// # Clocks and TLS
//
// The fakes read time from the clock in their options (default time.Now),
// so a test that gives federated.New a clock with federated.WithClock
// gives the fakes the same one. Game Center's certificate is fetched over
// https only: the Set must trust the fake's TLS certificate, with
// federated.WithHTTPClient(gc.Client()) in process (that client reaches
// the other fakes too), or, for a server in a child process, a file of
// [GameCenter.TLSCertificatePEM] named by SSL_CERT_FILE, which Go reads
// on Linux and the BSDs instead of the system's roots.
//
// The fakes take the test's testing.TB: they close when the test ends, and
// report a failure of their own (which only a broken random source could
// cause) to it.
package federatedtest
