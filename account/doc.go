// Package account holds the rules of gameauth's contract (docs/API.md):
// email and guest sign-in, refresh-token rotation, sessions, password change
// and reset, nicknames, withdrawal, blocks.
//
// # A Go API that knows no transport
//
// Service implements every flow as a Go method. Flows anyone may call take
// a Client — where the request comes from: its address, device and time
// zone — and flows of a signed-in player take the Principal its verified
// access token names; they return domain types (Grant, Player, TokenStatus,
// Withdrawal, BlockNotice) or an *Error with the contract's code. A game
// server that speaks WebSocket, gRPC or its own TCP protocol calls them
// directly (examples/tcpgame); NewHandler is the adapter that speaks the
// contract over HTTP, and the middleware package verifies access tokens for
// both.
//
//	g, err := svc.SignInGuest(ctx, account.Client{Addr: addr, Device: dev}, guestKey)
//	p, err := auth.AuthenticateToken(g.AccessToken, "")   // *middleware.Authenticator
//	nick, err := svc.SetNickname(ctx, p, "Ada")
//
// Authenticated flows check the player's state themselves: the account in
// the store (one read), the session's end and the blocks in the node's
// revocation view (Revocations), as the middleware does for game routes.
// Sign-in, refresh and every write are decided by the store.
//
// Errors are *Error values that match their sentinel with errors.Is
// (errors.Is(err, account.ErrEmailTaken)); WriteError renders one as the
// contract's BaseResponse.
//
// # Guarantees
//
// No flow half-writes. The store offers single-record atomic steps, so each
// flow orders its writes to put the irreversible one last, and takes back
// the earlier ones when a later one fails (a sign-up whose session cannot be
// created deletes its account). A store failure at any step answers 503
// UNAVAILABLE, is logged once, and leaves the store as it was in every way
// a client can observe. Two exceptions are visible only to an operator: a
// session that was created but never handed out may be left revoked, and a
// password-reset code spent by a confirm that then failed is issued again,
// so the player's retry with the same code works (it counts against the
// daily quota).
//
// Secrets — passwords, access and refresh tokens, guest keys, reset codes,
// withdrawal keys — never reach the log, an error's text or a panic. The
// only secret an error carries is the withdrawal key of ACCOUNT_WITHDRAWN,
// in the WithdrawalKey field the contract gives it.
//
// An unknown email and a wrong password get the same answer after the same
// work: the password is verified against a dummy hash made with the same
// parameters. Password hashing is argon2id (OWASP's m=19 MiB, t=2, p=1 by
// default) in the PHC string format; hashes made under other parameters
// are rehashed at the next sign-in. At most HashConcurrency hashes run at
// once, since each holds its memory while it runs.
//
// Every rule a client can observe — answers, their order, limits — is in
// docs/API.md, and pinned by this package's tests.
package account
