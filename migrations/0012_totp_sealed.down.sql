-- The old CHECK allows only clear secrets. Sealed ones cannot be opened
-- here (the key is not in the database), and dropping them would silently
-- take away users' second factors: refuse instead.
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM users WHERE totp_secret LIKE 'v1:%';
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot migrate down past 0012: % users have a sealed (DVR_TOTP_KEY) second-factor secret, which the old schema cannot hold', n
            USING HINT = 'Keep this schema version, or reset those users'' second factor first (they set it up again at their next login).';
    END IF;
END
$$;

ALTER TABLE users
    DROP CONSTRAINT users_totp_secret_check,
    ADD CONSTRAINT users_totp_secret_check CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$');
