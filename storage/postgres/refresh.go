package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

var _ storage.Refresher = (*Store)(nil)

// Verdicts refreshSQL judges the session and its account by, on the
// statement's snapshot, in the order storage.Refresher checks them.
const (
	verdictHeld    = 1 // storage.RefreshState.Held
	verdictRevoked = 2
	verdictExpired = 3
	verdictAdvance = 4 // the presented token is the live one: rotate
	verdictRetry   = 5 // a retry inside the grace window: no write
	verdictReused  = 6 // revoke with ReasonReused
)

// Steps of refreshSQL's result row: which row it carries.
const (
	stepAdvanced = 0 // the rotated session, from the rotation's RETURNING
	stepReused   = 1 // the session the reuse revoked
	stepRead     = 2 // the session as the snapshot had it: nothing written
)

// refreshSQL is a refresh in one statement, for every case: what Refresh
// runs when rotateSQL did not rotate (a retry, a reuse, a held, revoked,
// expired or missing session, or a lost race). It reads the session and its
// account (no row at all if either is missing) and judges them (verdict) on
// the statement's snapshot; then at most one of two conditional UPDATEs of
// the session applies, each gated on the verdict: the rotation, whose WHERE
// repeats the compare-and-swap so that under READ COMMITTED a concurrent
// commit to the row is judged again on the row as it now is, and the reuse
// revocation, conditioned on the generation the snapshot judged. When a
// concurrent change makes the write the verdict called for match nothing,
// the result row is the snapshot's (stepRead) and Refresh settles the
// outcome with the RotateRefresh loop.
//
//	$1 session ID, $2 now, $3 presented hash, $4 next hash (NULL if empty),
//	$5 now minus the grace window, $6 ReasonReused, $7 BlockPlayer, $8 BlockDevice
var refreshSQL = `WITH s AS (
	SELECT ` + sessionCols + ` FROM gameauth_sessions WHERE id = $1
), a AS (
	SELECT ` + accountCols + ` FROM gameauth_accounts WHERE id = (SELECT account_id FROM s)
), v AS (
	SELECT CASE
		WHEN ` + heldSQL("s", "$2", "$7", "$8") + `
			THEN 1
		WHEN s.revoked_at IS NOT NULL THEN 2
		WHEN s.expires_at IS NULL OR s.expires_at <= $2 THEN 3
		WHEN s.refresh_hash = $3 THEN 4
		WHEN s.prev_refresh_hash = $3 AND s.rotated_at > $5 AND s.refresh_hash IS NOT DISTINCT FROM $4 THEN 5
		ELSE 6
	END AS verdict
	FROM s JOIN a ON true
), adv AS (
	UPDATE gameauth_sessions
	SET prev_refresh_hash = refresh_hash, refresh_hash = $4, generation = generation + 1, rotated_at = ` + stampSQL("$2::timestamptz") + `
	WHERE id = $1 AND (SELECT verdict FROM v) = 4
		AND refresh_hash = $3 AND revoked_at IS NULL AND expires_at > $2
	RETURNING ` + sessionCols + `
), rev AS (
	UPDATE gameauth_sessions SET revoked_at = $2, revoke_reason = $6
	WHERE id = $1 AND (SELECT verdict FROM v) = 6
		AND generation = (SELECT generation FROM s) AND revoked_at IS NULL
	RETURNING ` + sessionCols + `
)
SELECT x.step, ` + prefixed("x.", sessionCols) + `, v.verdict, ` + prefixed("a.", accountCols) + `
FROM (SELECT 0 AS step, * FROM adv UNION ALL SELECT 1, * FROM rev UNION ALL SELECT 2, * FROM s) x
	CROSS JOIN v CROSS JOIN a
ORDER BY x.step LIMIT 1`

// rotateSQL is the common refresh in one statement: the rotation, applied
// only when the session is live, unexpired and on the presented token, its
// account exists and is neither withdrawing nor under an account-wide block
// on the player or the session's device. It returns the rotated session and
// the account, or no row, and then refreshSQL judges the refresh afresh.
// Under READ COMMITTED a concurrent commit to the session makes PostgreSQL
// evaluate the WHERE again on the row as it now is: two refreshes of one
// token rotate it once, and the loser gets no row.
//
//	$1 session ID, $2 now, $3 presented hash, $4 next hash (NULL if empty),
//	$5 BlockPlayer, $6 BlockDevice
var rotateSQL = `UPDATE gameauth_sessions s
SET prev_refresh_hash = s.refresh_hash, refresh_hash = $4, generation = s.generation + 1, rotated_at = ` + stampSQL("$2::timestamptz") + `
FROM gameauth_accounts a
WHERE s.id = $1 AND s.refresh_hash = $3 AND s.revoked_at IS NULL AND s.expires_at > $2
	AND a.id = s.account_id
	AND NOT ` + heldSQL("s", "$2", "$5", "$6") + `
RETURNING ` + prefixed("s.", sessionCols) + `, ` + prefixed("a.", accountCols)

// lateAfter is how long a rotation may wait to take effect — on a lock, in
// the batch queue — and still be stamped with the time it was asked for.
// One that waited longer is stamped with the time it took effect (in the
// caller's clock: its Now plus the wait), because its client cannot have
// received the successor before then: the grace window for the client's
// retry counts from there, and a client whose request hung on a stalled
// table does not lose its session to a commit it never saw.
const lateAfter = time.Second

