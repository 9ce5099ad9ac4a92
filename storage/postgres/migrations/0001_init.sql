-- Runs with search_path set to the store's schema. Times are timestamptz
-- (microseconds), NULL for the zero time; hashes and keys are bytea. There
-- are no foreign keys to accounts on purpose: a host may keep accounts in its
-- own table (storage.Combine), and withdrawal tombstones outlive their
-- account. Constraint and index names are what the store maps unique
-- violations to fields by; renaming one means changing constraintField (postgres.go).

CREATE TABLE gameauth_accounts (
	id                text PRIMARY KEY,
	open_id           text NOT NULL,
	linked_type       text NOT NULL,
	linked_id         text NOT NULL,
	password_hash     text NOT NULL,
	nickname          text NOT NULL,
	nickname_key      text NOT NULL, -- storage.NicknameKey(nickname)
	country           text NOT NULL,
	timezone          text NOT NULL,
	purchase_count    bigint NOT NULL,
	purchase_currency text NOT NULL,
	purchase_total    double precision NOT NULL,
	voided_count      bigint NOT NULL,
	voided_currency   text NOT NULL,
	voided_total      double precision NOT NULL,
	created_at        timestamptz,
	updated_at        timestamptz,
	CONSTRAINT gameauth_accounts_link_key UNIQUE (linked_type, linked_id)
);
CREATE UNIQUE INDEX gameauth_accounts_nickname_key ON gameauth_accounts (nickname_key) WHERE nickname_key <> '';

-- fillfactor leaves room on each page so a rotation, which changes no indexed
-- column, is a HOT update.
CREATE TABLE gameauth_sessions (
	id                text PRIMARY KEY,
	seq               bigint GENERATED ALWAYS AS IDENTITY, -- insertion order, for ties
	account_id        text NOT NULL,
	device_id         text NOT NULL,
	platform          text NOT NULL,
	created_at        timestamptz,
	expires_at        timestamptz,
	refresh_hash      bytea,
	prev_refresh_hash bytea,
	generation        bigint NOT NULL,
	rotated_at        timestamptz,
	revoked_at        timestamptz, -- NULL while live
	revoke_reason     text NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX gameauth_sessions_live ON gameauth_sessions (account_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX gameauth_sessions_revoked ON gameauth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX gameauth_sessions_expires ON gameauth_sessions (expires_at);

CREATE TABLE gameauth_blocks (
	block_key  text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	kind       text NOT NULL,
	subject    text NOT NULL,
	reason     text NOT NULL,
	services   text[] NOT NULL,
	created_at timestamptz,
	until_at   timestamptz,
	lifted_at  timestamptz
);
CREATE INDEX gameauth_blocks_subject ON gameauth_blocks (kind, subject, created_at);

CREATE TABLE gameauth_withdrawals (
	key_hash     bytea PRIMARY KEY,
	seq          bigint GENERATED ALWAYS AS IDENTITY,
	account_id   text NOT NULL, -- '' in a tombstone
	memo         text NOT NULL,
	requested_at timestamptz,
	deadline     timestamptz,
	purged_at    timestamptz    -- NULL while pending
);
CREATE UNIQUE INDEX gameauth_withdrawals_pending ON gameauth_withdrawals (account_id) WHERE purged_at IS NULL;
CREATE INDEX gameauth_withdrawals_deadline ON gameauth_withdrawals (deadline);

CREATE TABLE gameauth_reset_codes (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the newest per email is current
	email      text NOT NULL,
	code_hash  bytea NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	spent      boolean NOT NULL DEFAULT false
);
CREATE INDEX gameauth_reset_codes_email ON gameauth_reset_codes (email, created_at);

CREATE TABLE gameauth_keys (
	id         text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	key_use    text NOT NULL,
	algorithm  text NOT NULL,
	private    bytea,
	public     bytea,
	created_at timestamptz,
	active_at  timestamptz
);
