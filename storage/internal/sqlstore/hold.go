package sqlstore

import "strings"

// Dialect is what the shared SQL below needs to know of a backend.
type Dialect struct {
	// Withdrawals and Blocks are the tables' names.
	Withdrawals, Blocks string
	// NoServices is true, in SQL over the alias b, when b.services is empty:
	// the block is account-wide (storage.Block.AccountWide).
	NoServices string
	// Fence ends each subquery: PostgreSQL's "OFFSET 0" keeps a subquery a
	// probe per row, where the planner might otherwise read every pending
	// withdrawal or every block of a kind into a hash.
	Fence string
}

// HeldSQL is the one SQL definition of a hold (storage.RefreshState.Held),
// for every statement of every SQL backend that refreshes in one step: true
// when the session's account has a pending withdrawal, or an account-wide
// block in force at now on the player or on the session's device. sess is
// the session row's alias, now the SQL of the rotation's time, playerKind
// and deviceKind the SQL of storage.BlockPlayer and storage.BlockDevice.
// The memory backend and the service judge the same facts in Go, through
// storage.Widest; storagetest holds every backend to the same answers.
func HeldSQL(d Dialect, sess, now, playerKind, deviceKind string) string {
	blocked := func(kind, subject string) string {
		return `EXISTS (SELECT 1 FROM ` + d.Blocks + ` b
			WHERE b.kind = ` + kind + ` AND b.subject = ` + subject + ` AND ` + d.NoServices + `
				AND (b.lifted_at IS NULL OR b.lifted_at > ` + now + `) AND (b.until_at IS NULL OR b.until_at > ` + now + `)` + d.Fence + `)`
	}
	return strings.Join([]string{
		`(EXISTS (SELECT 1 FROM ` + d.Withdrawals + ` w WHERE w.account_id = ` + sess + `.account_id AND w.purged_at IS NULL` + d.Fence + `)`,
		blocked(playerKind, sess+`.account_id`),
		`(` + sess + `.device_id <> '' AND ` + blocked(deviceKind, sess+`.device_id`) + `))`,
	}, "\n\tOR ")
}
