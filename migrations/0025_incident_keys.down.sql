-- The keys go back onto incidents (one UPDATE of every row: slow at
-- millions of incidents, like the recompute before 0025).
ALTER TABLE incidents ADD COLUMN address_key text NOT NULL DEFAULT '', ADD COLUMN phone_key text NOT NULL DEFAULT '',
    ADD COLUMN caller_key text NOT NULL DEFAULT '', ADD COLUMN victim_key text NOT NULL DEFAULT '',
    ADD COLUMN suspect_key text NOT NULL DEFAULT '', ADD COLUMN building_key text NOT NULL DEFAULT '';
COMMENT ON COLUMN incidents.address_key IS 'the flat''s key (match.Address): street, house, block, flat';
COMMENT ON COLUMN incidents.building_key IS 'the building''s key (match.Address): street, house, block';
UPDATE incidents i SET address_key = k.address_key, building_key = k.building_key, phone_key = k.phone_key,
    caller_key = k.caller_key, victim_key = k.victim_key, suspect_key = k.suspect_key
FROM incident_keys k WHERE k.incident_id = i.id;
CREATE INDEX incidents_address_key_idx ON incidents (address_key, received_at) WHERE address_key <> '';
CREATE INDEX incidents_building_key_idx ON incidents (building_key, received_at) WHERE building_key <> '';
CREATE INDEX incidents_phone_key_idx ON incidents (phone_key, received_at) WHERE phone_key <> '';
CREATE INDEX incidents_caller_key_idx ON incidents (caller_key, received_at) WHERE caller_key <> '';
CREATE INDEX incidents_victim_key_idx ON incidents (victim_key, received_at) WHERE victim_key <> '';
CREATE INDEX incidents_suspect_key_idx ON incidents (suspect_key, received_at) WHERE suspect_key <> '';
DROP TRIGGER incident_keys_received ON incidents;
DROP FUNCTION incident_keys_received();
DROP TABLE incident_keys;
