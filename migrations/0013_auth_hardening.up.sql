-- Account controls that reveal nothing (issue 12).
--
-- Sessions are keyed by the SHA-256 of their token: the cookie holds the
-- token, the table only its hash, so whoever reads the table (a dump, a
-- replica, a stolen backup) holds nothing that logs in. Existing sessions
-- are kept: their tokens are hashed here as the store hashes them.
ALTER TABLE sessions ADD COLUMN token_hash bytea;
UPDATE sessions SET token_hash = sha256(convert_to(token, 'UTF8'));
ALTER TABLE sessions
    DROP CONSTRAINT sessions_pkey,
    DROP COLUMN token,
    ALTER COLUMN token_hash SET NOT NULL,
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash),
    ADD CONSTRAINT sessions_token_hash_check CHECK (length(token_hash) = 32);