// stampSQL is the RotatedAt of a rotation asked for at now (SQL of a
// timestamptz): now, plus the time the statement waited in PostgreSQL (a
// lock) when that is longer than lateAfter. clock_timestamp() is read when
// the row is written, after any lock wait; transaction_timestamp() when the
// statement's own transaction began, before it: the rotations run as
// single statements, and a prepared statement may wait on a lock while it
// is parsed or bound, before the message statement_timestamp() marks.
func stampSQL(now string) string {
	return now + ` + CASE WHEN clock_timestamp() - transaction_timestamp() > make_interval(secs => ` +
		strconv.FormatFloat(lateAfter.Seconds(), 'f', -1, 64) + `) THEN clock_timestamp() - transaction_timestamp() ELSE interval '0' END`
}

// heldSQL is sqlstore.HeldSQL for PostgreSQL. OFFSET 0 keeps each EXISTS a
// subquery run for the one session row, an index probe by (kind, subject) or
// account: without it the planner may turn them into anti-joins or a hashed
// subplan that read every pending withdrawal or every block of a kind, which
// a generic plan made while the tables were small would keep doing when
// they are not.
func heldSQL(sess, now, playerKind, deviceKind string) string {
	return sqlstore.HeldSQL(sqlstore.Dialect{
		Withdrawals: "gameauth_withdrawals",
		Blocks:      "gameauth_blocks",
		NoServices:  "cardinality(b.services) = 0",
		Fence:       " OFFSET 0",
	}, sess, now, playerKind, deviceKind)
}

// prefixed qualifies each column of the comma-separated list cols.
func prefixed(prefix, cols string) string {
	list := strings.Split(cols, ",")
	for i, c := range list {
		list[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// Refresh implements storage.Refresher. The common refresh, a rotation, is
// one statement and one round trip: rotateSQL, or rotateManySQL with the
// other refreshes that arrived at the same time (see RefreshBatch). Any
// other outcome takes a second, refreshSQL, which judges the session afresh
// and writes what the judgement calls for (a reuse revocation) in the same
// statement. Only a refresh that loses a race in the instant between that
// statement's snapshot and its write (another refresh of the same token, a
// revocation) takes more: the RotateRefresh loop then decides it as
// RotateRefresh would, on the session as it has become.
func (s *Store) Refresh(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	r.Now = r.Now.Truncate(time.Microsecond) // as sqlstore.Rotate, so SQL and Decide agree
	if err := ctx.Err(); err != nil {
		return storage.RefreshState{}, wrap("refresh", err)
	}
	var st storage.RefreshState
	var rotated, failed bool
	var err error
	if s.batch != nil {
		st, rotated, failed, err = s.rotate(ctx, id, r)
	} else {
		st, rotated, err = s.rotateOne(ctx, id, r)
	}
	switch {
	case err != nil:
		return storage.RefreshState{}, wrap("refresh", err)
	case rotated:
		return st, nil
	case failed && r.Grace <= 0:
		// The failed statement may have rotated the session: that
		// rotation, at exactly r.Now to r.Next, is this refresh's own,
		// and not a reuse, even without a grace window.
		r.Grace = time.Microsecond
	}
	return s.judge(ctx, id, r)
}

// rotateOne runs rotateSQL: the rotated session and its account, and
// whether it rotated.
func (s *Store) rotateOne(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, bool, error) {
	var st storage.RefreshState
	var reason string
	dest := make([]any, 0, 32)
	dest = append(dest, sessionDest(&st.Session, &reason)...)
	dest = append(dest, accountDest(&st.Account)...)
	err := s.pool.QueryRow(ctx, s.rotateSQL, id, r.Now, r.Presented, bytesArg(r.Next),
		string(storage.BlockPlayer), string(storage.BlockDevice)).Scan(dest...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storage.RefreshState{}, false, nil
	case err != nil:
		return storage.RefreshState{}, false, err
	}
	st.Session.RevokeReason = storage.RevokeReason(reason)
	return st, true, nil
}

// judge is a refresh that rotateSQL did not rotate, in one statement,
// refreshSQL, but for a lost race.
func (s *Store) judge(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	var st storage.RefreshState
	var step, verdict int
	var reason string
	dest := make([]any, 0, 32)
	dest = append(dest, &step)
	dest = append(dest, sessionDest(&st.Session, &reason)...)
	dest = append(dest, &verdict)
	dest = append(dest, accountDest(&st.Account)...)
	err := s.pool.QueryRow(ctx, s.refreshSQL, id, r.Now, r.Presented, bytesArg(r.Next),
		r.Now.Add(-r.Grace), string(storage.ReasonReused), string(storage.BlockPlayer),
		string(storage.BlockDevice)).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.RefreshState{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.RefreshState{}, wrap("refresh", err)
	}
	st.Session.RevokeReason = storage.RevokeReason(reason)
	switch {
	case step == stepAdvanced:
		return st, nil
	case step == stepReused:
		return st, storage.ErrRefreshReused
	case verdict == verdictHeld:
		st.Held = true
		return st, nil
	}
	switch storage.Decide(st.Session, r) {
	case storage.OutcomeRevoked:
		return st, storage.ErrSessionRevoked
	case storage.OutcomeExpired:
		return st, storage.ErrRefreshExpired
	case storage.OutcomeRetry:
		return st, nil
	}
	// The snapshot called for a rotation or a reuse revocation, and the
	// write matched nothing: the session changed in between.
	ss, err := sqlstore.Settle(ctx, rotateOps{s}, id, r)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.RefreshState{}, storage.ErrNotFound
	case err != nil && !sqlstore.Verdict(err):
		return storage.RefreshState{}, wrap("refresh", err)
	}
	st.Session = ss
	return st, err
}
