-- Every identity an account signs in with (storage.Identities): its primary
-- one, which is also the account's linked_type and linked_id, and those
-- linked since. An identity belongs to one account (the primary key, a
-- storage.FieldLink conflict); an account has one identity of each type
-- (gameauth_identities_account_type_key, storage.FieldIdentityType). No
-- foreign key to accounts, as in 0001. seq keeps insertion order, the
-- tie-break of "oldest first".
CREATE TABLE gameauth_identities (
	type       text NOT NULL,
	subject    text NOT NULL,
	account_id text NOT NULL,
	linked_at  timestamptz,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	CONSTRAINT gameauth_identities_pkey PRIMARY KEY (type, subject),
	CONSTRAINT gameauth_identities_account_type_key UNIQUE (account_id, type)
);

-- Accounts made before identities have their primary one only, linked when
-- the account was created.
INSERT INTO gameauth_identities (type, subject, account_id, linked_at)
SELECT linked_type, linked_id, id, created_at FROM gameauth_accounts ORDER BY created_at, id;
