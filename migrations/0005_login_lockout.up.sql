-- Account lockout after repeated failed logins (CJIS Security Policy
-- 5.5.3: lock after at most five consecutive invalid attempts).
ALTER TABLE users
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
    ADD COLUMN failed_since  timestamptz,
    ADD COLUMN locked_until  timestamptz;
