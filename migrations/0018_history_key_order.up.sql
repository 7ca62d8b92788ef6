-- The history lookup reads each key's latest matches apart, newest first
-- (postgres.History): every key index carries received_at after the key,
-- so that a building, a phone or a name with thousands of incidents costs
-- the lookup only the rows it returns. The indexes keep their names
-- (RecomputeKeys rebuilds them by name) and their condition.
DROP INDEX incidents_address_key_idx;
DROP INDEX incidents_building_key_idx;
DROP INDEX incidents_phone_key_idx;
DROP INDEX incidents_caller_key_idx;
DROP INDEX incidents_victim_key_idx;
DROP INDEX incidents_suspect_key_idx;
CREATE INDEX incidents_address_key_idx ON incidents (address_key, received_at) WHERE address_key <> '';
CREATE INDEX incidents_building_key_idx ON incidents (building_key, received_at) WHERE building_key <> '';
CREATE INDEX incidents_phone_key_idx ON incidents (phone_key, received_at) WHERE phone_key <> '';
CREATE INDEX incidents_caller_key_idx ON incidents (caller_key, received_at) WHERE caller_key <> '';
CREATE INDEX incidents_victim_key_idx ON incidents (victim_key, received_at) WHERE victim_key <> '';
CREATE INDEX incidents_suspect_key_idx ON incidents (suspect_key, received_at) WHERE suspect_key <> '';
