-- Times are integer microseconds since the Unix epoch, UTC; NULL for the zero
-- time. Hashes and keys are BLOBs. There are no foreign keys to accounts on
-- purpose: a host may keep accounts in its own table (storage.Combine), and
-- withdrawal tombstones outlive their account.

CREATE TABLE accounts (
	id                TEXT PRIMARY KEY,
	open_id           TEXT NOT NULL,
	linked_type       TEXT NOT NULL,
	linked_id         TEXT NOT NULL,
	password_hash     TEXT NOT NULL,
	nickname          TEXT NOT NULL,
	nickname_key      TEXT NOT NULL, -- storage.NicknameKey(nickname)
	country           TEXT NOT NULL,
	timezone          TEXT NOT NULL,
	purchase_count    INTEGER NOT NULL,
	purchase_currency TEXT NOT NULL,
	purchase_total    REAL NOT NULL,
	voided_count      INTEGER NOT NULL,
	voided_currency   TEXT NOT NULL,
	voided_total      REAL NOT NULL,
	created_at        INTEGER,
	updated_at        INTEGER
) STRICT;
CREATE UNIQUE INDEX accounts_link ON accounts (linked_type, linked_id);
CREATE UNIQUE INDEX accounts_nickname ON accounts (nickname_key) WHERE nickname_key <> '';

CREATE TABLE sessions (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL,
	device_id         TEXT NOT NULL,
	platform          TEXT NOT NULL,
	created_at        INTEGER,
	expires_at        INTEGER,
	refresh_hash      BLOB,
	prev_refresh_hash BLOB,
	generation        INTEGER NOT NULL,
	rotated_at        INTEGER,
	revoked_at        INTEGER, -- NULL while live
	revoke_reason     TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_live ON sessions (account_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE blocks (
	block_key  TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	reason     TEXT NOT NULL,
	services   TEXT NOT NULL, -- JSON array of strings
	created_at INTEGER,
	until_at   INTEGER,
	lifted_at  INTEGER
) STRICT;
CREATE INDEX blocks_subject ON blocks (kind, subject, created_at);

CREATE TABLE withdrawals (
	key_hash     BLOB PRIMARY KEY,
	account_id   TEXT NOT NULL, -- '' in a tombstone
	memo         TEXT NOT NULL,
	requested_at INTEGER,
	deadline     INTEGER,
	purged_at    INTEGER        -- NULL while pending
) STRICT;
CREATE UNIQUE INDEX withdrawals_pending ON withdrawals (account_id) WHERE purged_at IS NULL;
CREATE INDEX withdrawals_deadline ON withdrawals (deadline);

CREATE TABLE reset_codes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- the newest per email is current
	email      TEXT NOT NULL,
	code_hash  BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	spent      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX reset_codes_email ON reset_codes (email, created_at);

CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY,
	key_use    TEXT NOT NULL,
	algorithm  TEXT NOT NULL,
	private    BLOB,
	public     BLOB,
	created_at INTEGER,
	active_at  INTEGER
) STRICT;
