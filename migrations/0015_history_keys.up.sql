-- History that officers can trust (issue 13): an incident is keyed by its
-- flat (address_key) and its building (building_key), its phone in E.164
-- (phone_key) and its people's names, by the rules of internal/match.
-- The keys of existing incidents and orders are recomputed by the
-- application (postgres.RecomputeKeys, run by migrate, serve and seed)
-- whenever app_settings 'match_keys_version' differs from the rules'
-- version: SQL cannot apply those rules itself. Until then the lookup
-- matches the old keys as it did.
ALTER TABLE incidents ADD COLUMN building_key text NOT NULL DEFAULT '';
CREATE INDEX incidents_building_key_idx ON incidents (building_key) WHERE building_key <> '';
COMMENT ON COLUMN incidents.address_key IS 'the flat''s key (match.Address): street, house, block, flat';
COMMENT ON COLUMN incidents.building_key IS 'the building''s key (match.Address): street, house, block';

-- A further call about an open incident ("add this call to DV-..."): no new
-- incident, the first call's received time unchanged. The intake draft's
-- key makes it idempotent; received_at is the draft's (the server's clock
-- when the call was answered).
CREATE TABLE incident_calls (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id),
    idempotency_key uuid NOT NULL,
    received_at     timestamptz NOT NULL,
    caller_name     text NOT NULL DEFAULT '' CHECK (length(caller_name) <= 150),
    caller_phone    text NOT NULL DEFAULT '' CHECK (length(caller_phone) <= 40),
    phone_key       text NOT NULL DEFAULT '',
    narrative       text NOT NULL DEFAULT '' CHECK (length(narrative) <= 10000),
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_calls_idempotency_key UNIQUE (idempotency_key)
);
CREATE INDEX incident_calls_incident_idx ON incident_calls (incident_id);

-- Whole years from a to b: an age recorded at a, plus age_years(a, b), is
-- the age at b (the history lookup compares ages across years).
CREATE FUNCTION age_years(a timestamptz, b timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT floor(extract(epoch FROM (b - a)) / 31557600)::integer $$;
