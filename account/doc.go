// Package account holds the rules of gameauth's wire contract (API.md):
// email and guest sign-in, refresh-token rotation, sessions, password change
// and reset, nicknames, withdrawal, blocks. Service implements them on top
// of a storage.Store and a tokens.Ring; Service.Handler speaks API.md over
// HTTP; the admin methods (BlockPlayer, RevokePlayerSessions, ...) are
// called from Go.
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
// in the WithdrawalKey field API.md gives it.
//
// An unknown email and a wrong password get the same answer after the same
// work: the password is verified against a dummy hash made with the same
// parameters. Password hashing is argon2id (OWASP's m=19 MiB, t=2, p=1 by
// default) in the PHC string format; hashes made under other parameters
// are rehashed at the next sign-in. At most HashConcurrency hashes run at
// once, since each holds its memory while it runs.
//
// # Decisions where API.md is silent
//
//   - Unknown paths answer 404, disallowed methods 405 (with Allow), bodies
//     over 64 KiB 413: all with ErrorCode INVALID_REQUEST, so clients only
//     ever meet API.md's codes.
//   - Requests may carry an optional "timezone" (IANA name); an unknown one
//     is ignored. A new player's Timezone is the request's, else
//     Config.DefaultTimezone; responses show the request's, else the
//     stored one. Country is resolved once, at account creation. Hosts on
//     images without zoneinfo import time/tzdata.
//   - Account state is checked before session state everywhere (sign-in,
//     refresh, token status, authenticated endpoints): withdrawn
//     (ACCOUNT_WITHDRAWN with its key), then blocked (ACCOUNT_BLOCKED), then
//     device blocked (DEVICE_BLOCKED), then the session. A refresh refused
//     for the account's state does not rotate, so the token works again
//     once the block ends. One exception: a token whose session ended for
//     another reason than the withdrawal (replaced, signed out, reused,
//     password change, admin) gets its session's answer first, so it never
//     learns the withdrawal key, which restores the account, or a block's
//     details; the sessions a withdrawal ended still get its key.
//   - A revoked session answers SESSION_REPLACED when a newer sign-in
//     replaced it and SESSION_REVOKED otherwise; the refresh that detects
//     reuse answers REFRESH_TOKEN_REUSED, later uses of that session
//     SESSION_REVOKED.
//   - Only account-wide blocks (no Services) stop sign-in and the
//     handler's authenticated endpoints; service blocks are for the
//     middleware. Sign-out works for blocked players. ErrorData.blockDate is
//     the block's end (RFC 3339) or "permanent". /block/reason lists a
//     block only while it is in force: an ended or lifted block answers
//     200 with no Items.
//   - Sign-out of a session that already ended answers SIGNED_OUT;
//     "all": true needs a live session.
//   - /email/link is for guests (others get INVALID_REQUEST); it exchanges
//     the guest's session for a new one on the same device, since the
//     tokens name the linked type. /password is for accounts with a
//     password.
//   - Password reset answers 202 whether the email exists or not, whether
//     its daily quota is used up or not, and whether the mailer failed (it
//     is logged): any other answer would tell who has an account. Codes are
//     8 digits, stored as a MAC under the server secret, spent after
//     ResetCodeAttempts wrong guesses. Without a Mailer no code is made and
//     a warning is logged.
//   - The withdrawal key is derived (a MAC of the account ID and the
//     request time in whole seconds) and only its hash is stored, so a
//     later sign-in can show it again. /withdrawal/search and restore of a
//     key past its deadline answer WITHDRAWAL_PERIOD_EXPIRED, and purge the
//     account on the spot if the janitor has not; so do sign-ins
//     (INVALID_CREDENTIALS) and a conflict on its email or nickname (the
//     newcomer wins). "period" is in days, 1 to MaxWithdrawalPeriod; 0 or
//     absent takes WithdrawalGrace.
//   - Rate limits (SignInLimit per minute, default 10): email sign-in and
//     reset confirm per account and per address; guest sign-in, sign-up,
//     reset request and restore per address; password change and link per
//     account. A limiter error fails open. The client address is the
//     connection's, unless the peer is in TrustedProxies: then the
//     right-most untrusted X-Forwarded-For hop, else X-Real-IP.
//   - Nicknames are kept in Unicode NFC, so the same text sent in another
//     normal form is the same nickname; its 20 characters are counted
//     composed.
//   - Session IDs are 128 random bits; account IDs random UUIDs; OpenIDs
//     120 random bits in lower-case base32; guest keys 256 random bits.
//   - With MaxSessions > 1, sign-ins on the same device count as separate
//     sessions (the store has no per-device listing).
package account
