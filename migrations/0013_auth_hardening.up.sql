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

-- Failed logins for usernames that are no account, counted as those of
-- accounts are (users.failed_logins, failed_since, locked_until), so that
-- an unknown name is locked after the same number of tries and answers
-- exactly as an account does. The key is the SHA-256 of the normalised
-- name: the table holds no typed name in clear, and creates no user.
-- serve deletes rows whose window and lock have passed.
CREATE TABLE login_failures (
    name_hash     bytea PRIMARY KEY CHECK (length(name_hash) = 32),
    failed_logins integer NOT NULL DEFAULT 0,
    failed_since  timestamptz,
    locked_until  timestamptz
);

-- Two-step set-up: the secret being set up lives in the session that
-- started the set-up (sealed under DVR_TOTP_KEY when there is one), never
-- in users.totp_secret, which is written only when a code confirms it.
-- totp_setup numbers the set-ups a user started: each new one (another
-- login, another browser) makes the secrets of the earlier ones unusable.
ALTER TABLE users ADD COLUMN totp_setup bigint NOT NULL DEFAULT 0;
-- Pending secrets stored by the earlier set-up are dropped: the next
-- visit to the set-up page makes a fresh one.
UPDATE users SET totp_secret = NULL, totp_last_step = NULL WHERE totp_enabled_at IS NULL AND totp_secret IS NOT NULL;
