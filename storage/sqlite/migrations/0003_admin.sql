-- What the admin API reads (storage.Directory, storage.Eraser, storage.Audit).
--
-- Sessions keep, for operators, the address a session signed in from and the
-- device model its sign-in named ('' when unknown, as for sessions made
-- before this migration).
ALTER TABLE sessions ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN device_model TEXT NOT NULL DEFAULT '';

-- A player's sessions, live or ended, newest first (ListSessions, and
-- ErasePlayer); sessions_live keeps serving the live ones.
CREATE INDEX sessions_account ON sessions (account_id, created_at);
-- The accounts seen on a device (AccountsOnDevice), in ID order.
CREATE INDEX sessions_device ON sessions (device_id, account_id);
-- An account by its public ID (GetAccountByOpenID).
CREATE INDEX accounts_open_id ON accounts (open_id);
-- SearchNicknames reads accounts_nickname (0001) by key range: TEXT compares
-- bytewise (BINARY collation), which is the order the contract gives.

-- The audit log. AUTOINCREMENT: a number is never given twice, even after
-- the newest events were deleted. It holds IDs, never an email or a
-- nickname, and outlives the players it names.
CREATE TABLE audit (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL,
	event_at    INTEGER NOT NULL,
	player_id   TEXT NOT NULL,
	session_id  TEXT NOT NULL,
	device_id   TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	operator    TEXT NOT NULL,
	reason      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_player ON audit (player_id, seq);
CREATE INDEX audit_kind ON audit (kind, seq);
CREATE INDEX audit_time ON audit (event_at);
