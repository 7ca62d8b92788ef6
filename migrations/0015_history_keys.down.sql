DROP FUNCTION age_years(timestamptz, timestamptz);
DROP TABLE incident_calls;
DROP INDEX incidents_building_key_idx;
ALTER TABLE incidents DROP COLUMN building_key;
COMMENT ON COLUMN incidents.address_key IS NULL;
DELETE FROM app_settings WHERE key = 'match_keys_version';
