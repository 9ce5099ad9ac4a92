-- What the admin API reads (storage.Directory, storage.Eraser, storage.Audit).
--
-- Sessions keep, for operators, the address a session signed in from and the
-- device model its sign-in named ('' when unknown, as for sessions made
-- before this migration).
ALTER TABLE gameauth_sessions
	ADD COLUMN client_addr text NOT NULL DEFAULT '',
	ADD COLUMN device_model text NOT NULL DEFAULT '';

-- A player's sessions, live or ended, newest first (ListSessions, and
-- ErasePlayer); gameauth_sessions_live keeps serving the live ones.
CREATE INDEX gameauth_sessions_account ON gameauth_sessions (account_id, created_at);
-- The accounts seen on a device (AccountsOnDevice), in ID order.
CREATE INDEX gameauth_sessions_device ON gameauth_sessions (device_id, account_id);
-- An account by its public ID (GetAccountByOpenID).
CREATE INDEX gameauth_accounts_open_id ON gameauth_accounts (open_id);

-- SearchNicknames reads gameauth_accounts_nickname_key by key range
-- (nickname_key >= prefix AND nickname_key < its successor), which is exact
-- only in bytewise order: the database's collation may sort otherwise (and
-- ignore punctuation), so the key compares in "C". Equality, and so the
-- uniqueness of nicknames, is the same in every deterministic collation.
-- This rebuilds the index; the table is not rewritten.
ALTER TABLE gameauth_accounts ALTER COLUMN nickname_key TYPE text COLLATE "C";

-- The audit log. An identity column: a number is never given twice, even
-- after the newest events were deleted. It holds IDs, never an email or a
-- nickname, and outlives the players it names.
CREATE TABLE gameauth_audit (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind        text NOT NULL,
	event_at    timestamptz NOT NULL,
	player_id   text NOT NULL,
	session_id  text NOT NULL,
	device_id   text NOT NULL,
	client_addr text NOT NULL,
	operator    text NOT NULL,
	reason      text NOT NULL
);
CREATE INDEX gameauth_audit_player ON gameauth_audit (player_id, seq);
CREATE INDEX gameauth_audit_kind ON gameauth_audit (kind, seq);
CREATE INDEX gameauth_audit_time ON gameauth_audit (event_at);
