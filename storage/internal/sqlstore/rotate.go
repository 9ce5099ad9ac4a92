// Package sqlstore holds what the SQL backends (sqlite, postgres) share and
// that does not depend on an SQL dialect: the refresh-rotation decision and
// the compare-and-swap loop around it, and which embedded migrations a
// database still needs.
package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// maxRotateRounds bounds the compare-and-swap loop in Rotate. Every lost
// round means another caller changed the session in between, so a handful of
// rounds is plenty; the bound turns a bug into an error instead of a spin.
const maxRotateRounds = 16

// ErrContended is returned by Rotate when the session kept changing under it
// for maxRotateRounds rounds. It is a store failure, not a verdict.
var ErrContended = errors.New("sqlstore: session changed concurrently too often")

// RotateOps are the three statements a SQL backend runs for
// storage.Sessions.RotateRefresh. Each must be atomic on its own; Rotate makes
// the whole linearizable by conditioning every write on the state it read.
type RotateOps interface {
	// Advance performs the rotation in one conditional write: it applies
	// when the session exists, is not revoked, r.Now is before ExpiresAt and
	// RefreshHash equals r.Presented. It reports whether it applied, and the
	// updated session when it did.
	Advance(ctx context.Context, id string, r storage.Rotation) (storage.Session, bool, error)
	// Get reads the session, or returns storage.ErrNotFound.
	Get(ctx context.Context, id string) (storage.Session, error)
	// RevokeReused revokes the session with storage.ReasonReused at now if it
	// is still live and still at generation gen. It reports whether it
	// applied, and the revoked session when it did.
	RevokeReused(ctx context.Context, id string, gen int64, now time.Time) (storage.Session, bool, error)
}

// Applied turns the result of one of RotateOps' conditional writes, scanned
// from its RETURNING row with storage.ErrNotFound for no row, into what
// Advance and RevokeReused return: the session and true when the write
// applied, false and no error when it matched nothing.
func Applied(s storage.Session, err error) (storage.Session, bool, error) {
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, false, nil
	}
	return s, err == nil, err
}

// Rotate implements storage.Sessions.RotateRefresh on top of ops. The
// common case, a rotation, costs one statement: Advance. Otherwise the
// session is read, decided on, and any write it needs is conditioned on the
// generation read, so two callers racing on one token rotate exactly once and
// a reuse revokes only the state it judged.
//
// r.Now is truncated to the microsecond first, the precision both SQL
// backends store, so the database and Decide judge expiry alike.
func Rotate(ctx context.Context, ops RotateOps, id string, r storage.Rotation) (storage.Session, error) {
	return rotate(ctx, ops, id, r, true)
}

// Settle is Rotate for a caller whose own conditional write (a rotation or a
// reuse revocation, judged on a snapshot) just matched nothing because the
// session changed in between: it starts by reading the session afresh,
// instead of trying Advance first, and goes on as Rotate does.
func Settle(ctx context.Context, ops RotateOps, id string, r storage.Rotation) (storage.Session, error) {
	return rotate(ctx, ops, id, r, false)
}

func rotate(ctx context.Context, ops RotateOps, id string, r storage.Rotation, advance bool) (storage.Session, error) {
	r.Now = r.Now.Truncate(time.Microsecond)
	for range maxRotateRounds {
		if advance {
			s, ok, err := ops.Advance(ctx, id, r)
			if err != nil {
				return storage.Session{}, err
			}
			if ok {
				return s, nil
			}
		}
		s, err := ops.Get(ctx, id)
		if err != nil {
			return storage.Session{}, err
		}
		switch storage.Decide(s, r) {
		case storage.OutcomeRevoked:
			return s, storage.ErrSessionRevoked
		case storage.OutcomeExpired:
			return s, storage.ErrRefreshExpired
		case storage.OutcomeRetry:
			return s, nil
		case storage.OutcomeReused:
			rs, ok, err := ops.RevokeReused(ctx, id, s.Generation, r.Now)
			if err != nil {
				return storage.Session{}, err
			}
			if ok {
				return rs, storage.ErrRefreshReused
			}
			// Rotated or revoked by someone else in between: judge again.
			advance = false
		case storage.OutcomeAdvance:
			// The session moved onto the presented token between Advance
			// and Get (possible only with colliding hashes): try again.
			advance = true
		}
	}
	return storage.Session{}, ErrContended
}
