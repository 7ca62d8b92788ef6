-- key_id says how each row was hashed; without it the keyed rows could
-- never be verified again. It is dropped only while no row is keyed;
-- otherwise it stays (the older code ignores it, and 0014 up keeps it).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_events WHERE key_id <> '') THEN
        ALTER TABLE audit_events DROP COLUMN key_id;
    END IF;
END $$;
