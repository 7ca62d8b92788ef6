-- Second-factor secrets sealed at rest.
--
-- This keeps the promise of the note at users.totp_secret in
-- 0007_totp.up.sql: when DVR_TOTP_KEY is set, totp_secret holds the secret
-- sealed with AES-256-GCM under that key (which is never stored in the
-- database), as "v1:" and the base64 of nonce and ciphertext; the user's
-- id is authenticated with it, so a sealed value copied onto another row
-- does not open. `dvresponse serve` and `migrate up` seal the clear
-- secrets left from before the key was set. Without the key, secrets are
-- still stored in clear (base32), as before.
ALTER TABLE users
    DROP CONSTRAINT users_totp_secret_check,
    ADD CONSTRAINT users_totp_secret_check
        CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$' OR totp_secret ~ '^v1:[A-Za-z0-9+/]+=*$');
