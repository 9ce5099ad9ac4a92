package sqlstore

import (
	"errors"

	"github.com/gameauth/gameauth/storage"
)

// Verdict reports whether err is one of the answers the storage contract
// defines (storage.ErrNotFound, storage.ErrConflict, storage.ErrLimited, ...),
// which a backend returns as it is, rather than a failure of the database,
// which it wraps with its name and the operation.
func Verdict(err error) bool {
	for _, v := range []error{
		storage.ErrNotFound, storage.ErrConflict, storage.ErrLimited, storage.ErrWithdrawalExpired,
		storage.ErrSessionRevoked, storage.ErrRefreshExpired, storage.ErrRefreshReused,
	} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}
