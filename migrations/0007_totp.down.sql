DROP TABLE role_policy;
ALTER TABLE users
    DROP CONSTRAINT users_totp_enabled_has_secret,
    DROP COLUMN totp_secret,
    DROP COLUMN totp_enabled_at,
    DROP COLUMN totp_last_step;
