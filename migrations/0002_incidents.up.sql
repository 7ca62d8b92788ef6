-- Incidents (calls for service), the units assigned to them and their
-- append-only timeline. Stage timestamps are set from the server clock in
-- UTC; a stage that did not happen (or was not recorded) is NULL, never 0.

CREATE SEQUENCE incident_number_seq;

CREATE TABLE incidents (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Human-readable number, e.g. DV-2026-000123.
    number            text NOT NULL,
    -- The form's idempotency key: a resubmitted intake finds its incident.
    idempotency_key   uuid,
    -- Where an imported incident came from, and its id there.
    source            text NOT NULL DEFAULT 'intake' CHECK (source IN ('intake', 'import', 'seed')),
    external_id       text,

    received_at       timestamptz NOT NULL,
    received_manual   boolean NOT NULL DEFAULT false, -- received time entered by hand
    dispatched_at     timestamptz,
    en_route_at       timestamptz,
    on_scene_at       timestamptz,
    cleared_at        timestamptz,

    type_id           bigint NOT NULL REFERENCES incident_types (id),
    priority          integer NOT NULL REFERENCES priorities (level) ON UPDATE CASCADE,
    disposition_id    bigint REFERENCES dispositions (id),

    district_id       bigint REFERENCES districts (id),
    settlement_id     bigint REFERENCES settlements (id),
    address           text NOT NULL DEFAULT '' CHECK (length(address) <= 300),
    location_notes    text NOT NULL DEFAULT '' CHECK (length(location_notes) <= 1000),
    latitude          double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision CHECK (longitude BETWEEN -180 AND 180),

    caller_name       text NOT NULL DEFAULT '' CHECK (length(caller_name) <= 150),
    caller_phone      text NOT NULL DEFAULT '' CHECK (length(caller_phone) <= 40),
    caller_relation   text NOT NULL DEFAULT '' CHECK (length(caller_relation) <= 60),
    caller_safe_to_call boolean,
    caller_anonymous  boolean NOT NULL DEFAULT false,
    caller_language   text NOT NULL DEFAULT '' CHECK (length(caller_language) <= 10),

    weapons           boolean,
    children_present  boolean,
    injuries          boolean,

    victim_name       text NOT NULL DEFAULT '' CHECK (length(victim_name) <= 150),
    victim_sex        text CHECK (victim_sex IN ('female', 'male', 'other')),
    victim_age        integer CHECK (victim_age BETWEEN 0 AND 120),
    suspect_name      text NOT NULL DEFAULT '' CHECK (length(suspect_name) <= 150),
    suspect_sex       text CHECK (suspect_sex IN ('female', 'male', 'other')),
    suspect_age       integer CHECK (suspect_age BETWEEN 0 AND 120),
    relationship      text NOT NULL DEFAULT '' CHECK (length(relationship) <= 60),
    narrative         text NOT NULL DEFAULT '' CHECK (length(narrative) <= 10000),

    high_danger       boolean NOT NULL DEFAULT false,
    created_by        bigint REFERENCES users (id),
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT incidents_number_key UNIQUE (number),
    CONSTRAINT incidents_idempotency_key UNIQUE (idempotency_key),
    CONSTRAINT incidents_external_key UNIQUE (source, external_id)
);

-- The board lists open incidents; reports select by received time.
CREATE INDEX incidents_open_idx ON incidents (priority, received_at) WHERE cleared_at IS NULL;
CREATE INDEX incidents_received_idx ON incidents (received_at);
CREATE INDEX incidents_district_received_idx ON incidents (district_id, received_at);

-- Units assigned to an incident; released_at is set when a unit is
-- released or reassigned.
CREATE TABLE incident_units (
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    unit_id      bigint NOT NULL REFERENCES units (id),
    assigned_at  timestamptz NOT NULL,
    released_at  timestamptz,
    assigned_by  bigint REFERENCES users (id),
    PRIMARY KEY (incident_id, unit_id, assigned_at)
);
CREATE INDEX incident_units_unit_idx ON incident_units (unit_id) WHERE released_at IS NULL;

-- The append-only timeline of an incident: created, unit assigned, status
-- changed, note, correction, referral, order, view.
CREATE TABLE incident_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      bigint REFERENCES users (id),
    kind         text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only';
END $$;
CREATE TRIGGER incident_events_no_update BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();
