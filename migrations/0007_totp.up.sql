-- Optional second factor: time-based one-time passwords (RFC 6238).
--
-- totp_secret is the base32 shared secret. It is set while the user is
-- enrolling (totp_enabled_at NULL: pending, not yet used at login) and in
-- use once totp_enabled_at is set. totp_last_step is the time step (Unix
-- time / 30 s) of the last code accepted: a code of that step or an earlier
-- one is refused, so an observed code cannot be replayed.
--
-- The secret is stored in clear: anyone who can read this table can make
-- codes. Encrypting it at rest (AES-GCM with a key from configuration,
-- never from the database) would protect it in backups and dumps.
ALTER TABLE users
    ADD COLUMN totp_secret     text CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$'),
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step  bigint,
    ADD CONSTRAINT users_totp_enabled_has_secret CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL);

-- Per-role security policy set by administrators. No row means the
-- defaults (second factor optional).
CREATE TABLE role_policy (
    role         text PRIMARY KEY CHECK (role IN ('dispatcher', 'officer', 'supervisor', 'admin')),
    require_totp boolean NOT NULL DEFAULT false
);
