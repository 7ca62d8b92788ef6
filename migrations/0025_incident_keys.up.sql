-- The history keys of incidents move to a narrow table of their own, with
-- the received time their indexes order by (postgres.History). When the
-- matching rules change, postgres.RecomputeKeys empties it and copies every
-- incident's keys into it again, then builds its key indexes once: no row
-- of the wide incidents table is rewritten and none of its other indexes
-- is touched, whether every key changes or none does. Each incident has
-- exactly one row (written in the incident's transaction).
CREATE TABLE incident_keys (
    incident_id  bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    -- incidents.received_at, kept in step by incident_keys_received.
    received_at  timestamptz NOT NULL,
    address_key  text NOT NULL DEFAULT '',
    building_key text NOT NULL DEFAULT '',
    phone_key    text NOT NULL DEFAULT '',
    caller_key   text NOT NULL DEFAULT '',
    victim_key   text NOT NULL DEFAULT '',
    suspect_key  text NOT NULL DEFAULT ''
);
COMMENT ON TABLE incident_keys IS 'history matching keys of each incident (internal/match), recomputed when the rules change';

INSERT INTO incident_keys (incident_id, received_at, address_key, building_key, phone_key, caller_key, victim_key, suspect_key)
SELECT id, received_at, address_key, building_key, phone_key, caller_key, victim_key, suspect_key FROM incidents;

-- RecomputeKeys drops and builds these again by their definitions, so
-- they keep their names and conditions. Each carries the incident's id, so
-- that the lookup reads a key's matches from the index alone (an
-- index-only scan, on the pages the visibility map marks all-visible:
-- RecomputeKeys writes them so, later rows once vacuumed).
CREATE INDEX incident_keys_address_idx ON incident_keys (address_key, received_at) INCLUDE (incident_id) WHERE address_key <> '';
CREATE INDEX incident_keys_building_idx ON incident_keys (building_key, received_at) INCLUDE (incident_id) WHERE building_key <> '';
CREATE INDEX incident_keys_phone_idx ON incident_keys (phone_key, received_at) INCLUDE (incident_id) WHERE phone_key <> '';
CREATE INDEX incident_keys_caller_idx ON incident_keys (caller_key, received_at) INCLUDE (incident_id) WHERE caller_key <> '';
CREATE INDEX incident_keys_victim_idx ON incident_keys (victim_key, received_at) INCLUDE (incident_id) WHERE victim_key <> '';
CREATE INDEX incident_keys_suspect_idx ON incident_keys (suspect_key, received_at) INCLUDE (incident_id) WHERE suspect_key <> '';

-- A corrected received time moves the incident in its keys' order too
-- (also under session_replication_role replica: ENABLE ALWAYS).
CREATE FUNCTION incident_keys_received() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incident_keys SET received_at = NEW.received_at WHERE incident_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER incident_keys_received AFTER UPDATE OF received_at ON incidents
    FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at) EXECUTE FUNCTION incident_keys_received();
ALTER TABLE incidents ENABLE ALWAYS TRIGGER incident_keys_received;

ALTER TABLE incidents DROP COLUMN address_key, DROP COLUMN building_key, DROP COLUMN phone_key, DROP COLUMN caller_key,
    DROP COLUMN victim_key, DROP COLUMN suspect_key;
