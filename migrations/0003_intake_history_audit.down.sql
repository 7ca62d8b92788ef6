DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP INDEX incidents_address_key_idx, incidents_phone_key_idx, incidents_caller_key_idx,
    incidents_victim_key_idx, incidents_suspect_key_idx;
ALTER TABLE incidents
    DROP COLUMN address_key, DROP COLUMN phone_key, DROP COLUMN caller_key,
    DROP COLUMN victim_key, DROP COLUMN suspect_key;
DROP TABLE intake_drafts;
