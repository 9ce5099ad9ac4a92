-- Every identity an account signs in with (storage.Identities): its primary
-- one, which is also the account's linked_type and linked_id, and those
-- linked since. An identity belongs to one account (the primary key); an
-- account has one identity of each type (identities_account_type). No
-- foreign key to accounts, as in 0001. The rowid keeps insertion order, the
-- tie-break of "oldest first".
CREATE TABLE identities (
	type       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	account_id TEXT NOT NULL,
	linked_at  INTEGER,
	PRIMARY KEY (type, subject)
) STRICT;
CREATE UNIQUE INDEX identities_account_type ON identities (account_id, type);

-- Accounts made before identities have their primary one only, linked when
-- the account was created.
INSERT INTO identities (type, subject, account_id, linked_at)
SELECT linked_type, linked_id, id, created_at FROM accounts;
