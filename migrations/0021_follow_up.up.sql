-- Follow-through (issue 17): follow-up tasks scheduled by the danger
-- screen's result, checks of the protection orders in force, and where a
-- violation of an order was found.

-- How often a victim is contacted after an incident, per reason:
-- high_danger (a screen found high danger), standard (any other DV
-- incident or screen), rescreen (a new incident at the same flat). The
-- first task is due first_hours after the trigger, then one every
-- every_hours while within for_hours of it (every_hours 0: one task).
CREATE TABLE follow_up_schedules (
    reason      text PRIMARY KEY CHECK (reason IN ('high_danger', 'standard', 'rescreen')),
    first_hours integer NOT NULL CHECK (first_hours BETWEEN 1 AND 8760),
    every_hours integer NOT NULL DEFAULT 0 CHECK (every_hours BETWEEN 0 AND 8760),
    for_hours   integer NOT NULL DEFAULT 0 CHECK (for_hours BETWEEN 0 AND 8760),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO follow_up_schedules (reason, first_hours, every_hours, for_hours) VALUES
    ('high_danger', 72, 168, 1344),  -- within 72 h, then weekly for 8 weeks
    ('standard', 720, 0, 0),         -- one within 30 days
    ('rescreen', 24, 0, 0);          -- re-screen within 24 h

-- A task: contact the victim of an incident by due_at. unit_id is the
-- assignee; NULL: the district's pool. trigger_key names what created
-- it ('incident:ID', 'screen:ID', 'rescreen:ID'): with seq it makes the
-- schedule's creation idempotent. A task is closed with an outcome, or
-- superseded when a later screen reschedules the incident.
CREATE TABLE follow_up_tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id   bigint NOT NULL REFERENCES incidents (id),
    district_id   bigint REFERENCES districts (id),
    reason        text NOT NULL CHECK (reason IN ('high_danger', 'standard', 'rescreen')),
    trigger_key   text NOT NULL,
    seq           integer NOT NULL,
    due_at        timestamptz NOT NULL,
    unit_id       bigint REFERENCES units (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    closed_by     bigint REFERENCES users (id),
    outcome       text CHECK (outcome IN ('reached_safe', 'not_reached', 'unsafe_contact', 'rescreened', 'superseded')),
    screen_id     bigint REFERENCES danger_screens (id),
    CONSTRAINT follow_up_tasks_trigger_key UNIQUE (trigger_key, seq),
    CONSTRAINT follow_up_tasks_closed CHECK ((closed_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX follow_up_tasks_unit_open_idx ON follow_up_tasks (unit_id, due_at) WHERE closed_at IS NULL;
CREATE INDEX follow_up_tasks_district_open_idx ON follow_up_tasks (district_id, due_at) WHERE closed_at IS NULL;
CREATE INDEX follow_up_tasks_incident_idx ON follow_up_tasks (incident_id);
CREATE INDEX follow_up_tasks_due_idx ON follow_up_tasks (due_at);

-- How often an order in force is checked, per kind: the first check
-- first_hours after issue, then every every_hours until the order ends.
CREATE TABLE order_check_schedules (
    kind        text PRIMARY KEY CHECK (kind IN ('temporary', 'restraining', 'court')),
    first_hours integer NOT NULL CHECK (first_hours BETWEEN 1 AND 8760),
    every_hours integer NOT NULL CHECK (every_hours BETWEEN 1 AND 8760),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO order_check_schedules (kind, first_hours, every_hours) VALUES
    ('temporary', 24, 72), ('restraining', 24, 72), ('court', 24, 72);

-- A check of an order: done once, with a result; a breach found opens one
-- incident of the violation type (violation_incident_id). Checks of an
-- order ended early are cancelled.
CREATE TABLE order_checks (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id              bigint NOT NULL REFERENCES protection_orders (id),
    district_id           bigint REFERENCES districts (id),
    seq                   integer NOT NULL,
    due_at                timestamptz NOT NULL,
    unit_id               bigint REFERENCES units (id),
    done_at               timestamptz,
    done_by               bigint REFERENCES users (id),
    result                text CHECK (result IN ('complied', 'breach', 'not_reached', 'cancelled')),
    violation_incident_id bigint REFERENCES incidents (id),
    CONSTRAINT order_checks_seq UNIQUE (order_id, seq),
    CONSTRAINT order_checks_done CHECK ((done_at IS NULL) = (result IS NULL)),
    CONSTRAINT order_checks_violation UNIQUE (violation_incident_id)
);
CREATE INDEX order_checks_unit_open_idx ON order_checks (unit_id, due_at) WHERE done_at IS NULL;
CREATE INDEX order_checks_district_open_idx ON order_checks (district_id, due_at) WHERE done_at IS NULL;
CREATE INDEX order_checks_due_idx ON order_checks (due_at);

-- Who found a violation of an order: a police check, the victim, others.
ALTER TABLE incidents ADD COLUMN violation_found_by text
    CHECK (violation_found_by IN ('police_check', 'victim', 'others'));
