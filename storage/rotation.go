package storage

import "bytes"

// Outcome is what a refresh-token rotation must do with a session as it
// stands: the rule of Sessions.RotateRefresh.
type Outcome int

// Outcomes of Decide, in the order RotateRefresh checks them.
const (
	// OutcomeRevoked: report ErrSessionRevoked.
	OutcomeRevoked Outcome = iota
	// OutcomeExpired: report ErrRefreshExpired.
	OutcomeExpired
	// OutcomeAdvance: rotate; the presented token is the live one.
	OutcomeAdvance
	// OutcomeRetry: a retry inside the grace window; return the session
	// unchanged.
	OutcomeRetry
	// OutcomeReused: revoke the session with ReasonReused.
	OutcomeReused
)

// Decide applies RotateRefresh's rule to s as it stands. Every backend, a
// host's own included, decides by it, so that they cannot differ: an empty
// hash never matches, so a session without a live or a previous refresh
// token can only be judged reused.
func Decide(s Session, r Rotation) Outcome {
	switch {
	case s.Revoked():
		return OutcomeRevoked
	case !r.Now.Before(s.ExpiresAt):
		return OutcomeExpired
	case len(s.RefreshHash) > 0 && bytes.Equal(r.Presented, s.RefreshHash):
		return OutcomeAdvance
	case len(s.PrevRefreshHash) > 0 && bytes.Equal(r.Presented, s.PrevRefreshHash) &&
		r.Now.Before(s.RotatedAt.Add(r.Grace)) && bytes.Equal(r.Next, s.RefreshHash):
		return OutcomeRetry
	default:
		return OutcomeReused
	}
}
