// Package federated verifies the credentials a game client obtains from a
// platform SDK — Sign in with Apple, Google, Google Play Games Services,
// Apple Game Center, Steam, and any OpenID Connect issuer — and turns each
// into an [Identity]: a (provider, subject) pair. It knows nothing of
// accounts, storage or HTTP handlers; those belong to the account layer,
// which decides what an identity signs in to.
//
// # Use
//
// Build a [Set] from a [Config] (usually read with [LoadConfig]) with
// [New], and call [Set.Verify] with the provider's name and the
// [Credential] the client sent. [Credential]'s JSON names are the wire
// names, so a handler can embed it in its request type. Errors match, with
// errors.Is:
//
//   - [ErrInvalidRequest]: a credential field is missing or cannot be
//     decoded; the error is a [*FieldError] naming the field (400).
//   - [ErrInvalidCredential]: the credential is refused (401).
//   - [ErrUnavailable]: the vendor could not be reached, answered with an
//     error of its own, or was slower than the timeout (503). Nothing is
//     known about the credential then, so this must never sign a player
//     out.
//   - [ErrNotConfigured]: no provider of that name (400).
//
// No error text holds a token, ticket, signature, API key or client secret;
// [Credential] and [Secret] print and log redacted.
//
// # Providers
//
// apple (Sign in with Apple; the client sends id_token and, optionally, the
// raw nonce): an RS256 JWT checked against Apple's key set; iss must be
// https://appleid.apple.com, aud one of client_ids (the bundle ID and, for
// the web flow, the Services ID), exp is required. When nonce is sent, the
// token's nonce claim must be present and equal the lower-case hex SHA-256
// of it, so a client that sends the already hashed value is refused.
// Identity.Email is set when email_verified is true.
//
// google (Google Sign-In, Credential Manager; id_token, optional nonce): an
// RS256 JWT checked against Google's key set; iss accounts.google.com or
// https://accounts.google.com, aud one of client_ids, exp required. A nonce,
// when sent, must equal the token's nonce claim as is (Credential Manager
// puts the app's nonce into the token unchanged).
//
// playgames (Play Games Services v2; auth_code, the server auth code): the
// code is exchanged at Google's token endpoint (golang.org/x/oauth2) with
// client_id and client_secret, and the access token is sent to the Players
// API's players/me; the subject is its playerId. A refused code (e.g.
// invalid_grant) is ErrInvalidCredential; a refused client ID or secret is
// our misconfiguration and answers ErrUnavailable.
//
// gamecenter (Game Center; public_key_url, signature, salt, timestamp,
// player_id, bundle_id): bundle_id must be one of bundle_ids and the
// timestamp (milliseconds) no older than max_age (default 5 minutes) nor
// more than a minute ahead; public_key_url must be https on an allowed host
// (apple.com and its subdomains, or exactly the cert_hosts), without
// credentials, query or fragment, on no port but 443 (any on a loopback
// host, for tests), with a clean path. The DER
// certificate there must chain to the roots of root_ca_file (its
// self-signed certificates; the others serve as intermediates; default:
// the system's roots), and its RSA key must verify the PKCS #1 v1.5
// SHA-256 signature over player_id ‖ bundle_id ‖ big-endian uint64
// timestamp ‖ salt. Verified keys are cached by the URL's normal form
// (lower-case host, no default port; at most 32, each until its chain
// expires or for a day); a failed fetch is remembered for cert_retry
// (default a minute), and its answer given without a fetch until then. At
// most 4 certificate fetches run at once; a sign-in that cannot start its
// fetch before its context ends (or the timeout) is ErrUnavailable. The
// subject is player_id (the teamPlayerID).
//
// steam (ticket, hex): the Web API's ISteamUserAuth/AuthenticateUserTicket/v1
// under api_base, with web_api_key and app_id. The subject is
// params.steamid, not ownersteamid (which differs under Family Sharing);
// anything but result "OK" is refused. The key travels in the query string,
// as the API requires, so no error ever carries the request's URL, and no
// redirect is followed.
//
// oidc (a list; id_token, optional nonce): each entry's discovery document
// ({issuer}/.well-known/openid-configuration, fetched on first use or by
// [Set.Warm]) must name the same issuer; its jwks_uri is the key set
// (https, or http on a loopback host; it may carry a query, as Azure AD
// B2C's …/keys?p=<policy> does, but no credentials or fragment). iss
// must equal issuer, aud be one of client_ids, exp is required; a nonce,
// when sent, must equal the nonce claim as is (OpenID Connect Core
// 3.1.2.1). The algorithm is the key's declared alg or, when it declares
// none, RS256 for an RSA key and ES256 for a P-256 key. Identity.Provider
// is the entry's name.
//
// For every ID token: the header is read before anything else; "none", the
// HMAC algorithms and any algorithm that does not fit the key are refused
// before the signature is checked (Apple and Google: RS256 only), a crit
// header is refused, the claims are decoded only after the signature
// verified, an aud array must hold only accepted client IDs, and exp, nbf
// and iat allow one minute of clock skew.
//
// # Key sets
//
// Key sets live in a jwx jwk.Cache, which refreshes them in the background
// on their Cache-Control schedule (no more often than every 15 minutes,
// and at least daily). A token whose kid is not in the cached set makes the set be
// fetched again, but at most once per 30 seconds per key set, however many
// such tokens arrive: a flood of made-up kids costs the vendor one request
// per 30 seconds. Loading a set the Set does not have yet (an OIDC
// issuer's, on its first sign-in, or one whose first fetch failed) does
// not count against that limit once it succeeds, so that a key published
// right after is still fetched. The same limit applies to retrying a
// failed discovery.
// While a key set cannot be fetched, a token whose key we lack answers
// ErrUnavailable, not ErrInvalidCredential: the key may well exist. With
// warm keys an ID-token verification makes no network call; it costs about
// one RS256 verification (see BenchmarkApple).
//
// # Configuration
//
// The JSON file, every URL optional and defaulting to the vendor's:
//
//	{
//	  "apple":      {"client_ids": ["com.example.game", "com.example.web"], "keys_url": "…"},
//	  "google":     {"client_ids": ["….apps.googleusercontent.com"], "keys_url": "…"},
//	  "playgames":  {"client_id": "…", "client_secret": "…", "token_url": "…", "api_base": "…"},
//	  "gamecenter": {"bundle_ids": ["com.example.game"], "root_ca_file": "…", "max_age": "5m", "cert_hosts": ["…"]},
//	  "steam":      {"app_id": "480", "web_api_key": "…", "api_base": "…"},
//	  "oidc":       [{"name": "studio", "issuer": "https://login.example.com", "client_ids": ["game"]}],
//	  "timeout":    "10s"
//	}
//
// [ParseConfig] is strict: an unknown key (such as a provider we do not
// have), a missing client ID list, an OIDC name that is a built-in name (or
// "email" or "guest") or repeats another entry's, or a plain http URL whose
// host is not loopback (127.0.0.0/8, ::1, localhost) is an error naming its
// JSON path. timeout bounds every vendor call (default 10s); the
// [http.Client] given with [WithHTTPClient] supplies the transport, and the
// Set follows no redirects.
package federated
