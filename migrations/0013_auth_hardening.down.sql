ALTER TABLE users DROP COLUMN totp_setup;

DROP TABLE login_failures;

-- A hash cannot be turned back into its token: the sessions end (users
-- log in again).
DELETE FROM sessions;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_pkey,
    DROP COLUMN token_hash,
    ADD COLUMN token text NOT NULL,
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (token);
